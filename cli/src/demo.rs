//! `wxopen demo`: the whole component flow against the conformance crate's `FakeWeChat`.

use crate::args::DemoArgs;
use crate::failure::Failure;

/// Run the demo; returns what to print on stdout.
pub fn run(_args: &DemoArgs, _json: bool) -> Result<Vec<u8>, Failure> {
    Err(Failure::Demo("not built yet".into()))
}
