//! The thin HTTP driver: one request per attempt, the retry schedule from [`crate::retry`]
//! (jittered backoff, sticky failover), the classification from [`crate::errcode`], a capped
//! body read, tracing per attempt. Logs carry the endpoint path and host only: the query
//! string carries tokens.
//!
//! Retry rules: an idempotent call is retried after any transient failure (timeout,
//! connection error, lost body, HTTP 5xx/429, errcode -1) and fails over along the base URLs.
//! A call that is not idempotent (single-use `api_query_auth`, generic calls unless marked)
//! is retried, and failed over, only when the request cannot have been sent: no connection
//! could be made, or HTTP 429. Errcode -1 is an answer: the request arrived.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use bytes::Bytes;
use wxopen_proto::api_body::{body_kind, errcode_of, ApiBody, BodyKind};

use crate::api::{self, ApiCall, Endpoint, Method, ResponseError, TokenParam};
use crate::clock::Clock;
use crate::config::ComponentConfig;
use crate::errcode::{classify, ErrorClass};
use crate::error::{Error, TransportKind};
use crate::hooks::ApiObserver;
use crate::retry::{jittered, next_step, FailoverPolicy, HostPreference, RetryPolicy, Step};

use crate::payload::Payload;

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base_urls: Vec<Url>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    max_response_bytes: usize,
    hosts: Arc<Mutex<HostPreference>>,
    observer: Option<Arc<dyn ApiObserver>>,
}

/// One failed attempt and whether it may be retried.
pub(crate) enum Attempt {
    Retryable(Error),
    Fatal(Error),
}

/// What one call sends, whatever described it.
pub(crate) struct Target<'a> {
    name: &'static str,
    method: Method,
    url_for: UrlFor<'a>,
    idempotent: bool,
}

enum UrlFor<'a> {
    Endpoint(Endpoint),
    Call(&'a ApiCall),
    /// A generic call with the caller's own query parameters (credentials already dropped).
    Forward(&'a ApiCall, &'a str),
}

impl Target<'_> {
    fn url(&self, base: &Url, token: Option<&str>) -> Result<Url, String> {
        match self.url_for {
            UrlFor::Endpoint(e) => api::build_url(base, e, token),
            UrlFor::Call(c) => api::build_call_url(base, c, token),
            UrlFor::Forward(c, query) => {
                let mut url = api::build_call_url(base, c, token)?;
                if !query.is_empty() {
                    url.query_pairs_mut().extend_pairs(
                        url::form_urlencoded::parse(query.as_bytes())
                            .filter(|(k, _)| !wxopen_proto::proxy_rules::is_credential_param(k)),
                    );
                }
                Ok(url)
            }
        }
    }

    fn path(&self) -> &str {
        match self.url_for {
            UrlFor::Endpoint(e) => e.path(),
            UrlFor::Call(c) | UrlFor::Forward(c, _) => c.path(),
        }
    }
}

impl Transport {
    /// A transport from the configuration's base URLs, retry policy, failover policy and body
    /// cap; failover time comes from `clock`.
    pub(crate) fn from_config(
        http: reqwest::Client,
        config: &ComponentConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_parts(
            http,
            config.base_urls.clone(),
            config.retry,
            clock,
            config.max_response_bytes,
            config.failover,
        )
    }

    /// Every setting spelled out.
    pub(crate) fn with_parts(
        http: reqwest::Client,
        base_urls: Vec<Url>,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
        max_response_bytes: usize,
        failover: FailoverPolicy,
    ) -> Self {
        Self {
            http,
            base_urls,
            retry,
            clock,
            max_response_bytes,
            hosts: Arc::new(Mutex::new(HostPreference::new(failover))),
            observer: None,
        }
    }

    /// Reports every attempt to `observer` (metrics).
    pub(crate) fn with_observer(mut self, observer: Option<Arc<dyn ApiObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// POSTs `body` as JSON to `endpoint`, retrying transient failures within the policy and
    /// failing over along the base URLs (see the module docs for what is retried when).
    pub(crate) async fn call<Req, Resp>(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, Error>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let payload = serde_json::to_vec(body).map_err(|e| Error::Decode {
            endpoint: endpoint.name(),
            message: format!("request encoding: {e}"),
        })?;
        let target = Target {
            name: endpoint.name(),
            method: Method::Post,
            url_for: UrlFor::Endpoint(endpoint),
            idempotent: endpoint.is_idempotent(),
        };
        let payload = Payload::json(payload);
        self.execute(&target, token, Some(&payload), judge_json::<Resp>)
            .await
    }

    /// Sends a generic call: `body` is the JSON request body (POST only; a POST without one
    /// sends `{}`), `token` the credential its [`TokenParam`] names.
    pub(crate) async fn call_api<Resp>(
        &self,
        call: &ApiCall,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Resp, Error>
    where
        Resp: DeserializeOwned,
    {
        let payload = body.map(|b| Payload::json(b.to_vec()));
        let target = generic_target(call, token, payload.as_ref(), UrlFor::Call(call))?;
        self.execute(&target, token, payload.as_ref(), judge_json::<Resp>)
            .await
    }

    /// Sends a `GET` call whose input is the query string: `token` under the call's
    /// [`TokenParam`], then `query` (percent-encoded). Logs and errors name the path only.
    pub(crate) async fn get_with_query<Resp>(
        &self,
        call: &ApiCall,
        token: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<Resp, Error>
    where
        Resp: DeserializeOwned,
    {
        if call.method() != Method::Get {
            return Err(Error::invalid("method", "a query call is a GET"));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let target = generic_target(call, token, None, UrlFor::Forward(call, &query))?;
        self.execute(&target, token, None, judge_json::<Resp>).await
    }

    /// Sends a generic call whose answer may be binary (an image on success, JSON on failure):
    /// `query` holds its parameters (credentials dropped), `payload` the body with its content
    /// type (JSON or multipart).
    pub(crate) async fn call_api_body(
        &self,
        call: &ApiCall,
        query: &str,
        token: Option<&str>,
        payload: Option<&Payload>,
    ) -> Result<ApiBody, Error> {
        let target = generic_target(call, token, payload, UrlFor::Forward(call, query))?;
        self.execute(&target, token, payload, judge_body).await
    }

    /// Forwards a request as it is (the proxy): the caller's `query` (credentials dropped)
    /// after `token`, `payload` as given, and WeChat's answer back as it is.
    pub(crate) async fn forward(
        &self,
        call: &ApiCall,
        query: &str,
        token: Option<&str>,
        payload: Option<&Payload>,
    ) -> Result<Forwarded, Error> {
        let target = generic_target(call, token, payload, UrlFor::Forward(call, query))?;
        self.execute(&target, token, payload, judge_forward).await
    }

    /// The base URLs in the order this call tries them, and whether the first one is a probe
    /// of the primary while the fallback is preferred.
    fn host_order(&self, idempotent: bool) -> (Vec<usize>, bool) {
        let n = self.base_urls.len();
        let (first, probe) = if n > 1 {
            let now = self.clock.unix_seconds();
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            let preferred = hosts.preferred_host(now);
            // Only idempotent calls probe the primary: a failed probe can always fail over.
            let first = if idempotent {
                hosts.pick_host(now)
            } else {
                preferred
            };
            (first, first != preferred)
        } else {
            (0, false)
        };
        let first = first.min(n.saturating_sub(1));
        let order = std::iter::once(first)
            .chain((0..n).filter(move |&i| i != first))
            .collect();
        (order, probe)
    }

    fn record(&self, host: usize, ok: bool) {
        if self.base_urls.len() > 1 {
            let now = self.clock.unix_seconds();
            self.hosts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(host, ok, now);
        }
    }

    async fn execute<T, J>(
        &self,
        target: &Target<'_>,
        token: Option<&str>,
        payload: Option<&Payload>,
        judge: J,
    ) -> Result<T, Error>
    where
        J: Fn(&Target<'_>, Answer) -> Result<T, Attempt>,
    {
        let span = tracing::info_span!("wechat_api", endpoint = target.path());
        async move {
            let (order, probe) = self.host_order(target.idempotent);
            let mut position = 0usize;
            let mut attempt_on_host = 1u32;
            let mut total = 0u32;
            loop {
                total += 1;
                let Some((host, base)) = order
                    .get(position)
                    .and_then(|&h| self.base_urls.get(h).map(|b| (h, b)))
                else {
                    return Err(Error::invalid("base URL", "none configured"));
                };
                let started = self.clock.unix_millis();
                let outcome = match self.attempt(target, base, token, payload, total).await {
                    Ok(answer) => judge(target, answer),
                    Err(e) => Err(e),
                };
                if let Some(o) = &self.observer {
                    let latency = std::time::Duration::from_millis(
                        self.clock.unix_millis().saturating_sub(started),
                    );
                    let error = match &outcome {
                        Ok(_) => None,
                        Err(Attempt::Fatal(e) | Attempt::Retryable(e)) => Some(e),
                    };
                    o.on_attempt(target.name, error, latency);
                }
                let err = match outcome {
                    Ok(v) => {
                        self.record(host, true);
                        return Ok(v);
                    }
                    Err(Attempt::Fatal(e)) => {
                        self.record(host, !host_failed(&e));
                        return Err(e);
                    }
                    Err(Attempt::Retryable(e)) => e,
                };
                // A probe of a primary that is still failing gets one attempt, not the schedule.
                let step = if probe && position == 0 && order.len() > 1 {
                    Step::Failover
                } else {
                    next_step(&self.retry, attempt_on_host, position, order.len())
                };
                match step {
                    Step::RetryAfter(d) => {
                        let d = jittered(d, rand::random::<f64>());
                        tracing::debug!(delay_ms = d.as_millis() as u64, "retrying");
                        self.clock.sleep(d).await;
                        attempt_on_host += 1;
                    }
                    Step::Failover => {
                        self.record(host, !host_failed(&err));
                        tracing::warn!(
                            from = base.host_str().unwrap_or(""),
                            error = %err,
                            "failing over to the next API domain"
                        );
                        position += 1;
                        attempt_on_host = 1;
                    }
                    Step::GiveUp => {
                        self.record(host, !host_failed(&err));
                        return Err(with_attempts(err, total));
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One request: sent, its body read under the cap. What the answer means is the judge's.
    async fn attempt(
        &self,
        target: &Target<'_>,
        base: &Url,
        token: Option<&str>,
        payload: Option<&Payload>,
        attempt: u32,
    ) -> Result<Answer, Attempt> {
        let name = target.name;
        let url = target
            .url(base, token)
            .map_err(|m| Attempt::Fatal(Error::invalid("request URL", m)))?;
        let host = base.host_str().unwrap_or("").to_owned();
        let started = Instant::now();
        let request = match (target.method, payload) {
            (Method::Get, _) => self.http.get(url),
            (Method::Post, None) => self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(&b"{}"[..]),
            (Method::Post, Some(p)) => {
                let mut r = self.http.post(url);
                if let Some(ct) = &p.content_type {
                    r = r.header(reqwest::header::CONTENT_TYPE, ct.as_str());
                }
                r.header(reqwest::header::CONTENT_LENGTH, p.len())
                    .body(p.body())
            }
            (method, _) => {
                return Err(Attempt::Fatal(Error::invalid(
                    "method",
                    format!("{method:?} is not supported by this client"),
                )))
            }
        };
        let sent = request.send().await;
        let idempotent = target.idempotent;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let err = transport_error(name, &e, attempt);
                tracing::warn!(host, attempt, latency_ms = elapsed_ms(started), error = %err, "wechat api transport error");
                // A connection that was never made cannot have delivered the request.
                return Err(if idempotent || e.is_connect() {
                    Attempt::Retryable(err)
                } else {
                    Attempt::Fatal(err)
                });
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match read_capped(response, self.max_response_bytes).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                tracing::warn!(
                    host,
                    attempt,
                    limit = self.max_response_bytes,
                    latency_ms = elapsed_ms(started),
                    "wechat api response too large"
                );
                return Err(Attempt::Fatal(Error::ResponseTooLarge {
                    endpoint: name,
                    limit: self.max_response_bytes,
                }));
            }
            Err(BodyError::Http(e)) => {
                let err = transport_error(name, &e, attempt);
                tracing::warn!(host, attempt, latency_ms = elapsed_ms(started), error = %err, "wechat api body error");
                return Err(if idempotent {
                    Attempt::Retryable(err)
                } else {
                    Attempt::Fatal(err)
                });
            }
        };
        Ok(Answer {
            status,
            content_type,
            body,
            host,
            attempt,
            started,
        })
    }
}

/// The target of a generic call, once its method, body and token agree.
fn generic_target<'a>(
    call: &'a ApiCall,
    token: Option<&str>,
    payload: Option<&Payload>,
    url_for: UrlFor<'a>,
) -> Result<Target<'a>, Error> {
    match (call.method(), payload) {
        (Method::Get, Some(_)) => {
            return Err(Error::invalid("request body", "a GET call carries no body"))
        }
        (Method::Get | Method::Post, _) => {}
        (method, _) => {
            return Err(Error::invalid(
                "method",
                format!("{method:?} is not supported by this client"),
            ))
        }
    }
    if call.token_param() == TokenParam::None && token.is_some() {
        return Err(Error::invalid(
            "token",
            format!("{} takes no token", call.name()),
        ));
    }
    Ok(Target {
        name: call.name(),
        method: call.method(),
        url_for,
        idempotent: call.is_idempotent(),
    })
}

/// WeChat's answer to a forwarded request, as it is.
#[derive(Clone)]
#[non_exhaustive]
pub struct Forwarded {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body (at most the configured response cap).
    pub body: Bytes,
    /// The non-zero `errcode` of a JSON body.
    pub errcode: Option<i64>,
}

impl std::fmt::Debug for Forwarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarded")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("len", &self.body.len())
            .field("errcode", &self.errcode)
            .finish()
    }
}

/// What one attempt got back, before it is judged.
pub(crate) struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
    host: String,
    attempt: u32,
    started: Instant,
}

/// A non-2xx status: an error, retried when the call is idempotent or the status says the
/// request was refused before any work (429).
fn status_error(target: &Target<'_>, a: &Answer) -> Attempt {
    let err = Error::HttpStatus {
        endpoint: target.name,
        status: a.status,
        attempts: a.attempt,
    };
    tracing::warn!(
        host = a.host,
        attempt = a.attempt,
        status = a.status,
        latency_ms = elapsed_ms(a.started),
        "wechat api http error"
    );
    // 429: refused before any work, so repeating is safe for every call.
    let surely_unprocessed = a.status == 429;
    if err.is_retryable() && (target.idempotent || surely_unprocessed) {
        Attempt::Retryable(err)
    } else {
        Attempt::Fatal(err)
    }
}

/// A non-zero errcode: the typed error, retried when the call is idempotent and the class is
/// transient (-1 is an answer: the request arrived).
fn errcode_error(target: &Target<'_>, a: &Answer, errcode: i64, errmsg: String) -> Attempt {
    tracing::warn!(
        host = a.host,
        attempt = a.attempt,
        errcode,
        latency_ms = elapsed_ms(a.started),
        "wechat api error"
    );
    let err = Error::from_api(target.name, errcode, errmsg);
    if target.idempotent && classify(errcode) == ErrorClass::Retryable {
        Attempt::Retryable(err)
    } else {
        Attempt::Fatal(err)
    }
}

fn log_ok(a: &Answer) {
    tracing::info!(
        host = a.host,
        attempt = a.attempt,
        errcode = 0,
        latency_ms = elapsed_ms(a.started),
        "wechat api ok"
    );
}

/// Judges a JSON answer into `Resp` (the built-in and generic JSON calls).
fn judge_json<Resp: DeserializeOwned>(target: &Target<'_>, a: Answer) -> Result<Resp, Attempt> {
    if !(200..300).contains(&a.status) {
        return Err(status_error(target, &a));
    }
    match api::parse_response::<Resp>(&a.body) {
        Ok(v) => {
            log_ok(&a);
            Ok(v)
        }
        Err(ResponseError::Api { errcode, errmsg }) => {
            Err(errcode_error(target, &a, errcode, errmsg))
        }
        Err(ResponseError::Decode(message)) => {
            tracing::warn!(
                host = a.host,
                attempt = a.attempt,
                latency_ms = elapsed_ms(a.started),
                "wechat api undecodable response"
            );
            Err(Attempt::Fatal(Error::Decode {
                endpoint: target.name,
                message,
            }))
        }
    }
}

/// Judges an answer that may be binary: JSON is checked for `errcode` like every call (an
/// image endpoint's error is JSON with status 200), anything else is returned as bytes.
fn judge_body(target: &Target<'_>, a: Answer) -> Result<ApiBody, Attempt> {
    if !(200..300).contains(&a.status) {
        return Err(status_error(target, &a));
    }
    match body_kind(a.content_type.as_deref(), &a.body) {
        BodyKind::Binary => {
            log_ok(&a);
            Ok(ApiBody::Binary {
                content_type: a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                bytes: a.body,
            })
        }
        _ => judge_json::<serde_json::Value>(target, a).map(ApiBody::Json),
    }
}

/// Judges a forwarded answer: every HTTP answer is returned as it is (status, type, bytes,
/// the errcode of a JSON body); only a 429, and a 5xx of an idempotent call, are retried.
fn judge_forward(target: &Target<'_>, a: Answer) -> Result<Forwarded, Attempt> {
    if a.status == 429 || (a.status >= 500 && target.idempotent) {
        return Err(status_error(target, &a));
    }
    let errcode = match body_kind(a.content_type.as_deref(), &a.body) {
        BodyKind::Binary => None,
        _ => errcode_of(&a.body),
    };
    tracing::info!(
        host = a.host,
        attempt = a.attempt,
        status = a.status,
        errcode = errcode.unwrap_or(0),
        latency_ms = elapsed_ms(a.started),
        "wechat api forwarded"
    );
    Ok(Forwarded {
        status: a.status,
        content_type: a.content_type,
        body: Bytes::from(a.body),
        errcode,
    })
}

/// `true` when an error says the host could not serve the call (no connection, a broken
/// exchange, HTTP 5xx), as opposed to an answer from WeChat.
fn host_failed(e: &Error) -> bool {
    match e {
        Error::Transport { .. } => true,
        Error::HttpStatus { status, .. } => *status >= 500,
        _ => false,
    }
}

enum BodyError {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads the body in chunks, refusing (without reading further) once it would pass `cap`;
/// a `Content-Length` above the cap is refused before reading at all.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX)) {
        return Err(BodyError::TooLarge);
    }
    let initial = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(cap)
        .min(64 * 1024);
    let mut body = Vec::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if chunk.len() > cap.saturating_sub(body.len()) {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn transport_error(endpoint: &'static str, e: &reqwest::Error, attempts: u32) -> Error {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    // Never format the URL: its query carries the access token.
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let text = if let Some(re) = s.downcast_ref::<reqwest::Error>() {
            let mut copy = format!("{re}");
            if let Some(url) = re.url() {
                copy = copy.replace(url.as_str(), "<url>");
            }
            copy
        } else {
            s.to_string()
        };
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
        source = s.source();
    }
    Error::Transport {
        endpoint,
        kind,
        message,
        attempts,
    }
}

fn with_attempts(err: Error, total: u32) -> Error {
    match err {
        Error::Transport {
            endpoint,
            kind,
            message,
            ..
        } => Error::Transport {
            endpoint,
            kind,
            message,
            attempts: total,
        },
        Error::HttpStatus {
            endpoint, status, ..
        } => Error::HttpStatus {
            endpoint,
            status,
            attempts: total,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::config::DEFAULT_MAX_RESPONSE_BYTES;
    use std::io::{Read, Write};
    use std::time::Duration;

    use serde_json::{json, Value};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::clock::ManualClock;

    const SEND: &str = "/cgi-bin/message/custom/send";

    fn dead_base_url() -> Url {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Url::parse(&format!("http://{}", dead.local_addr().unwrap())).unwrap()
    }

    fn transport(bases: Vec<Url>, timeout: Duration, clock: ManualClock) -> Transport {
        let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
        Transport::with_parts(
            http,
            bases,
            RetryPolicy::immediate(3),
            Arc::new(clock),
            DEFAULT_MAX_RESPONSE_BYTES,
            FailoverPolicy::default(),
        )
    }

    fn two(server: &MockServer) -> Vec<Url> {
        // The same server twice: every attempt, on either "host", is counted in one place.
        vec![
            Url::parse(&server.uri()).unwrap(),
            Url::parse(&format!("{}/", server.uri())).unwrap(),
        ]
    }

    fn ok() -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"}))
    }

    async fn requests(server: &MockServer) -> usize {
        server.received_requests().await.map_or(0, |r| r.len())
    }

    fn send() -> ApiCall {
        ApiCall::post("cgi-bin/message/custom/send").unwrap()
    }

    #[tokio::test]
    async fn forwarding_replaces_caller_credentials_and_passes_everything_else() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_raw(b"\x89PNG".to_vec(), "image/png"))
            .mount(&server)
            .await;
        let t = transport(
            vec![Url::parse(&server.uri()).unwrap()],
            Duration::from_secs(5),
            ManualClock::at_unix(1),
        );
        let payload = Payload {
            content_type: Some("multipart/form-data; boundary=b".into()),
            parts: vec![
                Bytes::from_static(b"head,"),
                Bytes::from_static(b"file,tail"),
            ],
        };
        let call = ApiCall::post("cgi-bin/media/upload").unwrap();
        let a = t
            .forward(
                &call,
                "type=image&access_token=forged&Component_Access_Token=x&openid=o%26p",
                Some("ours"),
                Some(&payload),
            )
            .await
            .unwrap();
        assert_eq!(a.status, 201);
        assert_eq!(a.content_type.as_deref(), Some("image/png"));
        assert_eq!(&a.body[..], b"\x89PNG");
        assert_eq!(a.errcode, None);
        let reqs = server.received_requests().await.unwrap();
        assert_eq!(
            reqs[0].url.query(),
            Some("access_token=ours&type=image&openid=o%26p")
        );
        assert_eq!(reqs[0].body, b"head,file,tail");
        assert_eq!(
            reqs[0].headers.get("content-type").unwrap(),
            "multipart/form-data; boundary=b"
        );
        assert_eq!(reqs[0].headers.get("content-length").unwrap(), "14");
    }

    #[tokio::test]
    async fn a_json_error_on_a_binary_call_is_an_error_and_an_image_is_bytes() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                br#"{"errcode":40001,"errmsg":"invalid credential"}"#.to_vec(),
                "application/json; encoding=utf-8",
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(b"JPEG".to_vec(), "image/jpeg"))
            .with_priority(2)
            .mount(&server)
            .await;
        let t = transport(
            vec![Url::parse(&server.uri()).unwrap()],
            Duration::from_secs(5),
            ManualClock::at_unix(1),
        );
        let call = ApiCall::get("wxa/get_qrcode").unwrap();
        let err = t
            .call_api_body(&call, "path=a", Some("t"), None)
            .await
            .unwrap_err();
        assert!(err.is_token_invalid(), "{err:?}");
        let ok = t
            .call_api_body(&call, "path=a", Some("t"), None)
            .await
            .unwrap();
        assert_eq!(
            ok,
            ApiBody::Binary {
                content_type: "image/jpeg".into(),
                bytes: b"JPEG".to_vec()
            }
        );
    }

    #[tokio::test]
    async fn timeout_on_a_non_idempotent_post_makes_one_request() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(ok().set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let t = transport(
            two(&server),
            Duration::from_millis(200),
            ManualClock::at_unix(1),
        );
        let err = t
            .call_api::<Value>(&send(), Some("tok"), Some(br#"{"touser":"o"}"#))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Transport {
                    kind: TransportKind::Timeout,
                    attempts: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(requests(&server).await, 1, "not 6");
    }

    #[tokio::test]
    async fn timeout_on_an_idempotent_call_uses_the_whole_schedule() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(ok().set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let t = transport(
            two(&server),
            Duration::from_millis(100),
            ManualClock::at_unix(1),
        );
        let err = t
            .call_api::<Value>(&send().idempotent(true), Some("tok"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Transport { attempts: 6, .. }),
            "{err:?}"
        );
        assert_eq!(requests(&server).await, 6);
    }

    #[tokio::test]
    async fn connection_refused_on_a_non_idempotent_call_fails_over() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SEND))
            .respond_with(ok())
            .expect(1)
            .mount(&server)
            .await;
        let t = transport(
            vec![dead_base_url(), Url::parse(&server.uri()).unwrap()],
            Duration::from_secs(5),
            ManualClock::at_unix(1),
        );
        let v: Value = t.call_api(&send(), Some("tok"), Some(b"{}")).await.unwrap();
        assert_eq!(v["errmsg"], "ok");
        server.verify().await;
    }

    #[tokio::test]
    async fn idempotent_get_is_retried_on_5xx() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/wxa/gettemplatelist"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/wxa/gettemplatelist"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"errcode": 0, "template_list": []})),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        let t = transport(
            two(&server),
            Duration::from_secs(5),
            ManualClock::at_unix(1),
        );
        let call = ApiCall::get("wxa/gettemplatelist")
            .unwrap()
            .idempotent(true);
        let v: Value = t.call_api(&call, Some("tok"), None).await.unwrap();
        assert!(v["template_list"].is_array());
        let reqs = server.received_requests().await.unwrap();
        assert_eq!(reqs.len(), 3);
        assert!(reqs
            .iter()
            .all(|r| r.method.as_str() == "GET" && r.body.is_empty()));
        assert_eq!(reqs[0].url.query(), Some("access_token=tok"));
        // A GET carries no body.
        assert!(matches!(
            t.call_api::<Value>(&call, Some("tok"), Some(b"{}")).await,
            Err(Error::InvalidInput { .. })
        ));
    }

    #[tokio::test]
    async fn non_idempotent_5xx_and_system_busy_are_answers() {
        for (template, is_busy) in [
            (ResponseTemplate::new(503), false),
            (
                ResponseTemplate::new(200)
                    .set_body_json(json!({"errcode": -1, "errmsg": "system error"})),
                true,
            ),
        ] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(template)
                .mount(&server)
                .await;
            let t = transport(
                two(&server),
                Duration::from_secs(5),
                ManualClock::at_unix(1),
            );
            let err = t
                .call_api::<Value>(&send(), Some("tok"), None)
                .await
                .unwrap_err();
            assert_eq!(
                matches!(err, Error::WechatApi { errcode: -1, .. }),
                is_busy,
                "{err:?}"
            );
            assert_eq!(requests(&server).await, 1, "{err:?}");
            // The same answers are retried for an idempotent call: 3 per host, 2 hosts.
            let err = t
                .call_api::<Value>(&send().idempotent(true), Some("tok"), None)
                .await
                .unwrap_err();
            assert!(err.is_retryable(), "{err:?}");
            assert_eq!(requests(&server).await, 1 + 6);
        }
    }

    #[tokio::test]
    async fn http_429_is_retried_for_both_kinds() {
        for idempotent in [false, true] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(429))
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .respond_with(ok())
                .with_priority(2)
                .mount(&server)
                .await;
            let t = transport(
                two(&server),
                Duration::from_secs(5),
                ManualClock::at_unix(1),
            );
            let _: Value = t
                .call_api(&send().idempotent(idempotent), Some("tok"), None)
                .await
                .unwrap();
            assert_eq!(requests(&server).await, 2, "idempotent: {idempotent}");
        }
    }

    #[tokio::test]
    async fn built_in_endpoints_keep_their_rules() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"errcode": -1, "errmsg": "busy"})),
            )
            .mount(&server)
            .await;
        let t = transport(
            two(&server),
            Duration::from_secs(5),
            ManualClock::at_unix(1),
        );
        // Idempotent: the whole schedule.
        let _ = t
            .call::<_, Value>(Endpoint::GetAuthorizerList, Some("c"), &json!({}))
            .await
            .unwrap_err();
        assert_eq!(requests(&server).await, 6);
        // Single use: -1 is not retried.
        let _ = t
            .call::<_, Value>(Endpoint::QueryAuth, Some("c"), &json!({}))
            .await
            .unwrap_err();
        assert_eq!(requests(&server).await, 7);
    }

    #[tokio::test]
    async fn a_body_over_the_cap_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; 5 * 1024 * 1024]))
            .mount(&server)
            .await;
        let http = reqwest::Client::new();
        let t = Transport::with_parts(
            http,
            two(&server),
            RetryPolicy::immediate(3),
            Arc::new(ManualClock::at_unix(1)),
            64 * 1024,
            FailoverPolicy::default(),
        );
        for call in [send(), send().idempotent(true)] {
            let err = t
                .call_api::<Value>(&call, Some("tok"), None)
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::ResponseTooLarge { limit: 65536, .. }),
                "{err:?}"
            );
        }
        // Not retried, whatever the call.
        assert_eq!(requests(&server).await, 2);
    }

    /// One HTTP/1.1 response with a chunked body (no Content-Length), on a plain thread.
    fn chunked_server(total: usize) -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            let chunk = vec![b' '; 16 * 1024];
            let mut sent = 0;
            while sent < total {
                let head = format!("{:x}\r\n", chunk.len());
                if conn.write_all(head.as_bytes()).is_err()
                    || conn.write_all(&chunk).is_err()
                    || conn.write_all(b"\r\n").is_err()
                {
                    return;
                }
                sent += chunk.len();
            }
            let _ = conn.write_all(b"0\r\n\r\n");
        });
        Url::parse(&format!("http://{addr}")).unwrap()
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_at_the_cap() {
        let http = reqwest::Client::new();
        let t = Transport::with_parts(
            http,
            vec![chunked_server(5 * 1024 * 1024)],
            RetryPolicy::immediate(1),
            Arc::new(ManualClock::at_unix(1)),
            100 * 1024,
            FailoverPolicy::default(),
        );
        let err = t
            .call_api::<Value>(&send(), Some("tok"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 102400, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_small_body_under_the_cap_is_read() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ok())
            .mount(&server)
            .await;
        let http = reqwest::Client::new();
        let t = Transport::with_parts(
            http,
            two(&server),
            RetryPolicy::immediate(1),
            Arc::new(ManualClock::at_unix(1)),
            1024,
            FailoverPolicy::default(),
        );
        let v: Value = t.call_api(&send(), Some("tok"), None).await.unwrap();
        assert_eq!(v["errcode"], 0);
    }

    #[tokio::test]
    async fn sticky_failover_prefers_the_fallback_then_probes() {
        let primary = MockServer::start().await;
        let fallback = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(502))
            .mount(&primary)
            .await;
        Mock::given(method("POST"))
            .respond_with(ok())
            .mount(&fallback)
            .await;
        let clock = ManualClock::at_unix(1_700_000_000);
        let http = reqwest::Client::new();
        let t = Transport::with_parts(
            http,
            vec![
                Url::parse(&primary.uri()).unwrap(),
                Url::parse(&fallback.uri()).unwrap(),
            ],
            RetryPolicy::immediate(3),
            Arc::new(clock.clone()),
            DEFAULT_MAX_RESPONSE_BYTES,
            FailoverPolicy::default(),
        );
        let body = json!({});
        let list = || t.call::<_, Value>(Endpoint::GetAuthorizerList, Some("c"), &body);
        for _ in 0..3 {
            list().await.unwrap();
        }
        assert_eq!(requests(&primary).await, 9);
        // Three failed calls on the primary: the next ones start on the fallback.
        for _ in 0..5 {
            list().await.unwrap();
        }
        assert_eq!(requests(&primary).await, 9);
        assert_eq!(requests(&fallback).await, 8);
        // 30 s later one call probes the primary (one attempt), the next does not.
        clock.advance(Duration::from_secs(30));
        list().await.unwrap();
        list().await.unwrap();
        assert_eq!(requests(&primary).await, 10);
        // A non-idempotent call never probes.
        clock.advance(Duration::from_secs(30));
        let _: Value = t.call_api(&send(), Some("a"), None).await.unwrap();
        assert_eq!(requests(&primary).await, 10);
        // After the preference lapses (5 min without a failure on the primary), the primary
        // comes first again.
        clock.advance(Duration::from_secs(301));
        list().await.unwrap();
        assert_eq!(requests(&primary).await, 13);
    }

    #[tokio::test]
    async fn from_config_takes_the_cap_and_policies() {
        let cfg = ComponentConfig::new("wxc", "s", "t", "k").with_max_response_bytes(2048);
        let t = Transport::from_config(
            reqwest::Client::new(),
            &cfg,
            Arc::new(ManualClock::at_unix(1)),
        );
        assert_eq!(t.max_response_bytes, 2048);
        assert_eq!(t.base_urls, cfg.base_urls);
        assert_eq!(t.retry, cfg.retry);
    }
}
