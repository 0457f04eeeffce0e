#![no_main]

use libfuzzer_sys::fuzz_target;
use wxopen_core::error::DecryptError;
use wxopen_core::pkcs7::{self, BLOCK};
use wxopen_core::Error;

/// What strict unpadding must do, written the obvious way.
fn reference_unpad(buf: &[u8]) -> Option<usize> {
    let &n = buf.last()?;
    let n = usize::from(n);
    if n == 0 || n > BLOCK || n > buf.len() {
        return None;
    }
    buf[buf.len() - n..]
        .iter()
        .all(|&b| usize::from(b) == n)
        .then_some(buf.len() - n)
}

fuzz_target!(|data: &[u8]| {
    // unpad: never more than its input, always a prefix of it, and exactly the reference.
    match pkcs7::unpad(data) {
        Ok(payload) => {
            assert!(payload.len() < data.len());
            assert_eq!(payload.as_ptr(), data.as_ptr());
            assert_eq!(Some(payload.len()), reference_unpad(data));
        }
        Err(e) => {
            assert_eq!(e, Error::Decrypt(DecryptError::Padding));
            assert_eq!(reference_unpad(data), None);
        }
    }

    // pad then unpad gives the payload back; pad needs exactly padded_len bytes.
    let len = data.len();
    let padded = pkcs7::padded_len(len).expect("small");
    assert_eq!(padded % BLOCK, 0);
    assert!((1..=BLOCK).contains(&(padded - len)));
    assert_eq!(padded - len, pkcs7::pad_len(len));
    let mut buf = data.to_vec();
    buf.resize(padded - 1, 0xAA);
    assert_eq!(pkcs7::pad(&mut buf, len), Err(Error::Encrypt));
    buf.push(0xAA);
    assert_eq!(pkcs7::pad(&mut buf, len), Ok(padded));
    assert_eq!(&buf[..len], data);
    assert_eq!(pkcs7::unpad(&buf), Ok(data));
});
