//! Every crypto vector of `vectors/` (official SDK samples and generated cross-implementation
//! vectors) through `wxopen-core`, plus encrypt→decrypt round trips under the vectors' keys.
//!
//! Each test prints its group's line (`cargo test -p conformance -- --nocapture`); the
//! `vector_summary` test recomputes and prints all of them together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use wxopen_core::{Error, MsgCrypt};
use wxopen_vectors::{CryptoVector, VectorFile, VectorKind};

/// The outcome of one group of vectors.
#[derive(Default)]
struct Tally {
    total: usize,
    passed: usize,
    by_kind: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn line(&self, group: &str) -> String {
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(
            "{group}: {}/{} vectors passed ({})",
            self.passed,
            self.total,
            kinds.join(", ")
        )
    }

    fn assert_all_passed(&self, group: &str) {
        assert!(
            self.failures.is_empty(),
            "{group}: {} of {} vectors failed:\n{}",
            self.failures.len(),
            self.total,
            self.failures.join("\n")
        );
        assert_eq!(self.passed, self.total);
    }
}

fn kind_label(kind: VectorKind) -> &'static str {
    match kind {
        VectorKind::DecryptMessage => "decrypt",
        VectorKind::VerifyUrl => "verify_url",
        VectorKind::EncryptDeterministic => "encrypt",
        VectorKind::SignOnly => "sign",
        VectorKind::Reject => "reject",
    }
}

fn req<'a>(v: &'a CryptoVector, field: &str, value: &'a Option<String>) -> Result<&'a str, String> {
    value
        .as_deref()
        .ok_or_else(|| format!("{}: vector has no {field}", v.id))
}

fn crypt_for(v: &CryptoVector) -> Result<MsgCrypt, Error> {
    MsgCrypt::new(
        &v.token,
        v.encoding_aes_key.as_deref().unwrap_or(""),
        v.receiver_id.as_deref().unwrap_or(""),
    )
}

/// Checks a decrypted message against what the vector states.
fn check_plaintext(v: &CryptoVector, got: &[u8]) -> Result<(), String> {
    let got = std::str::from_utf8(got).map_err(|_| format!("{}: plaintext is not UTF-8", v.id))?;
    match v.plaintext_or_derived() {
        Some(expected) if got != expected => {
            return Err(format!(
                "{}: plaintext differs\n  expected {expected:?}\n  got      {got:?}",
                v.id
            ))
        }
        Some(_) => {}
        None if v.plaintext_contains.is_empty() => {
            return Err(format!("{}: vector states no plaintext", v.id))
        }
        None => {}
    }
    for fragment in &v.plaintext_contains {
        if !got.contains(fragment.as_str()) {
            return Err(format!("{}: plaintext lacks {fragment:?}", v.id));
        }
    }
    Ok(())
}

fn run_decrypt(v: &CryptoVector) -> Result<(), String> {
    let crypt = crypt_for(v).map_err(|e| format!("{}: key refused: {e}", v.id))?;
    let sig = req(v, "msg_signature", &v.msg_signature)?;
    let ts = req(v, "timestamp", &v.timestamp)?;
    let nonce = req(v, "nonce", &v.nonce)?;
    match v.envelope_xml.as_deref() {
        Some(xml) if xml.trim_start().starts_with('<') => {
            let owned = crypt
                .decrypt_message(xml.as_bytes(), sig, ts, nonce)
                .map_err(|e| format!("{}: decrypt_message failed: {e} ({})", v.id, e.code()))?;
            check_plaintext(v, &owned)?;
            // The allocation-free path agrees.
            let mut buf = vec![0u8; xml.len()];
            let in_place = crypt
                .decrypt_message_in_place(xml.as_bytes(), sig, ts, nonce, &mut buf)
                .map_err(|e| format!("{}: decrypt_message_in_place failed: {e}", v.id))?;
            if in_place != owned.as_slice() {
                return Err(format!("{}: in-place result differs", v.id));
            }
            // And so does decrypting the stated Encrypt text directly, when given.
            if let Some(enc) = v.encrypt.as_deref() {
                let direct = crypt
                    .decrypt_encrypted(enc, sig, ts, nonce)
                    .map_err(|e| format!("{}: decrypt_encrypted failed: {e}", v.id))?;
                if direct != owned {
                    return Err(format!("{}: envelope and Encrypt text disagree", v.id));
                }
            }
            Ok(())
        }
        // JSON envelopes (WeCom JSON callbacks, mini-program JSON push): the Encrypt value is
        // given separately.
        _ => {
            let enc = req(v, "encrypt", &v.encrypt)?;
            let got = crypt
                .decrypt_encrypted(enc, sig, ts, nonce)
                .map_err(|e| format!("{}: decrypt_encrypted failed: {e} ({})", v.id, e.code()))?;
            check_plaintext(v, &got)
        }
    }
}

fn run_verify_url(v: &CryptoVector) -> Result<(), String> {
    let crypt = crypt_for(v).map_err(|e| format!("{}: key refused: {e}", v.id))?;
    let got = crypt
        .verify_url(
            req(v, "msg_signature", &v.msg_signature)?,
            req(v, "timestamp", &v.timestamp)?,
            req(v, "nonce", &v.nonce)?,
            req(v, "encrypt", &v.encrypt)?,
        )
        .map_err(|e| format!("{}: verify_url failed: {e} ({})", v.id, e.code()))?;
    check_plaintext(v, &got)
}

fn run_encrypt(v: &CryptoVector) -> Result<(), String> {
    let crypt = crypt_for(v).map_err(|e| format!("{}: key refused: {e}", v.id))?;
    let random16 = v
        .random16_bytes()
        .ok_or_else(|| format!("{}: no 16-byte random16", v.id))?;
    let message = req(v, "plaintext", &v.plaintext)?;
    let expected = req(v, "encrypt", &v.encrypt)?;
    let text = crypt
        .encrypt(message.as_bytes(), &random16)
        .map_err(|e| format!("{}: encrypt failed: {e}", v.id))?;
    if text != expected {
        return Err(format!(
            "{}: Encrypt differs\n  expected {expected}\n  got      {text}",
            v.id
        ));
    }
    if let (Some(ts), Some(nonce)) = (v.timestamp.as_deref(), v.nonce.as_deref()) {
        let reply = crypt
            .encrypt_reply(message.as_bytes(), ts, nonce, &random16)
            .map_err(|e| format!("{}: encrypt_reply failed: {e}", v.id))?;
        if reply.encrypt != expected {
            return Err(format!("{}: reply Encrypt differs", v.id));
        }
        if let Some(sig) = v.msg_signature.as_deref() {
            if reply.msg_signature != sig {
                return Err(format!(
                    "{}: MsgSignature differs: expected {sig}, got {}",
                    v.id, reply.msg_signature
                ));
            }
        }
        if let Some(env) = v.envelope_xml.as_deref() {
            let got = if env.trim_start().starts_with('{') {
                reply.to_json()
            } else {
                reply.to_xml()
            };
            if got != env {
                return Err(format!(
                    "{}: reply envelope differs\n  expected {env:?}\n  got      {got:?}",
                    v.id
                ));
            }
        }
        // What we produced decrypts back.
        let back = crypt
            .decrypt_encrypted(&reply.encrypt, &reply.msg_signature, ts, nonce)
            .map_err(|e| format!("{}: own reply does not decrypt: {e}", v.id))?;
        if back != message.as_bytes() {
            return Err(format!("{}: own reply round trip differs", v.id));
        }
    }
    Ok(())
}

fn run_sign(v: &CryptoVector) -> Result<(), String> {
    let ts = req(v, "timestamp", &v.timestamp)?;
    let nonce = req(v, "nonce", &v.nonce)?;
    let expected = req(v, "msg_signature", &v.msg_signature)?;
    let got = match v.encrypt.as_deref() {
        Some(enc) => wxopen_core::signature::sign(&v.token, ts, nonce, enc),
        None => wxopen_core::signature::sign_plain(&v.token, ts, nonce),
    };
    if got.as_str() == expected {
        Ok(())
    } else {
        Err(format!(
            "{}: signature differs: expected {expected}, got {}",
            v.id,
            got.as_str()
        ))
    }
}

fn run_reject(v: &CryptoVector) -> Result<(), String> {
    let expected = v
        .expected_error
        .ok_or_else(|| format!("{}: reject vector without expected_error", v.id))?;
    let check = |stage: &str, e: Error| {
        if e.code() == expected {
            Ok(())
        } else {
            Err(format!(
                "{}: {stage} rejected with {} ({e}), expected {expected}",
                v.id,
                e.code()
            ))
        }
    };
    let crypt = match crypt_for(v) {
        Err(e) => return check("MsgCrypt::new", e),
        Ok(c) => c,
    };
    let sig = v.msg_signature.as_deref().unwrap_or("");
    let ts = v.timestamp.as_deref().unwrap_or("");
    let nonce = v.nonce.as_deref().unwrap_or("");
    if let Some(env) = v.envelope_xml.as_deref() {
        match crypt.decrypt_message(env.as_bytes(), sig, ts, nonce) {
            Ok(m) => {
                return Err(format!(
                    "{}: envelope accepted, decrypted to {:?}",
                    v.id,
                    String::from_utf8_lossy(&m)
                ))
            }
            Err(e) => check("decrypt_message", e)?,
        }
        let mut buf = vec![0u8; env.len().max(64)];
        match crypt.decrypt_message_in_place(env.as_bytes(), sig, ts, nonce, &mut buf) {
            Ok(_) => Err(format!("{}: in-place path accepted the envelope", v.id)),
            Err(e) => check("decrypt_message_in_place", e),
        }
    } else if let Some(enc) = v.encrypt.as_deref() {
        match crypt.decrypt_encrypted(enc, sig, ts, nonce) {
            Ok(m) => Err(format!(
                "{}: Encrypt accepted, decrypted to {:?}",
                v.id,
                String::from_utf8_lossy(&m)
            )),
            Err(e) => check("decrypt_encrypted", e),
        }
    } else {
        Err(format!(
            "{}: nothing left to reject after MsgCrypt::new succeeded",
            v.id
        ))
    }
}

fn run_vector(v: &CryptoVector) -> Result<(), String> {
    match v.kind {
        VectorKind::DecryptMessage => run_decrypt(v),
        VectorKind::VerifyUrl => run_verify_url(v),
        VectorKind::EncryptDeterministic => run_encrypt(v),
        VectorKind::SignOnly => run_sign(v),
        VectorKind::Reject => run_reject(v),
    }
}

fn run_file(file: &VectorFile) -> Tally {
    let mut tally = Tally::default();
    for v in &file.vectors {
        tally.total += 1;
        match run_vector(v) {
            Ok(()) => {
                tally.passed += 1;
                *tally.by_kind.entry(kind_label(v.kind)).or_insert(0) += 1;
            }
            Err(why) => tally.failures.push(why),
        }
    }
    tally
}

/// Encrypt → decrypt under every distinct (token, key, receiver id) of the positive vectors, at
/// every block and padding boundary. Returns (keys, messages) checked.
fn run_round_trips(files: &[&VectorFile]) -> Result<(usize, usize), String> {
    const LENGTHS: [usize; 17] = [
        0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 1000, 4096, 4097, 65536,
    ];
    let mut keys = BTreeSet::new();
    for f in files {
        for v in f.vectors.iter().filter(|v| v.is_positive()) {
            if let (Some(k), Some(r)) = (v.encoding_aes_key.as_deref(), v.receiver_id.as_deref()) {
                keys.insert((v.token.clone(), k.to_owned(), r.to_owned()));
            }
        }
    }
    let mut messages = 0;
    for (i, (token, key, receiver)) in keys.iter().enumerate() {
        let crypt = MsgCrypt::new(token, key, receiver)
            .map_err(|e| format!("key {key} from a positive vector refused: {e}"))?;
        for (j, len) in LENGTHS.iter().enumerate() {
            // Mixed content: ASCII, 3-byte and 4-byte UTF-8, XML specials (cut at byte `len`,
            // so a message may end inside a character: the crypto is byte-exact).
            let unit = "a<&>]]>中文😀".as_bytes();
            let msg: Vec<u8> = unit.iter().copied().cycle().take(*len).collect();
            let random16 = [(i * 31 + j) as u8; 16];
            let ts = (1_700_000_000 + i).to_string();
            let nonce = format!("n{j}");
            let reply = crypt
                .encrypt_reply(&msg, &ts, &nonce, &random16)
                .map_err(|e| format!("encrypt under {key}, len {len}: {e}"))?;
            let back = crypt
                .decrypt_message(reply.to_xml().as_bytes(), &reply.msg_signature, &ts, &nonce)
                .map_err(|e| format!("decrypt under {key}, len {len}: {e}"))?;
            if back != msg {
                return Err(format!("round trip under {key}, len {len} differs"));
            }
            messages += 1;
        }
    }
    Ok((keys.len(), messages))
}

#[test]
fn official_sdk_vectors() {
    let file = wxopen_vectors::official();
    let tally = run_file(&file);
    println!("{}", tally.line("official-sdk"));
    tally.assert_all_passed("official-sdk");
    assert_eq!(tally.total, 32, "the official set has 32 vectors");
    for kind in VectorKind::ALL {
        assert!(
            file.of_kind(kind).count() > 0,
            "official set covers {kind:?}"
        );
    }
}

#[test]
fn cross_impl_vectors() {
    let file = wxopen_vectors::cross_impl();
    let tally = run_file(&file);
    println!("{}", tally.line("cross-impl"));
    tally.assert_all_passed("cross-impl");
    assert!(tally.total >= 200, "at least 200 cross-impl vectors");
    // Every official reject code the core can produce on input appears among the negatives.
    let codes: BTreeSet<i32> = file
        .vectors
        .iter()
        .filter_map(|v| v.expected_error)
        .collect();
    for code in [-40001, -40002, -40004, -40005, -40007, -40008, -40010] {
        assert!(codes.contains(&code), "cross-impl covers {code}");
    }
}

#[test]
fn round_trips_under_vector_keys() {
    let (keys, messages) =
        run_round_trips(&[&wxopen_vectors::official(), &wxopen_vectors::cross_impl()])
            .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "round-trip: {messages}/{messages} messages ({keys} vector keys x {} lengths)",
        messages / keys.max(1)
    );
    assert!(keys >= 20, "enough distinct keys ({keys})");
}

#[test]
fn vector_summary() {
    let official = wxopen_vectors::official();
    let cross = wxopen_vectors::cross_impl();
    let a = run_file(&official);
    let b = run_file(&cross);
    let rt = run_round_trips(&[&official, &cross]);
    println!("---- crypto vector summary ----");
    println!("{}", a.line("official-sdk"));
    println!("{}", b.line("cross-impl"));
    match &rt {
        Ok((keys, n)) => println!("round-trip: {n}/{n} messages under {keys} vector keys"),
        Err(e) => println!("round-trip: FAILED: {e}"),
    }
    println!(
        "vectors total: {}/{} passed",
        a.passed + b.passed,
        a.total + b.total
    );
    a.assert_all_passed("official-sdk");
    b.assert_all_passed("cross-impl");
    assert!(rt.is_ok());
}
