//! `wxopen`: debug WeChat message crypto (`decrypt`, `encrypt`, `verify-url`, `sign`) and run
//! the whole component flow locally (`demo`). See `wxopen --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    wxopen_cli::run(wxopen_cli::args::Cli::parse())
}
