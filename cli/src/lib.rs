//! The `wxopen` command line: debug WeChat message crypto and run the whole component flow
//! against a local fake.
//!
//! | command | does |
//! |---|---|
//! | `decrypt` | decrypt a pushed POST body (XML or JSON envelope) and print the message |
//! | `encrypt` | encrypt a reply and print the reply envelope |
//! | `verify-url` | decrypt `echostr` for the URL check |
//! | `sign` | compute `msg_signature` or the plain `signature` |
//! | `demo` | run the real server against `FakeWeChat` and drive ticket push → authorize page → consent → token API → expiry → restart over HTTP |
//! | `serve` | run the service of `wxopen-server` from a `wxopen.toml` |
//! | `config check` | validate a `wxopen.toml` and print it with secrets redacted |
//! | `events list/get/replay/discard` | a running service's event log, over its internal API |
//!
//! # Feature flags
//! - `demo` (default): the `demo` command, which links `wxopen-server`, `wxopen-fake` (a
//!   wiremock server), `wxopen-client`, tokio and reqwest. Without it (`cargo install wxopen-cli
//!   --no-default-features`) the binary holds only the crypto commands and `wxopen demo` exits
//!   with code 2 and says so.
//! - `serve` (default): `wxopen serve` and `wxopen config check`, the deployable service of
//!   `wxopen-server` (axum, tokio, the SQLite and Redis stores). Without it both exit with
//!   code 2 and say so.
//! - `avx512` (off): `wxopen-core`'s AVX-512 VBMI base64 decoder (x86-64, runtime-detected;
//!   the only `unsafe` code in wxopen). `cargo install wxopen-cli --features avx512`.
//!
//! Failures print `error: <what> (WeChat code -400NN)` and usually a `hint:` line on stderr,
//! nothing on stdout, and exit with the codes in [`failure`] (listed in `wxopen --help`).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod args;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub mod events_cmd;
pub mod failure;
pub mod serve_cmd;

use std::io::Write;
use std::process::ExitCode;

use args::{Cli, Command};
use failure::Failure;

/// Run one parsed command line: write its output on stdout, or report the failure on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Decrypt(a) => crypto::decrypt(a, cli.json),
        Command::Encrypt(a) => crypto::encrypt(a, cli.json),
        Command::VerifyUrl(a) => crypto::verify_url(a, cli.json),
        Command::Sign(a) => crypto::sign(a, cli.json),
        Command::Demo(a) => run_demo(a, cli.json),
        Command::Serve(a) => serve_cmd::serve(a),
        Command::Config(args::ConfigCommand::Check { config }) => serve_cmd::check(config),
        Command::Events(a) => events_cmd::run(a),
    };
    match result.and_then(|out| write_stdout(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(),
    }
}

#[cfg(feature = "demo")]
fn run_demo(args: &args::DemoArgs, json: bool) -> Result<Vec<u8>, Failure> {
    demo::run(args, json)
}

#[cfg(not(feature = "demo"))]
fn run_demo(_args: &args::DemoArgs, _json: bool) -> Result<Vec<u8>, Failure> {
    Err(Failure::Usage(
        "this wxopen was built without the `demo` feature (no fake platform inside); \
         reinstall with default features to run the demo"
            .to_owned(),
    ))
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Io(format!("cannot write stdout: {e}")))
}
