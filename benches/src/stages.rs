//! The building blocks of the pipelines, run on their own with the crates' public APIs, so a
//! run can measure the stage ceiling next to the pipeline on the same bytes.

use aes::cipher::array::Array;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use aes::{Aes256, Aes256Dec, Aes256Enc};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::Push;

/// The raw AES key and IV of the fixtures (the decoded sample EncodingAESKey).
pub fn key_iv() -> ([u8; 32], [u8; 16]) {
    let mut key = [0u8; 33];
    let n = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    )
    .decode_slice(crate::ENCODING_AES_KEY, &mut key);
    assert_eq!(n.ok(), Some(32));
    let mut k = [0u8; 32];
    k.copy_from_slice(&key[..32]);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&k[..16]);
    (k, iv)
}

/// AES-256-CBC with precomputed key schedules, as a library user would set it up.
pub struct Cbc {
    enc: Aes256Enc,
    dec: Aes256Dec,
    iv: [u8; 16],
}

impl Default for Cbc {
    fn default() -> Self {
        Self::new()
    }
}

impl Cbc {
    /// Key schedules for the fixture key.
    pub fn new() -> Self {
        let (k, iv) = key_iv();
        let k = Array::from(k);
        Cbc {
            enc: Aes256Enc::new(&k),
            dec: Aes256Dec::new(&k),
            iv,
        }
    }

    /// Decrypt `buf` (a multiple of 16 bytes) in place.
    pub fn decrypt(&self, buf: &mut [u8]) {
        use aes::cipher::InnerIvInit;
        let iv = Array::from(self.iv);
        let mut m = cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&self.dec, &iv);
        let (blocks, rest) = Array::slice_as_chunks_mut(buf);
        debug_assert!(rest.is_empty());
        m.decrypt_blocks(blocks);
    }

    /// Encrypt `buf` (a multiple of 16 bytes) in place.
    pub fn encrypt(&self, buf: &mut [u8]) {
        use aes::cipher::InnerIvInit;
        let iv = Array::from(self.iv);
        let mut m = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&self.enc, &iv);
        let (blocks, rest) = Array::slice_as_chunks_mut(buf);
        debug_assert!(rest.is_empty());
        m.encrypt_blocks(blocks);
    }
}

/// Check that the fixture key schedules agree with `cbc`'s own constructor (sanity only).
pub fn cbc_matches_reference() -> bool {
    let (k, iv) = key_iv();
    let mut a = [7u8; 64];
    let mut b = a;
    Cbc::new().encrypt(&mut a);
    let (blocks, _) = Array::slice_as_chunks_mut(&mut b[..]);
    cbc::Encryptor::<Aes256>::new(&k.into(), &iv.into()).encrypt_blocks(blocks);
    a == b
}

/// SHA-1 over the signature parts in the order given (they are pre-sorted by the caller).
pub fn sha1_parts(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Standard base64 decode with the `base64` crate's general-purpose engine.
pub fn b64_decode_gp(text: &[u8], out: &mut [u8]) -> usize {
    STANDARD.decode_slice(text, out).unwrap_or(0)
}

/// Standard base64 encode with the `base64` crate's general-purpose engine.
pub fn b64_encode_gp(bytes: &[u8], out: &mut [u8]) -> usize {
    STANDARD.encode_slice(bytes, out).unwrap_or(0)
}

/// Standard base64 decode with the SIMD engine (`base64-simd`).
pub fn b64_decode_simd(text: &[u8], out: &mut [u8]) -> usize {
    base64_simd::STANDARD
        .decode(text, base64_simd::Out::from_slice(out))
        .map(|s| s.len())
        .unwrap_or(0)
}

/// Standard base64 decode with wxopen's own decoder (the AVX-512 VBMI kernel for the bulk on
/// CPUs that have it, `base64-simd` for the rest and elsewhere).
pub fn b64_decode_wx(text: &[u8], out: &mut [u8]) -> usize {
    wxopen_core::__private::decode_base64(text, out).unwrap_or(0)
}

/// Standard base64 encode with the SIMD engine (`base64-simd`).
pub fn b64_encode_simd(bytes: &[u8], out: &mut [u8]) -> usize {
    base64_simd::STANDARD
        .encode(bytes, base64_simd::Out::from_slice(out))
        .len()
}

/// The inputs each stage sees when a push is decrypted.
pub struct Inbound {
    /// Token, timestamp, nonce and `Encrypt` text, sorted as the signature hashes them.
    pub sorted: Vec<Vec<u8>>,
    /// The `Encrypt` text.
    pub text: Vec<u8>,
    /// The ciphertext (decoded `Encrypt`).
    pub ciphertext: Vec<u8>,
}

impl Inbound {
    /// The stage inputs of a push.
    pub fn of(push: &Push) -> Self {
        let text = push.encrypt.as_bytes().to_vec();
        let mut sorted = vec![
            crate::TOKEN.as_bytes().to_vec(),
            crate::TIMESTAMP.as_bytes().to_vec(),
            crate::NONCE.as_bytes().to_vec(),
            text.clone(),
        ];
        sorted.sort();
        let mut ciphertext = vec![0u8; text.len()];
        let n = b64_decode_gp(&text, &mut ciphertext);
        ciphertext.truncate(n);
        Inbound {
            sorted,
            text,
            ciphertext,
        }
    }

    /// The sorted parts as slices.
    pub fn parts(&self) -> Vec<&[u8]> {
        self.sorted.iter().map(Vec::as_slice).collect()
    }
}
