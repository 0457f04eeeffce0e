#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use wxopen_core::__private::decode_base64;

// wxopen's decoder (an AVX-512 VBMI kernel for the clean bulk on CPUs that have one, the SIMD
// engine for the rest) against the reference engine, on any text and any output size.
// First byte: mode. Odd: the rest is data the harness encodes first, then one byte of the
// text is overwritten (position and value from the mode byte and the data), so long valid
// texts with a single defect anywhere are common. Even: the rest is the text itself.
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut text = rest.to_vec();
    if mode & 1 == 1 {
        text = STANDARD.encode(rest).into_bytes();
        if mode & 2 == 2 && !text.is_empty() {
            let at = (usize::from(mode >> 2) * 37 + rest.len()) % text.len();
            text[at] = rest.first().copied().unwrap_or(b'=');
        }
    }
    let room = text.len() / 4 * 3 + 3;
    let sizes = [room, room.saturating_sub(usize::from(mode >> 4) + 1)];
    for size in sizes {
        let mut got = vec![0xA5u8; size];
        let mut want = vec![0x5Au8; size];
        let a = decode_base64(&text, &mut got);
        let b = STANDARD.decode_slice(&text, &mut want);
        match (a, b) {
            (Ok(n), Ok(m)) => {
                assert_eq!(n, m);
                assert_eq!(got[..n], want[..m]);
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "wxopen {a:?}, reference {b:?} on {:?}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
});
