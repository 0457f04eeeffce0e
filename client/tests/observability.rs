//! Every upstream call is traced with its endpoint, attempt, errcode and latency, and no log
//! line carries a secret (query strings hold tokens: only paths are logged).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test]
async fn calls_are_traced_without_secrets() {
    let (capture, _guard) = capture_logs();

    let h = Scenario::new()
        .ticket("ticket@@@SECRET-TICKET")
        .component_token("SECRET-CTOK", 1)
        .start()
        .await;
    let busy = err_json(-1, "system error");
    h.server.allow(post(P_AUTHORIZER_INFO), busy).await;
    let err = h.client.authorizer_info("wxa").await.unwrap_err();
    assert_eq!(err.code(), Some(-1));

    let logs = capture.text();
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
