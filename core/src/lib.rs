//! Sans-IO, `no_std` crypto for WeChat message pushes and replies (`WXBizMsgCrypt`).
//!
//! ```
//! use wxopen_core::MsgCrypt;
//!
//! let crypt = MsgCrypt::new(
//!     "pamtest",
//!     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
//!     "wxb11529c136998cb6",
//! )?;
//! // Encrypt a reply; the caller supplies timestamp, nonce and 16 random bytes.
//! let reply = crypt.encrypt_reply(b"<xml>hello</xml>", "1409304348", "xxxxxx", b"aaaabbbbccccdddd")?;
//! let body = reply.to_xml();
//! // Decrypt it the way a push is decrypted: signature first, then AES, padding, frame, appid.
//! let message = crypt.decrypt_message(body.as_bytes(), &reply.msg_signature, "1409304348", "xxxxxx")?;
//! assert_eq!(message, b"<xml>hello</xml>");
//! # Ok::<(), wxopen_core::Error>(())
//! ```
//!
//! Nothing here reads a clock, draws random numbers or does I/O: timestamps, nonces, the 16
//! random bytes of each frame and `now` come from the caller. With `default-features = false`
//! the crate needs no allocator; the `*_in_place` / `*_into` methods work on caller buffers.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `alloc` | via `std` | owned results: `Reply`, `MsgCrypt::decrypt_message`, `encrypt`, `verify_url` |
//! | `std` | yes | SIMD base64 (`base64-simd`) with runtime CPU detection; implies `alloc` |
//! | `avx512` | no | an AVX-512 VBMI base64 decoder for x86-64 CPUs that have one, detected at run time; implies `std` |
//!
//! `avx512` holds the crate's only `unsafe` code and is opt-in: without it the crate is
//! `#![forbid(unsafe_code)]`. It makes a 64 KiB push decrypt about 7 % faster and a 1 KiB one
//! about 3 % (the crate README has the measurements and the fuzzing behind it). With
//! `default-features = false` the crate needs neither `std` nor an allocator.
//!
//! | module | holds |
//! |---|---|
//! | [`key`] | EncodingAESKey → AES-256 key |
//! | [`pkcs7`] | padding to 32-byte multiples |
//! | [`frame`] | `random16 | length | message | receiver id` |
//! | [`signature`] | `msg_signature` and `signature` |
//! | [`envelope`] | reading POST bodies, writing replies |
//! | [`json_envelope`] | the JSON form of the POST body |
//! | [`crypt`] | [`MsgCrypt`], the high-level API |
//! | [`timestamp`] | replay-window check |
//! | [`error`] | [`Error`] with the official codes |
#![no_std]
#![warn(missing_docs)]
// The one exception, `b64::avx512`, allows `unsafe` for itself; without the `avx512` feature
// the whole crate forbids it.
#![cfg_attr(not(feature = "avx512"), forbid(unsafe_code))]
#![cfg_attr(feature = "avx512", deny(unsafe_code))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod b64;
pub mod crypt;
pub mod envelope;
pub mod error;
pub mod frame;
pub mod json_envelope;
pub mod key;
pub mod pkcs7;
mod raw_envelope;
pub mod signature;
pub mod timestamp;

/// Internals reachable for the benchmarks and fuzz targets only; not part of the API and not
/// covered by semver.
#[doc(hidden)]
pub mod __private {
    /// The base64 decoder behind every decrypt path (`std`: AVX-512 VBMI kernel for the bulk
    /// where the CPU has it, then the SIMD engine; errors named by the reference engine).
    pub fn decode_base64(text: &[u8], out: &mut [u8]) -> Result<usize, crate::Error> {
        crate::b64::decode(text, out)
    }
}

pub use crypt::MsgCrypt;
#[cfg(feature = "alloc")]
pub use crypt::Reply;
pub use envelope::Envelope;
pub use error::Error;
pub use key::AesKey;
