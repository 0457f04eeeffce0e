//! `wxopen demo` runs the real server (SQLite in a temp dir) against the fake on loopback,
//! drives it over HTTP, prints every step and exits 0.
#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const STEPS: [&str; 16] = [
    "ticket push",
    "authorize page (PC)",
    "authorize page (H5)",
    "admin consent + push",
    "redirect → result page",
    "component token (API)",
    "authorizer token (API)",
    "authorizers list",
    "forced expiry",
    "20 callers at expiry",
    "compare-and-refresh",
    "release check",
    "graceful restart",
    "after the restart",
    "second instance",
    "two instances at expiry",
];

/// The fake's call counts the summary must show.
const COUNTS: [(&str, u64); 6] = [
    ("api_component_token", 3),
    ("api_create_preauthcode", 2),
    ("api_query_auth", 3),
    ("api_authorizer_token", 3),
    ("custom/send", 2),
    ("total", 13),
];

/// What step `name` says it did: its line after the timing.
fn detail<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            let (_, rest) = l.trim_start().split_once("  ")?;
            let rest = rest.strip_prefix(name)?;
            if !rest.starts_with(' ') {
                return None;
            }
            rest.split_once(" ms  ").map(|(_, d)| d)
        })
        .unwrap_or_else(|| panic!("no line for step {name:?}:\n{text}"))
}

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
    assert!(
        text.contains(" ms  "),
        "each step shows its timing:\n{text}"
    );

    // The pages and the routes, as WeChat and a browser use them.
    assert!(
        detail(&text, "ticket push").contains("→ 200 \"success\""),
        "{text}"
    );
    assert!(
        detail(&text, "authorize page (PC)").contains("componentloginpage"),
        "{text}"
    );
    assert!(
        detail(&text, "authorize page (H5)").contains("bindcomponent"),
        "{text}"
    );
    let result = detail(&text, "redirect → result page");
    assert!(
        result.contains("account wxde0000000000a001")
            && result.contains("next step")
            && result.contains("no token in it"),
        "{text}"
    );
    assert!(
        detail(&text, "component token (API)").contains("without the key: 401"),
        "{text}"
    );

    // Expiry is real when the callers start, and they cause one refresh.
    let expiry = detail(&text, "forced expiry");
    assert!(
        expiry.contains("expired at") && expiry.contains("the fake answers 42001"),
        "{text}"
    );
    let callers = detail(&text, "20 callers at expiry");
    assert!(
        callers.contains("20 concurrent GETs of the expired token → 1 upstream api_authorizer_token call (api_authorizer_token 0 → 1, api_component_token 1 → 2"),
        "{text}"
    );
    assert!(callers.contains("all 20 got #"), "{text}");
    assert!(
        detail(&text, "compare-and-refresh")
            .contains("→ 1 upstream api_authorizer_token call (api_authorizer_token 1 → 2"),
        "{text}"
    );
    // The release check passes for the group drawn, every check of it.
    let release = detail(&text, "release check");
    assert!(
        release.starts_with("group ") && release.contains(": 4 checks passed"),
        "{text}"
    );
    // A restart and a second instance lose nothing and fetch nothing.
    let after = detail(&text, "after the restart");
    assert!(
        after.contains("ticket ok") && after.ends_with("0 API calls"),
        "{text}"
    );
    assert!(
        detail(&text, "second instance").ends_with("0 API calls"),
        "{text}"
    );
    assert!(
        detail(&text, "two instances at expiry").contains(
            "concurrent GETs on the two instances → 1 upstream api_authorizer_token call in total (api_authorizer_token 2 → 3"
        ),
        "{text}"
    );

    for (endpoint, n) in COUNTS {
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
    assert!(!text.contains("refreshtoken@@@"), "{text}");

    // The SQLite store lived in a temp dir, which is gone afterwards.
    let store = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("store"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|url| url.strip_prefix("sqlite://"))
        .unwrap_or_else(|| panic!("no store line:\n{text}"));
    let dir = std::path::Path::new(store).parent().unwrap();
    assert!(dir.starts_with(std::env::temp_dir()), "{text}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
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
    assert_eq!(steps, STEPS);
    assert!(j["steps"][0]["ms"].is_number());
    for (endpoint, n) in COUNTS {
        assert_eq!(j["upstream_calls"][endpoint], n, "{endpoint}");
    }
    assert!(j["setup"]["store"]
        .as_str()
        .unwrap()
        .starts_with("sqlite://"));
}
