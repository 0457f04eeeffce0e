//! Schemathesis (property-based testing from the OpenAPI document) against the internal API of
//! the real `wxopen serve`, served against a FakeWeChat with a ticket and one authorized
//! account, so the token routes have something to answer.
//!
//! Ignored by default: it needs Schemathesis (`pip install schemathesis`), found as `st` on the
//! `PATH` or at `$WXOPEN_SCHEMATHESIS`. CI (`.ci/run`) installs a pinned version and runs
//! `cargo test -p wxopen-cli --test schemathesis -- --ignored`. The run is bounded
//! (`$WXOPEN_SCHEMATHESIS_EXAMPLES` examples per operation, default 50; seed
//! `$WXOPEN_SCHEMATHESIS_SEED`, default 14) and checks ([`CHECKS`], or
//! `$WXOPEN_SCHEMATHESIS_CHECKS`) that no answer is a server error, that every status code is
//! documented, that every answer matches its documented content type and schema, that invalid
//! input is refused and that nothing answers without the bearer key. The server must still be
//! up at the end and stop cleanly on SIGTERM.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Instant;

use common::*;

const AUTHORIZER: &str = "wxa5c0000000000001";
/// What every answer is checked for: no 5xx, a documented status, the documented content type
/// and schema; invalid input refused; no answer without the bearer key.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,ignored_auth";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis (`st`); CI installs it and runs this with --ignored"]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let st = std::env::var("WXOPEN_SCHEMATHESIS").unwrap_or_else(|_| "st".to_owned());
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let examples = env("WXOPEN_SCHEMATHESIS_EXAMPLES", "50");
    let seed = env("WXOPEN_SCHEMATHESIS_SEED", "14");
    let checks = env("WXOPEN_SCHEMATHESIS_CHECKS", CHECKS);
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let config = write_config(dir.path(), &fake, &key);
    let http = http();
    let mut s = Serve::start(&config, &[], &[]);
    wait_healthy(&http, &s.internal).await;
    authorize(&http, &s, &fake, AUTHORIZER).await;

    // Most generated requests name the served component and the authorized account (the
    // rest are random), so they reach the token engine instead of answering 404.
    let st_config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &st_config,
        format!(
            r#"[dictionaries.components]
values = ["{}"]

[dictionaries.accounts]
values = ["{AUTHORIZER}"]

[parameters]
"path.component" = {{ dictionary = "components", probability = 0.9 }}
"path.appid" = {{ dictionary = "accounts", probability = 0.5 }}
"#,
            fake.component_appid()
        ),
    )
    .unwrap();

    let started = Instant::now();
    let internal = s.internal.clone();
    let report = dir.path().join("junit.xml");
    let out = tokio::task::spawn_blocking({
        let report = report.clone();
        let work = dir.path().to_owned();
        move || {
            Command::new(&st)
                .arg("--config-file")
                .arg(&st_config)
                .arg("run")
                .arg(format!("{internal}/v1/openapi.json"))
                .args(["--url", &internal])
                .args(["--header", &format!("Authorization: Bearer {key}")])
                .args(["--checks", &checks])
                .args(["--max-examples", &examples])
                .args(["--seed", &seed])
                .args(["--workers", "1"])
                .args(["--request-timeout", "15"])
                .args(["--report", "junit", "--report-junit-path"])
                .arg(&report)
                // Its cache and reports stay in the temp dir.
                .current_dir(&work)
                .env("NO_COLOR", "1")
                .env("SCHEMATHESIS_TELEMETRY", "false")
                .output()
                .unwrap_or_else(|e| panic!("cannot run {st} (pip install schemathesis): {e}"))
        }
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    let junit = std::fs::read_to_string(&report).unwrap_or_default();
    let count = |attr: &str| -> usize {
        junit
            .split(&format!("{attr}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    eprintln!(
        "schemathesis: exit {:?} in {:.1} s; junit: {} operations, {} failures, {} errors",
        out.status.code(),
        took.as_secs_f64(),
        count("tests"),
        count("failures"),
        count("errors"),
    );
    assert!(
        s.stdout_lines().iter().all(|l| !l.contains("panicked")),
        "the server panicked"
    );
    assert!(out.status.success(), "schemathesis failed (see above)");
    // Still up after it all, and stops cleanly.
    wait_healthy(&http, &s.internal).await;
    assert!(s.terminate().success(), "{:?}", s.stderr_lines());
}
