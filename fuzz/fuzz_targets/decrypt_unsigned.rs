#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use wxopen_core::error::DecryptError;
use wxopen_core::{frame, pkcs7, AesKey, Error, MsgCrypt};
use wxopen_fuzz::{
    raw_decrypt, raw_encrypt, FIXED_ENCODING_AES_KEY, FIXED_RECEIVER_ID, FIXED_TOKEN,
};

fn fixed() -> &'static (MsgCrypt, AesKey) {
    static FIXED: OnceLock<(MsgCrypt, AesKey)> = OnceLock::new();
    FIXED.get_or_init(|| {
        let key = AesKey::from_encoding_aes_key(FIXED_ENCODING_AES_KEY).expect("sample key");
        let crypt = MsgCrypt::with_key(FIXED_TOKEN, key.clone(), FIXED_RECEIVER_ID).expect("valid");
        (crypt, key)
    })
}

// First byte: mode. Odd: the rest is a plaintext (cut to whole blocks) that the harness
// encrypts first, so chosen frames and paddings reach `open`. Even: the rest is ciphertext.
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (crypt, key) = fixed();
    let mut ct = rest.to_vec();
    let chosen = if mode & 1 == 1 {
        ct.truncate(ct.len() / 16 * 16);
        let plain = ct.clone();
        raw_encrypt(key.as_bytes(), &mut ct);
        Some(plain)
    } else {
        None
    };
    let mut buf = ct.clone();
    let opened = crypt.open(&mut buf);

    // The allocating decrypt (which decrypts the message where it returns it) and the
    // in-place one must agree on every ciphertext, valid frame or not.
    let text = base64::engine::general_purpose::STANDARD.encode(&ct);
    let sig = crypt.sign("1409304348", "nonce", &text);
    let owned = crypt.decrypt_encrypted(&text, sig.as_str(), "1409304348", "nonce");
    let mut out = vec![0u8; MsgCrypt::decrypt_buffer_len(text.len())];
    let in_place = crypt
        .decrypt_encrypted_in_place(
            text.as_bytes(),
            sig.as_str(),
            "1409304348",
            "nonce",
            &mut out,
        )
        .map(<[u8]>::to_vec);
    assert_eq!(owned, in_place);
    if ct.is_empty() || ct.len() % 16 != 0 {
        assert_eq!(opened, Err(Error::Decrypt(DecryptError::CiphertextLength)));
        return;
    }

    // The same three layers by hand must agree exactly.
    let mut plain = ct.clone();
    raw_decrypt(key.as_bytes(), &mut plain);
    if let Some(chosen) = chosen {
        assert_eq!(plain, chosen);
    }
    let expected = pkcs7::unpad(&plain).and_then(frame::decode);
    assert_eq!(opened, expected);
    let Ok(f) = opened else {
        return;
    };
    assert_eq!(f.random.len(), 16);
    assert!(frame::HEADER_LEN + f.message.len() + f.receiver_id.len() < ct.len());

    // Sealing the frame again under the receiver id it carries gives back the ciphertext
    // whenever the ciphertext has the padded length WeChat produces (a multiple of 32).
    let Ok(receiver) = std::str::from_utf8(f.receiver_id) else {
        return;
    };
    let Ok(again) = MsgCrypt::with_key(FIXED_TOKEN, key.clone(), receiver) else {
        return;
    };
    let random: [u8; 16] = f.random.try_into().expect("16 bytes");
    let mut work = vec![0u8; again.ciphertext_len(f.message.len()).expect("fits")];
    let sealed = again.seal(f.message, &random, &mut work).expect("seals");
    if ct.len() % pkcs7::BLOCK == 0 {
        assert_eq!(sealed, &ct[..]);
    }
});
