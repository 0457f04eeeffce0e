//! Answers every route group builds the same way: `Cache-Control: no-store`, plain-text
//! bodies, HTML pages (never framed, never sniffed) and the HTML problem pages.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::pages::problem::{self, Problem};

/// Adds `Cache-Control: no-store` (tokens, lists, pages with a one-time link).
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A `text/plain; charset=utf-8` answer.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The policy of every page: nothing but its own inline style, no frames around it.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An HTML page with `status`: never cached, never framed (`X-Frame-Options: DENY`, CSP
/// `frame-ancestors 'none'`), never sniffed (`nosniff`).
pub(crate) fn html_with(status: StatusCode, page: String) -> Response {
    let mut r = no_store((status, Html(page)).into_response());
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// An HTML page (`200`).
pub(crate) fn html(page: String) -> Response {
    html_with(StatusCode::OK, page)
}

/// The request's id (set by the middleware of [`crate::http`]), if it has one.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok())
}

/// The problem page for `problem`, showing the request id.
pub(crate) fn html_problem(problem: Problem, request_id: Option<&str>) -> Response {
    html_with(problem.status(), problem::page(problem, request_id))
}
