//! Property tests: round trips, tamper detection, and mutations of the padding and length field.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use aes::cipher::array::Array;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use proptest::prelude::*;
use wxopen_core::{AesKey, Error, MsgCrypt};

fn key_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9]{43}").unwrap()
}

fn receiver() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(wx[0-9a-f]{16})|([ -~]{0,40})|(\\PC{0,20})").unwrap()
}

fn timestamp() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9]{1,12}").unwrap()
}

fn nonce() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9]{1,32}").unwrap()
}

/// AES-256-CBC over already padded bytes, independent of the crate's own encrypt path.
fn raw_encrypt(encoding_aes_key: &str, plain: &[u8]) -> String {
    let key = AesKey::from_encoding_aes_key(encoding_aes_key).unwrap();
    let mut buf = plain.to_vec();
    let mut enc =
        cbc::Encryptor::<aes::Aes256>::new(&Array::from(*key.as_bytes()), &Array::from(key.iv()));
    enc.encrypt_blocks(Array::slice_as_chunks_mut(&mut buf[..]).0);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

fn envelope(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_any_message(
        key in key_text(),
        rid in receiver(),
        msg in proptest::collection::vec(any::<u8>(), 0..2048),
        random in any::<[u8; 16]>(),
        ts in timestamp(),
        nonce in nonce(),
    ) {
        let mc = MsgCrypt::new("token", &key, &rid).unwrap();
        let reply = mc.encrypt_reply(&msg, &ts, &nonce, &random).unwrap();
        let body = reply.to_xml();
        let owned = mc.decrypt_message(body.as_bytes(), &reply.msg_signature, &ts, &nonce).unwrap();
        prop_assert_eq!(&owned, &msg);

        let mut buf = vec![0u8; MsgCrypt::decrypt_buffer_len(body.len())];
        let borrowed = mc
            .decrypt_message_in_place(body.as_bytes(), &reply.msg_signature, &ts, &nonce, &mut buf)
            .unwrap();
        prop_assert_eq!(borrowed, msg.as_slice());

        let mut work = vec![0u8; mc.ciphertext_len(msg.len()).unwrap()];
        let mut out = vec![0u8; mc.reply_len(msg.len(), ts.len(), nonce.len()).unwrap()];
        let xml = mc.encrypt_reply_into(&msg, &ts, &nonce, &random, &mut work, &mut out).unwrap();
        prop_assert_eq!(xml, body.as_str());
        prop_assert_eq!(mc.encrypt(&msg, &random).unwrap(), reply.encrypt);
    }

    #[test]
    fn any_tampering_is_a_signature_error(
        msg in proptest::collection::vec(any::<u8>(), 0..300),
        which in 0usize..4,
        pos in any::<prop::sample::Index>(),
        ts in timestamp(),
        nonce in nonce(),
    ) {
        let mc = MsgCrypt::new("token", &"k".repeat(43), "wx0123456789abcdef").unwrap();
        let reply = mc.encrypt_reply(&msg, &ts, &nonce, &[9; 16]).unwrap();
        let (mut enc, mut ts2, mut nonce2, mut sig) =
            (reply.encrypt.clone(), ts.clone(), nonce.clone(), reply.msg_signature.clone());
        let target = match which { 0 => &mut enc, 1 => &mut ts2, 2 => &mut nonce2, _ => &mut sig };
        let i = pos.index(target.len());
        let old = target.as_bytes()[i];
        let new = if old == b'0' { '1' } else { '0' };
        target.replace_range(i..i + 1, &new.to_string());
        let body = envelope(&enc);
        let got = mc.decrypt_message(body.as_bytes(), &sig, &ts2, &nonce2);
        prop_assert_eq!(got, Err(Error::SignatureMismatch));
    }

    #[test]
    fn padding_and_length_mutations_never_give_a_wrong_message(
        msg in proptest::collection::vec(any::<u8>(), 0..200),
        len_field in any::<u32>(),
        pad_value in any::<u8>(),
        pad_pos in any::<prop::sample::Index>(),
        mutate_len in any::<bool>(),
    ) {
        let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let rid = "wxb11529c136998cb6";
        let mc = MsgCrypt::new("token", key, rid).unwrap();
        let mut plain = vec![0u8; 16];
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(&msg);
        plain.extend_from_slice(rid.as_bytes());
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        if mutate_len {
            plain[16..20].copy_from_slice(&len_field.to_be_bytes());
        } else {
            let tail_start = plain.len() - pad;
            let i = tail_start + pad_pos.index(pad);
            plain[i] = pad_value;
        }
        let encrypt = raw_encrypt(key, &plain);
        let sig = mc.sign("1", "n", &encrypt);
        match mc.decrypt_message(envelope(&encrypt).as_bytes(), sig.as_str(), "1", "n") {
            Ok(got) => prop_assert_eq!(got, msg),
            Err(e) => prop_assert!(matches!(e.code(), -40005 | -40007 | -40008), "{e}"),
        }
    }

    #[test]
    fn arbitrary_ciphertext_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mc = MsgCrypt::new("token", &"A".repeat(43), "wx").unwrap();
        let mut buf = bytes.clone();
        let _ = mc.open(&mut buf);
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let sig = mc.sign("1", "n", &text);
        let r = mc.decrypt_encrypted(&text, sig.as_str(), "1", "n");
        if let Err(e) = r {
            prop_assert!((-40008..=-40005).contains(&e.code()) || e.code() == -40007, "{e}");
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mc = MsgCrypt::new("token", &"A".repeat(43), "wx").unwrap();
        let mut buf = vec![0u8; 400];
        let r = mc.decrypt_message_in_place(&body, "0", "1", "n", &mut buf);
        prop_assert!(r.is_err());
    }
}
