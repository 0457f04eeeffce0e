//! Heap allocations on the decrypt paths, counted by a global allocator that counts the
//! allocations made by the current thread.
//!
//! * `decrypt_message_in_place` / `decrypt_encrypted_in_place` allocate nothing;
//! * `decrypt_message` allocates a fixed number of buffers, whatever the message size.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wxopen_benches::{crypt, message, push, NONCE, RANDOM16, TIMESTAMP};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + size));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// const-initialised thread-locals without destructors, so touching them cannot allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes) made by `f` on this thread.
fn count<R>(f: impl FnOnce() -> R) -> (usize, usize, R) {
    let (a0, b0) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    let r = f();
    let (a1, b1) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    (a1 - a0, b1 - b0, r)
}

const SIZES: [usize; 2] = [1 << 10, 64 << 10];

#[test]
fn in_place_decrypt_allocates_nothing() {
    let m = crypt();
    for n in SIZES {
        let p = push(n);
        let mut buf = vec![0u8; p.body.len()];
        let (allocs, bytes, len) = count(|| {
            m.decrypt_message_in_place(&p.body, &p.msg_signature, TIMESTAMP, NONCE, &mut buf)
                .unwrap()
                .len()
        });
        assert_eq!(len, n);
        println!("decrypt_message_in_place {n:>6} B: {allocs} allocations, {bytes} bytes");
        assert_eq!(allocs, 0, "decrypt_message_in_place allocated at {n} bytes");

        let (allocs, _, len) = count(|| {
            m.decrypt_encrypted_in_place(
                p.encrypt.as_bytes(),
                &p.msg_signature,
                TIMESTAMP,
                NONCE,
                &mut buf,
            )
            .unwrap()
            .len()
        });
        assert_eq!(len, n);
        assert_eq!(
            allocs, 0,
            "decrypt_encrypted_in_place allocated at {n} bytes"
        );
    }
}

#[test]
fn allocating_decrypt_allocates_o1_buffers() {
    let m = crypt();
    let mut counts = Vec::new();
    for n in SIZES {
        let p = push(n);
        let (allocs, bytes, out) = count(|| {
            m.decrypt_message(&p.body, &p.msg_signature, TIMESTAMP, NONCE)
                .unwrap()
        });
        assert_eq!(out, p.message);
        println!("decrypt_message          {n:>6} B: {allocs} allocations, {bytes} bytes");
        counts.push(allocs);
    }
    assert_eq!(counts[0], counts[1], "allocation count grows with the size");
    assert!(
        counts[0] <= 2,
        "decrypt_message made {} allocations",
        counts[0]
    );
}

#[test]
fn encrypt_paths() {
    let m = crypt();
    let mut counts = Vec::new();
    for n in SIZES {
        let msg = message(n);
        let mut work = vec![0u8; m.ciphertext_len(n).unwrap()];
        let mut out = vec![0u8; m.reply_len(n, TIMESTAMP.len(), NONCE.len()).unwrap()];
        let (allocs, _, _) = count(|| {
            m.encrypt_reply_into(&msg, TIMESTAMP, NONCE, &RANDOM16, &mut work, &mut out)
                .unwrap()
                .len()
        });
        assert_eq!(allocs, 0, "encrypt_reply_into allocated at {n} bytes");
        let (allocs, bytes, _) =
            count(|| m.encrypt_reply(&msg, TIMESTAMP, NONCE, &RANDOM16).unwrap());
        println!("encrypt_reply            {n:>6} B: {allocs} allocations, {bytes} bytes");
        counts.push(allocs);
    }
    assert_eq!(counts[0], counts[1], "allocation count grows with the size");
}
