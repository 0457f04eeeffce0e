//! AVX-512 VBMI base64 decoding of whole 32-character blocks (x86-64, runtime-detected).
//!
//! This is the crate's only `unsafe` code, behind the `avx512` feature. It decodes the longest
//! prefix of whole 32-character blocks made only of alphabet characters (no padding, no
//! whitespace) and stops at the first block that holds anything else; the caller decodes the
//! rest, padding included, with the engines in [`super`], which also name every error. So this
//! module never decides whether a text is valid, it only does the bulk of a valid one faster:
//! two table lookups (`vpermi2b`, 64 entries each) and a blend by bit 6, two multiply-adds that
//! pack four 6-bit values into three bytes, and one byte permutation per 32 characters.
//!
//! The vectors are 256 bits wide (AVX-512VL) on purpose: measured on an AVX-512 Xeon, the
//! 512-bit form decodes faster on its own but lowers the clock the SHA-1 pass that follows
//! runs at, and the pair ends up slower than with 256-bit vectors.
//!
//! Safety rests on two facts, checked at every call: the CPU has `avx512f`, `avx512bw` and
//! `avx512vl`, `avx512vbmi` (runtime detection, cached by `std`), and every 32-byte load and
//! 24-byte store
//! stays inside the slices it was derived from (block counts are computed from their lengths).
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_mask_blend_epi8,
    _mm256_mask_storeu_epi8, _mm256_or_si256, _mm256_permutex2var_epi8, _mm256_permutexvar_epi8,
    _mm256_set1_epi32, _mm256_set1_epi8, _mm256_test_epi8_mask,
};
use core::mem::MaybeUninit;
use std::vec::Vec;

/// Characters per block.
pub(crate) const BLOCK_CHARS: usize = 32;
/// Bytes per decoded block.
pub(crate) const BLOCK_BYTES: usize = 24;

/// Marks a byte that is not in the standard alphabet (padding included).
const NOT_ALPHABET: u8 = 0x80;

/// ASCII → 6-bit value for the standard alphabet; [`NOT_ALPHABET`] for the other 7-bit bytes.
/// Bytes >= 0x80 are caught before the lookup matters: their own top bit is tested too.
const fn decode_table() -> [u8; 128] {
    let mut t = [NOT_ALPHABET; 128];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
}

/// After the two multiply-adds each 32-bit lane holds 24 bits `[b2 b1 b0 0]` (little-endian);
/// output byte `k` is byte `2 - k % 3` of lane `k / 3`. The last 8 entries are unused.
const fn pack_order() -> [u8; 32] {
    let mut p = [0u8; 32];
    let mut k = 0;
    while k < BLOCK_BYTES {
        p[k] = (4 * (k / 3) + 2 - (k % 3)) as u8;
        k += 1;
    }
    p
}

static DECODE_TABLE: [u8; 128] = decode_table();
static PACK_ORDER: [u8; 32] = pack_order();

/// Whether this CPU can run the kernel (answer cached by `std`).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Decode the longest prefix of whole alphabet-only blocks of `text` that fits in `out`.
///
/// Returns `(characters consumed, bytes written)`; always a multiple of 32 and 24. Returns
/// `(0, 0)` on CPUs without AVX-512 VBMI. `out` may be uninitialised; exactly the returned
/// number of leading bytes are written.
pub(crate) fn decode_prefix(text: &[u8], out: &mut [MaybeUninit<u8>]) -> (usize, usize) {
    let blocks = (text.len() / BLOCK_CHARS).min(out.len() / BLOCK_BYTES);
    if blocks == 0 || !available() {
        return (0, 0);
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the CPU features the function enables were detected just above, and
        // `blocks` bounds every access to the two slices (see `decode_blocks`).
        let done = unsafe { decode_blocks(text, out, blocks) };
        (done * BLOCK_CHARS, done * BLOCK_BYTES)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (0, 0)
    }
}

/// [`decode_prefix`] into an initialised buffer.
pub(crate) fn decode_prefix_init(text: &[u8], out: &mut [u8]) -> (usize, usize) {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and `decode_prefix` only ever writes
    // initialised bytes, so `out` stays fully initialised.
    let out = unsafe { &mut *(out as *mut [u8] as *mut [MaybeUninit<u8>]) };
    decode_prefix(text, out)
}

/// [`decode_prefix`] into the spare capacity of `out`, appending what it decodes (as far as
/// the capacity goes; nothing is reallocated). Returns the characters consumed.
pub(crate) fn decode_prefix_append(text: &[u8], out: &mut Vec<u8>) -> usize {
    let len = out.len();
    let (chars, bytes) = decode_prefix(text, out.spare_capacity_mut());
    // SAFETY: `decode_prefix` initialised exactly the first `bytes` bytes of the spare
    // capacity, which starts at `len` and holds at least `bytes` bytes.
    unsafe { out.set_len(len + bytes) };
    chars
}

/// Decode up to `blocks` blocks; returns how many were decoded (stops at the first block with
/// a byte outside the alphabet).
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw`, `avx512vl` and `avx512vbmi`, and
/// `blocks * 32 <= text.len()` and `blocks * 24 <= out.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn decode_blocks(text: &[u8], out: &mut [MaybeUninit<u8>], blocks: usize) -> usize {
    debug_assert!(blocks * BLOCK_CHARS <= text.len() && blocks * BLOCK_BYTES <= out.len());
    // SAFETY (all loads below): the statics are 128 and 32 bytes long; unaligned loads.
    let table = DECODE_TABLE.as_ptr();
    let t0: __m256i = unsafe { _mm256_loadu_si256(table.cast()) };
    let t1: __m256i = unsafe { _mm256_loadu_si256(table.add(32).cast()) };
    let t2: __m256i = unsafe { _mm256_loadu_si256(table.add(64).cast()) };
    let t3: __m256i = unsafe { _mm256_loadu_si256(table.add(96).cast()) };
    let order: __m256i = unsafe { _mm256_loadu_si256(PACK_ORDER.as_ptr().cast()) };
    let top_bit = _mm256_set1_epi8(NOT_ALPHABET as i8);
    let bit6 = _mm256_set1_epi8(0x40);
    // 6-bit pairs → 12 bits (a·64 + b), then 12-bit pairs → 24 bits (ab·4096 + cd).
    let pairs = _mm256_set1_epi32(0x0140_0140);
    let quads = _mm256_set1_epi32(0x0001_1000);
    let src = text.as_ptr();
    let dst = out.as_mut_ptr();
    let mut i = 0;
    while i < blocks {
        // SAFETY: i < blocks, so [32i, 32i + 32) lies inside `text`.
        let chars = unsafe { _mm256_loadu_si256(src.add(i * BLOCK_CHARS).cast()) };
        // Entries 0..64 and 64..128 of the table, chosen by bit 6 of each character.
        let low = _mm256_permutex2var_epi8(t0, chars, t1);
        let high = _mm256_permutex2var_epi8(t2, chars, t3);
        let values = _mm256_mask_blend_epi8(_mm256_test_epi8_mask(chars, bit6), low, high);
        // A byte >= 0x80 in the text, or a 7-bit byte outside the alphabet: stop here.
        if _mm256_test_epi8_mask(_mm256_or_si256(chars, values), top_bit) != 0 {
            break;
        }
        let packed = _mm256_madd_epi16(_mm256_maddubs_epi16(values, pairs), quads);
        let bytes = _mm256_permutexvar_epi8(order, packed);
        // SAFETY: i < blocks, so [24i, 24i + 24) lies inside `out`; the mask stores exactly
        // those 24 bytes and masked-off bytes are neither written nor faulted on.
        unsafe { _mm256_mask_storeu_epi8(dst.add(i * BLOCK_BYTES).cast(), 0x00FF_FFFF, bytes) };
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use std::vec;

    fn text_of(raw: &[u8]) -> Vec<u8> {
        STANDARD.encode(raw).into_bytes()
    }

    fn prefix(text: &[u8], out_len: usize) -> (usize, usize, Vec<u8>) {
        let mut out = vec![MaybeUninit::new(0xAAu8); out_len];
        let (c, b) = decode_prefix(text, &mut out);
        let bytes = out[..b]
            .iter()
            .map(|m| unsafe { m.assume_init() })
            .collect();
        (c, b, bytes)
    }

    #[test]
    fn tables() {
        let t = decode_table();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (v, &c) in alphabet.iter().enumerate() {
            assert_eq!(t[c as usize], v as u8);
        }
        assert_eq!(t.iter().filter(|&&v| v != NOT_ALPHABET).count(), 64);
        assert_eq!(t[b'=' as usize], NOT_ALPHABET);
        assert_eq!(&pack_order()[..6], &[2, 1, 0, 6, 5, 4]);
    }

    #[test]
    fn decodes_whole_blocks_like_the_reference() {
        if !available() {
            std::eprintln!("skipped: no AVX-512 VBMI on this CPU");
            return;
        }
        let raw: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for len in 0..600 {
            let text = text_of(&raw[..len]);
            let (c, b, got) = prefix(&text, len + 64);
            // Every whole block without padding is taken; the padded or short tail is not.
            let unpadded = if text.last() == Some(&b'=') {
                text.len() - 4
            } else {
                text.len()
            };
            assert_eq!(c, unpadded / BLOCK_CHARS * BLOCK_CHARS, "len {len}");
            assert_eq!(b, c / 4 * 3);
            assert_eq!(got, raw[..b], "len {len}");
        }
    }

    #[test]
    fn never_writes_past_out_or_reads_past_text() {
        if !available() {
            return;
        }
        let text = text_of(&[7u8; BLOCK_BYTES * 10]);
        for out_len in 0..BLOCK_BYTES * 11 {
            let (c, b, _) = prefix(&text, out_len);
            assert_eq!(b, (out_len / BLOCK_BYTES).min(10) * BLOCK_BYTES);
            assert_eq!(c, b / 3 * 4);
        }
        for text_len in 0..text.len() {
            let (c, _, _) = prefix(&text[..text_len], 1024);
            assert_eq!(c, text_len / BLOCK_CHARS * BLOCK_CHARS);
        }
    }

    #[test]
    fn stops_at_the_first_block_with_any_non_alphabet_byte() {
        if !available() {
            return;
        }
        let raw = [0x5Au8; 48 * 4];
        let clean = text_of(&raw);
        let alphabet = decode_table();
        for byte in 0..=255u8 {
            let bad = byte >= 0x80 || alphabet[byte as usize] == NOT_ALPHABET;
            for at in [0usize, 1, 17, 31, 32, 63, 64, 100, 191, 255] {
                let mut text = clean.clone();
                text[at] = byte;
                let (c, b, got) = prefix(&text, raw.len());
                if bad {
                    assert_eq!(
                        c,
                        at / BLOCK_CHARS * BLOCK_CHARS,
                        "byte {byte:#04x} at {at}"
                    );
                } else {
                    assert_eq!(c, text.len());
                    let mut want = vec![0u8; raw.len()];
                    let n = STANDARD.decode_slice(&text, &mut want).expect("valid");
                    assert_eq!(got, want[..n]);
                }
                assert_eq!(b, c / 4 * 3);
            }
        }
    }

    #[test]
    fn append_sets_the_length_it_wrote() {
        let raw: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = text_of(&raw);
        let mut v = Vec::with_capacity(raw.len() + 3);
        v.extend_from_slice(b"abc");
        let c = decode_prefix_append(&text, &mut v);
        assert_eq!(v.len(), 3 + c / 4 * 3);
        assert_eq!(v[..3], *b"abc");
        assert_eq!(v[3..], raw[..v.len() - 3]);
        if available() {
            assert_eq!(c, text.len() / BLOCK_CHARS * BLOCK_CHARS);
        }
    }
}
