//! What `wxopen demo` shows: the setup lines, one line per step with its timing, the call
//! counts; in text mode printed as they happen, with `--json` collected into one object.

use std::io::Write;
use std::time::Instant;

use serde_json::{json, Value};

/// Collects the steps; in text mode also prints them as they happen.
pub(super) struct Report {
    json: bool,
    started: Instant,
    step_started: Instant,
    steps: Vec<Value>,
    header: Vec<(String, String)>,
    counts: Vec<(String, usize)>,
}

impl Report {
    pub(super) fn new(json: bool) -> Self {
        let now = Instant::now();
        Report {
            json,
            started: now,
            step_started: now,
            steps: Vec::new(),
            header: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// A line of text (nothing with `--json`).
    pub(super) fn line(&self, text: &str) {
        if !self.json {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the flow; the exit code still tells.
            let _ = writeln!(out, "{text}").and_then(|()| out.flush());
        }
    }

    /// A setup line (`"setup"` with `--json`).
    pub(super) fn info(&mut self, key: &str, value: String) {
        self.line(&format!("  {key:<14} {value}"));
        self.header.push((key.to_owned(), value));
    }

    /// An upstream call count (`"upstream_calls"` with `--json`; the text is the caller's).
    pub(super) fn count(&mut self, endpoint: &str, n: usize) {
        self.counts.push((endpoint.to_owned(), n));
    }

    /// Start timing the next step.
    pub(super) fn begin(&mut self) {
        self.step_started = Instant::now();
    }

    /// Record the step that began at the last [`Report::begin`].
    pub(super) fn step(&mut self, name: &str, detail: String) {
        let took = self.step_started.elapsed();
        let n = self.steps.len() + 1;
        if n == 1 {
            self.line("");
            self.line(&format!(
                "  {:>2}  {:<28} {:>9}  what happened",
                "#", "step", "took"
            ));
        }
        let ms = took.as_secs_f64() * 1000.0;
        self.line(&format!("  {n:>2}  {name:<28} {ms:>6.2} ms  {detail}"));
        self.steps.push(json!({
            "step": name,
            "ms": (ms * 1000.0).round() / 1000.0,
            "detail": detail,
        }));
    }

    /// The last line in text mode (and nothing more to print); the whole JSON object with
    /// `--json`.
    pub(super) fn finish(self) -> Vec<u8> {
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        if !self.json {
            self.line(&format!(
                "\n  done in {total_ms:.1} ms; every step checked."
            ));
            return Vec::new();
        }
        let header: serde_json::Map<String, Value> = self
            .header
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        let counts: serde_json::Map<String, Value> = self
            .counts
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        let mut text = json!({
            "ok": true,
            "setup": header,
            "steps": self.steps,
            "upstream_calls": counts,
            "total_ms": (total_ms * 1000.0).round() / 1000.0,
        })
        .to_string();
        text.push('\n');
        text.into_bytes()
    }
}
