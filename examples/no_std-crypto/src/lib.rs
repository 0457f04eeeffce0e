//! `wxopen-core` under `no_std` with no allocator: the push decrypt and the reply encrypt work
//! on buffers the caller owns, here fixed-size arrays a firmware could keep in static memory.
//!
//! ```sh
//! cargo build -p wxopen-example-no-std --target thumbv7em-none-eabihf   # Cortex-M4F/M7F
//! cargo test -p wxopen-example-no-std                                   # on the host
//! ```
//!
//! It is a library on purpose: a binary for a bare-metal target also needs a panic handler and
//! an entry point from a board support crate, which have nothing to do with wxopen.
#![no_std]
#![forbid(unsafe_code)]

use wxopen_core::{Error, MsgCrypt};

/// The largest message this device handles; the buffers below are sized from it.
pub const MAX_MESSAGE: usize = 1024;
/// Ciphertext of a [`MAX_MESSAGE`]-byte message: frame (16 random bytes, 4 length bytes, the
/// message, an 18-byte appid) padded to a multiple of 32.
pub const MAX_CIPHERTEXT: usize = (16 + 4 + MAX_MESSAGE + 18).div_ceil(32) * 32;
/// Its base64 text.
pub const MAX_ENCRYPT_TEXT: usize = MAX_CIPHERTEXT.div_ceil(3) * 4;
/// Room for a reply envelope around that text (tags, a 40-character signature, a timestamp
/// and a nonce of up to 32 characters each).
pub const MAX_REPLY: usize = MAX_ENCRYPT_TEXT + 512;

/// Decrypts a pushed POST body into `buf`, returning the message: envelope, `msg_signature`
/// (constant time), base64, AES-256-CBC, padding, frame and appid are all checked. Nothing is
/// allocated; `buf` must hold the decoded `Encrypt` text (the body length is always enough).
pub fn open_push<'b>(
    crypt: &MsgCrypt,
    body: &[u8],
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
    buf: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    crypt.decrypt_message_in_place(body, msg_signature, timestamp, nonce, buf)
}

/// Encrypts a passive reply into `out`, returning the XML envelope to send. `random16` must
/// come from the device's random number generator: the crate draws no randomness itself.
pub fn seal_reply<'o>(
    crypt: &MsgCrypt,
    message: &[u8],
    timestamp: &str,
    nonce: &str,
    random16: &[u8; 16],
    out: &'o mut [u8; MAX_REPLY],
) -> Result<&'o str, Error> {
    let mut work = [0u8; MAX_CIPHERTEXT];
    crypt.encrypt_reply_into(message, timestamp, nonce, random16, &mut work, out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    // Tencent's sample token, EncodingAESKey and appid.
    const TOKEN: &str = "pamtest";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APPID: &str = "wxb11529c136998cb6";

    #[test]
    fn a_reply_sealed_here_opens_here() {
        let crypt = MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
        let message = [b'x'; MAX_MESSAGE];
        let mut out = [0u8; MAX_REPLY];
        let body =
            seal_reply(&crypt, &message, "1409304348", "xxxxxx", &[7; 16], &mut out).unwrap();

        // The signature sits in the envelope: <MsgSignature><![CDATA[...]]></MsgSignature>.
        let start = body.find("<MsgSignature><![CDATA[").unwrap() + 23;
        let signature = &body[start..start + 40];
        let mut buf = [0u8; MAX_REPLY];
        let opened = open_push(
            &crypt,
            body.as_bytes(),
            signature,
            "1409304348",
            "xxxxxx",
            &mut buf,
        )
        .unwrap();
        assert_eq!(opened, &message[..]);

        // Another nonce means another signature: refused with the official code.
        let err = open_push(
            &crypt,
            body.as_bytes(),
            signature,
            "1409304348",
            "yyyyyy",
            &mut buf,
        )
        .unwrap_err();
        assert_eq!(err.code(), -40001);
    }

    #[test]
    fn the_buffers_fit_what_the_crate_computes() {
        let crypt = MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
        assert_eq!(crypt.ciphertext_len(MAX_MESSAGE), Some(MAX_CIPHERTEXT));
        assert_eq!(crypt.encrypt_len(MAX_MESSAGE), Some(MAX_ENCRYPT_TEXT));
        assert!(crypt.reply_len(MAX_MESSAGE, 32, 32).unwrap() <= MAX_REPLY);
    }
}
