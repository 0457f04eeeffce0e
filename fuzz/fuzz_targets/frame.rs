#![no_main]

use libfuzzer_sys::fuzz_target;
use wxopen_core::error::BufferError;
use wxopen_core::frame::{self, HEADER_LEN};
use wxopen_core::Error;

fuzz_target!(|data: &[u8]| {
    // decode: a frame is exactly its parts, and encoding them again gives the input back.
    match frame::decode(data) {
        Ok(f) => {
            let len = u32::from_be_bytes(data[16..20].try_into().expect("4 bytes")) as usize;
            assert_eq!(f.random, &data[..16]);
            assert_eq!(f.message, &data[HEADER_LEN..HEADER_LEN + len]);
            assert_eq!(f.receiver_id, &data[HEADER_LEN + len..]);
            let random: [u8; 16] = f.random.try_into().expect("16 bytes");
            let mut out = vec![0u8; data.len()];
            let n = frame::encode_into(&mut out, &random, f.message, f.receiver_id).expect("fits");
            assert_eq!(&out[..n], data);
        }
        Err(e) if data.len() < HEADER_LEN => {
            assert_eq!(e, Error::Buffer(BufferError::FrameTooShort))
        }
        Err(e) => assert_eq!(e, Error::Buffer(BufferError::LengthOutOfRange)),
    }

    // encode then decode: the input split into random16, message and receiver id.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let mut random = [0u8; 16];
    let take = rest.len().min(16);
    random[..take].copy_from_slice(&rest[..take]);
    let rest = &rest[take..];
    let at = usize::from(split) % (rest.len() + 1);
    let (message, receiver_id) = rest.split_at(at);
    let total = frame::encoded_len(message.len(), receiver_id.len()).expect("small");
    assert_eq!(total, HEADER_LEN + rest.len());
    let mut out = vec![0u8; total];
    assert_eq!(
        frame::encode_into(&mut out[..total - 1], &random, message, receiver_id),
        Err(Error::Encrypt)
    );
    assert_eq!(
        frame::encode_into(&mut out, &random, message, receiver_id),
        Ok(total)
    );
    let f = frame::decode(&out).expect("own frame decodes");
    assert_eq!(
        (f.random, f.message, f.receiver_id),
        (&random[..], message, receiver_id)
    );
});
