//! Messages and events of authorized accounts (the message URL): the 全网发布 release check,
//! deduplication of WeChat's retries, and the relay to the host's webhook.
//!
//! Order of work for one message: verify and decrypt (a bad one is a 4xx, nothing forwarded);
//! a release-check message of a test account is answered as
//! [`wxopen_client::release_check`] decides (the customer-service follow-up runs in the
//! background, at most once per message across instances); any other message goes to the
//! webhook if one is configured and its reply, if any, is encrypted and sent back; otherwise
//! `success`. A delivery is **at most once**: WeChat's retries and replays inside the window are
//! recognised by a claim in the store, and a delivery that fails is logged, not retried (when the
//! store cannot answer the claim in time the message is delivered anyway, so then it may arrive
//! twice).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use wxopen_client::message::AuthorizerMessage;
use wxopen_client::release_check::{release_check_action, ReleaseCheckAction};
use wxopen_client::{Error, KeyUsed, PushQuery};

use crate::account_names::Binding;
use crate::error::ApiError;
use crate::observe::{self, MessageResult};
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

/// Pauses between the tries of an authorization event's delivery (three tries in all).
const AUTHORIZATION_RETRIES: [Option<Duration>; 3] = [
    Some(Duration::from_secs(1)),
    Some(Duration::from_secs(4)),
    None,
];

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

/// The JSON a message is relayed as.
fn message_json(
    component: &str,
    authorizer: &str,
    id: &str,
    m: &AuthorizerMessage,
) -> serde_json::Value {
    let fields: Vec<[&str; 2]> = m.fields().map(|(k, v)| [k, v]).collect();
    serde_json::json!({
        "type": "message",
        "component_appid": component,
        "authorizer_appid": authorizer,
        "delivery_id": id,
        "message": {
            "to_user_name": m.to_user_name,
            "from_user_name": m.from_user_name,
            "create_time": m.create_time,
            "msg_type": m.msg_type.as_str(),
            "msg_id": m.msg_id.map(|v| v.to_string()),
            "event": m.event,
            "content": m.content,
            "fields": fields,
        }
    })
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
    let Some(hook) = &comp.webhook else {
        count(app, comp, message, MessageResult::Ok);
        return Ok(success());
    };
    let verified = match comp
        .account_names
        .check(
            &comp.client,
            authorizer,
            &message.to_user_name,
            crate::account_names::lookup_budget(hook.timeout()),
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
    if !first_sight(app, comp, id).await {
        count(app, comp, message, MessageResult::Duplicate);
        return Ok(success());
    }
    let mut json = message_json(&comp.section.appid, authorizer, id, message);
    json["authorizer_verified"] = serde_json::Value::Bool(verified);
    let bytes = serde_json::to_vec(&json).unwrap_or_default();
    let started = Instant::now();
    let outcome = hook.deliver("message", id, now, bytes).await;
    let elapsed = started.elapsed();
    let label = match &outcome {
        Ok(Some(_)) => "reply",
        Ok(None) => "no_reply",
        Err(e) => e.label(),
    };
    observe::webhook_delivery(&app.metrics, &comp.section.appid, label, Some(elapsed));
    match outcome {
        Ok(None) => {
            count(app, comp, message, MessageResult::Relayed);
            Ok(success())
        }
        Ok(Some(reply)) => {
            match reply.to_xml(&message.from_user_name, &message.to_user_name, now) {
                Ok(xml) => {
                    count(app, comp, message, MessageResult::RelayedReply);
                    encrypted(comp, key, &xml)
                }
                Err(e) => {
                    count(app, comp, message, MessageResult::RelayBadReply);
                    observe::relay_bad_reply(&comp.section.appid, authorizer, id, &e);
                    Ok(success())
                }
            }
        }
        Err(e) => {
            count(app, comp, message, MessageResult::RelayFailed);
            observe::relay_failed(&observe::RelayFailure {
                component: &comp.section.appid,
                authorizer_appid: authorizer,
                delivery_id: id,
                msg_type: message.msg_type.as_str(),
                webhook: &hook.shown_url(),
                timeout: hook.timeout(),
                elapsed,
                error: &e,
            });
            Ok(success())
        }
    }
}

/// An authorization event as the webhook gets it.
pub(crate) struct AuthorizationRelay<'a> {
    /// `authorized`, `updateauthorized` or `unauthorized`.
    pub info_type: &'a str,
    /// The account.
    pub authorizer: &'a str,
    /// WeChat's `CreateTime` of the push.
    pub create_time: u64,
    /// Whether the record machine changed the account's record (a late `unauthorized` older
    /// than the authorization is relayed with `false`: the account is still authorized).
    pub applied: bool,
    /// The store version of the record the push wrote, when applied: it only grows for one
    /// account, so the host orders the account's events by it.
    pub sequence: Option<u64>,
}

/// Relays an authorization event (authorized, updateauthorized, unauthorized) to the webhook
/// in the background, once across instances.
pub(crate) fn relay_authorization(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    event: &AuthorizationRelay<'_>,
) {
    let AuthorizationRelay {
        info_type,
        authorizer,
        create_time,
        applied,
        sequence,
    } = *event;
    if comp.webhook.is_none() {
        return;
    }
    let id = delivery_id(&[
        "authorization",
        info_type,
        authorizer,
        &create_time.to_string(),
    ]);
    let json = serde_json::json!({
        "type": "authorization",
        "component_appid": comp.section.appid,
        "authorizer_appid": authorizer,
        "delivery_id": id,
        "info_type": info_type,
        "create_time": create_time,
        "applied": applied,
        "sequence": sequence,
    });
    let (a, c) = (app.clone(), comp.clone());
    let spawned = app.background.spawn(async move {
        if !first_sight(&a, &c, &id).await {
            return;
        }
        let Some(hook) = &c.webhook else { return };
        let bytes = serde_json::to_vec(&json).unwrap_or_default();
        // Nobody waits on this delivery: try a few times before giving up.
        for (attempt, pause) in AUTHORIZATION_RETRIES.iter().enumerate() {
            let now = c.client.clock().unix_seconds();
            let result = hook.deliver("authorization", &id, now, bytes.clone()).await;
            let label = match &result {
                Ok(_) => "delivered",
                Err(e) => e.label(),
            };
            observe::webhook_delivery(&a.metrics, &c.section.appid, label, None);
            match result {
                Ok(_) => return,
                Err(e) => observe::authorization_relay_failed(
                    &c.section.appid,
                    &id,
                    attempt + 1,
                    &hook.shown_url(),
                    &e,
                ),
            }
            match pause {
                Some(p) => tokio::time::sleep(*p).await,
                None => return,
            }
        }
    });
    if !spawned {
        observe::authorization_relay_dropped(&comp.section.appid);
    }
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
