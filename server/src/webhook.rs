//! The message relay: decrypted messages and events of authorized accounts, and authorization
//! events, POSTed as JSON to the host's webhook, signed.
//!
//! **Request.** `POST <webhook_url>` with `Content-Type: application/json` and
//! - `X-Wxopen-Event`: `message` or `authorization`;
//! - `X-Wxopen-Timestamp`: unix seconds;
//! - `X-Wxopen-Signature`: `sha256=<hex>`, the HMAC-SHA256 with the configured
//!   `webhook_secret` of `<timestamp>.<body>` (verify it in constant time and refuse old
//!   timestamps);
//! - `X-Wxopen-Delivery`: the delivery id (the same for WeChat's retries of one message, which
//!   the relay drops before they reach the webhook).
//!
//! **Body.** One JSON object per event of the log (see the table of `outbox.rs`, also in
//! `server/README.md`): `type` (`message`, `authorization` or `component_event`), `kind`,
//! `component_appid`, `authorizer_appid`, `delivery_id` (dedupe by it), `event_id`,
//! `sequence` (the event's place among its account's events: order by it), `attempt`, `late`
//! (the answer can no longer be the passive reply), `create_time`, `received_at_ms`, `fields`
//! (every field WeChat sent, `[name, value]` in document order, single-use codes left out);
//! for messages `message` (`to_user_name`, `from_user_name`, `create_time`, `msg_type`,
//! `msg_id`, `event`, `content`, `fields`), `authorizer_verified` (whether `ToUserName` was
//! checked against the account's original id) and, for mini-program events, `wxa_event` (the
//! typed fields of `wxopen_proto::wxa_event::WxaEvent`: `succ_time`, `reason`, `fail_time`,
//! `screenshots`, `delay_time`, `ret`, `nickname`); for registration and filing notices
//! `notice` (`account`, `status`, `result`, `task_id` when present); for authorization events `info_type`,
//! `applied` (whether the store took it: a late `unauthorized` is relayed with `false`),
//! `record_version` (the store version it wrote, growing per account), `tokens_stored`, and
//! for `authorized` / `updateauthorized` once the code is exchanged `func_info` (the
//! permission-set ids the account grants, sorted) and `func_info_removed` (the sets the last
//! change took away: an `updateauthorized` that narrowed the grant).
//! Delivery is at least once: the same `delivery_id` may arrive again after a failure.
//!
//! **Answer.** Any 2xx. An empty body or `{}` means no reply (WeChat gets `success`);
//! `{"reply": <PassiveReply>}` (see [`wxopen_client::passive::PassiveReply`]: text, image,
//! voice, video, news, transfer_customer_service) is built, encrypted and signed as the
//! passive reply (in `reply` mode, on the inline attempt). Answers to other deliveries are not
//! read. A webhook that answers late (past `webhook_timeout_ms`), fails or answers something
//! else is logged and counted, WeChat gets `success` in time, and the event is sent again with
//! backoff until the webhook takes it or it becomes a dead letter (`[events] max_age_secs`).

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use wxopen_client::passive::PassiveReply;

use crate::config::{shown_url, WebhookConfig};

/// Largest webhook answer read, in bytes.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Why a delivery did not produce an answer.
#[derive(Debug)]
pub(crate) enum WebhookError {
    /// No answer within the timeout.
    Timeout,
    /// The request failed (connection refused, reset…).
    Transport(String),
    /// A non-2xx status.
    Status(u16),
    /// A 2xx whose body is not the documented shape (or too large).
    BadAnswer(String),
}

impl WebhookError {
    /// A metric label.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            WebhookError::Timeout => "timeout",
            WebhookError::Transport(_) => "unreachable",
            WebhookError::Status(_) => "status",
            WebhookError::BadAnswer(_) => "bad_answer",
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::Timeout => f.write_str("no answer in time"),
            WebhookError::Transport(e) => write!(f, "request failed: {e}"),
            WebhookError::Status(s) => write!(f, "answered HTTP {s}"),
            WebhookError::BadAnswer(e) => write!(f, "unreadable answer: {e}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    #[serde(default)]
    reply: Option<PassiveReply>,
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// One component's webhook.
pub(crate) struct Webhook {
    config: WebhookConfig,
    http: reqwest::Client,
}

impl Webhook {
    pub(crate) fn new(config: WebhookConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { config, http })
    }

    /// The URL as logs show it.
    pub(crate) fn shown_url(&self) -> String {
        shown_url(&self.config.url)
    }

    /// The configured timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// `reply` or `async`.
    pub(crate) fn delivery(&self) -> crate::events_config::DeliveryMode {
        self.config.delivery
    }

    /// POSTs `body` and reads a passive reply from the answer (for `message` deliveries).
    pub(crate) async fn deliver(
        &self,
        event: &'static str,
        delivery_id: &str,
        timestamp: u64,
        body: Vec<u8>,
    ) -> Result<Option<PassiveReply>, WebhookError> {
        tokio::time::timeout(
            self.config.timeout,
            self.post(event, delivery_id, timestamp, body),
        )
        .await
        .map_err(|_| WebhookError::Timeout)?
    }

    async fn post(
        &self,
        event: &'static str,
        delivery_id: &str,
        timestamp: u64,
        body: Vec<u8>,
    ) -> Result<Option<PassiveReply>, WebhookError> {
        let sig = signature(
            self.config.secret.expose_secret().as_bytes(),
            timestamp,
            &body,
        );
        let mut resp = self
            .http
            .post(self.config.url.clone())
            .header("content-type", "application/json")
            .header("x-wxopen-event", event)
            .header("x-wxopen-timestamp", timestamp.to_string())
            .header("x-wxopen-signature", sig)
            .header("x-wxopen-delivery", delivery_id)
            .body(body)
            .send()
            .await
            .map_err(|e| WebhookError::Transport(transport_reason(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(WebhookError::Status(status.as_u16()));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| WebhookError::Transport(transport_reason(&e)))?
        {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err(WebhookError::BadAnswer(format!(
                    "larger than {MAX_ANSWER} bytes"
                )));
            }
            answer.extend_from_slice(&chunk);
        }
        if answer.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let parsed: Answer = serde_json::from_slice(&answer).map_err(|e| {
            WebhookError::BadAnswer(format!(
                "expected {{}} or {{\"reply\": {{\"type\": …}}}}: {e}"
            ))
        })?;
        Ok(parsed.reply)
    }
}

/// A transport error's reason without its URL (which may carry credentials).
fn transport_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connect"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = None;
    while let Some(s) = source {
        detail = Some(s.to_string());
        source = s.source();
    }
    match detail {
        Some(d) => format!("{kind}: {d}"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Expected value from Python's hmac module (an independent implementation).
        assert_eq!(
            signature(b"Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "sha256=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        assert_eq!(signature(b"k", 1, b"").len(), 7 + 64);
    }
}
