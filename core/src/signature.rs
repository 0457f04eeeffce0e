//! `msg_signature` and the plain `signature`: lowercase hex SHA-1 over the lexicographically
//! sorted concatenation of the parts, hashed piece by piece without building a string.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::error::Error;

/// Length of a hex signature.
pub const HEX_LEN: usize = 40;

/// A signature as 40 lowercase hex characters, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HexSignature([u8; HEX_LEN]);

impl HexSignature {
    /// The signature text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into the array.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The signature bytes (ASCII hex).
    pub fn as_bytes(&self) -> &[u8; HEX_LEN] {
        &self.0
    }

    /// Compare with a received signature in constant time (for equal lengths).
    pub fn ct_eq_str(&self, received: &str) -> bool {
        let received = received.as_bytes();
        if received.len() != HEX_LEN {
            return false;
        }
        // Word by word: five constant-time compares instead of forty.
        let (ours, _) = self.0.as_chunks::<8>();
        let (theirs, _) = received.as_chunks::<8>();
        let mut eq = subtle::Choice::from(1u8);
        for (a, b) in ours.iter().zip(theirs) {
            eq &= u64::from_ne_bytes(*a).ct_eq(&u64::from_ne_bytes(*b));
        }
        bool::from(eq)
    }
}

impl core::fmt::Debug for HexSignature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HexSignature({})", self.as_str())
    }
}

impl core::fmt::Display for HexSignature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hex(digest: &[u8]) -> HexSignature {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; HEX_LEN];
    for (pair, &b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    HexSignature(out)
}

/// `a < b`, deciding on the first byte when it differs (nearly always: a token, a decimal
/// timestamp, a nonce and base64 text) without a `memcmp` call.
fn less(a: &[u8], b: &[u8]) -> bool {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

/// Sort the parts in place (a tiny insertion sort: there are three or four).
fn sort_parts(parts: &mut [&[u8]]) {
    for i in 1..parts.len() {
        let mut j = i;
        while j > 0 && less(parts[j], parts[j - 1]) {
            parts.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Hash already-collected parts in sorted order.
pub fn sign_parts(parts: &mut [&[u8]]) -> HexSignature {
    sort_parts(parts);
    let mut h = Sha1::new();
    for p in parts.iter() {
        h.update(p);
    }
    hex(&h.finalize())
}

/// `msg_signature`: over token, timestamp, nonce and the `Encrypt` text.
///
/// ```
/// let sig = wxopen_core::signature::sign("RMNlACHlV5ThzfRlVS4D4", "timestamp", "nonce", "encrypt");
/// assert_eq!(sig.as_str(), "8edac0945683c119ee71c9f6256d76c48aa08a96");
/// ```
pub fn sign(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> HexSignature {
    sign_bytes(
        token.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        encrypt.as_bytes(),
    )
}

/// [`sign`] over byte slices.
pub fn sign_bytes(token: &[u8], timestamp: &[u8], nonce: &[u8], encrypt: &[u8]) -> HexSignature {
    sign_parts(&mut [token, timestamp, nonce, encrypt])
}

/// The plain `signature` query parameter: over token, timestamp and nonce only.
///
/// This is **not** `msg_signature`; checking a push against it is the most common cause of
/// a -40001 report.
pub fn sign_plain(token: &str, timestamp: &str, nonce: &str) -> HexSignature {
    sign_parts(&mut [token.as_bytes(), timestamp.as_bytes(), nonce.as_bytes()])
}

/// Check a received `msg_signature` in constant time.
pub fn verify(
    msg_signature: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &[u8],
) -> Result<(), Error> {
    let expected = sign_bytes(
        token.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        encrypt,
    );
    if expected.ct_eq_str(msg_signature) {
        Ok(())
    } else {
        Err(Error::SignatureMismatch)
    }
}

/// Check a received plain `signature` (three parts) in constant time.
pub fn verify_plain(
    signature: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<(), Error> {
    if sign_plain(token, timestamp, nonce).ct_eq_str(signature) {
        Ok(())
    } else {
        Err(Error::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        let sig = sign("RMNlACHlV5ThzfRlVS4D4", "timestamp", "nonce", "encrypt");
        assert_eq!(sig.as_str(), "8edac0945683c119ee71c9f6256d76c48aa08a96");
        assert_eq!(
            sign_plain("AAAAA", "1715943329", "1590219412").as_str(),
            "cc0c594499c1634947d5b502f158ee518947db27"
        );
    }

    #[test]
    fn order_of_arguments_does_not_matter() {
        let a = sign("t", "1", "n", "e");
        let b = sign_parts(&mut [b"e".as_slice(), b"n", b"1", b"t"]);
        assert_eq!(a, b);
    }

    #[test]
    fn verify_rejects_wrong_length_and_case() {
        let sig = sign("t", "1", "n", "e");
        assert!(verify(sig.as_str(), "t", "1", "n", b"e").is_ok());
        assert_eq!(
            verify(&sig.as_str()[..39], "t", "1", "n", b"e"),
            Err(Error::SignatureMismatch)
        );
        let upper = sig.as_str().to_ascii_uppercase();
        assert_eq!(
            verify(&upper, "t", "1", "n", b"e"),
            Err(Error::SignatureMismatch)
        );
        assert_eq!(
            verify(sig.as_str(), "t", "1", "n", b"f"),
            Err(Error::SignatureMismatch)
        );
        assert!(verify_plain(sign_plain("t", "1", "n").as_str(), "t", "1", "n").is_ok());
    }
}
