//! Counting the clients' events into the metrics: token refreshes by kind and result, tokens
//! WeChat rejected. One task per component, subscribed to its client's [`ClientEvent`]s; it
//! ends when the client is dropped.

use std::sync::Arc;

use tokio::sync::broadcast::{error::RecvError, Receiver};
use wxopen_client::ClientEvent;

use crate::metrics::Metrics;

/// Starts counting `events` of `component` into `metrics`.
pub(crate) fn count(component: String, mut events: Receiver<ClientEvent>, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => record(&metrics, &component, &e),
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(component = %component, missed = n, "metrics fell behind the client's events");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// The metric one event adds to (pure apart from the counter).
fn record(metrics: &Metrics, component: &str, e: &ClientEvent) {
    let refresh = |token, result| metrics.refresh(component, token, result);
    match e {
        ClientEvent::ComponentTokenRefreshed { .. } => refresh("component", "ok"),
        ClientEvent::AuthorizerTokenRefreshed { .. } => refresh("authorizer", "ok"),
        ClientEvent::JsTicketRefreshed { .. } => refresh("js_ticket", "ok"),
        ClientEvent::JsTicketFailed { .. } => refresh("js_ticket", "error"),
        ClientEvent::RefreshFailed {
            authorizer_appid, ..
        } => refresh(
            if authorizer_appid.is_some() {
                "authorizer"
            } else {
                "component"
            },
            "error",
        ),
        ClientEvent::TokenRejected {
            authorizer_appid,
            errcode,
        } => {
            let token = if authorizer_appid.is_some() {
                "authorizer"
            } else {
                "component"
            };
            metrics.token_rejected(component, token, *errcode);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_and_rejections_are_counted_by_kind_and_result() {
        let m = Metrics::default();
        record(
            &m,
            "wxc",
            &ClientEvent::ComponentTokenRefreshed { expires_at: 1 },
        );
        for _ in 0..2 {
            record(
                &m,
                "wxc",
                &ClientEvent::AuthorizerTokenRefreshed {
                    authorizer_appid: "wxa".into(),
                    expires_at: 1,
                },
            );
        }
        record(
            &m,
            "wxc",
            &ClientEvent::RefreshFailed {
                authorizer_appid: None,
                errcode: Some(40013),
            },
        );
        record(
            &m,
            "wxc",
            &ClientEvent::TokenRejected {
                authorizer_appid: Some("wxa".into()),
                errcode: 40001,
            },
        );
        for ticket_type in [
            wxopen_client::JsTicketType::Jsapi,
            wxopen_client::JsTicketType::WxCard,
        ] {
            record(
                &m,
                "wxc",
                &ClientEvent::JsTicketRefreshed {
                    authorizer_appid: "wxa".into(),
                    ticket_type,
                    expires_at: 1,
                },
            );
        }
        record(
            &m,
            "wxc",
            &ClientEvent::JsTicketFailed {
                authorizer_appid: "wxa".into(),
                ticket_type: wxopen_client::JsTicketType::Jsapi,
                errcode: Some(45009),
            },
        );
        record(
            &m,
            "wxc",
            &ClientEvent::AuthorizerAuthorized {
                authorizer_appid: "wxa".into(),
            },
        );
        let r = |token, result| {
            m.counter(
                "wxopen_refreshes_total",
                &[("component", "wxc"), ("token", token), ("result", result)],
            )
        };
        assert_eq!(r("component", "ok"), 1);
        assert_eq!(r("authorizer", "ok"), 2);
        assert_eq!(r("component", "error"), 1);
        assert_eq!(r("authorizer", "error"), 0);
        assert_eq!(r("js_ticket", "ok"), 2);
        assert_eq!(r("js_ticket", "error"), 1);
        assert_eq!(
            m.counter(
                "wxopen_tokens_rejected_total",
                &[
                    ("component", "wxc"),
                    ("token", "authorizer"),
                    ("errcode", "40001")
                ],
            ),
            1
        );
    }
}
