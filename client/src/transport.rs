//! The thin HTTP driver: one POST per attempt, the retry schedule from [`crate::retry`], the
//! classification from [`crate::errcode`], tracing per attempt. Logs carry the endpoint path
//! and host only: the query string carries tokens.

use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use crate::api::{self, Endpoint, ResponseError};
use crate::errcode::{classify, ErrorClass};
use crate::error::{Error, TransportKind};
use crate::retry::{next_step, RetryPolicy, Step};

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base_urls: Vec<Url>,
    retry: RetryPolicy,
}

/// One failed attempt and whether it may be retried.
enum Attempt {
    Retryable(Error),
    Fatal(Error),
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, base_urls: Vec<Url>, retry: RetryPolicy) -> Self {
        Self {
            http,
            base_urls,
            retry,
        }
    }

    /// POSTs `body` as JSON to `endpoint`, retrying transient failures within the policy and
    /// failing over along the base URLs.
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
        let span = tracing::info_span!("wechat_api", endpoint = endpoint.path());
        async move {
            let mut host = 0usize;
            let mut attempt_on_host = 1u32;
            let mut total = 0u32;
            loop {
                total += 1;
                let Some(base) = self.base_urls.get(host) else {
                    return Err(Error::invalid("base URL", "none configured"));
                };
                let outcome = self
                    .attempt::<Resp>(endpoint, base, token, &payload, total)
                    .await;
                let err = match outcome {
                    Ok(v) => return Ok(v),
                    Err(Attempt::Fatal(e)) => return Err(e),
                    Err(Attempt::Retryable(e)) => e,
                };
                match next_step(&self.retry, attempt_on_host, host, self.base_urls.len()) {
                    Step::RetryAfter(d) => {
                        tracing::debug!(delay_ms = d.as_millis() as u64, "retrying");
                        tokio::time::sleep(d).await;
                        attempt_on_host += 1;
                    }
                    Step::Failover => {
                        tracing::warn!(
                            from = base.host_str().unwrap_or(""),
                            error = %err,
                            "failing over to the next API domain"
                        );
                        host += 1;
                        attempt_on_host = 1;
                    }
                    Step::GiveUp => return Err(with_attempts(err, total)),
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt<Resp: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        base: &Url,
        token: Option<&str>,
        payload: &[u8],
        attempt: u32,
    ) -> Result<Resp, Attempt> {
        let name = endpoint.name();
        let url = api::build_url(base, endpoint, token)
            .map_err(|m| Attempt::Fatal(Error::invalid("request URL", m)))?;
        let host = base.host_str().unwrap_or("").to_owned();
        let started = Instant::now();
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_vec())
            .send()
            .await;
        // A single-use call is retried only when the request cannot have reached WeChat.
        let single_use = endpoint.is_single_use();
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let err = transport_error(name, &e, attempt);
                tracing::warn!(host, attempt, latency_ms = elapsed_ms(started), error = %err, "wechat api transport error");
                return Err(if single_use && !e.is_connect() {
                    Attempt::Fatal(err)
                } else {
                    Attempt::Retryable(err)
                });
            }
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let err = transport_error(name, &e, attempt);
                tracing::warn!(host, attempt, latency_ms = elapsed_ms(started), error = %err, "wechat api body error");
                return Err(if single_use {
                    Attempt::Fatal(err)
                } else {
                    Attempt::Retryable(err)
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
            let surely_unprocessed = status.as_u16() == 429;
            return Err(
                if err.is_retryable() && (!single_use || surely_unprocessed) {
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
                if classify(errcode) == ErrorClass::Retryable {
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
