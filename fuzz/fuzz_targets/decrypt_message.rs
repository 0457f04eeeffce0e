#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use wxopen_core::error::{BufferError, XmlError};
use wxopen_core::{envelope, AesKey, Error, MsgCrypt};
use wxopen_fuzz::{DecryptInput, SIGN_CORRECTLY, USE_TEXT_KEY};

fuzz_target!(|input: DecryptInput<'_>| {
    let made = if input.flags & USE_TEXT_KEY != 0 {
        MsgCrypt::new(input.token, input.encoding_aes_key, input.receiver_id)
    } else {
        MsgCrypt::with_key(
            input.token,
            AesKey::from_bytes(input.key),
            input.receiver_id,
        )
    };
    let crypt = match made {
        Ok(c) => c,
        Err(e) => {
            assert!(matches!(
                e,
                Error::SignatureInput | Error::ReceiverIdTooLong | Error::InvalidAesKey(_)
            ));
            return;
        }
    };
    let (body, ts, nonce) = (input.body, input.timestamp, input.nonce);
    let env = envelope::parse(body);
    // Most random signatures stop the pipeline at once; half the time, sign correctly so the
    // base64, AES, padding and frame layers are reached.
    let signed;
    let sig = match env {
        Ok(env) if input.flags & SIGN_CORRECTLY != 0 => {
            signed = crypt.sign(ts, nonce, env.encrypt);
            signed.as_str()
        }
        _ => input.msg_signature,
    };

    let owned = crypt.decrypt_message(body, sig, ts, nonce);
    // The body length is documented to be always enough for the in-place path.
    let mut buf = vec![0u8; body.len()];
    let in_place = crypt.decrypt_message_in_place(body, sig, ts, nonce, &mut buf);
    assert_eq!(owned.as_deref(), in_place.as_deref());

    let env = match env {
        Ok(env) => env,
        Err(e) => {
            // The decrypt path reads the same envelope (as bytes: it skips the UTF-8 check).
            if e != Error::Xml(XmlError::NotUtf8) {
                assert_eq!(owned, Err(e));
            }
            return;
        }
    };
    assert_eq!(
        crypt
            .decrypt_encrypted(env.encrypt, sig, ts, nonce)
            .as_deref(),
        owned.as_deref()
    );

    // A buffer sized by `decrypt_buffer_len` works; a smaller one gives the same answer or
    // a typed "too small" error.
    let needed = MsgCrypt::decrypt_buffer_len(env.encrypt.len());
    let small_len = needed.saturating_sub(usize::from(input.shrink));
    let mut small = vec![0u8; small_len];
    let r = crypt.decrypt_message_in_place(body, sig, ts, nonce, &mut small);
    match r {
        Err(Error::Buffer(BufferError::OutputTooSmall { needed: n })) if small_len < needed => {
            assert_eq!(n, needed)
        }
        r => assert_eq!(r.as_deref(), owned.as_deref()),
    }

    if let Ok(message) = owned {
        assert!(message.len() <= body.len());
        assert_eq!(crypt.sign(ts, nonce, env.encrypt).as_str(), sig);
        // Strict decoding is canonical: re-encrypting the message with the frame's random
        // bytes gives back exactly the Encrypt text (no malleable base64, padding or frame).
        let mut ct = STANDARD.decode(env.encrypt).expect("accepted base64");
        let frame = crypt.open(&mut ct).expect("accepted ciphertext");
        assert_eq!(frame.message, &message[..]);
        assert_eq!(frame.receiver_id, crypt.receiver_id().as_bytes());
        let random: [u8; 16] = frame.random.try_into().expect("16 random bytes");
        assert_eq!(
            crypt.encrypt(&message, &random).expect("re-encrypts"),
            env.encrypt
        );
    }
});
