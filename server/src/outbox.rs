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
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::Notify;
use wxopen_client::delivery::{EventSink, Sent};
use wxopen_client::store::EventLog;
use wxopen_client::store::{BoxFuture, LoggedEvent, StoreKey, StoredValue, Versioned};
use wxopen_client::wxopen_proto::code_exchange::ExchangeOutcome;
use wxopen_client::wxopen_proto::delivery::{Attempt, DeliveryPolicy};
use wxopen_client::wxopen_proto::notice::{NoticeKind, PlatformNotice};
use wxopen_client::wxopen_proto::wxa_event::{TypedValue, WxaEvent};
use wxopen_client::Clock;

use crate::events_config::{DeliveryMode, EventsConfig};
use wxopen_client::ComponentClient;

/// How long an `authorized` event waits for its code's exchange to store the account's tokens
/// before it is relayed anyway (with `tokens_stored: false`).
const TOKEN_WAIT: Duration = Duration::from_secs(60);
/// How often it looks.
const TOKEN_WAIT_POLL: Duration = Duration::from_secs(1);

/// Whether an authorization's tokens are stored.
enum TokensStored {
    /// Not yet, and it is early: try again shortly.
    Wait,
    /// Send now (`None`: not an event that has tokens).
    Known(Option<GrantNote>),
}

/// What the store says of an event's code exchange.
enum Exchange {
    /// Its record: the outcome, or `None` while it runs (or cannot be read).
    Settled(Option<ExchangeOutcome>),
    /// The event names a code but the store has no record of its exchange: not started yet,
    /// or older than the record's life.
    Missing,
    /// The event names no code.
    Unknown,
}

/// What the relayed JSON of an authorization says about the account's stored record when it
/// is sent: `tokens_stored`, `func_info` and `func_info_removed`.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantNote {
    /// Whether the code's exchange stored the account's tokens.
    pub tokens_stored: bool,
    /// The permission sets the record holds (sorted), when known.
    pub func_info: Option<Vec<i64>>,
    /// The sets the last change of the grant took away.
    pub func_info_removed: Vec<i64>,
}
use crate::webhook::Webhook;

/// A component's event plane: its log, its webhook (as a sink) and how messages reach it.
pub(crate) struct Outbox {
    /// The component's events (shared by every instance on the store).
    pub log: Arc<dyn EventLog>,
    /// The webhook every event goes to.
    pub sink: Arc<WebhookSink>,
    /// `reply` or `async`.
    pub mode: DeliveryMode,
    /// Wakes this instance's delivery worker after an append.
    pub waker: Arc<Notify>,
    /// Backoff, maximum age, visibility timeout.
    pub policy: DeliveryPolicy,
    /// How long delivered events are kept.
    pub retention: Duration,
}

impl Outbox {
    pub(crate) fn new(
        component: &str,
        log: Arc<dyn EventLog>,
        hook: Webhook,
        client: ComponentClient,
        events: &EventsConfig,
    ) -> Self {
        let mode = hook.delivery();
        // An attempt holds an event for its webhook timeout and some: then another worker
        // may take it over.
        let visibility = hook
            .timeout()
            .saturating_mul(3)
            .max(Duration::from_secs(10));
        Self {
            log,
            sink: Arc::new(WebhookSink::new(
                component.to_owned(),
                Arc::new(hook),
                client,
            )),
            mode,
            waker: Arc::new(Notify::new()),
            policy: DeliveryPolicy::default()
                .max_age(events.max_age)
                .visibility(visibility),
            retention: events.retention,
        }
    }

    /// The webhook.
    pub(crate) fn hook(&self) -> &Webhook {
        &self.sink.hook
    }
}

/// The `type` of an event in the log: which URL it came from and what it is.
pub(crate) const SOURCE: &str = "source";
/// The meta key of the digest of an authorization's code: its exchange record's name.
pub(crate) const CODE_SHA1: &str = "code_sha1";

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

/// The JSON the webhook gets for attempt `sent` of `e` (see the module docs); `grant` for an
/// authorization: what the account's record held when it was sent.
pub(crate) fn event_json(
    component: &str,
    e: &LoggedEvent,
    sent: Sent,
    grant: Option<&GrantNote>,
) -> Value {
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
            if let Some(w) = WxaEvent::from_parts(&e.event.kind, |n| field(e, n)) {
                out.insert("wxa_event".into(), wxa_event_json(&w));
            }
        }
        Source::Authorization | Source::ComponentEvent => {
            out.insert("info_type".into(), json!(e.event.kind));
            if let Some(applied) = flag(e, "applied") {
                out.insert("applied".into(), json!(applied));
            }
            if let Some(v) = meta(e, "record_version").and_then(|v| v.parse::<u64>().ok()) {
                out.insert("record_version".into(), json!(v));
            }
            if let Some(kind) = NoticeKind::from_info_type(&e.event.kind) {
                out.insert("notice".into(), notice_json(kind, e));
            }
            if let Some(g) = grant {
                out.insert("tokens_stored".into(), json!(g.tokens_stored));
                if let Some(sets) = &g.func_info {
                    out.insert("func_info".into(), json!(sets));
                    out.insert("func_info_removed".into(), json!(g.func_info_removed));
                }
            }
        }
    }
    Value::Object(out)
}

/// A mini-program event's typed fields (`wxa_event` in the JSON).
fn wxa_event_json(w: &WxaEvent) -> Value {
    let mut out = Map::new();
    out.insert("event".into(), json!(w.name()));
    for (name, value) in w.typed_fields() {
        let value = match value {
            TypedValue::Number(n) => json!(n),
            TypedValue::Text(t) => json!(t),
            TypedValue::List(l) => json!(l),
            _ => continue,
        };
        out.insert(name.into(), value);
    }
    Value::Object(out)
}

/// A notice's typed fields (`notice` in the JSON): `account`, `status`, `result`, `task_id`
/// when it has them.
fn notice_json(kind: NoticeKind, e: &LoggedEvent) -> Value {
    let n = PlatformNotice {
        kind,
        app_id: String::new(),
        create_time: e.event.create_time,
        fields: e.event.fields.clone(),
    };
    let mut out = Map::new();
    out.insert("info_type".into(), json!(kind.info_type()));
    if let Some(a) = n.account() {
        out.insert("account".into(), json!(a));
    }
    if let Some(s) = n.status() {
        out.insert("status".into(), json!(s));
    }
    if let Some(r) = n.result() {
        out.insert("result".into(), json!(r));
    }
    if let Some(t) = n.task_id() {
        out.insert("task_id".into(), json!(t));
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
    client: ComponentClient,
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
    pub(crate) fn new(component: String, hook: Arc<Webhook>, client: ComponentClient) -> Self {
        Self {
            component,
            hook,
            clock: client.clock().clone(),
            client,
        }
    }

    /// One attempt: the webhook's passive reply (messages) or the failure.
    pub(crate) async fn send(
        &self,
        e: &LoggedEvent,
        sent: Sent,
    ) -> Result<Option<wxopen_client::passive::PassiveReply>, crate::webhook::WebhookError> {
        self.send_with(e, sent, None).await
    }

    async fn send_with(
        &self,
        e: &LoggedEvent,
        sent: Sent,
        grant: Option<&GrantNote>,
    ) -> Result<Option<wxopen_client::passive::PassiveReply>, crate::webhook::WebhookError> {
        let json = event_json(&self.component, e, sent, grant);
        let body = serde_json::to_vec(&json).unwrap_or_default();
        let header = Source::of(e).as_str();
        self.hook
            .deliver(
                header,
                &e.event.delivery_id,
                self.clock.unix_seconds(),
                body,
            )
            .await
    }
}

impl WebhookSink {
    /// For an applied `authorized` or `updateauthorized`: the host should find the account's
    /// tokens stored when the event arrives, so the event waits (up to [`TOKEN_WAIT`]) for the
    /// code's exchange, which runs on whichever instance took the push.
    async fn tokens_stored(&self, e: &LoggedEvent) -> TokensStored {
        let grant = match Source::of(e) {
            Source::Authorization => {
                matches!(e.event.kind.as_str(), "authorized" | "updateauthorized")
                    && flag(e, "applied") == Some(true)
            }
            // A fast-registered mini program's code is exchanged like an authorization's.
            Source::ComponentEvent => {
                e.event.kind == "notify_third_fasteregister"
                    && field(e, "status").map(str::trim) == Some("0")
                    && !e.event.authorizer.is_empty()
            }
            Source::Message => false,
        };
        if !grant {
            return TokensStored::Known(None);
        }
        // The outcome of this event's own exchange, when the log names its code: the event
        // then says what this grant gave, not what an earlier one left on the record.
        let exchange = match meta(e, CODE_SHA1) {
            Some(code_sha1) => {
                let key = StoreKey::CodeExchange {
                    component_appid: self.component.clone(),
                    code_sha1: code_sha1.to_owned(),
                };
                match self.client.store().get(&key).await {
                    Ok(Some(Versioned {
                        value: StoredValue::CodeExchange(r),
                        ..
                    })) => Exchange::Settled(r.outcome),
                    // Not claimed yet (the exchange starts after the append), or gone: kept
                    // for the code's lifetime only, after which the event reads the record.
                    Ok(None) => Exchange::Missing,
                    _ => Exchange::Settled(None),
                }
            }
            None => Exchange::Unknown,
        };
        let mut note = match self.client.authorizer_record(&e.event.authorizer).await {
            Ok(Some(r)) => GrantNote {
                tokens_stored: r.refresh_token.is_some(),
                func_info: r.func_info,
                func_info_removed: r.func_info_removed,
            },
            _ => GrantNote::default(),
        };
        let pending = match &exchange {
            Exchange::Settled(Some(ExchangeOutcome::Granted { func_info, .. })) => {
                let mut sets = func_info.clone();
                sets.sort_unstable();
                sets.dedup();
                if note.func_info.as_ref() != Some(&sets) {
                    // A later change is on the record already: this grant's sets, and what it
                    // took away is no longer known.
                    note.func_info_removed.clear();
                }
                note.func_info = Some(sets);
                false
            }
            Exchange::Settled(Some(_)) => false,
            Exchange::Settled(None) | Exchange::Missing => true,
            Exchange::Unknown => !note.tokens_stored,
        };
        let waited = self
            .clock
            .unix_millis()
            .saturating_sub(e.event.received_at_ms);
        if pending && waited < TOKEN_WAIT.as_millis() as u64 {
            return TokensStored::Wait;
        }
        TokensStored::Known(Some(note))
    }
}

impl EventSink for WebhookSink {
    fn deliver<'a>(&'a self, e: &'a LoggedEvent, sent: Sent) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            let tokens_stored = match self.tokens_stored(e).await {
                TokensStored::Wait => {
                    return Attempt::Failed {
                        retry_after: Some(TOKEN_WAIT_POLL),
                    }
                }
                TokensStored::Known(t) => t,
            };
            // Whatever the worker sends is late: WeChat was answered when the event was
            // logged (async) or when the inline attempt failed (reply).
            let sent = Sent::new(sent.attempt, true);
            match self.send_with(e, sent, tokens_stored.as_ref()).await {
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
