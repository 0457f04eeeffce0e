//! The event log over the internal API: `GET /v1/{component}/events` (a page, filtered by
//! state, account, kind and time), `GET …/events/{id}`, `POST …/events/{id}/replay` (send it
//! again: a new attempt now, whatever its state), `POST …/events/{id}/discard` (make an
//! undelivered event a dead letter) and `POST …/events/replay` (every event a filter matches,
//! at most `limit`: e.g. all dead letters of one account). Replay and discard need a client that
//! may write.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wxopen_client::store::event_log::{state_name, state_parts, EventFilter, LoggedEvent};
use wxopen_client::wxopen_proto::delivery;

use crate::answer::no_store;
use crate::auth::{Authed, ComponentPath};
use crate::error::{ApiError, ApiErrors};
use crate::outbox::Outbox;

/// Page size limit.
const MAX_PAGE: usize = 1_000;

/// One event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub(crate) struct EventJson {
    /// Its id in the component's log.
    id: u64,
    /// Its place among its account's events (1, 2, …).
    sequence: u64,
    /// The account (`""` for a component-level event).
    authorizer_appid: String,
    /// WeChat's delivery id (the same for its retries).
    delivery_id: String,
    /// `MsgType`, `Event` or `InfoType`.
    kind: String,
    /// WeChat's `CreateTime` (Unix seconds).
    create_time: u64,
    /// When wxopen received it (Unix ms).
    received_at_ms: u64,
    /// `pending`, `in_flight`, `delivered` or `dead`.
    state: String,
    /// Attempts made.
    attempts: u32,
    /// Next attempt (pending), end of the running one (in flight), or when it was settled.
    at_ms: u64,
    /// Why it is a dead letter (`max_age`, `discarded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    dead_reason: Option<String>,
    /// Every field WeChat sent, `[name, value]` in document order.
    fields: Vec<[String; 2]>,
    /// What wxopen added (`source`, `applied`, `record_version`, `authorizer_verified`).
    meta: Vec<[String; 2]>,
    /// Whether a passive reply is kept with it.
    has_reply: bool,
}

impl From<LoggedEvent> for EventJson {
    fn from(e: LoggedEvent) -> Self {
        let (_, attempts, at_ms, reason) = state_parts(&e.state);
        let dead_reason = reason.map(str::to_owned);
        let pairs = |v: Vec<(String, String)>| v.into_iter().map(|(k, v)| [k, v]).collect();
        Self {
            id: e.id,
            sequence: e.sequence,
            state: state_name(&e.state).to_owned(),
            attempts,
            at_ms,
            dead_reason,
            has_reply: e.reply.is_some(),
            authorizer_appid: e.event.authorizer,
            delivery_id: e.event.delivery_id,
            kind: e.event.kind,
            create_time: e.event.create_time,
            received_at_ms: e.event.received_at_ms,
            fields: pairs(e.event.fields),
            meta: pairs(e.event.meta),
        }
    }
}

/// One page of events, by id.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    events: Vec<EventJson>,
    /// The `after` of the next page; `null` on the last one.
    #[schema(required = true)]
    next: Option<u64>,
}

/// Which events.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    /// Only in this state.
    #[param(pattern = "^(pending|in_flight|delivered|dead)$", nullable = false)]
    #[schema(pattern = "^(pending|in_flight|delivered|dead)$", nullable = false)]
    state: Option<String>,
    /// Only this account's.
    #[param(pattern = "^[A-Za-z0-9_]{1,32}$", nullable = false)]
    #[schema(pattern = "^[A-Za-z0-9_]{1,32}$", nullable = false)]
    authorizer: Option<String>,
    /// Only this kind (`text`, `weapp_audit_fail`, `authorized`…).
    #[param(pattern = "^[A-Za-z0-9_.:-]{1,64}$", nullable = false)]
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$", nullable = false)]
    kind: Option<String>,
    /// Only received at or after this time (Unix ms).
    #[param(nullable = false)]
    #[schema(nullable = false)]
    since_ms: Option<u64>,
    /// Only received before this time (Unix ms).
    #[param(nullable = false)]
    #[schema(nullable = false)]
    until_ms: Option<u64>,
    /// Start after this id.
    #[param(nullable = false)]
    #[schema(nullable = false)]
    after: Option<u64>,
    /// Page size (default 100), or for a replay the most events replayed (default 100).
    #[param(minimum = 1, maximum = 1000, nullable = false)]
    #[schema(minimum = 1, maximum = 1000, nullable = false)]
    limit: Option<usize>,
}

impl EventQuery {
    // The error is the finished HTTP answer.
    #[allow(clippy::result_large_err)]
    fn filter(&self) -> Result<(EventFilter, usize), Response> {
        let bad = |m: &str| Err(ApiError::bad_request(m.to_owned()).into_response());
        if let Some(s) = &self.state {
            if !["pending", "in_flight", "delivered", "dead"].contains(&s.as_str()) {
                return bad("state is pending, in_flight, delivered or dead");
            }
        }
        if let Some(a) = &self.authorizer {
            if !wxopen_client::valid_appid(a) {
                return bad("authorizer is not an appid");
            }
        }
        if let Some(k) = &self.kind {
            let ok = (1..=64).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
            if !ok {
                return bad("kind is 1-64 letters, digits or _.:-");
            }
        }
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return bad("limit must be 1..=1000");
        }
        let mut f = EventFilter::default().received(self.since_ms, self.until_ms);
        if let Some(s) = &self.state {
            f = f.state(s.clone());
        }
        if let Some(a) = &self.authorizer {
            f = f.authorizer(a.clone());
        }
        if let Some(k) = &self.kind {
            f = f.kind(k.clone());
        }
        Ok((f, limit))
    }
}

/// The `{id}` of an event path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the parameter; the handlers read the path as a tuple.
pub(crate) struct EventPath {
    /// The event's id.
    pub id: u64,
}

// The error is the finished HTTP answer.
#[allow(clippy::result_large_err)]
fn outbox(authed: &Authed) -> Result<&Outbox, Response> {
    authed.component.outbox.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no such event",
            "this component has no webhook_url: its pushes are not logged",
        )
        .into_response()
    })
}

/// `GET /v1/{component}/events`.
#[utoipa::path(
    get,
    path = "/v1/{component}/events",
    summary = "One page of the event log (filter by state, account, kind, time)",
    params(ComponentPath, EventQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = EventPage), ApiErrors),
)]
pub(crate) async fn list(
    authed: Authed,
    query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return ApiError::bad_request(
            "query: state, authorizer, kind, since_ms, until_ms, after, limit",
        )
        .into_response();
    };
    let (filter, limit) = match q.filter() {
        Ok(f) => f,
        Err(r) => return r,
    };
    // A component without a webhook logs nothing: its log is empty.
    let Some(o) = authed.component.outbox.as_ref() else {
        let page = EventPage {
            events: Vec::new(),
            next: None,
        };
        return no_store(Json(page).into_response());
    };
    match o
        .log
        .list(&authed.component.section.appid, &filter, q.after, limit)
        .await
    {
        Ok(events) => {
            let next = (events.len() == limit)
                .then(|| events.last().map(|e| e.id))
                .flatten();
            let events = events.into_iter().map(EventJson::from).collect();
            no_store(Json(EventPage { events, next }).into_response())
        }
        Err(e) => ApiError::from(wxopen_client::Error::Store(e)).into_response(),
    }
}

/// `GET /v1/{component}/events/{id}`.
#[utoipa::path(
    get,
    path = "/v1/{component}/events/{id}",
    summary = "One event of the log",
    params(ComponentPath, EventPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = EventJson), ApiErrors),
)]
pub(crate) async fn get_one(
    path: Result<Path<(String, u64)>, PathRejection>,
    authed: Authed,
) -> Response {
    let id = match event_id(path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let log = match outbox(&authed) {
        Ok(o) => &o.log,
        Err(r) => return r,
    };
    match log.get(&authed.component.section.appid, id).await {
        Ok(Some(e)) => no_store(Json(EventJson::from(e)).into_response()),
        Ok(None) => not_found(),
        Err(e) => ApiError::from(wxopen_client::Error::Store(e)).into_response(),
    }
}

/// The `{id}` of the path, or a JSON 400.
// The error is the finished HTTP answer.
#[allow(clippy::result_large_err)]
fn event_id(path: Result<Path<(String, u64)>, PathRejection>) -> Result<u64, Response> {
    path.map(|Path((_, id))| id)
        .map_err(|_| ApiError::bad_request("the event id is a number").into_response())
}

fn not_found() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such event",
        "the id is not in the log (pruned after its retention, or never there)",
    )
    .into_response()
}

/// What a replay or discard did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Changed {
    /// Events changed.
    changed: usize,
}

/// Replays (`true`) or discards one event: a compare-and-set on the state it was read in,
/// tried a few times against a worker changing it meanwhile.
async fn change(
    o: &Outbox,
    component: &str,
    id: u64,
    now_ms: u64,
    replay: bool,
) -> Result<bool, Response> {
    for _ in 0..5 {
        let current = match o.log.get(component, id).await {
            Ok(Some(e)) => e.state,
            Ok(None) => return Err(not_found()),
            Err(e) => return Err(ApiError::from(wxopen_client::Error::Store(e)).into_response()),
        };
        let next = if replay {
            delivery::replay(&current, now_ms)
        } else {
            delivery::discard(&current, now_ms)
        };
        if next == current {
            return Ok(false);
        }
        match o.log.transition(component, id, &current, &next).await {
            Ok(true) => {
                o.waker.notify_one();
                return Ok(true);
            }
            Ok(false) => continue,
            Err(e) => return Err(ApiError::from(wxopen_client::Error::Store(e)).into_response()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "the event keeps changing",
        "it is being delivered; try again",
    )
    .into_response())
}

/// `POST /v1/{component}/events/{id}/replay`.
#[utoipa::path(
    post,
    path = "/v1/{component}/events/{id}/replay",
    summary = "Send one event again (a new attempt now, whatever its state)",
    params(ComponentPath, EventPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Changed), ApiErrors),
)]
pub(crate) async fn replay_one(
    path: Result<Path<(String, u64)>, PathRejection>,
    authed: Authed,
) -> Response {
    match event_id(path) {
        Ok(id) => one(authed, id, true).await,
        Err(r) => r,
    }
}

/// `POST /v1/{component}/events/{id}/discard`.
#[utoipa::path(
    post,
    path = "/v1/{component}/events/{id}/discard",
    summary = "Stop sending an undelivered event (it becomes a dead letter, kept)",
    params(ComponentPath, EventPath),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Changed), ApiErrors),
)]
pub(crate) async fn discard_one(
    path: Result<Path<(String, u64)>, PathRejection>,
    authed: Authed,
) -> Response {
    match event_id(path) {
        Ok(id) => one(authed, id, false).await,
        Err(r) => r,
    }
}

async fn one(authed: Authed, id: u64, replay: bool) -> Response {
    if let Err(r) = authed.require(crate::scope::Permission::Admin) {
        return r;
    }
    let o = match outbox(&authed) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let now = authed.component.client.clock().unix_millis();
    match change(o, &authed.component.section.appid, id, now, replay).await {
        Ok(changed) => Json(Changed {
            changed: usize::from(changed),
        })
        .into_response(),
        Err(r) => r,
    }
}

/// `POST /v1/{component}/events/replay?…` (the filter of the list; `limit` caps the replay).
#[utoipa::path(
    post,
    path = "/v1/{component}/events/replay",
    summary = "Send every event a filter matches again (at most `limit`, default 100)",
    params(ComponentPath, EventQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Changed), ApiErrors),
)]
pub(crate) async fn replay_many(
    authed: Authed,
    query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = authed.require(crate::scope::Permission::Admin) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return ApiError::bad_request(
            "query: state, authorizer, kind, since_ms, until_ms, after, limit",
        )
        .into_response();
    };
    let (filter, limit) = match q.filter() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(o) = authed.component.outbox.as_ref() else {
        return Json(Changed { changed: 0 }).into_response();
    };
    let c = authed.component.section.appid.clone();
    let events = match o.log.list(&c, &filter, q.after, limit).await {
        Ok(e) => e,
        Err(e) => return ApiError::from(wxopen_client::Error::Store(e)).into_response(),
    };
    let now = authed.component.client.clock().unix_millis();
    let mut changed = 0;
    for e in events {
        match change(o, &c, e.id, now, true).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(r) => return r,
        }
    }
    Json(Changed { changed }).into_response()
}
