#![no_main]

use libfuzzer_sys::fuzz_target;
use wxopen_core::error::BufferError;
use wxopen_core::{envelope, AesKey, Error, MsgCrypt};
use wxopen_fuzz::RoundtripInput;

fuzz_target!(|input: RoundtripInput<'_>| {
    let key = AesKey::from_bytes(input.key);
    let crypt = match MsgCrypt::with_key(input.token, key, input.receiver_id) {
        Ok(c) => c,
        Err(e) => {
            assert!(matches!(
                e,
                Error::SignatureInput | Error::ReceiverIdTooLong
            ));
            return;
        }
    };
    let (msg, ts, nonce, random) = (input.message, input.timestamp, input.nonce, &input.random16);

    let cipher_len = crypt.ciphertext_len(msg.len()).expect("small message");
    let reply_len = crypt
        .reply_len(msg.len(), ts.len(), nonce.len())
        .expect("small");
    let mut work = vec![0u8; cipher_len];
    let mut out = vec![0u8; reply_len];
    let into = crypt.encrypt_reply_into(msg, ts, nonce, random, &mut work, &mut out);
    let reply = match crypt.encrypt_reply(msg, ts, nonce, random) {
        Ok(reply) => reply,
        Err(e) => {
            // Bad timestamp or nonce: a typed error, the same from both paths.
            let fields = envelope::check_reply_fields(ts, nonce);
            assert_eq!(fields, Err(e));
            assert!(matches!(e, Error::SignatureInput | Error::ReplyXml));
            assert_eq!(into.map(|_| ()), Err(e));
            return;
        }
    };

    // The no-alloc path writes byte for byte the envelope the allocating path builds.
    let xml = reply.to_xml();
    assert_eq!(into, Ok(xml.as_str()));
    assert_eq!(
        reply.encrypt.len(),
        crypt.encrypt_len(msg.len()).expect("small")
    );
    let mut text = vec![0u8; reply.encrypt.len()];
    assert_eq!(
        crypt.encrypt_into(msg, random, &mut work, &mut text),
        Ok(reply.encrypt.as_str())
    );

    // Exact buffers are enough and one byte less is a typed error.
    let short_out =
        crypt.encrypt_reply_into(msg, ts, nonce, random, &mut work, &mut out[..reply_len - 1]);
    assert_eq!(
        short_out,
        Err(Error::Buffer(BufferError::OutputTooSmall {
            needed: reply_len
        }))
    );
    let short_work = crypt.encrypt_reply_into(
        msg,
        ts,
        nonce,
        random,
        &mut work[..cipher_len - 1],
        &mut out,
    );
    assert_eq!(short_work, Err(Error::Encrypt));

    // The envelope reads back, and both decrypt paths return the message.
    let env = envelope::parse(xml.as_bytes()).expect("own reply parses");
    assert_eq!(env.encrypt, reply.encrypt);
    let sig = reply.msg_signature.as_str();
    let owned = crypt
        .decrypt_message(xml.as_bytes(), sig, ts, nonce)
        .expect("own reply decrypts");
    assert_eq!(owned, msg);
    let mut buf = vec![0u8; MsgCrypt::decrypt_buffer_len(reply.encrypt.len())];
    let in_place = crypt
        .decrypt_message_in_place(xml.as_bytes(), sig, ts, nonce, &mut buf)
        .expect("own reply decrypts in place");
    assert_eq!(in_place, msg);
    assert_eq!(
        crypt
            .decrypt_encrypted(&reply.encrypt, sig, ts, nonce)
            .as_deref(),
        Ok(msg)
    );

    // Another receiver id or a changed nonce is refused with the right error.
    if input.receiver_id.len() < wxopen_core::crypt::MAX_ID_LEN {
        let other_id = format!("{}~", input.receiver_id);
        let other = MsgCrypt::with_key(input.token, AesKey::from_bytes(input.key), &other_id)
            .expect("valid");
        assert_eq!(
            other.decrypt_message(xml.as_bytes(), sig, ts, nonce),
            Err(Error::ReceiverIdMismatch)
        );
    }
    let other_nonce = format!("{nonce}x");
    assert_eq!(
        crypt.decrypt_message(xml.as_bytes(), sig, ts, &other_nonce),
        Err(Error::SignatureMismatch)
    );
});
