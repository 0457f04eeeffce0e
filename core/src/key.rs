//! EncodingAESKey → 32-byte AES-256 key.
//!
//! The platform shows a 43-character key; appending `=` gives standard base64 for 32 bytes.
//! The last character carries two spare bits which are usually non-zero in real keys (they are
//! random alphanumerics), so decoding accepts them where a strict decoder would not.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, KeyError};

/// Length of an EncodingAESKey in characters.
pub const ENCODING_AES_KEY_LEN: usize = 43;

const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// A decoded 32-byte AES-256 key. Wiped from memory on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl Drop for AesKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for AesKey {}

impl AesKey {
    /// Decode a 43-character EncodingAESKey.
    ///
    /// ```
    /// let key = wxopen_core::key::AesKey::from_encoding_aes_key(
    ///     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    /// )?;
    /// assert_eq!(key.iv().len(), 16);
    /// # Ok::<(), wxopen_core::Error>(())
    /// ```
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, Error> {
        let text = encoding_aes_key.as_bytes();
        if text.len() != ENCODING_AES_KEY_LEN {
            return Err(Error::InvalidAesKey(KeyError::WrongLength {
                len: text.len(),
            }));
        }
        let mut out = [0u8; 33];
        match KEY_ENGINE.decode_slice(text, &mut out) {
            Ok(32) => {}
            _ => {
                out.zeroize();
                return Err(Error::InvalidAesKey(KeyError::InvalidCharacter));
            }
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&out[..32]);
        out.zeroize();
        Ok(AesKey(key))
    }

    /// Wrap 32 raw key bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        AesKey(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The CBC initialisation vector WeChat uses: the first 16 key bytes.
    pub fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

impl core::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_key_with_nonzero_trailing_bits() {
        // 'G' = 6 = 0b000110: the two spare bits are non-zero.
        let key = AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
            .expect("official sample key");
        assert_eq!(key.as_bytes()[0], 0x69);
        assert_eq!(key.as_bytes()[31], 0x51);
    }

    #[test]
    fn all_a_key_is_zero() {
        let key = AesKey::from_encoding_aes_key(&"A".repeat(43)).expect("valid");
        assert_eq!(key.as_bytes(), &[0u8; 32]);
    }

    #[test]
    fn rejects_wrong_length_and_alphabet() {
        assert_eq!(
            AesKey::from_encoding_aes_key("abcde").map(|_| ()),
            Err(Error::InvalidAesKey(KeyError::WrongLength { len: 5 }))
        );
        let bad = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF-";
        assert_eq!(
            AesKey::from_encoding_aes_key(bad).map(|_| ()),
            Err(Error::InvalidAesKey(KeyError::InvalidCharacter))
        );
        let with_pad = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=";
        assert!(AesKey::from_encoding_aes_key(with_pad).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = AesKey::from_encoding_aes_key(&"B".repeat(43)).expect("valid");
        let shown = std::format!("{key:?}");
        assert_eq!(shown, "AesKey(<redacted>)");
    }
}
