//! PKCS#7 padding to a multiple of 32 bytes, as WeChat uses it.
//!
//! The cipher's block is 16 bytes but WeChat pads to 32, so a pad of 17..=32 bytes is normal and
//! `cbc`'s built-in padding cannot express it. Unpadding is strict: the pad value must be 1..=32
//! and every pad byte must carry it.

use crate::error::{DecryptError, Error};

/// The padding block size WeChat uses.
pub const BLOCK: usize = 32;

/// How many pad bytes follow a payload of `len` bytes (always 1..=32).
pub const fn pad_len(len: usize) -> usize {
    BLOCK - (len % BLOCK)
}

/// The padded length of a payload of `len` bytes.
pub const fn padded_len(len: usize) -> Option<usize> {
    len.checked_add(pad_len(len))
}

/// Write the padding for a `len`-byte payload into `buf[len..]` and return the padded length.
///
/// Fails with [`Error::Encrypt`] if `buf` cannot hold the padding.
pub fn pad(buf: &mut [u8], len: usize) -> Result<usize, Error> {
    let n = pad_len(len);
    let end = len.checked_add(n).ok_or(Error::Encrypt)?;
    let tail = buf.get_mut(len..end).ok_or(Error::Encrypt)?;
    tail.fill(n as u8);
    Ok(end)
}

/// Strip the padding from a decrypted buffer, returning the payload.
pub fn unpad(buf: &[u8]) -> Result<&[u8], Error> {
    let bad = Error::Decrypt(DecryptError::Padding);
    let &last = buf.last().ok_or(bad)?;
    let n = usize::from(last);
    if n == 0 || n > BLOCK || n > buf.len() {
        return Err(bad);
    }
    let (payload, tail) = buf.split_at(buf.len() - n);
    // Fold instead of short-circuiting: the check costs the same whatever the tail holds.
    if tail.iter().fold(0u8, |acc, &b| acc | (b ^ last)) != 0 {
        return Err(bad);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_lengths_cover_one_to_thirty_two() {
        assert_eq!(pad_len(0), 32);
        assert_eq!(pad_len(1), 31);
        assert_eq!(pad_len(31), 1);
        assert_eq!(pad_len(32), 32);
        assert_eq!(pad_len(33), 31);
        assert_eq!(padded_len(usize::MAX), None);
    }

    #[test]
    fn pad_then_unpad_round_trips() {
        for len in 0..100 {
            let mut buf = [0xAAu8; 140];
            let end = pad(&mut buf, len).expect("room");
            assert_eq!(end % BLOCK, 0);
            assert_eq!(unpad(&buf[..end]).expect("valid").len(), len);
        }
    }

    #[test]
    fn pad_needs_room() {
        let mut buf = [0u8; 40];
        assert_eq!(pad(&mut buf, 33), Err(Error::Encrypt));
    }

    #[test]
    fn unpad_is_strict() {
        let pad_err = Err(Error::Decrypt(DecryptError::Padding));
        assert_eq!(unpad(&[]), pad_err);
        assert_eq!(unpad(&[1, 2, 0]), pad_err);
        assert_eq!(unpad(&[33u8; 64]), pad_err);
        assert_eq!(unpad(&[3, 3]), pad_err);
        assert_eq!(unpad(&[9, 2, 3, 3]), pad_err);
        assert_eq!(unpad(&[9, 3, 3, 3]), Ok(&[9u8][..]));
        assert_eq!(unpad(&[32u8; 32]), Ok(&[][..]));
    }
}
