//! The event plane in the service: a component's pushes and messages made durable in its
//! [`EventLog`] before WeChat gets an answer, and delivered to the host's webhook from there
//! at least once, in order per account ([`WebhookSink`] under a
//! [`DeliveryWorker`](wxopen_client::delivery::DeliveryWorker)).
//!
//! **What the webhook gets**, one JSON object per event (headers as in `webhook.rs`, with
//! `X-Wxopen-Delivery` the event's delivery id — the same on every attempt):
//!
//! | field | what |
//! |---|---|
//! | `type` | `message` (the message URL), `authorization` (authorized, updateauthorized, unauthorized) or `component_event` (any other `InfoType`) |
//! | `kind` | the `MsgType`, the `Event` of an event, or the `InfoType` |
//! | `component_appid`, `authorizer_appid` | whose event (`authorizer_appid` empty for a component-level one) |
//! | `delivery_id` | the same for WeChat's retries of one push: dedupe by it |
//! | `event_id`, `sequence` | its id in the component's log; its place among its account's events (1, 2, …): order by it |
//! | `attempt`, `late` | this attempt's number; `true` when the answer can no longer be the passive reply |
//! | `create_time`, `received_at_ms` | WeChat's `CreateTime`; when wxopen received it |
//! | `fields` | every field WeChat sent, `[name, value]` in document order (nested ones by `/`-joined path; authorization codes left out) |
//! | `message` | (messages) `to_user_name`, `from_user_name`, `create_time`, `msg_type`, `msg_id`, `event`, `content`, `fields` |
//! | `authorizer_verified` | (messages) whether `ToUserName` was checked against the account |
//! | `info_type`, `applied`, `record_version` | (authorization events) what the store did with it |

use std::sync::Arc;

use serde_json::{json, Map, Value};
use wxopen_client::delivery::{EventSink, Sent};
use wxopen_client::store::{BoxFuture, LoggedEvent};
use wxopen_client::wxopen_proto::delivery::Attempt;
use wxopen_client::Clock;

use crate::webhook::Webhook;

/// The `type` of an event in the log: which URL it came from and what it is.
pub(crate) const SOURCE: &str = "source";

/// Where an event came from (the `source` meta of a logged event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The message URL.
    Message,
    /// The authorization-event URL: authorized, updateauthorized, unauthorized.
    Authorization,
    /// The authorization-event URL: any other `InfoType`.
    ComponentEvent,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Message => "message",
            Source::Authorization => "authorization",
            Source::ComponentEvent => "component_event",
        }
    }

    fn of(e: &LoggedEvent) -> Self {
        match meta(e, SOURCE) {
            Some("message") => Source::Message,
            Some("authorization") => Source::Authorization,
            _ => Source::ComponentEvent,
        }
    }
}

/// Fields that are credentials: never logged as event fields, never relayed.
pub(crate) const WITHHELD_FIELDS: [&str; 3] = ["AuthorizationCode", "PreAuthCode", "auth_code"];

fn meta<'a>(e: &'a LoggedEvent, name: &str) -> Option<&'a str> {
    e.event
        .meta
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn field<'a>(e: &'a LoggedEvent, name: &str) -> Option<&'a str> {
    e.event
        .fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn flag(e: &LoggedEvent, name: &str) -> Option<bool> {
    meta(e, name).map(|v| v == "true")
}

/// The JSON the webhook gets for attempt `sent` of `e` (see the module docs).
pub(crate) fn event_json(component: &str, e: &LoggedEvent, sent: Sent) -> Value {
    let source = Source::of(e);
    let fields: Vec<[&str; 2]> = e
        .event
        .fields
        .iter()
        .map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    let mut out = Map::new();
    out.insert("type".into(), json!(source.as_str()));
    out.insert("kind".into(), json!(e.event.kind));
    out.insert("component_appid".into(), json!(component));
    out.insert("authorizer_appid".into(), json!(e.event.authorizer));
    out.insert("delivery_id".into(), json!(e.event.delivery_id));
    out.insert("event_id".into(), json!(e.id));
    out.insert("sequence".into(), json!(e.sequence));
    out.insert("attempt".into(), json!(sent.attempt));
    out.insert("late".into(), json!(sent.late));
    out.insert("create_time".into(), json!(e.event.create_time));
    out.insert("received_at_ms".into(), json!(e.event.received_at_ms));
    out.insert("fields".into(), json!(fields));
    match source {
        Source::Message => {
            out.insert(
                "authorizer_verified".into(),
                json!(flag(e, "authorizer_verified").unwrap_or(false)),
            );
            out.insert(
                "message".into(),
                json!({
                    "to_user_name": field(e, "ToUserName"),
                    "from_user_name": field(e, "FromUserName"),
                    "create_time": e.event.create_time,
                    "msg_type": field(e, "MsgType"),
                    "msg_id": field(e, "MsgId"),
                    "event": field(e, "Event"),
                    "content": field(e, "Content"),
                    "fields": fields,
                }),
            );
        }
        Source::Authorization | Source::ComponentEvent => {
            out.insert("info_type".into(), json!(e.event.kind));
            if let Some(applied) = flag(e, "applied") {
                out.insert("applied".into(), json!(applied));
            }
            if let Some(v) = meta(e, "record_version").and_then(|v| v.parse::<u64>().ok()) {
                out.insert("record_version".into(), json!(v));
            }
            if let Some(x) = flag(e, "auth_code_exchanged") {
                out.insert("auth_code_exchanged".into(), json!(x));
            }
        }
    }
    Value::Object(out)
}

/// Sends logged events to a component's webhook: a 2xx is delivered, anything else (a status,
/// a timeout, a refused connection, an unreadable answer) is a failed attempt the worker
/// retries. Passive replies in the answer are not read here: an event delivered by the worker
/// is past the moment WeChat could get one (the inline attempt of `reply` mode reads them).
pub(crate) struct WebhookSink {
    component: String,
    hook: Arc<Webhook>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("component", &self.component)
            .field("webhook", &self.hook.shown_url())
            .finish()
    }
}

impl WebhookSink {
    pub(crate) fn new(component: String, hook: Arc<Webhook>, clock: Arc<dyn Clock>) -> Self {
        Self {
            component,
            hook,
            clock,
        }
    }

    /// One attempt: the webhook's passive reply (messages) or the failure.
    pub(crate) async fn send(
        &self,
        e: &LoggedEvent,
        sent: Sent,
    ) -> Result<Option<wxopen_client::passive::PassiveReply>, crate::webhook::WebhookError> {
        let body = serde_json::to_vec(&event_json(&self.component, e, sent)).unwrap_or_default();
        let header = Source::of(e).as_str();
        self.hook
            .deliver(header, &e.event.delivery_id, self.clock.unix_seconds(), body)
            .await
    }
}

impl EventSink for WebhookSink {
    fn deliver<'a>(&'a self, e: &'a LoggedEvent, sent: Sent) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            match self.send(e, sent).await {
                Ok(_) => Attempt::Delivered,
                Err(err) => {
                    tracing::info!(
                        component = %self.component,
                        event_id = e.id,
                        kind = %e.event.kind,
                        attempt = sent.attempt,
                        webhook = %self.hook.shown_url(),
                        error = %err,
                        "webhook delivery failed; the event stays pending and is sent again"
                    );
                    Attempt::Failed { retry_after: None }
                }
            }
        })
    }
}
