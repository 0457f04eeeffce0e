//! Messages and events of authorized accounts (the message URL).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wxopen_client::{Error, PushQuery};

use crate::app::{AppState, Component};

/// Verifies and decrypts a message and answers it.
pub(crate) async fn handle(
    app: &AppState,
    comp: &Component,
    authorizer: &str,
    query: &PushQuery,
    body: &[u8],
) -> Result<Response, Error> {
    let (message, _key) = comp
        .client
        .decrypt_authorizer_message_with_key(query, body)?;
    app.metrics.inc(
        "wxopen_messages_total",
        &[
            ("component", &comp.section.appid),
            ("result", "ok"),
            ("msg_type", message.msg_type.as_str()),
        ],
    );
    tracing::info!(
        authorizer_appid = authorizer,
        msg_type = message.msg_type.as_str(),
        "message received"
    );
    let mut r = (StatusCode::OK, "success").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}
