//! Answers every route group builds the same way: `Cache-Control: no-store`, plain-text
//! bodies, HTML pages and HTML error pages.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::pages;

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

/// An HTML page (`200`, never cached).
pub(crate) fn html(page: String) -> Response {
    no_store(Html(page).into_response())
}

/// An HTML error page (never cached).
pub(crate) fn html_error(status: StatusCode, title: &str, message: &str) -> Response {
    no_store((status, Html(pages::error(title, message))).into_response())
}
