//! `POST /wechat/{component}/callback/{authorizer}`, the message and event URL (`$APPID$`):
//! checks the path and the query, then hands the message to [`crate::messages`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use wxopen_client::{Error, PushQuery};

use crate::error::ApiError;
use crate::observe::{self, MessageRefusal};
use crate::state::AppState;

/// `POST /wechat/{component}/callback/{authorizer}`: the message and event URL.
pub(crate) async fn callback(
    State(app): State<Arc<AppState>>,
    Path((component, authorizer)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let refusal = match message(&app, &component, &authorizer, query.as_deref(), &body).await {
        Ok(answer) => return answer,
        Err(refusal) => refusal,
    };
    observe::message_refused(&app.metrics, &component, &refusal);
    let error = match refusal {
        MessageRefusal::UnknownComponent => ApiError::unknown_component(),
        MessageRefusal::BadAuthorizer => {
            ApiError::bad_request("the path's authorizer appid is malformed")
        }
        MessageRefusal::BadQuery(e) => ApiError::from(Error::Push(e)),
        MessageRefusal::Refused(e) => ApiError::from(e),
    };
    // Generic, with the request id (the cause is in the log).
    error
        .public(crate::answer::request_id(&headers))
        .into_response()
}

/// Checks the path and the query, then hands the message to [`crate::messages::handle`].
async fn message(
    app: &Arc<AppState>,
    component: &str,
    authorizer: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response, MessageRefusal> {
    let comp = app
        .component(component)
        .cloned()
        .ok_or(MessageRefusal::UnknownComponent)?;
    if !wxopen_client::valid_appid(authorizer) {
        return Err(MessageRefusal::BadAuthorizer);
    }
    let query = PushQuery::parse(query.unwrap_or("")).map_err(MessageRefusal::BadQuery)?;
    crate::messages::handle(app, &comp, authorizer, &query, body)
        .await
        .map_err(MessageRefusal::Refused)
}
