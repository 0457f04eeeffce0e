//! Shared pieces of the fuzz targets: the structured inputs, the fixed key of
//! `decrypt_unsigned`, and an encoder that writes a structured input as the bytes
//! `arbitrary` would read it back from (used by the seed generator).

use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use arbitrary::Arbitrary;

/// The EncodingAESKey of the official samples; `decrypt_unsigned` always uses it.
pub const FIXED_ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
/// Token and receiver id used with [`FIXED_ENCODING_AES_KEY`].
pub const FIXED_TOKEN: &str = "pamtest";
/// Receiver id used with [`FIXED_ENCODING_AES_KEY`].
pub const FIXED_RECEIVER_ID: &str = "wxb11529c136998cb6";

/// Input of `decrypt_message`.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct DecryptInput<'a> {
    /// Raw AES key, used unless `flags & USE_TEXT_KEY`.
    pub key: [u8; 32],
    /// `SIGN_*` / `USE_TEXT_KEY` bits.
    pub flags: u8,
    /// How many bytes the small in-place buffer lacks from the documented size.
    pub shrink: u8,
    pub token: &'a str,
    pub encoding_aes_key: &'a str,
    pub receiver_id: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub msg_signature: &'a str,
    pub body: &'a [u8],
}

/// `decrypt_message`: replace `msg_signature` with the correct one for the body's `Encrypt`.
pub const SIGN_CORRECTLY: u8 = 1;
/// `decrypt_message`: build the crypt from `encoding_aes_key` instead of `key`.
pub const USE_TEXT_KEY: u8 = 2;

/// Input of `roundtrip`.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct RoundtripInput<'a> {
    pub key: [u8; 32],
    pub random16: [u8; 16],
    pub token: &'a str,
    pub receiver_id: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub message: &'a [u8],
}

/// AES-256-CBC encrypt whole blocks in place, with WeChat's IV (the first 16 key bytes) and no
/// padding: lets `decrypt_unsigned` reach chosen plaintexts through the real decryptor.
pub fn raw_encrypt(key: &[u8; 32], blocks: &mut [u8]) {
    assert!(blocks.len().is_multiple_of(16));
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    let mut enc = cbc::Encryptor::<aes::Aes256Enc>::new(key.into(), &iv.into());
    let (chunks, _) = aes::cipher::array::Array::slice_as_chunks_mut(blocks);
    enc.encrypt_blocks(chunks);
}

/// AES-256-CBC decrypt whole blocks in place (WeChat IV, no unpadding), for the seed generator.
pub fn raw_decrypt(key: &[u8; 32], blocks: &mut [u8]) {
    use aes::cipher::BlockModeDecrypt;
    assert!(blocks.len().is_multiple_of(16));
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    let mut dec = cbc::Decryptor::<aes::Aes256Dec>::new(key.into(), &iv.into());
    let (chunks, _) = aes::cipher::array::Array::slice_as_chunks_mut(blocks);
    dec.decrypt_blocks(chunks);
}

/// One field of a structured input, in declaration order.
pub enum Field<'a> {
    /// Fixed-size bytes (`u8`, `bool`, `[u8; N]`), read from the front.
    Fixed(&'a [u8]),
    /// A `&[u8]` / `&str` that is not the last field: content from the front, length from
    /// the back of the input.
    Var(&'a [u8]),
    /// The last field (`arbitrary_take_rest`): everything left.
    Rest(&'a [u8]),
}

/// Lay out fields the way `arbitrary` 1.x reads them (`arbitrary_byte_size` takes each length
/// from the end of the data). Returns `None` for a layout it cannot express; callers must
/// check the result by decoding it again.
pub fn encode_fields(fields: &[Field<'_>]) -> Option<Vec<u8>> {
    let mut front = Vec::new();
    // (content length, front bytes from this field's content to the end) per Var field.
    let mut vars = Vec::new();
    for f in fields {
        match f {
            Field::Fixed(b) | Field::Rest(b) => front.extend_from_slice(b),
            Field::Var(b) => {
                vars.push((b.len(), front.len()));
                front.extend_from_slice(b);
            }
        }
    }
    let total_front = front.len();
    // Widths, computed from the last Var backwards: the data left when a length is read is the
    // unread front plus the length bytes of this and every later Var.
    let mut widths = vec![0usize; vars.len()];
    let mut later = 0usize;
    let mut values = vec![0u64; vars.len()];
    for i in (0..vars.len()).rev() {
        let (len, start) = vars[i];
        let unread = total_front - start;
        let (w, limit) = [(1usize, 257u64), (2, 65_538)]
            .into_iter()
            .find(|&(w, limit)| (unread + w + later) as u64 <= limit)?;
        let max_size = (unread + later) as u64;
        // `0..=max_size` must not wrap in the width's integer type.
        if max_size >= limit - w as u64 {
            return None;
        }
        widths[i] = w;
        values[i] = len as u64;
        later += w;
    }
    let mut out = front;
    for i in (0..vars.len()).rev() {
        let v = values[i];
        match widths[i] {
            1 => out.push(v as u8),
            _ => out.extend_from_slice(&(v as u16).to_be_bytes()),
        }
    }
    Some(out)
}

impl DecryptInput<'_> {
    /// The bytes `arbitrary` decodes back into `self`, if the layout can be expressed.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let fixed = [self.flags, self.shrink];
        let bytes = encode_fields(&[
            Field::Fixed(&self.key),
            Field::Fixed(&fixed),
            Field::Var(self.token.as_bytes()),
            Field::Var(self.encoding_aes_key.as_bytes()),
            Field::Var(self.receiver_id.as_bytes()),
            Field::Var(self.timestamp.as_bytes()),
            Field::Var(self.nonce.as_bytes()),
            Field::Var(self.msg_signature.as_bytes()),
            Field::Rest(self.body),
        ])?;
        let back = DecryptInput::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes)).ok()?;
        (back == *self).then_some(bytes)
    }
}

impl RoundtripInput<'_> {
    /// The bytes `arbitrary` decodes back into `self`, if the layout can be expressed.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let bytes = encode_fields(&[
            Field::Fixed(&self.key),
            Field::Fixed(&self.random16),
            Field::Var(self.token.as_bytes()),
            Field::Var(self.receiver_id.as_bytes()),
            Field::Var(self.timestamp.as_bytes()),
            Field::Var(self.nonce.as_bytes()),
            Field::Rest(self.message),
        ])?;
        let back =
            RoundtripInput::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes)).ok()?;
        (back == *self).then_some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_round_trips_short_and_long_inputs() {
        let body = vec![b'x'; 3000];
        for body in [&b""[..], b"<xml/>", &body] {
            let input = DecryptInput {
                key: [7; 32],
                flags: 1,
                shrink: 3,
                token: "pamtest",
                encoding_aes_key: FIXED_ENCODING_AES_KEY,
                receiver_id: "wx1",
                timestamp: "1409304348",
                nonce: "xxxxxx",
                msg_signature: "",
                body,
            };
            assert!(input.encode().is_some(), "{}", body.len());
            let rt = RoundtripInput {
                key: [1; 32],
                random16: [2; 16],
                token: "t",
                receiver_id: "",
                timestamp: "1",
                nonce: "n",
                message: body,
            };
            assert!(rt.encode().is_some(), "{}", body.len());
        }
    }
}
