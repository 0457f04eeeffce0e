//! What the service tells its operators: the typed outcome of each request (a push, a message,
//! a token request, an HTTP request, a relay) turned into the metric it counts and the log line
//! it writes, here and nowhere else. Route handlers decide; this file counts and logs.
//!
//! Each metric is one typed method of [`Metrics`] (names and label sets live there). Log lines
//! keep the targets they had before the routes moved into their own files
//! (`wxopen_server::public`, `::internal`, `::messages`, `::http`), so a `WXOPEN_LOG` filter
//! written for them still applies.

use std::fmt::Display;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use wxopen_client::wxopen_core::Error as CryptoError;
use wxopen_client::{Error, PushError};

use crate::log_gate::LogGate;
use crate::metrics::Metrics;

/// Log target of the public routes (push, authorization pages, message URL).
const PUBLIC: &str = "wxopen_server::public";
/// Log target of the internal routes (tokens, authorizers).
const INTERNAL: &str = "wxopen_server::internal";
/// Log target of message handling and relays.
const MESSAGES: &str = "wxopen_server::messages";
/// Log target of the per-request line.
const HTTP: &str = "wxopen_server::http";

/// Bad-signature warn lines: one per 10 s (anyone can send them; every one is counted).
static BAD_SIGNATURE_LINES: LogGate = LogGate::new(Duration::from_secs(10));
/// Decryption failures after a verified signature: one line per minute.
static DECRYPT_FAILED_LINES: LogGate = LogGate::new(Duration::from_secs(60));

/// Whether `e` is a decryption failure of a body whose signature verified: the sender knew
/// the token, so the EncodingAESKey is wrong or was rotated (not an outsider's junk).
fn decrypt_failed(e: &Error) -> bool {
    matches!(
        e,
        Error::Crypto(
            CryptoError::Decrypt(_) | CryptoError::Buffer(_) | CryptoError::ReceiverIdMismatch
        )
    )
}

/// The `result` label of a push or message WeChat sent that was refused.
pub(crate) fn refusal_label(e: &Error) -> &'static str {
    match e {
        e if decrypt_failed(e) => "decrypt_failed",
        Error::Crypto(_) => "bad_signature_or_crypto",
        Error::Push(_) => "bad_push",
        Error::Store(_) => "store_error",
        Error::InvalidInput { .. } => "invalid",
        _ => "error",
    }
}

// ---------------------------------------------------------------------------------------------
// Pushes (the authorization event URL)

/// How a push to the authorization event URL ended.
#[derive(Debug)]
pub(crate) enum PushOutcome {
    /// The path names no configured component.
    UnknownComponent,
    /// The query string is not WeChat's.
    BadQuery(PushError),
    /// Not handled within `server.push_budget_ms`.
    TimedOut {
        /// The budget.
        budget: Duration,
    },
    /// Verified, decrypted or stored it could not be.
    Refused(Error),
    /// Applied, but its event could not be made durable in time: 503, WeChat pushes again.
    NotDurable(String),
    /// Stored (or recognised as a replay).
    Accepted {
        /// Its `InfoType`.
        info_type: String,
        /// Seen before.
        replayed: bool,
    },
}

/// Counts and logs a push of `component`.
pub(crate) fn push(metrics: &Metrics, component: &str, outcome: &PushOutcome) {
    match outcome {
        PushOutcome::UnknownComponent => metrics.push("unknown", "unknown_component", None),
        PushOutcome::BadQuery(_) => metrics.push(component, "bad_query", None),
        PushOutcome::TimedOut { budget } => {
            metrics.push(component, "timeout", None);
            tracing::warn!(target: PUBLIC, component = %component, budget_ms = budget.as_millis() as u64, "push not handled within its budget (store slow?); answering 503 so WeChat pushes again");
        }
        PushOutcome::Refused(e) => {
            metrics.push(component, refusal_label(e), None);
            refused(component, "push", e);
        }
        PushOutcome::NotDurable(why) => {
            metrics.push(component, "not_durable", None);
            event_not_durable(component, "push", why);
        }
        PushOutcome::Accepted {
            info_type,
            replayed,
        } => {
            let result = if *replayed { "replayed" } else { "ok" };
            metrics.push(component, result, Some(info_type));
        }
    }
}

/// Logs a refused push or message (`what`): a decryption failure after a verified signature
/// as the configuration problem it is, other refusals at most once per 10 s (the count of
/// those held back in the next line); metrics count every one.
fn refused(component: &str, what: &'static str, e: &Error) {
    if decrypt_failed(e) {
        if let Some(held) = DECRYPT_FAILED_LINES.pass() {
            tracing::error!(target: PUBLIC, component = %component, what, error = %e, held_back = held, "signature verified but decryption failed: this component's encoding_aes_key is wrong or was rotated; set the one in WeChat's console, and the old one as previous_encoding_aes_key while it rotates");
        }
    } else if let Some(held) = BAD_SIGNATURE_LINES.pass() {
        // `held_back`: refusals since the last line; those within 10 s of it are only counted.
        if what == "push" {
            tracing::warn!(target: PUBLIC, component = %component, error = %e, held_back = held, "push refused");
        } else {
            tracing::warn!(target: PUBLIC, component = %component, error = %e, held_back = held, "message refused");
        }
    }
}

/// Logs the background `query_auth` of an `authorized` push: the stored account, or why not.
pub(crate) fn push_exchange(authorizer_appid: &str, result: Result<&str, &Error>) {
    match result {
        Ok(stored) => {
            tracing::info!(target: PUBLIC, authorizer_appid = %stored, "authorization from the push stored")
        }
        Err(e) => {
            tracing::warn!(target: PUBLIC, authorizer_appid = %authorizer_appid, error = %e, "query_auth for the authorized push failed")
        }
    }
}

/// Logs an `authorized` push whose exchange found no room in the background.
pub(crate) fn push_exchange_dropped(component: &str) {
    tracing::warn!(target: PUBLIC, component = %component, "too much background work; the authorized push's code is left to the redirect");
}

/// The `authorized` push's pre-auth code could not be kept (the redirect then relies on the
/// state binding's signature alone).
pub(crate) fn push_pre_auth_code_not_kept(component: &str, error: &dyn Display) {
    tracing::warn!(target: PUBLIC, component = %component, error = %error, "could not keep the authorized push's pre-auth code for the redirect's check");
}

/// An authorization page answered with a problem page: the admin sees a generic text and the
/// request id; the cause (WeChat's errmsg, a store error, the configuration) is logged here.
pub(crate) fn page_problem(
    page: &'static str,
    component: &str,
    request_id: Option<&str>,
    problem: &dyn std::fmt::Debug,
    cause: &dyn Display,
) {
    tracing::warn!(target: PUBLIC, page = page, component = %component, request_id = request_id.unwrap_or(""), problem = ?problem, cause = %cause, "authorization page answered with a problem page");
}

// ---------------------------------------------------------------------------------------------
// Messages (the message URL)

/// How a message of an authorized account was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageResult {
    /// `success` (no webhook).
    Ok,
    /// WeChat's retry of a message already handled.
    Duplicate,
    /// A release-check passive reply.
    ReleaseCheckReply,
    /// A release-check customer-service follow-up started.
    ReleaseCheckSend,
    /// A release-check message needing nothing.
    ReleaseCheckIgnored,
    /// Taken by the webhook, no reply.
    Relayed,
    /// Taken by the webhook, its reply sent back.
    RelayedReply,
    /// The webhook's reply could not be built.
    RelayBadReply,
    /// The webhook did not take it in time: stored, the delivery worker sends it again.
    RelayFailed,
    /// Stored in the event log, WeChat answered; the delivery worker sends it (`async` mode).
    Queued,
    /// It could not be made durable in time: WeChat gets a 503 and pushes it again.
    NotDurable,
    /// Its `ToUserName` is not the path's account: refused (403), not relayed.
    AccountMismatch,
}

impl MessageResult {
    /// The `result` label.
    fn label(self) -> &'static str {
        match self {
            MessageResult::Ok => "ok",
            MessageResult::Duplicate => "duplicate",
            MessageResult::ReleaseCheckReply => "release_check_reply",
            MessageResult::ReleaseCheckSend => "release_check_send",
            MessageResult::ReleaseCheckIgnored => "release_check_ignored",
            MessageResult::Relayed => "relayed",
            MessageResult::RelayedReply => "relayed_reply",
            MessageResult::RelayBadReply => "relay_bad_reply",
            MessageResult::RelayFailed => "relay_failed",
            MessageResult::Queued => "queued",
            MessageResult::NotDurable => "not_durable",
            MessageResult::AccountMismatch => "account_mismatch",
        }
    }
}

/// Counts an answered message of `component`.
pub(crate) fn message(metrics: &Metrics, component: &str, msg_type: &str, result: MessageResult) {
    metrics.message(component, result.label(), Some(msg_type));
}

/// Why a POST to the message URL was not answered as a message.
#[derive(Debug)]
pub(crate) enum MessageRefusal {
    /// The path names no configured component.
    UnknownComponent,
    /// The path's authorizer appid is malformed.
    BadAuthorizer,
    /// The query string is not WeChat's.
    BadQuery(PushError),
    /// Not verified or not decrypted.
    Refused(Error),
}

/// Counts a refused message of `component` (bad paths and queries are not counted).
pub(crate) fn message_refused(metrics: &Metrics, component: &str, refusal: &MessageRefusal) {
    match refusal {
        MessageRefusal::UnknownComponent => metrics.message("unknown", "unknown_component", None),
        MessageRefusal::Refused(e) => {
            metrics.message(component, refusal_label(e), None);
            refused(component, "message", e);
        }
        MessageRefusal::BadAuthorizer | MessageRefusal::BadQuery(_) => {}
    }
}

/// Logs a received message (debug: the request line already records it at info, and a second
/// line per message was a fifth of the route's CPU time under load).
pub(crate) fn message_received(authorizer_appid: &str, msg_type: &str, delivery_id: &str) {
    tracing::debug!(
        target: MESSAGES,
        authorizer_appid = authorizer_appid,
        msg_type = msg_type,
        delivery_id = %delivery_id,
        "message received"
    );
}

/// Counts and logs a deduplication claim that failed (`Some(error)`) or timed out (`None`);
/// the message is handled anyway.
pub(crate) fn dedupe_failed(metrics: &Metrics, component: &str, error: Option<&dyn Display>) {
    metrics.dedupe_error(component);
    match error {
        Some(e) => {
            tracing::warn!(target: MESSAGES, component = %component, error = %e, "cannot deduplicate a message; handling it anyway")
        }
        None => {
            tracing::warn!(target: MESSAGES, component = %component, "deduplication timed out; handling the message anyway")
        }
    }
}

/// Counts and logs a release check's customer-service follow-up: the account it was sent for,
/// or why not.
pub(crate) fn release_check_sent(
    metrics: &Metrics,
    component: &str,
    result: Result<&str, &Error>,
    elapsed_ms: u64,
) {
    match result {
        Ok(appid) => {
            metrics.release_check_send(component, "ok");
            tracing::info!(target: MESSAGES, component = %component, authorizer_appid = %appid, elapsed_ms = elapsed_ms, "release check: customer-service message sent");
        }
        Err(e) => {
            metrics.release_check_send(component, "error");
            tracing::warn!(target: MESSAGES, component = %component, error = %e, elapsed_ms = elapsed_ms, "release check: the customer-service follow-up failed");
        }
    }
}

/// Logs a release-check follow-up that found no room in the background.
pub(crate) fn release_check_dropped(component: &str) {
    tracing::warn!(target: MESSAGES, component = %component, "release check: too much background work; follow-up dropped");
}

/// Counts an event appended to the log (`source`: message or component_event).
pub(crate) fn event_appended(metrics: &Metrics, component: &str, _source: &'static str) {
    metrics.events(component, "appended", 1);
}

/// Counts WeChat's retry (or a replay) of an event already in the log.
pub(crate) fn event_duplicate(metrics: &Metrics, component: &str) {
    metrics.events(component, "duplicate", 1);
}

/// Counts what logging a component push's event did.
pub(crate) fn component_event_logged(
    metrics: &Metrics,
    component: &str,
    appended: &wxopen_client::store::event_log::Appended,
) {
    match appended {
        wxopen_client::store::event_log::Appended::New { .. } => {
            metrics.events(component, "appended", 1);
        }
        _ => metrics.events(component, "duplicate", 1),
    }
}

/// Logs an event that could not be made durable in time (WeChat gets a 503 and pushes again).
pub(crate) fn event_not_durable(component: &str, what: &'static str, why: &str) {
    tracing::warn!(target: PUBLIC, component = %component, what, error = %why, "event not stored in time; answering 503 so WeChat pushes it again");
}

/// Logs a passive reply that was sent but could not be kept with its event (a retry of the
/// message then gets `success` instead of it).
pub(crate) fn event_reply_not_kept(component: &str, event_id: u64, e: &dyn Display) {
    tracing::warn!(component = %component, event_id, error = %e, "the passive reply could not be kept with its event");
}

/// Counts a delivery worker's pass.
pub(crate) fn delivery_pass(
    metrics: &Metrics,
    component: &str,
    pass: &wxopen_client::delivery::Pass,
) {
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    if pass.delivered > 0 {
        metrics.events(component, "delivered", n(pass.delivered));
    }
    if pass.failed > 0 {
        metrics.events(component, "failed", n(pass.failed - pass.dead));
    }
    if pass.dead > 0 {
        metrics.events(component, "dead", n(pass.dead));
    }
}

/// Counts one delivery to a webhook by `result` (and its latency, for a message's).
pub(crate) fn webhook_delivery(
    metrics: &Metrics,
    component: &str,
    result: &'static str,
    latency: Option<Duration>,
) {
    metrics.webhook_delivery(component, result, latency);
}

/// Logs a webhook reply that could not be built (WeChat gets `success`).
pub(crate) fn relay_bad_reply(
    component: &str,
    authorizer_appid: &str,
    delivery_id: &str,
    error: &dyn Display,
) {
    tracing::warn!(target: MESSAGES, component = %component, authorizer_appid = authorizer_appid, delivery_id = %delivery_id, error = %error, "webhook reply refused; answering success");
}

/// A message the webhook did not take.
pub(crate) struct RelayFailure<'a> {
    pub component: &'a str,
    pub authorizer_appid: &'a str,
    pub delivery_id: &'a str,
    pub msg_type: &'a str,
    /// The webhook URL as logs show it.
    pub webhook: &'a str,
    pub timeout: Duration,
    pub elapsed: Duration,
    pub error: &'a dyn Display,
}

/// Logs a message the webhook did not take (WeChat gets `success`).
pub(crate) fn relay_failed(f: &RelayFailure<'_>) {
    tracing::warn!(
        target: MESSAGES,
        component = %f.component,
        authorizer_appid = f.authorizer_appid,
        delivery_id = %f.delivery_id,
        msg_type = f.msg_type,
        webhook = %f.webhook,
        timeout_ms = f.timeout.as_millis() as u64,
        elapsed_ms = f.elapsed.as_millis() as u64,
        error = %f.error,
        "webhook did not take the message; answering success"
    );
}

// ---------------------------------------------------------------------------------------------
// The token API

/// Which token a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// The component access token.
    Component,
    /// An authorizer access token.
    Authorizer,
}

impl TokenKind {
    /// The `token` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            TokenKind::Component => "component",
            TokenKind::Authorizer => "authorizer",
        }
    }
}

/// Counts a token request that gave up waiting for a refresh (another instance's lease, or
/// the caller's deadline); other outcomes are counted by the request line.
pub(crate) fn token_request(
    metrics: &Metrics,
    component: &str,
    kind: TokenKind,
    error: Option<&Error>,
) {
    let reason = match error {
        Some(Error::WaitTimeout { .. }) => "caller_deadline",
        Some(Error::LeaseBusy { .. }) => "lease_busy",
        _ => return,
    };
    metrics.lease_wait(component, kind.label(), reason);
}

/// Logs a compare-and-refresh request of `client` (of an authorizer's token when
/// `authorizer_appid` is given).
pub(crate) fn refresh_requested(client: &str, component: &str, authorizer_appid: Option<&str>) {
    match authorizer_appid {
        None => {
            tracing::info!(target: INTERNAL, client = %client, component = %component, "component token refresh requested")
        }
        Some(appid) => {
            tracing::info!(target: INTERNAL, client = %client, component = %component, authorizer_appid = %appid, "authorizer token refresh requested")
        }
    }
}

/// Logs an authorizer forgotten through the API.
pub(crate) fn authorizer_deleted(client: &str, component: &str, authorizer_appid: &str) {
    tracing::warn!(target: INTERNAL, client = %client, component = %component, authorizer_appid = %authorizer_appid, "authorizer deleted through the API");
}

/// Logs an import of `count` authorizers.
pub(crate) fn importing(client: &str, component: &str, count: usize) {
    tracing::info!(target: INTERNAL, client = %client, component = %component, count = count, "importing authorizers");
}

// ---------------------------------------------------------------------------------------------
// Every HTTP request

/// One answered HTTP request.
pub(crate) struct HttpRequest<'a> {
    /// `public` or `internal`.
    pub listener: &'static str,
    /// The matched route (`unmatched` when none).
    pub route: &'a str,
    pub method: &'a Method,
    pub status: StatusCode,
    pub request_id: &'a str,
    pub latency: Duration,
}

/// Counts and logs an answered HTTP request (path only: a push's query string carries its
/// signature).
pub(crate) fn http_request(metrics: &Metrics, r: &HttpRequest<'_>) {
    metrics.http_request(r.listener, r.route, r.status.as_u16());
    tracing::info!(
        target: HTTP,
        request_id = %r.request_id,
        listener = r.listener,
        method = %r.method,
        route = %r.route,
        status = r.status.as_str(),
        latency_ms = r.latency.as_millis() as u64,
        "http request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_under_the_documented_names_and_labels() {
        let m = Metrics::default();
        push(
            &m,
            "wxc",
            &PushOutcome::Accepted {
                info_type: "component_verify_ticket".into(),
                replayed: false,
            },
        );
        push(&m, "wxc", &PushOutcome::UnknownComponent);
        message(&m, "wxc", "text", MessageResult::RelayedReply);
        token_request(
            &m,
            "wxc",
            TokenKind::Authorizer,
            Some(&Error::LeaseBusy {
                token: "authorizer_access_token",
            }),
        );
        token_request(&m, "wxc", TokenKind::Component, None);
        assert_eq!(
            m.counter(
                "wxopen_pushes_total",
                &[
                    ("component", "wxc"),
                    ("result", "ok"),
                    ("info_type", "component_verify_ticket")
                ]
            ),
            1
        );
        assert_eq!(
            m.counter(
                "wxopen_pushes_total",
                &[("component", "unknown"), ("result", "unknown_component")]
            ),
            1
        );
        assert_eq!(
            m.counter(
                "wxopen_messages_total",
                &[
                    ("component", "wxc"),
                    ("result", "relayed_reply"),
                    ("msg_type", "text")
                ]
            ),
            1
        );
        assert_eq!(
            m.counter(
                "wxopen_lease_waits_total",
                &[
                    ("component", "wxc"),
                    ("token", "authorizer"),
                    ("reason", "lease_busy")
                ]
            ),
            1
        );
        let text = m.render(&[]);
        assert_eq!(text.matches("wxopen_lease_waits_total{").count(), 1);
    }
}
