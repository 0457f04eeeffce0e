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

use crate::api::{self, ApiCall, Endpoint, Method, ResponseError, TokenParam};
use crate::clock::Clock;
use crate::config::ComponentConfig;
use crate::errcode::{classify, ErrorClass};
use crate::error::{Error, TransportKind};
use crate::hooks::ApiObserver;
use crate::retry::{jittered, next_step, FailoverPolicy, HostPreference, RetryPolicy, Step};

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
enum Attempt {
    Retryable(Error),
    Fatal(Error),
}

/// What one call sends, whatever described it.
struct Target<'a> {
    name: &'static str,
    method: Method,
    url_for: UrlFor<'a>,
    idempotent: bool,
    /// Query parameters after the token (`GET` calls that take their input there).
    query: &'a [(&'a str, &'a str)],
}

enum UrlFor<'a> {
    Endpoint(Endpoint),
    #[cfg_attr(not(test), allow(dead_code))] // see call_api
    Call(&'a ApiCall),
}

impl Target<'_> {
    fn url(&self, base: &Url, token: Option<&str>) -> Result<Url, String> {
        let mut url = match self.url_for {
            UrlFor::Endpoint(e) => api::build_url(base, e, token),
            UrlFor::Call(c) => api::build_call_url(base, c, token),
        }?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(self.query);
        }
        Ok(url)
    }

    fn path(&self) -> &str {
        match self.url_for {
            UrlFor::Endpoint(e) => e.path(),
            UrlFor::Call(c) => c.path(),
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
            query: &[],
        };
        self.execute(&target, token, Some(&payload)).await
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
        let payload: Option<&[u8]> = match (call.method(), body) {
            (Method::Get, Some(_)) => {
                return Err(Error::invalid("request body", "a GET call carries no body"))
            }
            (Method::Get, None) => None,
            (Method::Post, Some(b)) => Some(b),
            (Method::Post, None) => Some(b"{}"),
            (method, _) => {
                return Err(Error::invalid(
                    "method",
                    format!("{method:?} is not supported by this client"),
                ))
            }
        };
        if call.token_param() == TokenParam::None && token.is_some() {
            return Err(Error::invalid(
                "token",
                format!("{} takes no token", call.name()),
            ));
        }
        let target = Target {
            name: call.name(),
            method: call.method(),
            url_for: UrlFor::Call(call),
            idempotent: call.is_idempotent(),
            query: &[],
        };
        self.execute(&target, token, payload).await
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
        let target = Target {
            name: call.name(),
            method: Method::Get,
            url_for: UrlFor::Call(call),
            idempotent: call.is_idempotent(),
            query,
        };
        self.execute(&target, token, None).await
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

    async fn execute<Resp: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        token: Option<&str>,
        payload: Option<&[u8]>,
    ) -> Result<Resp, Error> {
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
                let outcome = self
                    .attempt::<Resp>(target, base, token, payload, total)
                    .await;
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

    async fn attempt<Resp: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        base: &Url,
        token: Option<&str>,
        payload: Option<&[u8]>,
        attempt: u32,
    ) -> Result<Resp, Attempt> {
        let name = target.name;
        let url = target
            .url(base, token)
            .map_err(|m| Attempt::Fatal(Error::invalid("request URL", m)))?;
        let host = base.host_str().unwrap_or("").to_owned();
        let started = Instant::now();
        let request = match (target.method, payload) {
            (Method::Get, _) => self.http.get(url),
            (Method::Post, body) => self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.unwrap_or(b"{}").to_vec()),
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
        let status = response.status();
        let bytes = match read_capped(response, self.max_response_bytes).await {
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
        if !status.is_success() {
            let err = Error::HttpStatus {
                endpoint: name,
                status: status.as_u16(),
                attempts: attempt,
            };
            tracing::warn!(
                host,
                attempt,
                status = status.as_u16(),
                latency_ms = elapsed_ms(started),
                "wechat api http error"
            );
            // 429: refused before any work, so repeating is safe for every call.
            let surely_unprocessed = status.as_u16() == 429;
            return Err(
                if err.is_retryable() && (idempotent || surely_unprocessed) {
                    Attempt::Retryable(err)
                } else {
                    Attempt::Fatal(err)
                },
            );
        }
        match api::parse_response::<Resp>(&bytes) {
            Ok(v) => {
                tracing::info!(
                    host,
                    attempt,
                    errcode = 0,
                    latency_ms = elapsed_ms(started),
                    "wechat api ok"
                );
                Ok(v)
            }
            Err(ResponseError::Api { errcode, errmsg }) => {
                tracing::warn!(
                    host,
                    attempt,
                    errcode,
                    latency_ms = elapsed_ms(started),
                    "wechat api error"
                );
                let err = Error::from_api(name, errcode, errmsg);
                // -1 is an answer: the request arrived, so only idempotent calls repeat it.
                if idempotent && classify(errcode) == ErrorClass::Retryable {
                    Err(Attempt::Retryable(err))
                } else {
                    Err(Attempt::Fatal(err))
                }
            }
            Err(ResponseError::Decode(message)) => {
                tracing::warn!(
                    host,
                    attempt,
                    latency_ms = elapsed_ms(started),
                    "wechat api undecodable response"
                );
                Err(Attempt::Fatal(Error::Decode {
                    endpoint: name,
                    message,
                }))
            }
        }
    }
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
