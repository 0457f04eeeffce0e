//! HTTP error answers: JSON `{error, errcode?, hint}`, never a secret, a stack trace or a
//! push's query string.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};
use wxopen_client::{Error, StoreErrorKind};

/// An error answer: what went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ApiError {
    #[serde(skip)]
    pub(crate) status: StatusCode,
    /// What went wrong (one line).
    pub error: String,
    /// WeChat's code, or the official crypto code, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errcode: Option<i64>,
    /// What to do about it.
    pub hint: String,
    /// The request's id (the `x-request-id` answer header): on the public listener's answers,
    /// whose `error` is generic — the cause is in the log under this id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_id: Option<String>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        error: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: error.into(),
            errcode: None,
            hint: hint.into(),
            request_id: None,
        }
    }

    /// The answer the public listener gives (WeChat and anyone on the internet see it): a
    /// generic text per status and the request id; the cause — WeChat's `errmsg` (it can carry
    /// the egress IP), store addresses, crypto details — stays in the log.
    pub(crate) fn public(self, request_id: Option<&str>) -> Self {
        let (error, hint) = match self.status.as_u16() {
            400 => (
                "not a push WeChat sent to this URL",
                "WeChat signs and encrypts each push for this platform; nothing was done",
            ),
            403 => ("refused", "nothing was done"),
            404 => (
                "unknown component",
                "the path names no platform served here",
            ),
            408 | 503 | 504 => (
                "temporarily unavailable",
                "nothing was acknowledged; WeChat pushes again",
            ),
            s if s >= 500 => ("the push could not be handled", "WeChat pushes again"),
            _ => ("refused", "nothing was done"),
        };
        Self {
            status: self.status,
            error: error.to_owned(),
            errcode: None,
            hint: hint.to_owned(),
            request_id: request_id.map(str::to_owned),
        }
    }

    pub(crate) fn unknown_component() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown component",
            "the path names a component appid this service is not configured for",
        )
    }

    pub(crate) fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, "fix the request")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut r = (status, axum::Json(self)).into_response();
        r.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        r
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, hint) = match &e {
            Error::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "fix the request"),
            Error::Crypto(_) | Error::Push(_) => (
                StatusCode::BAD_REQUEST,
                "the body or its signature is not what WeChat sends (check the token, the EncodingAESKey and the URL's msg_signature)",
            ),
            Error::MustReauthorize { .. } => (
                StatusCode::CONFLICT,
                "the account must authorize the component again (send its admin to the authorize page)",
            ),
            Error::TicketMissing | Error::TicketRejected { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "no usable component_verify_ticket yet: WeChat pushes one every 10 minutes to the authorization event URL",
            ),
            Error::Quota { .. } => (StatusCode::TOO_MANY_REQUESTS, "a WeChat quota is exhausted; see clear_quota"),
            Error::Config { .. } => (StatusCode::BAD_GATEWAY, "WeChat refused the platform's configuration (IP whitelist, appsecret, appid)"),
            Error::Store(s) if s.kind() == StoreErrorKind::Unsupported => (StatusCode::NOT_IMPLEMENTED, "the configured store cannot do this"),
            Error::Store(_) | Error::NotStored { .. } => (StatusCode::SERVICE_UNAVAILABLE, "the token store is unavailable; retry shortly"),
            Error::WaitTimeout { .. } | Error::LeaseBusy { .. } | Error::RefreshAborted { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "a refresh is still running; retry shortly")
            }
            Error::Transport { .. } | Error::HttpStatus { .. } => (StatusCode::BAD_GATEWAY, "WeChat could not be reached; retried already"),
            _ => (StatusCode::BAD_GATEWAY, "WeChat answered an error"),
        };
        Self {
            status,
            errcode: e.code(),
            error: e.to_string(),
            hint: hint.into(),
            request_id: None,
        }
    }
}

/// The error answers of every `/v1/{component}/…` operation, as the API document lists them
/// (each an [`ApiError`] body): the bearer check's (401, 403, 404) and those of
/// `From<wxopen_client::Error>`.
pub(crate) struct ApiErrors;

impl IntoResponses for ApiErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        [
            ("400", "invalid request (path, query or body)"),
            ("401", "missing or unknown bearer key"),
            ("403", "this client may not use that component, or is read-only and the route changes something"),
            ("404", "unknown component, or no such authorizer"),
            ("409", "the account must authorize the component again"),
            ("429", "a WeChat quota is exhausted"),
            (
                "502",
                "WeChat refused the platform's configuration, answered an error or could not be reached",
            ),
            (
                "503",
                "no usable ticket yet, the store is unavailable, or a refresh is still running",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ApiError::name())))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
    }
}
