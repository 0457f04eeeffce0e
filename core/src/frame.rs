//! The plaintext frame inside the ciphertext:
//! `random16 | u32 big-endian message length | message | receiver id`.

use crate::error::{BufferError, Error};

/// Bytes before the message: 16 random bytes and the 4-byte length.
pub const HEADER_LEN: usize = 20;

/// A decoded frame, borrowing from the decrypted buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The 16 random bytes the sender chose.
    pub random: &'a [u8],
    /// The message (XML or JSON text).
    pub message: &'a [u8],
    /// The trailing receiver id (appid, component appid or corpid).
    pub receiver_id: &'a [u8],
}

/// Split an unpadded plaintext into its parts without copying.
///
/// The length field is checked against what remains, so a wrong key gives a clean
/// [`BufferError::LengthOutOfRange`] instead of a garbage slice.
pub fn decode(plain: &[u8]) -> Result<Frame<'_>, Error> {
    if plain.len() < HEADER_LEN {
        return Err(Error::Buffer(BufferError::FrameTooShort));
    }
    let (random, rest) = plain.split_at(16);
    let (len, rest) = rest.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    let len = usize::try_from(len).map_err(|_| Error::Buffer(BufferError::LengthOutOfRange))?;
    if len > rest.len() {
        return Err(Error::Buffer(BufferError::LengthOutOfRange));
    }
    let (message, receiver_id) = rest.split_at(len);
    Ok(Frame {
        random,
        message,
        receiver_id,
    })
}

/// The frame length for a message and receiver id, or `None` on overflow or a message longer
/// than the 32-bit length field.
pub fn encoded_len(message_len: usize, receiver_id_len: usize) -> Option<usize> {
    u32::try_from(message_len).ok()?;
    HEADER_LEN
        .checked_add(message_len)?
        .checked_add(receiver_id_len)
}

/// Write a frame into the front of `out` and return its length.
///
/// Fails with [`Error::Encrypt`] if the message is too long or `out` is too small.
pub fn encode_into(
    out: &mut [u8],
    random16: &[u8; 16],
    message: &[u8],
    receiver_id: &[u8],
) -> Result<usize, Error> {
    let total = encoded_len(message.len(), receiver_id.len()).ok_or(Error::Encrypt)?;
    let out = out.get_mut(..total).ok_or(Error::Encrypt)?;
    let len = u32::try_from(message.len()).map_err(|_| Error::Encrypt)?;
    out[..16].copy_from_slice(random16);
    out[16..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    let msg_end = HEADER_LEN + message.len();
    out[HEADER_LEN..msg_end].copy_from_slice(message);
    out[msg_end..].copy_from_slice(receiver_id);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut buf = [0u8; 64];
        let n = encode_into(&mut buf, b"0123456789abcdef", b"<xml/>", b"wx1").expect("fits");
        assert_eq!(n, 29);
        assert_eq!(&buf[16..20], &[0, 0, 0, 6]);
        let f = decode(&buf[..n]).expect("valid");
        assert_eq!(f.random, b"0123456789abcdef");
        assert_eq!(f.message, b"<xml/>");
        assert_eq!(f.receiver_id, b"wx1");
    }

    #[test]
    fn empty_message_and_receiver() {
        let mut buf = [0u8; 20];
        let n = encode_into(&mut buf, &[7; 16], b"", b"").expect("fits");
        let f = decode(&buf[..n]).expect("valid");
        assert!(f.message.is_empty() && f.receiver_id.is_empty());
    }

    #[test]
    fn rejects_short_and_overlong() {
        assert_eq!(
            decode(&[0; 19]),
            Err(Error::Buffer(BufferError::FrameTooShort))
        );
        let mut frame = [0u8; 24];
        frame[19] = 5;
        assert_eq!(
            decode(&frame),
            Err(Error::Buffer(BufferError::LengthOutOfRange))
        );
        frame[16] = 0xff;
        assert_eq!(
            decode(&frame),
            Err(Error::Buffer(BufferError::LengthOutOfRange))
        );
        frame[16] = 0;
        frame[19] = 4;
        assert_eq!(decode(&frame).map(|f| f.receiver_id.len()), Ok(0));
    }

    #[test]
    fn encode_needs_room() {
        let mut buf = [0u8; 22];
        assert_eq!(
            encode_into(&mut buf, &[0; 16], b"abc", b""),
            Err(Error::Encrypt)
        );
    }
}
