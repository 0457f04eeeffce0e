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
use crate::messages::AuthorizationRelay;
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
            follow_up(app, comp, &ack, &info_type);
            PushOutcome::Accepted {
                info_type,
                replayed: ack.replayed,
            }
        }
    }
}

/// What a stored authorization event starts: the relay of `unauthorized` to the webhook; for
/// `authorized` and `updateauthorized`, the code's exchange in the background (the redirect
/// path shares it), then the relay, so the host finds the account's tokens stored.
fn follow_up(app: &Arc<AppState>, comp: &Arc<Component>, ack: &PushAck, info_type: &str) {
    let event = &ack.event;
    if let ComponentEvent::Unauthorized {
        authorizer_appid,
        create_time,
        ..
    } = event
    {
        let relay = AuthorizationRelay {
            info_type,
            authorizer: authorizer_appid,
            create_time: *create_time,
            applied: ack.applied,
            sequence: ack.record_version,
        };
        crate::messages::relay_authorization(app, comp, &relay);
    }
    if let ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) = event {
        let (a, c, code, appid, created, info_type) = (
            app.clone(),
            comp.clone(),
            g.authorization_code.clone(),
            g.authorizer_appid.clone(),
            g.create_time,
            info_type.to_owned(),
        );
        let pre_auth_code = g.pre_auth_code.clone();
        let (applied, sequence) = (ack.applied, ack.record_version);
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
            let relay = AuthorizationRelay {
                info_type: &info_type,
                authorizer: &appid,
                create_time: created,
                applied,
                sequence,
            };
            crate::messages::relay_authorization(&a, &c, &relay);
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
    };
    error.public(request_id).into_response()
}
