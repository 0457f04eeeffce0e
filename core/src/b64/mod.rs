//! Standard padded base64 for the hot paths.
//!
//! With `std`, the bulk work goes to the SIMD engine (`base64-simd`, runtime CPU detection);
//! without it, to `base64`'s general-purpose engine. Both accept exactly the same texts
//! (canonical padding, no stray trailing bits, no whitespace), and every error is produced by
//! the general-purpose engine, so the error values never depend on the build.
//!
//! With the `avx512` feature, decoding first hands the longest run of whole, clean 32-character
//! blocks to an AVX-512 VBMI kernel when the CPU has one ([`avx512`]); the SIMD engine takes
//! the rest, so padding and errors are handled exactly as without it.

#[cfg(feature = "avx512")]
mod avx512;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::{BufferError, Error};

/// The general-purpose decode, with the crate's error mapping; the reference behaviour.
fn decode_gp(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    STANDARD.decode_slice(text, out).map_err(|e| match e {
        base64::DecodeSliceError::OutputSliceTooSmall => {
            Error::Buffer(BufferError::OutputTooSmall {
                needed: text.len() / 4 * 3 + 3,
            })
        }
        base64::DecodeSliceError::DecodeError(_) => Error::Base64Decode,
    })
}

/// Decode `text` into the front of `out`, returning the decoded length.
#[cfg(feature = "std")]
pub(crate) fn decode(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    use base64_simd::{Out, STANDARD as SIMD};
    if let Ok(n) = SIMD.decoded_length(text) {
        if let Some(dst) = out.get_mut(..n) {
            let (chars, bytes) = bulk_prefix(text, dst);
            if let (Some(rest), Some(rest_out)) = (text.get(chars..), dst.get_mut(bytes..)) {
                if let Ok(done) = SIMD.decode(rest, Out::from_slice(rest_out)) {
                    return Ok(bytes + done.len());
                }
            }
        }
    }
    // Invalid text or a short buffer: let the reference engine name the error.
    decode_gp(text, out)
}

/// Decode `text` into a vector of exactly the decoded length, without zeroing it first.
/// The only error is -40010: with room to spare the reference engine names no other.
#[cfg(feature = "std")]
/// Only the allocating decrypt's general path uses it (short texts, and naming errors), so it
/// stays on the SIMD engine alone; the hot path is [`decode_split`].
pub(crate) fn decode_to_vec(text: &[u8]) -> Result<std::vec::Vec<u8>, Error> {
    base64_simd::STANDARD
        .decode_to_vec(text)
        .map_err(|_| Error::Base64Decode)
}

/// Bytes of a decoded text that [`decode_split`] keeps on the stack.
#[cfg(feature = "std")]
pub(crate) const SPLIT_HEAD: usize = 21;

/// Decode `text` into its first 21 bytes (`head`) and a vector of exactly the bytes from 20 on
/// (byte 20 is in both), without zeroing the vector first.
///
/// This lets a frame be decrypted in place right where its message is returned: the message
/// starts 20 bytes into the plaintext. `None` when the text is not valid base64 or decodes to
/// fewer than 32 bytes; callers then take the general path, which names the error.
#[cfg(feature = "std")]
pub(crate) fn decode_split(text: &[u8]) -> Option<([u8; SPLIT_HEAD], std::vec::Vec<u8>)> {
    use base64_simd::STANDARD as SIMD;
    let n = SIMD.decoded_length(text).ok()?;
    if n < 32 {
        return None;
    }
    // 28 characters are 21 bytes; an exact count also rules out padding inside the head.
    let (head_text, rest) = text.split_at_checked(SPLIT_HEAD / 3 * 4)?;
    let mut head = [0u8; SPLIT_HEAD];
    if decode(head_text, &mut head).ok()? != SPLIT_HEAD {
        return None;
    }
    let mut v = std::vec::Vec::with_capacity(n - 20);
    v.push(head[20]);
    #[cfg(feature = "avx512")]
    let rest = rest.get(avx512::decode_prefix_append(rest, &mut v)..)?;
    SIMD.decode_append(rest, &mut v).ok()?;
    (v.len() == n - 20).then_some((head, v))
}

/// The bulk of a clean text, decoded by the AVX-512 kernel when there is one:
/// `(characters consumed, bytes written)`, `(0, 0)` otherwise.
#[cfg(feature = "std")]
fn bulk_prefix(text: &[u8], out: &mut [u8]) -> (usize, usize) {
    #[cfg(feature = "avx512")]
    {
        avx512::decode_prefix_init(text, out)
    }
    #[cfg(not(feature = "avx512"))]
    {
        let _ = (text, out);
        (0, 0)
    }
}

/// Decode `text` into the front of `out`, returning the decoded length.
#[cfg(not(feature = "std"))]
pub(crate) fn decode(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    decode_gp(text, out)
}

/// Encode `bytes` into the front of `out`, returning the text length (-40009 if it is short).
#[cfg(feature = "std")]
pub(crate) fn encode(bytes: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    use base64_simd::{Out, STANDARD as SIMD};
    let n = bytes
        .len()
        .checked_add(2)
        .map(|l| l / 3)
        .and_then(|g| g.checked_mul(4))
        .ok_or(Error::Base64Encode)?;
    let dst = out.get_mut(..n).ok_or(Error::Base64Encode)?;
    Ok(SIMD.encode(bytes, Out::from_slice(dst)).len())
}

/// Encode `bytes` into the front of `out`, returning the text length (-40009 if it is short).
#[cfg(not(feature = "std"))]
pub(crate) fn encode(bytes: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    STANDARD
        .encode_slice(bytes, out)
        .map_err(|_| Error::Base64Encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A small deterministic generator (xorshift) for the differential checks.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn decode_agrees_with_the_reference_engine() {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n -_.";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut out = [0u8; 512];
        let mut ref_out = [0u8; 512];
        for round in 0..20_000 {
            let len = (rng.next() % 200) as usize;
            let mut text: Vec<u8> = if round % 2 == 0 {
                // Valid text, then maybe one mutation.
                let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let mut t = std::vec![0u8; raw.len().div_ceil(3) * 4];
                let n = STANDARD.encode_slice(&raw, &mut t).expect("fits");
                t.truncate(n);
                t
            } else {
                (0..len)
                    .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
                    .collect()
            };
            if !text.is_empty() && rng.next().is_multiple_of(3) {
                let at = (rng.next() % text.len() as u64) as usize;
                text[at] = ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize];
            }
            let out_len = if rng.next().is_multiple_of(8) {
                (rng.next() % 160) as usize
            } else {
                out.len()
            };
            let got = decode(&text, &mut out[..out_len]);
            let want = decode_gp(&text, &mut ref_out[..out_len]);
            assert_eq!(got, want, "text {:?}", core::str::from_utf8(&text));
            if let Ok(n) = got {
                assert_eq!(out[..n], ref_out[..n]);
            }
            #[cfg(feature = "std")]
            if out_len == out.len() {
                let owned = decode_to_vec(&text);
                assert_eq!(owned.as_deref().ok(), got.ok().map(|n| &ref_out[..n]));
                assert_eq!(owned.err(), got.err());
            }
        }
    }

    #[test]
    fn encode_agrees_with_the_reference_engine() {
        let mut rng = Rng(42);
        for len in 0..300 {
            let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut a = [0u8; 400];
            let mut b = [0u8; 400];
            let na = encode(&raw, &mut a).expect("fits");
            let nb = STANDARD.encode_slice(&raw, &mut b).expect("fits");
            assert_eq!(a[..na], b[..nb]);
            let short = na.saturating_sub(1);
            assert_eq!(
                encode(&raw, &mut a[..short]).err(),
                if na == 0 {
                    None
                } else {
                    Some(Error::Base64Encode)
                }
            );
        }
    }
}
