//! Every input in `fuzz/regressions/` that reaches the core, replayed on stable.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use wxopen_core::error::XmlError;
use wxopen_core::{envelope, Error, MsgCrypt};

const TEXT_VALUE_WITH_CDATA_END: &[u8] =
    include_bytes!("../../fuzz/regressions/envelope/text-value-with-cdata-end");
const SELF_CLOSING_ENCRYPT: &[u8] =
    include_bytes!("../../fuzz/regressions/envelope/self-closing-encrypt-empty-value");

#[test]
fn text_value_with_cdata_end_is_refused() {
    assert!(matches!(
        envelope::parse(TEXT_VALUE_WITH_CDATA_END),
        Err(Error::Xml(XmlError::Malformed { .. }))
    ));
}

#[test]
fn self_closing_encrypt_reads_as_empty_and_then_fails_typed() {
    let env = envelope::parse(SELF_CLOSING_ENCRYPT).unwrap();
    assert_eq!(env.encrypt, "");
    assert_eq!(env.app_id, Some("wx0"));
    // An empty Encrypt cannot pass the signature check, nor decrypt if it did.
    let mc = MsgCrypt::new("token", &"A".repeat(43), "wx0").unwrap();
    let sig = mc.sign("1", "n", "");
    let mut buf = [0u8; 256];
    assert_eq!(
        mc.decrypt_message_in_place(SELF_CLOSING_ENCRYPT, sig.as_str(), "1", "n", &mut buf),
        Err(Error::Decrypt(
            wxopen_core::error::DecryptError::CiphertextLength
        ))
    );
    assert_eq!(
        mc.decrypt_message(SELF_CLOSING_ENCRYPT, "0", "1", "n"),
        Err(Error::SignatureMismatch)
    );
}
