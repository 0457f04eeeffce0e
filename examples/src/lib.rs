//! Examples for wxopen; nothing to link against. Each example is one file in `examples/`:
//!
//! | example | shows | run |
//! |---|---|---|
//! | `axum_app.rs` | the component push handler, the authorization redirect and the token engine as routes of an existing axum app | `cargo run -p wxopen-examples --example axum_app` (needs your component's credentials in the environment) |
//! | `custom_store.rs` | a `TokenStore` of your own (a `Mutex<HashMap>`), checked with the client's contract test | `cargo run -p wxopen-examples --example custom_store` |
//! | `no_std-crypto/` | `wxopen-core` alone, `no_std`, no allocator (its own package, `wxopen-example-no-std`) | `cargo build -p wxopen-example-no-std --target thumbv7em-none-eabihf` |
//!
//! `cargo test -p wxopen-examples` runs the tests inside the example files, against
//! `wxopen-fake` on loopback.
#![forbid(unsafe_code)]
