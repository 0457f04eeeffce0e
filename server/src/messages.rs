//! Messages and events of authorized accounts (the message URL): the 全网发布 release check,
//! and the event log in front of the host's webhook.
//!
//! Order of work for one message: verify and decrypt (a bad one is a 4xx, nothing forwarded);
//! a release-check message of a test account is answered as
//! [`wxopen_client::release_check`] decides (the customer-service follow-up runs in the
//! background, at most once per message across instances, by a claim in the store); without
//! a webhook, `success`; otherwise the message's `ToUserName` is checked against the account
//! and the message is **appended to the event log before WeChat gets an answer** (an append the
//! log cannot make in time is a 503, so WeChat pushes again). WeChat's retries are recognised
//! by the delivery id in the same append and get the passive reply given the first time, if
//! any. In `reply` mode the webhook is then called inline so its answer can be the passive
//! reply (kept with the event); a failed call leaves the event to the delivery worker. In
//! `async` mode WeChat gets `success` at once and the worker delivers it. Delivery is **at
//! least once**, in order per account (`outbox.rs`, `delivery.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use wxopen_client::delivery::Sent;
use wxopen_client::message::{AuthorizerMessage, MsgType};
use wxopen_client::release_check::{release_check_action, ReleaseCheckAction};
use wxopen_client::store::event_log::{Appended, LoggedEvent, NewEvent};
use wxopen_client::wxopen_proto::delivery::{self, Attempt};
use wxopen_client::{Error, KeyUsed, PushQuery};

use crate::account_names::Binding;
use crate::error::ApiError;
use crate::events_config::DeliveryMode;
use crate::observe::{self, MessageResult};
use crate::outbox::{Outbox, Source, SOURCE};
use crate::state::{AppState, Component};

/// The shortest time a message's delivery id is remembered (WeChat retries within about 15 s);
/// see [`dedupe_ttl`].
pub const DEDUPE_TTL: Duration = Duration::from_secs(300);

/// How long a delivery id is remembered: at least twice the push timestamp window, so a captured
/// message replayed while its timestamp is still accepted is recognised (the window is 600 s by
/// default: 1200 s); a day when the window is off.
pub fn dedupe_ttl(timestamp_window: Option<Duration>) -> Duration {
    timestamp_window.map_or(Duration::from_secs(24 * 3600), |w| {
        w.saturating_mul(2).max(DEDUPE_TTL)
    })
}

/// The most a deduplication claim may take before the message is handled anyway.
const CLAIM_BUDGET: Duration = Duration::from_millis(500);

fn body(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn success() -> Response {
    body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        wxopen_client::SUCCESS_REPLY.to_owned(),
    )
}

fn empty() -> Response {
    body(StatusCode::OK, "text/plain; charset=utf-8", String::new())
}

/// A stable id for one message of one account: the same for WeChat's retries of it.
pub(crate) fn delivery_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in &h.finalize()[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// `true` if this instance is the first to see `id` (or the store could not tell in time:
/// then the message is handled rather than dropped).
pub(crate) async fn first_sight(app: &AppState, comp: &Component, id: &str) -> bool {
    let claim = comp.client.store().claim_once(
        &comp.section.appid,
        id,
        dedupe_ttl(comp.client.config().push_timestamp_window),
    );
    match tokio::time::timeout(CLAIM_BUDGET, claim).await {
        Ok(Ok(first)) => first,
        Ok(Err(e)) => {
            observe::dedupe_failed(&app.metrics, &comp.section.appid, Some(&e));
            true
        }
        Err(_) => {
            observe::dedupe_failed(&app.metrics, &comp.section.appid, None);
            true
        }
    }
}

fn count(app: &AppState, comp: &Component, message: &AuthorizerMessage, result: MessageResult) {
    observe::message(
        &app.metrics,
        &comp.section.appid,
        message.msg_type.as_str(),
        result,
    );
}

/// Encrypts a plaintext reply with the key that decrypted the message.
fn encrypted(comp: &Component, key: KeyUsed, xml: &str) -> Result<Response, Error> {
    let reply = comp
        .client
        .encrypt_authorizer_reply_as(key, xml.as_bytes())?;
    Ok(body(
        StatusCode::OK,
        "application/xml; charset=utf-8",
        reply.to_xml(),
    ))
}

/// Verifies, decrypts and answers a message.
pub(crate) async fn handle(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    authorizer: &str,
    query: &PushQuery,
    raw: &[u8],
) -> Result<Response, Error> {
    let (message, key) = comp
        .client
        .decrypt_authorizer_message_with_key(query, raw)?;
    let now = comp.client.clock().unix_seconds();
    let id = delivery_id(&[authorizer, &message.to_user_name, &message.dedupe_key()]);
    observe::message_received(authorizer, message.msg_type.as_str(), &id);
    match release_check_action(authorizer, &message, now) {
        Some(action) => release_check(app, comp, &message, key, action, &id).await,
        None => relay(app, comp, authorizer, &message, key, now, &id).await,
    }
}

async fn release_check(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    message: &AuthorizerMessage,
    key: KeyUsed,
    action: ReleaseCheckAction,
    id: &str,
) -> Result<Response, Error> {
    match action {
        ReleaseCheckAction::Reply { xml, .. } => {
            // A passive reply has no side effect: a retry gets the same answer again.
            count(app, comp, message, MessageResult::ReleaseCheckReply);
            encrypted(comp, key, &xml)
        }
        ReleaseCheckAction::QueryAuthAndSend {
            auth_code,
            touser,
            content,
        } => {
            if !first_sight(app, comp, id).await {
                count(app, comp, message, MessageResult::Duplicate);
                return Ok(empty());
            }
            let started = Instant::now();
            let (c, a) = (comp.clone(), app.clone());
            let spawned = app.background.spawn(async move {
                let result = c
                    .client
                    .complete_release_check(&auth_code, &touser, &content)
                    .await;
                observe::release_check_sent(
                    &a.metrics,
                    &c.section.appid,
                    result.as_ref().map(String::as_str),
                    started.elapsed().as_millis() as u64,
                );
            });
            if !spawned {
                observe::release_check_dropped(&comp.section.appid);
            }
            count(app, comp, message, MessageResult::ReleaseCheckSend);
            Ok(empty())
        }
        _ => {
            count(app, comp, message, MessageResult::ReleaseCheckIgnored);
            Ok(empty())
        }
    }
}

/// How long making a message durable may take before WeChat gets a 503 instead (it pushes
/// again): a share of the push budget, the rest is for the webhook.
const APPEND_BUDGET: Duration = Duration::from_millis(1_500);

/// A message's kind in the event log: its `Event` for events, else its `MsgType`.
fn message_kind(m: &AuthorizerMessage) -> String {
    match (&m.msg_type, &m.event) {
        (MsgType::Event, Some(e)) => e.clone(),
        (t, _) => t.as_str().to_owned(),
    }
}

/// The event a message is logged as.
fn message_event(
    comp: &Component,
    authorizer: &str,
    id: &str,
    m: &AuthorizerMessage,
    verified: bool,
    received_at_ms: u64,
) -> NewEvent {
    NewEvent {
        component: comp.section.appid.clone(),
        authorizer: authorizer.to_owned(),
        delivery_id: id.to_owned(),
        kind: message_kind(m),
        create_time: m.create_time,
        received_at_ms,
        fields: m
            .fields()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        meta: vec![
            (SOURCE.to_owned(), Source::Message.as_str().to_owned()),
            ("authorizer_verified".to_owned(), verified.to_string()),
        ],
    }
}

fn not_durable(app: &AppState, comp: &Component, m: &AuthorizerMessage, why: &str) -> Response {
    count(app, comp, m, MessageResult::NotDurable);
    observe::event_not_durable(&comp.section.appid, "message", why);
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not stored",
        "WeChat pushes again",
    )
    .public(None)
    .into_response()
}

async fn relay(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    authorizer: &str,
    message: &AuthorizerMessage,
    key: KeyUsed,
    now: u64,
    id: &str,
) -> Result<Response, Error> {
    let Some(outbox) = &comp.outbox else {
        count(app, comp, message, MessageResult::Ok);
        return Ok(success());
    };
    let verified = match comp
        .account_names
        .check(
            &comp.client,
            authorizer,
            &message.to_user_name,
            crate::account_names::lookup_budget(outbox.hook().timeout()),
        )
        .await
    {
        Binding::Verified => true,
        Binding::Unverified => false,
        Binding::Mismatch { expected } => {
            count(app, comp, message, MessageResult::AccountMismatch);
            tracing::warn!(
                component = %comp.section.appid,
                authorizer_appid = authorizer,
                to_user_name = %wxopen_client::error::one_line(&message.to_user_name),
                expected = %expected,
                "message for another account posted to this account's URL; refused, not relayed"
            );
            return Ok(ApiError::new(
                StatusCode::FORBIDDEN,
                "the message is not addressed to this account",
                "its ToUserName is another account's original id; nothing was relayed",
            )
            .into_response());
        }
    };
    // Durable before WeChat gets an answer: an append the log cannot make in time is a 503.
    let received_at_ms = comp.client.clock().unix_millis();
    let event = message_event(comp, authorizer, id, message, verified, received_at_ms);
    let (event_id, sequence) =
        match tokio::time::timeout(APPEND_BUDGET, outbox.log.append(&event)).await {
            Ok(Ok(Appended::New { id, sequence })) => (id, sequence),
            Ok(Ok(Appended::Duplicate(stored))) => {
                count(app, comp, message, MessageResult::Duplicate);
                observe::event_duplicate(&app.metrics, &comp.section.appid);
                // The passive reply given the first time, again (re-encrypted, same content).
                return match &stored.reply {
                    Some(xml) => encrypted(comp, key, xml),
                    None => Ok(success()),
                };
            }
            Ok(Ok(_)) => return Ok(success()),
            Ok(Err(e)) => return Ok(not_durable(app, comp, message, &e.to_string())),
            Err(_) => {
                return Ok(not_durable(
                    app,
                    comp,
                    message,
                    "the event log took too long",
                ))
            }
        };
    observe::event_appended(&app.metrics, &comp.section.appid, Source::Message.as_str());
    if outbox.mode == DeliveryMode::Async {
        outbox.waker.notify_one();
        count(app, comp, message, MessageResult::Queued);
        return Ok(success());
    }
    let logged = LoggedEvent {
        id: event_id,
        sequence,
        state: delivery::received(received_at_ms),
        event,
        reply: None,
    };
    inline(app, comp, outbox, message, key, now, logged).await
}

/// `reply` mode: one attempt now, within WeChat's 5 s, so the webhook's answer can be the
/// passive reply; a failed attempt leaves the event pending for the delivery worker.
async fn inline(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    outbox: &Outbox,
    message: &AuthorizerMessage,
    key: KeyUsed,
    now: u64,
    logged: LoggedEvent,
) -> Result<Response, Error> {
    let c = &comp.section.appid;
    let now_ms = comp.client.clock().unix_millis();
    let Some(claimed) = delivery::claim(&logged.state, now_ms, &outbox.policy) else {
        return Ok(success());
    };
    match outbox
        .log
        .transition(c, logged.id, &logged.state, &claimed)
        .await
    {
        Ok(true) => {}
        // The worker took it first (or the log failed): it is stored; the worker sends it.
        _ => {
            outbox.waker.notify_one();
            count(app, comp, message, MessageResult::Queued);
            return Ok(success());
        }
    }
    let started = Instant::now();
    let outcome = outbox.sink.send(&logged, Sent::new(1, false)).await;
    let elapsed = started.elapsed();
    let label = match &outcome {
        Ok(Some(_)) => "reply",
        Ok(None) => "no_reply",
        Err(e) => e.label(),
    };
    observe::webhook_delivery(&app.metrics, c, label, Some(elapsed));
    let attempt = if outcome.is_ok() {
        Attempt::Delivered
    } else {
        Attempt::Failed { retry_after: None }
    };
    let settled = delivery::settle(
        &claimed,
        attempt,
        logged.event.received_at_ms,
        comp.client.clock().unix_millis(),
        &outbox.policy,
        rand::random::<f64>(),
    );
    let answer = match outcome {
        Ok(None) => {
            count(app, comp, message, MessageResult::Relayed);
            success()
        }
        Ok(Some(reply)) => {
            match reply.to_xml(&message.from_user_name, &message.to_user_name, now) {
                Ok(xml) => {
                    // Kept before WeChat gets it: a retry of this message gets it again.
                    if let Err(e) = outbox.log.set_reply(c, logged.id, &xml).await {
                        observe::event_reply_not_kept(c, logged.id, &e);
                    }
                    count(app, comp, message, MessageResult::RelayedReply);
                    encrypted(comp, key, &xml)?
                }
                Err(e) => {
                    count(app, comp, message, MessageResult::RelayBadReply);
                    observe::relay_bad_reply(
                        c,
                        &logged.event.authorizer,
                        &logged.event.delivery_id,
                        &e,
                    );
                    success()
                }
            }
        }
        Err(e) => {
            count(app, comp, message, MessageResult::RelayFailed);
            observe::relay_failed(&observe::RelayFailure {
                component: c,
                authorizer_appid: &logged.event.authorizer,
                delivery_id: &logged.event.delivery_id,
                msg_type: message.msg_type.as_str(),
                webhook: &outbox.hook().shown_url(),
                timeout: outbox.hook().timeout(),
                elapsed,
                error: &e,
            });
            success()
        }
    };
    if !matches!(
        outbox
            .log
            .transition(c, logged.id, &claimed, &settled)
            .await,
        Ok(true)
    ) {
        // Left in flight: after its visibility timeout the worker takes it over (a delivered
        // one may then be sent twice: at least once).
        tracing::info!(component = %c, event_id = logged.id, "event state not updated after the inline attempt; the worker settles it");
    }
    if !matches!(settled, delivery::DeliveryState::Delivered { .. }) {
        outbox.waker.notify_one();
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_outlives_the_replay_window_twice() {
        // (window, remembered)
        for (window, ttl) in [
            (Some(600), 1200),
            (Some(60), 300),
            (Some(3600), 7200),
            (None, 24 * 3600),
        ] {
            assert_eq!(
                dedupe_ttl(window.map(Duration::from_secs)),
                Duration::from_secs(ttl),
                "{window:?}"
            );
        }
    }
}
