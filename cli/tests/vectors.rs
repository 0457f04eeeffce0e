#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every crypto vector (official SDK samples and the generated cross-implementation set) run
//! through the built `wxopen` binary: decrypt / verify-url give the plaintext byte for byte,
//! encrypt reproduces deterministic replies, sign reproduces signatures, and every reject gives
//! exit code 1, nothing on stdout and the official code on stderr.

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;
use wxopen_vectors::{CryptoVector, VectorFile, VectorKind};

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn wxopen(args: &[&str], stdin: &[u8]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_wxopen"))
        .env_remove("WXOPEN_TOKEN")
        .env_remove("WXOPEN_AES_KEY")
        .env_remove("WXOPEN_APPID")
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .expect("runs");
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

/// The POST body of a vector: its envelope, or its `Encrypt` wrapped in a minimal one.
fn body(v: &CryptoVector) -> Vec<u8> {
    match &v.envelope_xml {
        Some(x) => x.clone().into_bytes(),
        None => format!(
            "<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>",
            s(&v.encrypt)
        )
        .into_bytes(),
    }
}

fn account(v: &CryptoVector) -> Vec<&str> {
    vec![
        "--token",
        &v.token,
        "--aes-key",
        s(&v.encoding_aes_key),
        "--appid",
        s(&v.receiver_id),
    ]
}

fn query(v: &CryptoVector) -> Vec<&str> {
    vec![
        "--msg-signature",
        s(&v.msg_signature),
        "--timestamp",
        v.timestamp.as_deref().unwrap_or("0"),
        "--nonce",
        v.nonce.as_deref().unwrap_or("0"),
    ]
}

fn expect_ok(what: &str, r: &Run) -> Result<(), String> {
    if r.code == Some(0) && r.stderr.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: exit {:?}, stderr {:?}", r.code, r.stderr))
    }
}

fn expect_eq(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {:?}, want {:?}",
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want)
        ))
    }
}

fn parse_json(what: &str, r: &Run) -> Result<Value, String> {
    if r.stdout.last() != Some(&b'\n') {
        return Err(format!("{what}: --json output does not end in a newline"));
    }
    serde_json::from_slice(&r.stdout).map_err(|e| format!("{what}: --json is not JSON: {e}"))
}

/// A failure must print nothing on stdout, exit 1 and name the official code on stderr.
fn expect_reject(what: &str, r: &Run, code: i32) -> Result<(), String> {
    let mut lines = r.stderr.lines();
    let first = lines.next().unwrap_or("");
    let suffix = format!("(WeChat code {code})");
    if r.code != Some(1)
        || !r.stdout.is_empty()
        || !first.starts_with("error: ")
        || !first.ends_with(&suffix)
        || !lines.all(|l| l.starts_with("hint: "))
    {
        return Err(format!(
            "{what}: want exit 1 and {suffix}, got exit {:?}, stdout {} bytes, stderr {:?}",
            r.code,
            r.stdout.len(),
            r.stderr
        ));
    }
    Ok(())
}

fn check_decrypt(v: &CryptoVector) -> Result<(), String> {
    let mut args = vec!["decrypt"];
    args.extend(account(v));
    args.extend(query(v));
    let r = wxopen(&args, &body(v));
    expect_ok("decrypt", &r)?;
    if let Some(p) = v.plaintext_or_derived() {
        expect_eq("decrypt stdout", &r.stdout, p.as_bytes())?;
    }
    let text = String::from_utf8_lossy(&r.stdout);
    for part in &v.plaintext_contains {
        if !text.contains(part.as_str()) {
            return Err(format!("decrypt output lacks {part:?}"));
        }
    }
    args.push("--json");
    let r = wxopen(&args, &body(v));
    expect_ok("decrypt --json", &r)?;
    let j = parse_json("decrypt --json", &r)?;
    if let Some(p) = v.plaintext_or_derived() {
        if j["message"] != p {
            return Err(format!("decrypt --json message {}", j["message"]));
        }
    }
    Ok(())
}

fn check_verify_url(v: &CryptoVector) -> Result<(), String> {
    let mut args = vec!["verify-url"];
    args.extend(account(v));
    args.extend(query(v));
    args.extend(["--echostr", s(&v.encrypt)]);
    let r = wxopen(&args, b"");
    expect_ok("verify-url", &r)?;
    if let Some(p) = v.plaintext_or_derived() {
        expect_eq("verify-url stdout", &r.stdout, p.as_bytes())?;
    }
    args.push("--json");
    let r = wxopen(&args, b"");
    let j = parse_json("verify-url --json", &r)?;
    if let Some(p) = v.plaintext_or_derived() {
        if j["echo"] != p {
            return Err(format!("verify-url --json echo {}", j["echo"]));
        }
    }
    Ok(())
}

fn check_encrypt(v: &CryptoVector) -> Result<(), String> {
    let random16 = v.random16_bytes().ok_or("no random16")?;
    let random_hex = hex(&random16);
    let plaintext = v.plaintext.as_deref().ok_or("no plaintext")?;
    let ts = v.timestamp.as_deref().unwrap_or("1");
    let nonce = v.nonce.as_deref().unwrap_or("n");
    let mut args = vec!["encrypt"];
    args.extend(account(v));
    args.extend([
        "--timestamp",
        ts,
        "--nonce",
        nonce,
        "--random16-hex",
        &random_hex,
    ]);
    let r = wxopen(&args, plaintext.as_bytes());
    expect_ok("encrypt", &r)?;
    let xml = String::from_utf8_lossy(&r.stdout).into_owned();
    let encrypt = s(&v.encrypt);
    if !xml.contains(&format!("<Encrypt><![CDATA[{encrypt}]]></Encrypt>")) {
        return Err(format!("encrypt: Encrypt differs: {xml}"));
    }
    if v.timestamp.is_some() {
        if let Some(env) = &v.envelope_xml {
            expect_eq("encrypt envelope", &r.stdout, env.as_bytes())?;
        }
        if let Some(sig) = &v.msg_signature {
            if !xml.contains(&format!("<MsgSignature><![CDATA[{sig}]]>")) {
                return Err(format!("encrypt: MsgSignature differs: {xml}"));
            }
        }
    }
    // The reply decrypts back to the plaintext with its own signature.
    let sig = xml
        .split("<MsgSignature><![CDATA[")
        .nth(1)
        .and_then(|t| t.split("]]>").next())
        .unwrap_or("")
        .to_owned();
    let mut back = vec!["decrypt"];
    back.extend(account(v));
    back.extend(["--msg-signature", &sig, "--timestamp", ts, "--nonce", nonce]);
    let r2 = wxopen(&back, &r.stdout);
    expect_ok("decrypt of encrypt output", &r2)?;
    expect_eq("round trip", &r2.stdout, plaintext.as_bytes())?;

    args.push("--json");
    let r = wxopen(&args, plaintext.as_bytes());
    expect_ok("encrypt --json", &r)?;
    let j = parse_json("encrypt --json", &r)?;
    if j["Encrypt"] != encrypt || j["Nonce"] != nonce {
        return Err(format!("encrypt --json: {j}"));
    }
    if let (Some(sig), Some(_)) = (&v.msg_signature, &v.timestamp) {
        if j["MsgSignature"] != sig.as_str() {
            return Err(format!("encrypt --json MsgSignature: {j}"));
        }
    }
    // And `sign` over the same Encrypt reproduces the signature.
    if let (Some(sig), Some(ts)) = (&v.msg_signature, &v.timestamp) {
        let r = wxopen(
            &[
                "sign",
                "--token",
                &v.token,
                "--timestamp",
                ts,
                "--nonce",
                nonce,
                "--encrypt",
                encrypt,
            ],
            b"",
        );
        expect_eq("sign of reply", &r.stdout, format!("{sig}\n").as_bytes())?;
    }
    Ok(())
}

fn check_sign(v: &CryptoVector) -> Result<(), String> {
    let want = v.msg_signature.as_deref().ok_or("no signature")?;
    let mut args = vec![
        "sign",
        "--token",
        &v.token,
        "--timestamp",
        s(&v.timestamp),
        "--nonce",
        s(&v.nonce),
    ];
    if let Some(e) = &v.encrypt {
        args.extend(["--encrypt", e]);
    }
    let r = wxopen(&args, b"");
    expect_ok("sign", &r)?;
    expect_eq("sign stdout", &r.stdout, format!("{want}\n").as_bytes())?;
    args.push("--json");
    let r = wxopen(&args, b"");
    let j = parse_json("sign --json", &r)?;
    let kind = if v.encrypt.is_some() {
        "msg_signature"
    } else {
        "signature"
    };
    if j["signature"] != want || j["kind"] != kind {
        return Err(format!("sign --json: {j}"));
    }
    Ok(())
}

fn check_reject(v: &CryptoVector) -> Result<(), String> {
    let code = v.expected_error.ok_or("reject without expected_error")?;
    let mut args = vec!["decrypt"];
    args.extend(account(v));
    args.extend(query(v));
    expect_reject("decrypt", &wxopen(&args, &body(v)), code)?;
    args.push("--json");
    expect_reject("decrypt --json", &wxopen(&args, &body(v)), code)?;
    // The same Encrypt presented as an echostr fails the same way.
    if let (Some(e), true) = (&v.encrypt, code != -40002) {
        let mut args = vec!["verify-url"];
        args.extend(account(v));
        args.extend(query(v));
        args.extend(["--echostr", e]);
        expect_reject("verify-url", &wxopen(&args, b""), code)?;
    }
    Ok(())
}

fn check(v: &CryptoVector) -> Result<(), String> {
    match v.kind {
        VectorKind::DecryptMessage => check_decrypt(v),
        VectorKind::VerifyUrl => check_verify_url(v),
        VectorKind::EncryptDeterministic => check_encrypt(v),
        VectorKind::SignOnly => check_sign(v),
        VectorKind::Reject => check_reject(v),
    }
}

/// Run every vector of a file; return the per-kind pass counts, or the failures.
fn run_file(name: &str, file: &VectorFile) -> BTreeMap<&'static str, usize> {
    let mut passed = BTreeMap::new();
    let mut failures = Vec::new();
    for v in &file.vectors {
        match check(v) {
            Ok(()) => *passed.entry(v.kind.as_str()).or_insert(0) += 1,
            Err(e) => failures.push(format!("{}: {e}", v.id)),
        }
    }
    eprintln!("{name}: passed through the wxopen binary: {passed:?}");
    assert!(
        failures.is_empty(),
        "{} of {} {name} vectors failed:\n{}",
        failures.len(),
        file.vectors.len(),
        failures.join("\n")
    );
    passed
}

#[test]
fn official_sdk_vectors() {
    let file = wxopen_vectors::official();
    let passed = run_file("official-sdk", &file);
    assert_eq!(passed.values().sum::<usize>(), file.vectors.len());
    for kind in VectorKind::ALL {
        assert!(
            passed.get(kind.as_str()).is_some_and(|n| *n > 0),
            "{kind:?}"
        );
    }
}

#[test]
fn cross_implementation_vectors() {
    let file = wxopen_vectors::cross_impl();
    let passed = run_file("cross-impl", &file);
    assert!(passed.values().sum::<usize>() >= 200);
}
