//! `wxopen config check` and `wxopen serve`: redacted output, one-line config errors, exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "serve")]

use assert_cmd::Command;

const GOOD: &str = r#"
[server]
store = "memory:"
[[component]]
appid = "wxcomponent0001"
appsecret = "appsecret-do-not-print"
token = "token-do-not-print"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
[[client]]
name = "orders"
key = "bearer-key-do-not-print-0123"
"#;

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("wxopen-cli-{}-{name}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn config_check_prints_the_config_with_secrets_redacted() {
    let p = write("good", GOOD);
    let out = Command::cargo_bin("wxopen")
        .unwrap()
        .args(["config", "check", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("appid = \"wxcomponent0001\"") && text.contains("[redacted] (inline)"),
        "{text}"
    );
    for secret in [
        "appsecret-do-not-print",
        "token-do-not-print",
        "bearer-key-do-not-print",
        "ABCDEFG",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn a_config_error_is_one_line_naming_the_key_and_exits_2() {
    let p = write(
        "bad",
        &GOOD.replace("appsecret = \"appsecret-do-not-print\"\n", ""),
    );
    for args in [
        &["config", "check", "--config"][..],
        &["serve", "--config"][..],
    ] {
        let out = Command::cargo_bin("wxopen")
            .unwrap()
            .args(args)
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("component[0].appsecret") && err.contains("appsecret_env"),
            "{err}"
        );
        let first = err.lines().next().unwrap();
        assert!(
            first.contains("component[0].appsecret") && first.contains("appsecret_file"),
            "{err}"
        );
    }
}

#[test]
fn config_check_warns_about_risky_settings_as_comments() {
    let p = write(
        "risky",
        &GOOD
            .replace(
                "store = \"memory:\"",
                "store = \"memory:\"\ninternal_listen = \"0.0.0.0:8081\"",
            )
            .replace(
                "encoding_aes_key = ",
                "api_base_urls = [\"http://10.0.0.5:8080\"]\nencoding_aes_key = ",
            ),
    );
    let out = Command::cargo_bin("wxopen")
        .unwrap()
        .args(["config", "check", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("# warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{text}");
    assert!(warnings[0].contains("server.internal_listen"), "{text}");
    assert!(
        warnings[1].contains("http://10.0.0.5:8080") && warnings[1].contains("https"),
        "{text}"
    );
    // The safe configuration has none.
    let safe = write("safe", GOOD);
    let out = Command::cargo_bin("wxopen")
        .unwrap()
        .args(["config", "check", "--config"])
        .arg(&safe)
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains("# warning"));
}
