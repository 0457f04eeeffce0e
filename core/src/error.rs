//! The error type of every fallible operation in the core, with the official WeChat codes.

use core::fmt;

/// Everything that can go wrong while signing, encrypting, decrypting or parsing.
///
/// Each variant maps to one of the official `WXBizMsgCrypt` codes through [`Error::code`], so a
/// host can report the number WeChat's own samples would have given.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `msg_signature` does not match the token, timestamp, nonce and `Encrypt` text (-40001).
    SignatureMismatch,
    /// The timestamp is outside the accepted replay window, or not a number (-40001).
    StaleTimestamp,
    /// The XML (or JSON) envelope is malformed or unsafe (-40002).
    Xml(XmlError),
    /// A signature input (token, timestamp or nonce) is empty or too long (-40003).
    SignatureInput,
    /// The EncodingAESKey is not 43 base64 characters (-40004).
    InvalidAesKey(KeyError),
    /// The receiver id inside the decrypted frame is not ours (-40005).
    ReceiverIdMismatch,
    /// The configured receiver id is longer than 128 bytes (-40005).
    ReceiverIdTooLong,
    /// The message cannot be encrypted: too large, or the output buffer is too small (-40006).
    Encrypt,
    /// The ciphertext cannot be decrypted (-40007).
    Decrypt(DecryptError),
    /// The decrypted frame is malformed, or a caller buffer is too small (-40008).
    Buffer(BufferError),
    /// The output buffer is too small for the base64 text (-40009).
    Base64Encode,
    /// The `Encrypt` text is not valid padded standard base64 (-40010).
    Base64Decode,
    /// A reply field cannot be written into the reply XML (-40011).
    ReplyXml,
}

/// Why an XML envelope was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XmlError {
    /// The body is larger than the configured limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not the flat XML WeChat sends; `offset` is where reading stopped.
    Malformed {
        /// Byte offset of the problem.
        offset: usize,
    },
    /// A `<!DOCTYPE` (or any other `<!` declaration) is present.
    Doctype,
    /// An entity or character reference (`&...;`) is present.
    EntityReference,
    /// A processing instruction other than the leading XML declaration is present.
    ProcessingInstruction,
    /// The body has no `Encrypt` element.
    MissingEncrypt,
    /// An element the envelope reads (`Encrypt`, `AppId`, `ToUserName`) appears twice.
    DuplicateElement,
    /// A field value is not UTF-8.
    NotUtf8,
    /// A JSON envelope escapes a field we read (values are borrowed, never unescaped).
    EscapedValue,
}

/// Why an EncodingAESKey was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The key is not 43 characters long.
    WrongLength {
        /// The length that was given.
        len: usize,
    },
    /// The key has a character outside the standard base64 alphabet.
    InvalidCharacter,
}

/// Why a ciphertext could not be decrypted.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The ciphertext is empty or not a multiple of the 16-byte AES block.
    CiphertextLength,
    /// The PKCS#7 padding is not 1..=32 equal bytes.
    Padding,
}

/// Why a frame or a buffer was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferError {
    /// The frame is shorter than the 20 bytes of random prefix and length field.
    FrameTooShort,
    /// The frame's length field points past the end of the frame.
    LengthOutOfRange,
    /// A caller-provided buffer is too small; `needed` bytes are required.
    OutputTooSmall {
        /// The size the buffer needs.
        needed: usize,
    },
}

impl Error {
    /// The official `WXBizMsgCrypt` error code (-40001..=-40011).
    pub const fn code(&self) -> i32 {
        match self {
            Error::SignatureMismatch | Error::StaleTimestamp => -40001,
            Error::Xml(_) => -40002,
            Error::SignatureInput => -40003,
            Error::InvalidAesKey(_) => -40004,
            Error::ReceiverIdMismatch | Error::ReceiverIdTooLong => -40005,
            Error::Encrypt => -40006,
            Error::Decrypt(_) => -40007,
            Error::Buffer(_) => -40008,
            Error::Base64Encode => -40009,
            Error::Base64Decode => -40010,
            Error::ReplyXml => -40011,
        }
    }

    /// A short hint for the most common cause of this error, for people debugging a push.
    pub const fn hint(&self) -> Option<&'static str> {
        match self {
            Error::SignatureMismatch => Some(
                "check the token; sign with `msg_signature` (token, timestamp, nonce, Encrypt), \
                 the `signature` query parameter is a different value",
            ),
            Error::InvalidAesKey(_) => {
                Some("EncodingAESKey must be the 43 characters shown in the platform console")
            }
            Error::ReceiverIdMismatch => Some(
                "the trailing id is the component appid for authorized-account messages, \
                 the account appid or corpid otherwise",
            ),
            Error::Decrypt(_) | Error::Buffer(BufferError::LengthOutOfRange) => {
                Some("a wrong EncodingAESKey decrypts to garbage; check the key")
            }
            Error::StaleTimestamp => Some("the push is older than the replay window allows"),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::SignatureMismatch => f.write_str("signature mismatch")?,
            Error::StaleTimestamp => f.write_str("timestamp outside the replay window")?,
            Error::Xml(e) => write!(f, "invalid XML envelope: {e}")?,
            Error::SignatureInput => f.write_str("invalid signature input")?,
            Error::InvalidAesKey(e) => write!(f, "invalid EncodingAESKey: {e}")?,
            Error::ReceiverIdMismatch => f.write_str("receiver id mismatch")?,
            Error::ReceiverIdTooLong => f.write_str("receiver id longer than 128 bytes")?,
            Error::Encrypt => f.write_str("message cannot be encrypted")?,
            Error::Decrypt(e) => write!(f, "decryption failed: {e}")?,
            Error::Buffer(e) => write!(f, "invalid buffer: {e}")?,
            Error::Base64Encode => {
                f.write_str("base64 encoding failed: output buffer too small")?
            }
            Error::Base64Decode => f.write_str("Encrypt is not valid base64")?,
            Error::ReplyXml => f.write_str("reply field cannot be written as XML")?,
        }
        write!(f, " (WeChat code {})", self.code())
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            XmlError::Malformed { offset } => write!(f, "malformed at byte {offset}"),
            XmlError::Doctype => f.write_str("DOCTYPE or declaration refused"),
            XmlError::EntityReference => f.write_str("entity reference refused"),
            XmlError::ProcessingInstruction => f.write_str("processing instruction refused"),
            XmlError::MissingEncrypt => f.write_str("no Encrypt element"),
            XmlError::DuplicateElement => f.write_str("element repeated"),
            XmlError::NotUtf8 => f.write_str("field is not UTF-8"),
            XmlError::EscapedValue => f.write_str("escaped JSON value in a field we read"),
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::WrongLength { len } => write!(f, "{len} characters, expected 43"),
            KeyError::InvalidCharacter => f.write_str("character outside the base64 alphabet"),
        }
    }
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::CiphertextLength => {
                f.write_str("ciphertext is not a non-zero multiple of 16 bytes")
            }
            DecryptError::Padding => f.write_str("bad PKCS#7 padding"),
        }
    }
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::FrameTooShort => f.write_str("frame shorter than 20 bytes"),
            BufferError::LengthOutOfRange => f.write_str("length field past the end of the frame"),
            BufferError::OutputTooSmall { needed } => {
                write!(f, "output buffer too small, {needed} bytes needed")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_official_code_is_reachable_by_a_variant() {
        let all = [
            Error::SignatureMismatch,
            Error::Xml(XmlError::MissingEncrypt),
            Error::SignatureInput,
            Error::InvalidAesKey(KeyError::InvalidCharacter),
            Error::ReceiverIdMismatch,
            Error::Encrypt,
            Error::Decrypt(DecryptError::Padding),
            Error::Buffer(BufferError::FrameTooShort),
            Error::Base64Encode,
            Error::Base64Decode,
            Error::ReplyXml,
        ];
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.code(), -40001 - i as i32);
        }
    }
}
