//! Messages and events of authorized accounts and passive replies: the pure parts are
//! [`wxopen_proto::message`], re-exported here; [`encrypt_reply`] draws the reply's random
//! prefix, which the sans-IO crate leaves to its caller.

pub use wxopen_proto::message::*;

use wxopen_core::{MsgCrypt, Reply};

/// Encrypts a plaintext reply (e.g. from [`text_reply`]) with the component's `MsgCrypt`, a
/// fresh random 16-byte prefix and the given timestamp and nonce. Send [`Reply::to_xml`].
pub fn encrypt_reply(
    crypt: &MsgCrypt,
    plaintext: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<Reply, wxopen_core::Error> {
    let random16: [u8; 16] = rand::random();
    encrypt_reply_with(crypt, plaintext, timestamp, nonce, &random16)
}
