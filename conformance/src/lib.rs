//! The wxopen conformance suite. Everything lives in `tests/`: the crypto vectors through
//! `wxopen-core`, the API fixtures against [`wxopen-fake`](https://docs.rs/wxopen-fake), the
//! fake's own contract, and whole-flow scenarios of `wxopen-client` against the fake.
//!
//! Run it with `cargo test -p conformance -- --nocapture` to see what each group proved.
