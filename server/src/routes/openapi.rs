//! `GET /v1/openapi.json`: the internal API's OpenAPI document ([`crate::openapi`]).

use axum::response::{IntoResponse, Response};
use axum::Json;

/// The document.
pub(crate) async fn document() -> Response {
    Json(crate::openapi::document()).into_response()
}
