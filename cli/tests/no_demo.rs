//! Built with `--no-default-features`: `wxopen demo` is a usage error that names the feature.
#![cfg(not(feature = "demo"))]

use assert_cmd::Command;
use predicates::prelude::*;

#[test]
fn demo_without_the_feature_exits_2_and_says_why() {
    Command::new(env!("CARGO_BIN_EXE_wxopen"))
        .arg("demo")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("without the `demo` feature"));
}
