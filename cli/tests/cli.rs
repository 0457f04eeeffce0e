#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Behaviour of the built `wxopen` binary beyond the vectors: secrets from the environment,
//! stdin versus FILE, `--json`, exit codes, hints, and that secrets never reach the output.

use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

// The official WeCom sample (sbzhu/weworkapi_php callback/Sample.php).
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const APPID: &str = "wx5823bf96d3bd56c7";
const TS: &str = "1409659813";
const NONCE: &str = "1372623149";
const SIG: &str = "477715d11cdb4164915debcba66cb864d751f3e6";

fn official() -> wxopen_vectors::CryptoVector {
    wxopen_vectors::official()
        .get("wecom-official-decrypt-QDG6eK")
        .cloned()
        .expect("vector")
}

fn body() -> String {
    official().envelope_xml.expect("envelope")
}

fn plaintext() -> String {
    official().plaintext.expect("plaintext")
}

fn wxopen() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wxopen"));
    c.env_remove("WXOPEN_TOKEN")
        .env_remove("WXOPEN_AES_KEY")
        .env_remove("WXOPEN_APPID");
    c
}

fn decrypt_flags() -> Vec<&'static str> {
    vec![
        "decrypt",
        "--token",
        TOKEN,
        "--aes-key",
        KEY,
        "--appid",
        APPID,
        "--msg-signature",
        SIG,
        "--timestamp",
        TS,
        "--nonce",
        NONCE,
    ]
}

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wxopen-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn secrets_from_environment_variables() {
    wxopen()
        .env("WXOPEN_TOKEN", TOKEN)
        .env("WXOPEN_AES_KEY", KEY)
        .env("WXOPEN_APPID", APPID)
        .args([
            "decrypt",
            "--msg-signature",
            SIG,
            "--timestamp",
            TS,
            "--nonce",
            NONCE,
        ])
        .write_stdin(body())
        .assert()
        .success()
        .stdout(plaintext());
}

#[test]
fn flags_override_environment() {
    wxopen()
        .env("WXOPEN_TOKEN", "wrong-token")
        .args(decrypt_flags())
        .write_stdin(body())
        .assert()
        .success()
        .stdout(plaintext());
}

#[test]
fn missing_secret_is_a_usage_error() {
    wxopen()
        .args([
            "decrypt",
            "--aes-key",
            KEY,
            "--appid",
            APPID,
            "--msg-signature",
            SIG,
            "--timestamp",
            TS,
            "--nonce",
            NONCE,
        ])
        .write_stdin(body())
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--token"));
}

#[test]
fn stdin_file_and_dash_give_the_same_bytes() {
    let path = temp_file("push.xml", body().as_bytes());
    let from_file = wxopen()
        .args(decrypt_flags())
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let from_stdin = wxopen()
        .args(decrypt_flags())
        .write_stdin(body())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let from_dash = wxopen()
        .args(decrypt_flags())
        .arg("-")
        .write_stdin(body())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(from_file, plaintext().as_bytes(), "no added newline");
    assert_eq!(from_stdin, from_file);
    assert_eq!(from_dash, from_file);
}

#[test]
fn unreadable_file_is_an_io_error() {
    wxopen()
        .args(decrypt_flags())
        .arg("/nonexistent/wxopen/push.xml")
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: cannot read /nonexistent",
        ));
}

#[test]
fn every_command_has_json_output() {
    let out = wxopen()
        .args(decrypt_flags())
        .arg("--json")
        .write_stdin(body())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["message"], plaintext());
    assert_eq!(j["envelope"], "xml");
    assert_eq!(j["to_user_name"], APPID);

    let out = wxopen()
        .args(["--json", "sign", "--token", TOKEN, "--timestamp", TS])
        .args(["--nonce", NONCE])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["kind"], "signature");
    assert_eq!(j["signature"].as_str().map(str::len), Some(40));

    let out = wxopen()
        .args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--json", "--timestamp", TS, "--nonce", NONCE])
        .write_stdin("<xml>hi</xml>")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["TimeStamp"], 1_409_659_813_u64);
    assert_eq!(j["Nonce"], NONCE);
    let enc = j["Encrypt"].as_str().unwrap().to_owned();
    let sig = j["MsgSignature"].as_str().unwrap().to_owned();

    // The JSON reply is itself a JSON envelope that `decrypt` reads.
    let out = wxopen()
        .args([
            "decrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--msg-signature", &sig, "--timestamp", TS, "--nonce", NONCE])
        .arg("--json")
        .write_stdin(out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["message"], "<xml>hi</xml>");
    assert_eq!(j["envelope"], "json");

    let out = wxopen()
        .args([
            "verify-url",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--msg-signature", &sig, "--timestamp", TS, "--nonce", NONCE])
        .args(["--echostr", &enc, "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["echo"], "<xml>hi</xml>");
}

#[test]
fn encrypt_defaults_are_now_random_nonce_and_os_random16() {
    let run = || {
        let out = wxopen()
            .args([
                "encrypt",
                "--token",
                TOKEN,
                "--aes-key",
                KEY,
                "--appid",
                APPID,
            ])
            .arg("--json")
            .write_stdin("<xml>same</xml>")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (a, b) = (run(), run());
    let ts = a["TimeStamp"].as_u64().unwrap();
    assert!(ts.abs_diff(now) < 60, "timestamp {ts} is not now ({now})");
    let nonce = a["Nonce"].as_str().unwrap();
    assert!(nonce.len() >= 9 && nonce.bytes().all(|c| c.is_ascii_digit()));
    assert_ne!(a["Nonce"], b["Nonce"]);
    // Same message, different random16: different ciphertext.
    assert_ne!(a["Encrypt"], b["Encrypt"]);
}

#[test]
fn xml_encrypt_output_is_the_reply_envelope_without_newline() {
    let out = wxopen()
        .args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--timestamp", TS, "--nonce", NONCE])
        .write_stdin("x")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert!(xml.starts_with("<xml>\n<Encrypt><![CDATA["), "{xml}");
    assert!(
        xml.ends_with("<Nonce><![CDATA[1372623149]]></Nonce>\n</xml>"),
        "{xml}"
    );
}

#[test]
fn failures_print_nothing_on_stdout_and_one_error_line() {
    let out = wxopen()
        .args([
            "decrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
            "--msg-signature",
            "0000000000000000000000000000000000000000",
            "--timestamp",
            TS,
            "--nonce",
            NONCE,
            "--json",
        ])
        .write_stdin(body())
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: signature mismatch (WeChat code -40001)");
    assert!(lines[1..].iter().all(|l| l.starts_with("hint: ")), "{err}");
    assert_eq!(lines.len(), 2, "{err}");
}

#[test]
fn hint_plain_signature_is_not_msg_signature() {
    // The `signature` query parameter of the same push: sha1 over token, timestamp, nonce.
    let plain = wxopen()
        .args([
            "sign",
            "--token",
            TOKEN,
            "--timestamp",
            TS,
            "--nonce",
            NONCE,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plain = String::from_utf8(plain).unwrap().trim_end().to_owned();
    wxopen()
        .args(["decrypt", "--token", TOKEN, "--aes-key", KEY, "--appid", APPID])
        .args(["--msg-signature", &plain, "--timestamp", TS, "--nonce", NONCE])
        .write_stdin(body())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: signature mismatch (WeChat code -40001)\nhint: that is the `signature` query parameter",
        ));
}

#[test]
fn hint_receiver_id_names_the_component_appid() {
    wxopen()
        .args([
            "decrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            "wxauthorizer",
        ])
        .args(["--msg-signature", SIG, "--timestamp", TS, "--nonce", NONCE])
        .write_stdin(body())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: receiver id mismatch (WeChat code -40005)",
        ))
        .stderr(predicate::str::contains(
            "encrypted for `wx5823bf96d3bd56c7`, not `wxauthorizer`",
        ))
        .stderr(predicate::str::contains(
            "component appid for authorized-account messages",
        ));
}

#[test]
fn hint_aes_key_must_be_43_characters() {
    for (key, want) in [
        ("abcde", "must be 43 characters (got 5)"),
        (&format!("{KEY}=") as &str, "drop the trailing `=`"),
    ] {
        wxopen()
            .args([
                "decrypt",
                "--token",
                TOKEN,
                "--aes-key",
                key,
                "--appid",
                APPID,
            ])
            .args(["--msg-signature", SIG, "--timestamp", TS, "--nonce", NONCE])
            .write_stdin(body())
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("(WeChat code -40004)"))
            .stderr(predicate::str::contains(want));
    }
}

#[test]
fn hint_echostr_must_be_url_decoded() {
    let v = wxopen_vectors::official()
        .get("wecom-official-verifyurl-QDG6eK")
        .cloned()
        .unwrap();
    let echostr = v.encrypt.unwrap();
    let encoded = echostr
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let flags = [
        "verify-url",
        "--token",
        &v.token,
        "--aes-key",
        v.encoding_aes_key.as_deref().unwrap(),
        "--appid",
        v.receiver_id.as_deref().unwrap(),
        "--msg-signature",
        v.msg_signature.as_deref().unwrap(),
        "--timestamp",
        v.timestamp.as_deref().unwrap(),
        "--nonce",
        v.nonce.as_deref().unwrap(),
    ];
    wxopen()
        .args(flags)
        .args(["--echostr", &echostr])
        .assert()
        .success()
        .stdout(v.plaintext.unwrap());
    wxopen()
        .args(flags)
        .args(["--echostr", &encoded])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("(WeChat code -40001)"))
        .stderr(predicate::str::contains("must be URL-decoded"));
    wxopen()
        .args(flags)
        .args(["--echostr", &echostr.replace('+', " ")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a `+` was decoded as a space"));
}

#[test]
fn secrets_are_never_printed() {
    let token = "tok3n-SECRET-value";
    let key = "SECRETSECRETSECRETSECRETSECRETSECRETSECRET"; // 42 chars: rejected
    for extra in [&[][..], &["--json"][..]] {
        let out = wxopen()
            .env("WXOPEN_TOKEN", token)
            .env("WXOPEN_AES_KEY", key)
            .args(["decrypt", "--appid", APPID])
            .args(["--msg-signature", SIG, "--timestamp", TS, "--nonce", NONCE])
            .args(extra)
            .write_stdin(body())
            .assert()
            .code(1)
            .get_output()
            .clone();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("SECRET"), "{all}");
    }
    // Help shows which variables are read, never their values.
    let help = wxopen()
        .env("WXOPEN_TOKEN", token)
        .env("WXOPEN_AES_KEY", key)
        .args(["decrypt", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    assert!(
        help.contains("WXOPEN_TOKEN") && help.contains("WXOPEN_AES_KEY"),
        "{help}"
    );
    assert!(!help.contains("SECRET"), "{help}");
}

#[test]
fn help_documents_exit_codes_and_hides_the_vector_flag() {
    wxopen()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("1  crypto failure"))
        .stdout(predicate::str::contains("2  usage error"))
        .stdout(predicate::str::contains("WXOPEN_AES_KEY"));
    for cmd in ["decrypt", "encrypt", "verify-url", "sign", "demo"] {
        wxopen().args([cmd, "--help"]).assert().success();
    }
    wxopen()
        .args(["encrypt", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("random16").not());
}

#[test]
fn usage_errors_exit_2() {
    wxopen()
        .args(["decrypt", "--no-such-flag"])
        .assert()
        .code(2)
        .stdout("");
    wxopen().arg("frobnicate").assert().code(2).stdout("");
    wxopen()
        .args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--random16-hex", "xyz"])
        .write_stdin("x")
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn bad_reply_timestamp_is_40011_with_hint() {
    wxopen()
        .args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--timestamp", "12a", "--nonce", NONCE])
        .write_stdin("x")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("(WeChat code -40011)"))
        .stderr(predicate::str::contains("hint: the timestamp must be"));
}

#[test]
fn empty_input_is_40002_with_hint() {
    wxopen()
        .args(decrypt_flags())
        .write_stdin("")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("(WeChat code -40002)"))
        .stderr(predicate::str::contains("hint: the input is empty"));
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap() + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

#[test]
fn encrypt_refuses_what_decrypt_refuses_and_max_body_lifts_both() {
    let message = vec![b'a'; 1 << 20];
    let encrypt = |extra: &[&str]| {
        let mut c = wxopen();
        c.args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--timestamp", TS, "--nonce", NONCE])
        .args(extra)
        .write_stdin(message.clone());
        c
    };
    // Default limit: the 1 MiB message would make a reply decrypt refuses, so encrypt refuses
    // it too, with the same error, naming the limit and the flag.
    let refused = encrypt(&[])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    assert!(
        err.contains("-40002") && err.contains("--max-body"),
        "{err}"
    );

    // With --max-body the reply is made ...
    let out = encrypt(&["--max-body", "2000000"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert!(xml.len() > 1 << 20 && xml.len() <= 2_000_000);
    let sig = between(&xml, "<MsgSignature><![CDATA[", "]]>").to_owned();
    let decrypt = |extra: &[&str]| {
        let mut c = wxopen();
        c.args([
            "decrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--msg-signature", &sig, "--timestamp", TS, "--nonce", NONCE])
        .args(extra)
        .write_stdin(xml.clone());
        c
    };
    // ... which decrypt refuses by default with the same error and the flag ...
    let refused = decrypt(&[])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let derr = String::from_utf8(refused.stderr).unwrap();
    assert!(derr.contains("larger than 1048576 bytes"), "{derr}");
    assert!(
        derr.contains("-40002") && derr.contains("--max-body"),
        "{derr}"
    );
    assert_eq!(err.lines().next(), derr.lines().next(), "same error line");
    // ... and accepts with the same --max-body.
    decrypt(&["--max-body", "2000000"])
        .assert()
        .success()
        .stdout(predicate::eq(message.clone()));
}

#[test]
fn max_body_below_a_small_reply_is_refused_on_encrypt() {
    wxopen()
        .args([
            "encrypt",
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            APPID,
        ])
        .args(["--timestamp", TS, "--nonce", NONCE, "--max-body", "100"])
        .write_stdin("hello")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("larger than 100 bytes"))
        .stderr(predicate::str::contains("--max-body"));
}
