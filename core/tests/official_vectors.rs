//! Every official SDK vector and every cross-implementation vector, through the core API.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use wxopen_core::{signature, Error, MsgCrypt};
use wxopen_vectors::{CryptoVector, VectorKind};

fn crypt(v: &CryptoVector) -> Result<MsgCrypt, Error> {
    MsgCrypt::new(
        &v.token,
        v.encoding_aes_key.as_deref().unwrap_or(""),
        v.receiver_id.as_deref().unwrap_or(""),
    )
}

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

/// Run one vector; returns a description of the mismatch, if any.
fn check(v: &CryptoVector) -> Result<(), String> {
    match v.kind {
        VectorKind::DecryptMessage => {
            let mc = crypt(v).map_err(|e| e.to_string())?;
            let got = match &v.envelope_xml {
                Some(body) => mc.decrypt_message(
                    body.as_bytes(),
                    s(&v.msg_signature),
                    s(&v.timestamp),
                    s(&v.nonce),
                ),
                None => mc.decrypt_encrypted(
                    s(&v.encrypt),
                    s(&v.msg_signature),
                    s(&v.timestamp),
                    s(&v.nonce),
                ),
            }
            .map_err(|e| e.to_string())?;
            // In-place path must agree.
            let body = v.envelope_xml.clone().unwrap_or_default();
            let mut buf =
                vec![0u8; MsgCrypt::decrypt_buffer_len(body.len().max(s(&v.encrypt).len()))];
            if !body.is_empty() {
                let borrowed = mc
                    .decrypt_message_in_place(
                        body.as_bytes(),
                        s(&v.msg_signature),
                        s(&v.timestamp),
                        s(&v.nonce),
                        &mut buf,
                    )
                    .map_err(|e| e.to_string())?;
                if borrowed != got.as_slice() {
                    return Err("in-place path disagrees".into());
                }
            }
            expect_plaintext(v, &got)
        }
        VectorKind::VerifyUrl => {
            let mc = crypt(v).map_err(|e| e.to_string())?;
            let got = mc
                .verify_url(
                    s(&v.msg_signature),
                    s(&v.timestamp),
                    s(&v.nonce),
                    s(&v.encrypt),
                )
                .map_err(|e| e.to_string())?;
            expect_plaintext(v, &got)
        }
        VectorKind::EncryptDeterministic => {
            let mc = crypt(v).map_err(|e| e.to_string())?;
            let random = v.random16_bytes().ok_or("no random16")?;
            let msg = s(&v.plaintext).as_bytes();
            let reply = mc
                .encrypt_reply(msg, s(&v.timestamp), s(&v.nonce), &random)
                .map_err(|e| e.to_string())?;
            if Some(&reply.encrypt) != v.encrypt.as_ref() {
                return Err(format!("Encrypt differs: {}", reply.encrypt));
            }
            if let Some(sig) = &v.msg_signature {
                if &reply.msg_signature != sig {
                    return Err(format!("msg_signature differs: {}", reply.msg_signature));
                }
            }
            if let Some(xml) = &v.envelope_xml {
                if &reply.to_xml() != xml {
                    return Err(format!("envelope differs:\n{}", reply.to_xml()));
                }
                let mut work = vec![0u8; mc.ciphertext_len(msg.len()).unwrap()];
                let mut out = vec![0u8; xml.len()];
                let into = mc
                    .encrypt_reply_into(
                        msg,
                        s(&v.timestamp),
                        s(&v.nonce),
                        &random,
                        &mut work,
                        &mut out,
                    )
                    .map_err(|e| e.to_string())?;
                if into != xml {
                    return Err("encrypt_reply_into differs".into());
                }
            }
            // And it must decrypt back.
            let back = mc
                .decrypt_encrypted(
                    &reply.encrypt,
                    &reply.msg_signature,
                    s(&v.timestamp),
                    s(&v.nonce),
                )
                .map_err(|e| e.to_string())?;
            expect_plaintext(v, &back)
        }
        VectorKind::SignOnly => {
            let token = v.token.as_str();
            let sig = match &v.encrypt {
                Some(enc) => signature::sign(token, s(&v.timestamp), s(&v.nonce), enc),
                None => signature::sign_plain(token, s(&v.timestamp), s(&v.nonce)),
            };
            if Some(sig.as_str()) == v.msg_signature.as_deref() {
                Ok(())
            } else {
                Err(format!("signature {sig}"))
            }
        }
        VectorKind::Reject => {
            let want = v.expected_error.ok_or("reject without expected_error")?;
            let got = crypt(v).and_then(|mc| match &v.envelope_xml {
                Some(body) => mc.decrypt_message(
                    body.as_bytes(),
                    s(&v.msg_signature),
                    s(&v.timestamp),
                    s(&v.nonce),
                ),
                None => mc.decrypt_encrypted(
                    s(&v.encrypt),
                    s(&v.msg_signature),
                    s(&v.timestamp),
                    s(&v.nonce),
                ),
            });
            match got {
                Err(e) if e.code() == want => Ok(()),
                Err(e) => Err(format!("expected {want}, got {e}")),
                Ok(_) => Err(format!("expected {want}, got success")),
            }
        }
    }
}

fn expect_plaintext(v: &CryptoVector, got: &[u8]) -> Result<(), String> {
    if let Some(p) = &v.plaintext {
        if got != p.as_bytes() {
            return Err(format!(
                "plaintext differs: {}",
                String::from_utf8_lossy(got)
            ));
        }
    }
    for frag in &v.plaintext_contains {
        if !String::from_utf8_lossy(got).contains(frag.as_str()) {
            return Err(format!("plaintext lacks {frag:?}"));
        }
    }
    Ok(())
}

fn run(name: &str, vectors: &[CryptoVector]) {
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check(v).err().map(|e| format!("{}: {e}", v.id)))
        .collect();
    println!(
        "{name}: {}/{} vectors passed",
        vectors.len() - failures.len(),
        vectors.len()
    );
    assert!(
        failures.is_empty(),
        "{name} failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn official_sdk_vectors() {
    let file = wxopen_vectors::official();
    assert_eq!(file.vectors.len(), 32);
    run("official-sdk", &file.vectors);
}

#[test]
fn cross_impl_vectors() {
    let file = wxopen_vectors::cross_impl();
    assert!(file.vectors.len() >= 200);
    run("cross-impl", &file.vectors);
}
