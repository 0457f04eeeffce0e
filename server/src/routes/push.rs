//! `POST /wechat/{component}/component`, the authorization event URL: WeChat's tickets and
//! authorization events, verified, decrypted and stored within the push budget; an
//! authorization's code exchanged and relayed in the background.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use wxopen_client::{ComponentEvent, Error, PushAck, PushQuery};

use crate::answer::text;
use crate::error::ApiError;
use crate::observe::{self, PushOutcome};
use crate::state::{AppState, Component};

/// `POST /wechat/{component}/component`: the authorization event URL.
pub(crate) async fn component_push(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let outcome = match app.component(&component).cloned() {
        None => PushOutcome::UnknownComponent,
        Some(comp) => push(&app, &comp, query.as_deref(), &body).await,
    };
    observe::push(&app.metrics, &component, &outcome);
    push_answer(outcome, crate::answer::request_id(&headers))
}

/// Verifies, decrypts and stores a push within the push budget, and starts its follow-ups.
async fn push(
    app: &Arc<AppState>,
    comp: &Arc<Component>,
    query: Option<&str>,
    body: &[u8],
) -> PushOutcome {
    let query = match PushQuery::parse(query.unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return PushOutcome::BadQuery(e),
    };
    let budget = app.config.push_budget;
    match tokio::time::timeout(budget, comp.client.handle_component_push(&query, body)).await {
        Err(_) => PushOutcome::TimedOut { budget },
        Ok(Err(e)) => PushOutcome::Refused(e),
        Ok(Ok(ack)) => {
            let info_type = ack.event.info_type().to_owned();
            // Durable before WeChat gets `success`: an event the log cannot take in time is a
            // 503 (WeChat pushes again; the store's part of the push is idempotent).
            if let Some(outbox) = &comp.outbox {
                let received_at_ms = comp.client.clock().unix_millis();
                if let Some(event) =
                    crate::component_events::event_for(&comp.section.appid, &ack, received_at_ms)
                {
                    match tokio::time::timeout(APPEND_BUDGET, outbox.log.append(&event)).await {
                        Ok(Ok(appended)) => {
                            observe::component_event_logged(
                                &app.metrics,
                                &comp.section.appid,
                                &appended,
                            );
                            outbox.waker.notify_one();
                        }
                        Ok(Err(e)) => return PushOutcome::NotDurable(e.to_string()),
                        Err(_) => {
                            return PushOutcome::NotDurable("the event log took too long".into())
                        }
                    }
                }
            }
            follow_up(app, comp, &ack);
            PushOutcome::Accepted {
                info_type,
                replayed: ack.replayed,
            }
        }
    }
}

/// How long logging a push's event may take before WeChat gets a 503 instead.
const APPEND_BUDGET: std::time::Duration = std::time::Duration::from_millis(1_500);

/// What a stored authorization starts: for `authorized` and `updateauthorized`, the code's
/// exchange in the background (the redirect path shares it); the delivery worker, woken when
/// it ends, relays the event once the account's tokens are stored.
fn follow_up(app: &Arc<AppState>, comp: &Arc<Component>, ack: &PushAck) {
    // A fast-registered mini program (status 0): its single-use code is exchanged at once,
    // once across instances, and the account stored like any authorization.
    if let ComponentEvent::NotifyThirdFastRegister {
        status: Some(0),
        auth_code: Some(code),
        ..
    } = &ack.event
    {
        let (c, code) = (comp.clone(), code.clone());
        let spawned = app.background.spawn(async move {
            let exchanged = c.exchange(&code).await;
            observe::push_exchange(
                &c.section.appid,
                exchanged
                    .as_ref()
                    .map(|info| info.authorizer_appid.as_str()),
            );
            if let Some(outbox) = &c.outbox {
                outbox.waker.notify_one();
            }
        });
        if !spawned {
            observe::push_exchange_dropped(&comp.section.appid);
        }
    }
    if let ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) = &ack.event {
        let (c, code, appid) = (
            comp.clone(),
            g.authorization_code.clone(),
            g.authorizer_appid.clone(),
        );
        let pre_auth_code = g.pre_auth_code.clone();
        let spawned = app.background.spawn(async move {
            // The redirect checks its bound pre-auth code against this one.
            if let Some(pac) = &pre_auth_code {
                if let Err(e) = crate::handoff::remember_push(&c, &code, pac).await {
                    observe::push_pre_auth_code_not_kept(&c.section.appid, &e);
                }
            }
            let exchanged = c.exchange(&code).await;
            observe::push_exchange(
                &appid,
                exchanged
                    .as_ref()
                    .map(|info| info.authorizer_appid.as_str()),
            );
            if let Some(outbox) = &c.outbox {
                outbox.waker.notify_one();
            }
        });
        if !spawned {
            observe::push_exchange_dropped(&comp.section.appid);
        }
    }
}

/// The answer to a push: `success`, or the error WeChat sees (503 on a timeout, so it pushes
/// again) — generic, with the request id (see [`ApiError::public`]).
fn push_answer(outcome: PushOutcome, request_id: Option<&str>) -> Response {
    let error = match outcome {
        PushOutcome::Accepted { .. } => return text(StatusCode::OK, "success"),
        PushOutcome::UnknownComponent => ApiError::unknown_component(),
        PushOutcome::BadQuery(e) => ApiError::from(Error::Push(e)),
        PushOutcome::TimedOut { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the push could not be stored in time",
            "WeChat pushes again",
        ),
        PushOutcome::Refused(e) => ApiError::from(e),
        PushOutcome::NotDurable(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not stored",
            "WeChat pushes again",
        ),
    };
    error.public(request_id).into_response()
}
