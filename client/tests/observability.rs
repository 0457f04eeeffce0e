//! Every upstream call is traced with its endpoint, attempt, errcode and latency, and no log
//! line carries a secret (query strings hold tokens: only paths are logged).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn calls_are_traced_without_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Scenario::new()
        .ticket("ticket@@@SECRET-TICKET")
        .component_token("SECRET-CTOK", 1)
        .start()
        .await;
    let busy = err_json(-1, "system error");
    h.server.allow(post(P_AUTHORIZER_INFO), busy).await;
    let err = h.client.authorizer_info("wxa").await.unwrap_err();
    assert_eq!(err.code(), Some(-1));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/cgi-bin/component/api_component_token"),
        "{logs}"
    );
    assert!(
        logs.contains("/cgi-bin/component/api_get_authorizer_info"),
        "{logs}"
    );
    assert!(logs.contains("errcode=-1"), "{logs}");
    assert!(logs.contains("attempt=3"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    assert!(logs.contains("component push handled"), "{logs}");
    for secret in ["SECRET", SECRET, TOKEN, AES_KEY, "component_access_token="] {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
}
