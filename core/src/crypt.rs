//! [`MsgCrypt`]: sign, encrypt and decrypt WeChat messages with one account's settings.

use aes::cipher::array::Array;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes256Dec, Aes256Enc};
use zeroize::Zeroize;

use crate::envelope::{self, DEFAULT_MAX_BODY_LEN};
use crate::error::{BufferError, DecryptError, Error, XmlError};
use crate::frame::{self, Frame};
use crate::key::AesKey;
use crate::pkcs7;
use crate::signature::{self, HexSignature};

/// The longest token and receiver id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// A short byte string kept inline, wiped on drop.
#[derive(Clone)]
struct Inline {
    bytes: [u8; MAX_ID_LEN],
    len: usize,
}

impl Inline {
    fn new(s: &str) -> Option<Self> {
        let src = s.as_bytes();
        let mut bytes = [0u8; MAX_ID_LEN];
        bytes.get_mut(..src.len())?.copy_from_slice(src);
        Some(Inline {
            bytes,
            len: src.len(),
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn as_str(&self) -> &str {
        // Built from a `&str`, so always UTF-8.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// One account's message crypto: token, EncodingAESKey and receiver id (appid, component
/// appid or corpid). Immutable and cheap to share; `Debug` never shows the token or the key.
///
/// For messages pushed for an **authorized account**, the receiver id is the *component*
/// appid, not the authorizer's appid.
#[derive(Clone)]
pub struct MsgCrypt {
    token: Inline,
    receiver_id: Inline,
    key: AesKey,
    enc: Aes256Enc,
    dec: Aes256Dec,
    max_body_len: usize,
}

impl core::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &"<redacted>")
            .field("key", &"<redacted>")
            .field("receiver_id", &self.receiver_id.as_str())
            .field("max_body_len", &self.max_body_len)
            .finish()
    }
}

impl MsgCrypt {
    /// Set up from the values in the platform console.
    ///
    /// Fails with -40004 for an EncodingAESKey that is not 43 base64 characters, -40003 for an
    /// empty or over-long token and -40005 for an over-long receiver id (over [`MAX_ID_LEN`]).
    pub fn new(token: &str, encoding_aes_key: &str, receiver_id: &str) -> Result<Self, Error> {
        let key = AesKey::from_encoding_aes_key(encoding_aes_key)?;
        Self::with_key(token, key, receiver_id)
    }

    /// Set up from an already decoded key.
    pub fn with_key(token: &str, key: AesKey, receiver_id: &str) -> Result<Self, Error> {
        if token.is_empty() {
            return Err(Error::SignatureInput);
        }
        let token = Inline::new(token).ok_or(Error::SignatureInput)?;
        let receiver_id = Inline::new(receiver_id).ok_or(Error::ReceiverIdTooLong)?;
        let k = Array::from(*key.as_bytes());
        let enc = Aes256Enc::new(&k);
        let dec = Aes256Dec::new(&k);
        let mut k = k;
        k.zeroize();
        Ok(MsgCrypt {
            token,
            receiver_id,
            key,
            enc,
            dec,
            max_body_len: DEFAULT_MAX_BODY_LEN,
        })
    }

    /// Change the largest POST body accepted (default [`DEFAULT_MAX_BODY_LEN`], 1 MiB).
    pub fn with_max_body_len(mut self, max_body_len: usize) -> Self {
        self.max_body_len = max_body_len;
        self
    }

    /// The receiver id frames must carry.
    pub fn receiver_id(&self) -> &str {
        self.receiver_id.as_str()
    }

    /// The largest POST body accepted.
    pub fn max_body_len(&self) -> usize {
        self.max_body_len
    }

    /// `msg_signature` for an `Encrypt` text with this token.
    pub fn sign(&self, timestamp: &str, nonce: &str, encrypt: &str) -> HexSignature {
        signature::sign_bytes(
            self.token.as_bytes(),
            timestamp.as_bytes(),
            nonce.as_bytes(),
            encrypt.as_bytes(),
        )
    }

    /// Check `msg_signature` over token, timestamp, nonce and the `Encrypt` text, in constant time.
    pub fn verify_msg_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &[u8],
    ) -> Result<(), Error> {
        signature::verify(
            msg_signature,
            self.token.as_str(),
            timestamp,
            nonce,
            encrypt,
        )
    }

    /// Check the plain `signature` query parameter (token, timestamp, nonce) in constant time.
    pub fn verify_plain_signature(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<(), Error> {
        signature::verify_plain(signature, self.token.as_str(), timestamp, nonce)
    }

    /// A buffer of this many bytes is always enough for decrypting `encrypt_len` bytes of
    /// base64 (or a body of that size) in place.
    pub const fn decrypt_buffer_len(encrypt_len: usize) -> usize {
        encrypt_len / 4 * 3 + 3
    }

    /// Decrypt a POST body into `buf` without allocating, returning the message.
    ///
    /// Order: envelope, signature (constant time), base64, AES-CBC, padding, frame, receiver id.
    /// `buf` needs [`MsgCrypt::decrypt_buffer_len`] of the `Encrypt` length (the body length is
    /// always enough).
    pub fn decrypt_message_in_place<'b>(
        &self,
        body: &[u8],
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let env = envelope::parse_raw(body, self.max_body_len)?;
        self.decrypt_encrypted_in_place(env.encrypt, msg_signature, timestamp, nonce, buf)
    }

    /// Like [`MsgCrypt::decrypt_message_in_place`] for an `Encrypt` value already taken out of
    /// its envelope (JSON pushes, `echostr`).
    pub fn decrypt_encrypted_in_place<'b>(
        &self,
        encrypt: &[u8],
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        self.verify_msg_signature(msg_signature, timestamp, nonce, encrypt)?;
        let n = decode_base64(encrypt, buf)?;
        let ciphertext = buf.get_mut(..n).ok_or(Error::Base64Decode)?;
        self.open_ours(ciphertext)
    }

    /// [`MsgCrypt::open`], then check the receiver id; returns the message.
    fn open_ours<'b>(&self, ciphertext: &'b mut [u8]) -> Result<&'b [u8], Error> {
        let frame = self.open(ciphertext)?;
        if frame.receiver_id != self.receiver_id.as_bytes() {
            return Err(Error::ReceiverIdMismatch);
        }
        Ok(frame.message)
    }

    /// Decrypt raw ciphertext bytes in place and split the frame.
    ///
    /// This checks **no signature and no receiver id**: it is the layer below
    /// [`MsgCrypt::decrypt_message_in_place`], for callers that verified the push themselves.
    pub fn open<'b>(&self, ciphertext: &'b mut [u8]) -> Result<Frame<'b>, Error> {
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
            return Err(Error::Decrypt(DecryptError::CiphertextLength));
        }
        self.cbc_decrypt(self.key.iv(), ciphertext);
        let plain: &'b [u8] = ciphertext;
        frame::decode(pkcs7::unpad(plain)?)
    }

    /// AES-256-CBC decrypt whole 16-byte blocks of `buf` in place (a partial tail is left).
    fn cbc_decrypt(&self, iv: [u8; 16], buf: &mut [u8]) {
        let iv = Array::from(iv);
        let (blocks, _) = Array::slice_as_chunks_mut(buf);
        cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&self.dec, &iv).decrypt_blocks(blocks);
    }

    /// Length of the ciphertext for a message of `message_len` bytes.
    pub fn ciphertext_len(&self, message_len: usize) -> Option<usize> {
        pkcs7::padded_len(frame::encoded_len(message_len, self.receiver_id.len)?)
    }

    /// Length of the base64 `Encrypt` text for a message of `message_len` bytes.
    pub fn encrypt_len(&self, message_len: usize) -> Option<usize> {
        self.ciphertext_len(message_len)?.div_ceil(3).checked_mul(4)
    }

    /// Frame, pad and encrypt `message` into `work` (which needs
    /// [`MsgCrypt::ciphertext_len`] bytes), returning the ciphertext.
    pub fn seal<'w>(
        &self,
        message: &[u8],
        random16: &[u8; 16],
        work: &'w mut [u8],
    ) -> Result<&'w [u8], Error> {
        let frame_len = frame::encode_into(work, random16, message, self.receiver_id.as_bytes())?;
        let total = pkcs7::pad(work, frame_len)?;
        let ciphertext = work.get_mut(..total).ok_or(Error::Encrypt)?;
        let iv = Array::from(self.key.iv());
        let mut mode = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&self.enc, &iv);
        let (blocks, _) = Array::slice_as_chunks_mut(&mut *ciphertext);
        mode.encrypt_blocks(blocks);
        Ok(ciphertext)
    }

    /// Encrypt `message` to its base64 `Encrypt` text without allocating: `work` holds the
    /// ciphertext ([`MsgCrypt::ciphertext_len`], else -40006), `out` the text
    /// ([`MsgCrypt::encrypt_len`], else -40009).
    pub fn encrypt_into<'o>(
        &self,
        message: &[u8],
        random16: &[u8; 16],
        work: &mut [u8],
        out: &'o mut [u8],
    ) -> Result<&'o str, Error> {
        let ciphertext = self.seal(message, random16, work)?;
        let n = crate::b64::encode(ciphertext, out)?;
        let text = out.get(..n).ok_or(Error::Base64Encode)?;
        core::str::from_utf8(text).map_err(|_| Error::Base64Encode)
    }

    /// Length of the reply envelope for a message, timestamp and nonce of these lengths.
    pub fn reply_len(
        &self,
        message_len: usize,
        timestamp_len: usize,
        nonce_len: usize,
    ) -> Option<usize> {
        Some(envelope::reply_len(
            self.encrypt_len(message_len)?,
            timestamp_len,
            nonce_len,
        ))
    }

    /// Refuses a reply whose envelope would be larger than [`MsgCrypt::max_body_len`], with
    /// the error decrypting it would give (-40002, "body larger than N bytes"): a reply this
    /// crypt makes is always one it (and a receiver with the same limit) accepts.
    fn check_reply_size(
        &self,
        message_len: usize,
        timestamp_len: usize,
        nonce_len: usize,
    ) -> Result<usize, Error> {
        let needed = self
            .reply_len(message_len, timestamp_len, nonce_len)
            .ok_or(Error::Encrypt)?;
        if needed > self.max_body_len {
            return Err(Error::Xml(XmlError::TooLarge {
                limit: self.max_body_len,
            }));
        }
        Ok(needed)
    }

    /// Build the encrypted reply envelope in `out` without allocating. `work` needs
    /// [`MsgCrypt::ciphertext_len`] bytes and `out` needs [`MsgCrypt::reply_len`] bytes.
    ///
    /// A reply whose envelope would exceed [`MsgCrypt::max_body_len`] is refused with the error
    /// decrypting it would give.
    pub fn encrypt_reply_into<'o>(
        &self,
        message: &[u8],
        timestamp: &str,
        nonce: &str,
        random16: &[u8; 16],
        work: &mut [u8],
        out: &'o mut [u8],
    ) -> Result<&'o str, Error> {
        envelope::check_reply_fields(timestamp, nonce)?;
        let needed = self.check_reply_size(message.len(), timestamp.len(), nonce.len())?;
        if out.len() < needed {
            return Err(Error::Buffer(BufferError::OutputTooSmall { needed }));
        }
        let ciphertext = self.seal(message, random16, work)?;
        // Encode straight into the place the text takes in the envelope, then fill the rest.
        let (_, tail) = out.split_at_mut(envelope::REPLY_ENCRYPT_OFFSET);
        let n = crate::b64::encode(ciphertext, tail)?;
        let encrypt = core::str::from_utf8(&tail[..n]).map_err(|_| Error::Base64Encode)?;
        let sig = self.sign(timestamp, nonce, encrypt);
        let len = envelope::finish_reply_in_place(out, n, &sig, timestamp, nonce)?;
        let text = out.get(..len).ok_or(Error::ReplyXml)?;
        core::str::from_utf8(text).map_err(|_| Error::ReplyXml)
    }
}

fn decode_base64(encrypt: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
    crate::b64::decode(encrypt, buf)
}

#[cfg(feature = "alloc")]
mod owned {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;

    /// An encrypted reply: the four fields of the reply envelope.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Reply {
        /// The base64 ciphertext.
        pub encrypt: String,
        /// `msg_signature` over token, timestamp, nonce and `encrypt`.
        pub msg_signature: String,
        /// The timestamp, as given.
        pub timestamp: String,
        /// The nonce, as given.
        pub nonce: String,
    }

    impl Reply {
        /// The XML reply envelope, laid out like the official samples.
        pub fn to_xml(&self) -> String {
            let mut out = String::with_capacity(envelope::reply_len(
                self.encrypt.len(),
                self.timestamp.len(),
                self.nonce.len(),
            ));
            for part in [
                "<xml>\n<Encrypt><![CDATA[",
                &self.encrypt,
                "]]></Encrypt>\n<MsgSignature><![CDATA[",
                &self.msg_signature,
                "]]></MsgSignature>\n<TimeStamp>",
                &self.timestamp,
                "</TimeStamp>\n<Nonce><![CDATA[",
                &self.nonce,
                "]]></Nonce>\n</xml>",
            ] {
                out.push_str(part);
            }
            out
        }

        /// The JSON reply shape (mini programs in JSON mode); `TimeStamp` is a number.
        pub fn to_json(&self) -> String {
            let mut out = String::with_capacity(self.encrypt.len() + 128);
            for part in [
                "{\"Encrypt\":\"",
                &self.encrypt,
                "\",\"MsgSignature\":\"",
                &self.msg_signature,
                "\",\"TimeStamp\":",
                &self.timestamp,
                ",\"Nonce\":\"",
                &self.nonce,
                "\"}",
            ] {
                out.push_str(part);
            }
            out
        }
    }

    impl MsgCrypt {
        /// Decrypt a POST body (the XML envelope), returning the message.
        ///
        /// One buffer is allocated, decrypted in place and trimmed to the message.
        pub fn decrypt_message(
            &self,
            body: &[u8],
            msg_signature: &str,
            timestamp: &str,
            nonce: &str,
        ) -> Result<Vec<u8>, Error> {
            let env = envelope::parse_raw(body, self.max_body_len)?;
            self.decrypt_encrypted_bytes(env.encrypt, msg_signature, timestamp, nonce)
        }

        /// Decrypt an `Encrypt` value already taken out of its envelope (JSON pushes).
        pub fn decrypt_encrypted(
            &self,
            encrypt: &str,
            msg_signature: &str,
            timestamp: &str,
            nonce: &str,
        ) -> Result<Vec<u8>, Error> {
            self.decrypt_encrypted_bytes(encrypt.as_bytes(), msg_signature, timestamp, nonce)
        }

        /// Answer the URL check: decrypt `echostr` (already URL-decoded) after checking
        /// `msg_signature`; the result is the body to send back.
        pub fn verify_url(
            &self,
            msg_signature: &str,
            timestamp: &str,
            nonce: &str,
            echostr: &str,
        ) -> Result<Vec<u8>, Error> {
            self.decrypt_encrypted(echostr, msg_signature, timestamp, nonce)
        }

        fn decrypt_encrypted_bytes(
            &self,
            encrypt: &[u8],
            msg_signature: &str,
            timestamp: &str,
            nonce: &str,
        ) -> Result<Vec<u8>, Error> {
            // With std the decoder fills a vector of the exact length without zeroing it; the
            // steps and their errors are those of `decrypt_encrypted_in_place`.
            #[cfg(feature = "std")]
            let (mut buf, len) = {
                self.verify_msg_signature(msg_signature, timestamp, nonce, encrypt)?;
                if let Some(message) = self.open_in_place_of_message(encrypt) {
                    return Ok(message);
                }
                let mut buf = crate::b64::decode_to_vec(encrypt)?;
                let len = self.open_ours(&mut buf)?.len();
                (buf, len)
            };
            #[cfg(not(feature = "std"))]
            let (mut buf, len) = {
                let mut buf = alloc::vec![0u8; MsgCrypt::decrypt_buffer_len(encrypt.len())];
                let len = self
                    .decrypt_encrypted_in_place(encrypt, msg_signature, timestamp, nonce, &mut buf)?
                    .len();
                (buf, len)
            };
            // The message always starts right after the 20-byte frame header.
            buf.copy_within(frame::HEADER_LEN..frame::HEADER_LEN + len, 0);
            buf.truncate(len);
            Ok(buf)
        }

        /// The allocating decrypt without moving the message: the ciphertext is decoded so
        /// that the message's first byte lands at index 0 of the returned vector (see
        /// [`crate::b64::decode_split`]), then decrypted in place there.
        ///
        /// Only succeeds when [`MsgCrypt::open_ours`] would return the same message; for
        /// anything else (bad base64, odd lengths, padding, frame, receiver id) it returns
        /// `None` and the caller takes the general path, which names the error.
        #[cfg(feature = "std")]
        pub(super) fn open_in_place_of_message(&self, encrypt: &[u8]) -> Option<Vec<u8>> {
            // head = ciphertext[..21], body = ciphertext[20..].
            let (head, mut body) = crate::b64::decode_split(encrypt)?;
            // The ciphertext (20 + body.len() bytes, at least 32) must be whole blocks.
            if !(frame::HEADER_LEN + body.len()).is_multiple_of(16) {
                return None;
            }
            // Blocks 0 and 1 (random16, length, first 12 message bytes) on the stack.
            let mut first = [0u8; 32];
            first[..frame::HEADER_LEN].copy_from_slice(&head[..frame::HEADER_LEN]);
            first[frame::HEADER_LEN..].copy_from_slice(body.get(..12)?);
            let second_ciphertext = <[u8; 16]>::try_from(&first[16..]).ok()?;
            self.cbc_decrypt(self.key.iv(), &mut first);
            // Blocks 2.. in place, chained from the second ciphertext block.
            self.cbc_decrypt(second_ciphertext, body.get_mut(12..)?);
            body.get_mut(..12)?
                .copy_from_slice(&first[frame::HEADER_LEN..]);
            // `body` is now plaintext[20..]. Unpadding it alone is `pkcs7::unpad` on the
            // whole plaintext restricted to pads that do not reach into the header; then the
            // checks of `frame::decode`, with the length field from block 1.
            let payload_len = pkcs7::unpad(&body).ok()?.len();
            let len = u32::from_be_bytes(<[u8; 4]>::try_from(&first[16..20]).ok()?);
            let len = usize::try_from(len).ok().filter(|&l| l <= payload_len)?;
            if body.get(len..payload_len)? != self.receiver_id.as_bytes() {
                return None;
            }
            body.truncate(len);
            Some(body)
        }

        /// Encrypt `message` to its base64 `Encrypt` text.
        pub fn encrypt(&self, message: &[u8], random16: &[u8; 16]) -> Result<String, Error> {
            let cipher_len = self.ciphertext_len(message.len()).ok_or(Error::Encrypt)?;
            let text_len = self.encrypt_len(message.len()).ok_or(Error::Encrypt)?;
            // One allocation: the text at the front, the ciphertext behind it.
            let mut buf = alloc::vec![0u8; text_len + cipher_len];
            let (text, work) = buf.split_at_mut(text_len);
            let n = self.encrypt_into(message, random16, work, text)?.len();
            buf.truncate(n);
            String::from_utf8(buf).map_err(|_| Error::Base64Encode)
        }

        /// Encrypt a passive reply (or a push) and sign it.
        ///
        /// The timestamp must be decimal digits and the nonce must fit in CDATA (-40011);
        /// both must be non-empty (-40003). `random16` must come from a CSPRNG. A reply whose
        /// envelope would exceed [`MsgCrypt::max_body_len`] is refused with the error decrypting
        /// it would give (`Error::Xml(XmlError::TooLarge { limit })`).
        pub fn encrypt_reply(
            &self,
            message: &[u8],
            timestamp: &str,
            nonce: &str,
            random16: &[u8; 16],
        ) -> Result<Reply, Error> {
            envelope::check_reply_fields(timestamp, nonce)?;
            self.check_reply_size(message.len(), timestamp.len(), nonce.len())?;
            let encrypt = self.encrypt(message, random16)?;
            let msg_signature = String::from(self.sign(timestamp, nonce, &encrypt).as_str());
            Ok(Reply {
                encrypt,
                msg_signature,
                timestamp: String::from(timestamp),
                nonce: String::from(nonce),
            })
        }
    }
}

#[cfg(feature = "alloc")]
pub use owned::Reply;

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn mc() -> MsgCrypt {
        MsgCrypt::new("pamtest", KEY, "wxb11529c136998cb6").expect("valid")
    }

    #[test]
    fn official_java_sample_encrypt() {
        let text = mc()
            .encrypt("我是中文abcd123".as_bytes(), b"aaaabbbbccccdddd")
            .expect("encrypts");
        assert_eq!(
            text,
            "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
        );
    }

    #[test]
    fn encrypt_refuses_what_decrypt_refuses() {
        let message = alloc::vec![b'a'; 4000];
        let (ts, nonce) = ("1409304348", "xxxxxx");
        let exact = mc()
            .reply_len(message.len(), ts.len(), nonce.len())
            .expect("fits");
        // At the limit: encrypts, and the same crypt decrypts it.
        let m = mc().with_max_body_len(exact);
        let reply = m
            .encrypt_reply(&message, ts, nonce, &[7; 16])
            .expect("fits");
        let body = reply.to_xml();
        assert_eq!(body.len(), exact);
        assert_eq!(
            m.decrypt_message(body.as_bytes(), &reply.msg_signature, ts, nonce)
                .expect("decrypts"),
            message
        );
        // One byte under: both directions refuse, with the same typed error.
        let small = mc().with_max_body_len(exact - 1);
        let too_large = Error::Xml(XmlError::TooLarge { limit: exact - 1 });
        assert_eq!(
            small.encrypt_reply(&message, ts, nonce, &[7; 16]),
            Err(too_large)
        );
        assert_eq!(
            small.decrypt_message(body.as_bytes(), &reply.msg_signature, ts, nonce),
            Err(too_large)
        );
        let mut work = alloc::vec![0u8; exact];
        let mut out = alloc::vec![0u8; exact];
        assert_eq!(
            small.encrypt_reply_into(&message, ts, nonce, &[7; 16], &mut work, &mut out),
            Err(too_large)
        );
        // The default limit: a 1 MiB message cannot become a reply.
        let big = alloc::vec![b'a'; 1 << 20];
        assert_eq!(
            mc().encrypt_reply(&big, ts, nonce, &[7; 16]),
            Err(Error::Xml(XmlError::TooLarge {
                limit: DEFAULT_MAX_BODY_LEN
            }))
        );
    }

    #[test]
    fn round_trip_both_paths() {
        let m = mc();
        let reply = m
            .encrypt_reply(b"<xml>hi</xml>", "1409304348", "xxxxxx", &[7; 16])
            .expect("ok");
        let body = reply.to_xml();
        let owned = m
            .decrypt_message(
                body.as_bytes(),
                &reply.msg_signature,
                "1409304348",
                "xxxxxx",
            )
            .expect("decrypts");
        assert_eq!(owned, b"<xml>hi</xml>");
        let mut buf = [0u8; 256];
        let borrowed = m
            .decrypt_message_in_place(
                body.as_bytes(),
                &reply.msg_signature,
                "1409304348",
                "xxxxxx",
                &mut buf,
            )
            .expect("decrypts");
        assert_eq!(borrowed, owned.as_slice());

        let mut work = [0u8; 128];
        let mut out = [0u8; 512];
        let xml = m
            .encrypt_reply_into(
                b"<xml>hi</xml>",
                "1409304348",
                "xxxxxx",
                &[7; 16],
                &mut work,
                &mut out,
            )
            .expect("fits");
        assert_eq!(xml, body);
    }

    #[test]
    fn every_code_reachable_through_the_api() {
        let m = mc();
        let r = m.encrypt_reply(b"x", "1", "n", &[0; 16]).expect("ok");
        let body = r.to_xml();
        let code = |res: Result<&[u8], Error>| res.map(|_| ()).map_err(|e| e.code());
        let mut buf = [0u8; 256];
        assert_eq!(
            code(m.decrypt_message_in_place(body.as_bytes(), "0", "1", "n", &mut buf)),
            Err(-40001)
        );
        assert_eq!(
            code(m.decrypt_message_in_place(b"<xml/>", "0", "1", "n", &mut buf)),
            Err(-40002)
        );
        assert_eq!(
            MsgCrypt::new("", KEY, "x")
                .map(|_| ())
                .map_err(|e| e.code()),
            Err(-40003)
        );
        assert_eq!(
            MsgCrypt::new("t", "abc", "x")
                .map(|_| ())
                .map_err(|e| e.code()),
            Err(-40004)
        );
        let other = MsgCrypt::new("pamtest", KEY, "wxother").expect("valid");
        assert_eq!(
            code(other.decrypt_message_in_place(
                body.as_bytes(),
                &r.msg_signature,
                "1",
                "n",
                &mut buf
            )),
            Err(-40005)
        );
        assert_eq!(
            m.encrypt_into(b"x", &[0; 16], &mut [0u8; 8], &mut [0u8; 256])
                .map_err(|e| e.code()),
            Err(-40006)
        );
        let bad = "QUJD";
        let sig = m.sign("1", "n", bad);
        assert_eq!(
            code(m.decrypt_encrypted_in_place(bad.as_bytes(), sig.as_str(), "1", "n", &mut buf)),
            Err(-40007)
        );
        // A ciphertext that unpads to nothing: a frame too short to hold its header.
        let mut raw = [32u8; 32];
        let iv = Array::from(m.key.iv());
        let mut mode = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&m.enc, &iv);
        mode.encrypt_blocks(Array::slice_as_chunks_mut(&mut raw[..]).0);
        let text = m.encrypt_b64_for_test(&raw);
        let sig = m.sign("1", "n", &text);
        assert_eq!(
            code(m.decrypt_encrypted_in_place(text.as_bytes(), sig.as_str(), "1", "n", &mut buf)),
            Err(-40008)
        );
        assert_eq!(
            m.encrypt_into(b"x", &[0; 16], &mut [0u8; 128], &mut [0u8; 8])
                .map_err(|e| e.code()),
            Err(-40009)
        );
        let sig = m.sign("1", "n", "!!!!");
        assert_eq!(
            code(m.decrypt_encrypted_in_place(b"!!!!", sig.as_str(), "1", "n", &mut buf)),
            Err(-40010)
        );
        assert_eq!(
            m.encrypt_reply(b"x", "12a", "n", &[0; 16])
                .map(|_| ())
                .map_err(|e| e.code()),
            Err(-40011)
        );
    }

    /// The allocating decrypt (which decrypts each message where it is returned) and the
    /// in-place one (which decrypts the whole ciphertext in the caller's buffer) must agree
    /// on every ciphertext: same message or same error, valid frames or not.
    #[test]
    fn allocating_and_in_place_decrypt_agree_on_any_plaintext() {
        let m = mc();
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let receiver = b"wxb11529c136998cb6";
        let mut ok = 0;
        for round in 0..6_000u32 {
            // A well-formed frame most of the time, then damage of one kind or another.
            let msg_len = (next() % 150) as usize;
            let mut plain = std::vec::Vec::new();
            plain.extend((0..16).map(|_| next() as u8));
            plain.extend_from_slice(&(msg_len as u32).to_be_bytes());
            plain.extend((0..msg_len).map(|_| next() as u8));
            plain.extend_from_slice(if round % 7 == 3 {
                b"wxb11529c136998cb7"
            } else {
                receiver
            });
            let pad = pkcs7::pad_len(plain.len());
            plain.extend(core::iter::repeat_n(pad as u8, pad));
            match round % 11 {
                1 => {
                    let i = (next() as usize) % plain.len();
                    plain[i] ^= 1 << (next() % 8);
                }
                2 => {
                    let last = plain.len() - 1;
                    plain[last] = next() as u8;
                }
                3 => {
                    let len = (next() % 0x1_0000) as u32;
                    plain[16..20].copy_from_slice(&len.to_be_bytes());
                }
                4 => plain.truncate(
                    plain.len() - 16 * (1 + (next() % 2) as usize).min(plain.len() / 16 - 1),
                ),
                5 => {
                    plain = (0..16 * (1 + next() % 5) as usize)
                        .map(|_| next() as u8)
                        .collect()
                }
                _ => {}
            }
            let iv = Array::from(m.key.iv());
            let (blocks, _) = Array::slice_as_chunks_mut(&mut plain[..]);
            cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&m.enc, &iv).encrypt_blocks(blocks);
            let text = m.encrypt_b64_for_test(&plain);
            let sig = m.sign("1409304348", "nonce", &text);
            let owned = m.decrypt_encrypted(&text, sig.as_str(), "1409304348", "nonce");
            let mut buf = std::vec![0u8; MsgCrypt::decrypt_buffer_len(text.len())];
            let borrowed = m
                .decrypt_encrypted_in_place(
                    text.as_bytes(),
                    sig.as_str(),
                    "1409304348",
                    "nonce",
                    &mut buf,
                )
                .map(<[u8]>::to_vec);
            assert_eq!(owned, borrowed, "round {round}, plaintext {plain:02x?}");
            // Every intact frame takes the path that does not move the message.
            let fast = m.open_in_place_of_message(text.as_bytes());
            if fast.is_some() || (round % 11 > 5 && round % 7 != 3) {
                assert_eq!(fast.ok_or(()), borrowed.map_err(|_| ()), "round {round}");
            }
            ok += usize::from(owned.is_ok());
        }
        // Both branches were exercised.
        assert!(ok > 2_000 && ok < 5_500, "{ok} successes");
    }

    impl MsgCrypt {
        fn encrypt_b64_for_test(&self, raw: &[u8]) -> std::string::String {
            let mut out = std::vec![0u8; raw.len() * 2];
            let n = STANDARD.encode_slice(raw, &mut out).expect("fits");
            std::string::String::from_utf8(out[..n].to_vec()).expect("ascii")
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let shown = std::format!("{:?}", mc());
        assert!(!shown.contains("pamtest"));
        assert!(!shown.contains("abcdefg"));
        assert!(shown.contains("wxb11529c136998cb6"));
    }
}
