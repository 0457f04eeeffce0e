//! Bounded waits for work the client does in the background: an event on the hook channel, or
//! a condition polled until it holds.

use std::time::Duration;

/// Waits (bounded) for the first event matching `f`.
pub async fn wait_event(
    events: &mut tokio::sync::broadcast::Receiver<wxopen_client::ClientEvent>,
    f: impl Fn(&wxopen_client::ClientEvent) -> bool,
) -> wxopen_client::ClientEvent {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    })
    .await;
    found.expect("event did not arrive (hang guard)")
}

/// Polls `f` (bounded) until it holds.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..2000 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}
