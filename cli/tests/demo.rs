//! `wxopen demo` runs the whole flow against the fake on loopback, prints every step and exits 0.
#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const STEPS: [&str; 10] = [
    "ticket pushed and decrypted",
    "component token",
    "pre-auth code",
    "authorization URL (PC)",
    "authorization URL (H5)",
    "simulated admin consent",
    "query_auth",
    "authorizer token",
    "forced expiry",
    "refresh",
];

fn demo() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wxopen"));
    c.arg("demo")
        .env_remove("WXOPEN_TOKEN")
        .env_remove("WXOPEN_AES_KEY")
        .env_remove("WXOPEN_APPID")
        .timeout(Duration::from_secs(60));
    c
}

#[test]
fn demo_prints_every_step_and_exits_0() {
    let started = Instant::now();
    let out = demo().assert().success().get_output().clone();
    let took = started.elapsed();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut from = 0;
    for (i, step) in STEPS.iter().enumerate() {
        let line = format!("{:>2}  {step}", i + 1);
        let at = text[from..]
            .find(&line)
            .unwrap_or_else(|| panic!("step {line:?} missing or out of order:\n{text}"));
        from += at + line.len();
    }
    assert!(text.contains("http://127.0.0.1:"), "{text}");
    assert!(text.contains("componentloginpage"), "{text}");
    assert!(text.contains("bindcomponent"), "{text}");
    assert!(
        text.contains(" ms  "),
        "each step shows its timing:\n{text}"
    );
    for (endpoint, n) in [
        ("api_component_token", 2),
        ("api_create_preauthcode", 1),
        ("api_query_auth", 1),
        ("api_authorizer_token", 1),
    ] {
        assert!(
            text.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some(endpoint) && w.next() == Some(&n.to_string())
            }),
            "{endpoint} {n} missing:\n{text}"
        );
    }
    assert!(took < Duration::from_secs(30), "demo took {took:?}");
    // The fake's credentials are never printed (tokens appear only as fingerprints).
    let fake = wxopen_fake::FakeConfig::default();
    for secret in [
        &fake.component_appsecret,
        &fake.token,
        &fake.encoding_aes_key,
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret was printed:\n{text}"
        );
    }
    assert!(!text.contains("ticket@@@"), "{text}");
    assert!(!text.contains("queryauthcode@@@"), "{text}");
}

#[test]
fn demo_json_lists_steps_and_counts() {
    let out = demo()
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["ok"], true);
    let steps: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for step in STEPS {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    assert!(j["steps"][0]["ms"].is_number());
    assert_eq!(j["upstream_calls"]["api_component_token"], 2);
    assert_eq!(j["upstream_calls"]["api_authorizer_token"], 1);
    assert_eq!(j["upstream_calls"]["total"], 5);
}
