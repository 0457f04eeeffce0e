//! The wiremock side: one responder and one connection-drop gate per host, both over the shared
//! platform state.

pub(crate) mod custom_send;
pub(crate) mod getticket;
pub(crate) mod media;
pub(crate) mod validate;
pub(crate) mod wxa;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use wiremock::{Match, Request, ResponseTemplate};
use wxopen_client::Clock;

use crate::counters::{CallRecord, Counters, Host, Outcome};
use crate::endpoints::{Endpoint, CUSTOM_SEND, GETTICKET};
use crate::faults::{Fault, Faults};
use crate::state::{errmsg_for, ApiError, Platform};

/// Everything both hosts share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) clock: Arc<dyn Clock>,
    rid: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) platform: Platform,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    pub(crate) wxa: crate::wxa_state::WxaState,
    /// Users of authorized accounts: web authorization and mini-program login.
    pub(crate) users: crate::user_auth::Users,
}

impl Shared {
    pub(crate) fn new(platform: Platform, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                platform,
                faults: Faults::default(),
                counters: Counters::default(),
                wxa: crate::wxa_state::WxaState::default(),
                users: Default::default(),
            }),
            clock,
            rid: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Locks the state; a panic in another holder does not make the fake unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rid(&self) -> String {
        let n = self.rid.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "{:08x}-{:08x}-{:08x}",
            self.clock.unix_seconds() as u32,
            n as u32,
            0x5eed_u32
        )
    }

    fn error_body(&self, e: &ApiError) -> Value {
        json!({"errcode": e.errcode, "errmsg": format!("{} rid: {}", e.errmsg, self.rid())})
    }
}

fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        body.to_string().into_bytes(),
        "application/json; encoding=utf-8",
    )
}

/// Answers every request reaching one host.
pub(crate) struct Responder {
    pub(crate) shared: Arc<Shared>,
    pub(crate) host: Host,
}

impl wiremock::Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let arrived = std::time::Instant::now();
        let shared = &self.shared;
        let now = shared.clock.unix_seconds();
        let path = request.url.path().to_owned();
        let endpoint = crate::endpoints::endpoint_at(&path);
        let mut inner = shared.lock();
        if path == getticket::VERIFY_PATH {
            // The fake's own check, not a WeChat API: not counted.
            return match getticket::parse_verify(&request.body) {
                Some(sig) => {
                    let valid = inner.platform.js_tickets.verify(&sig, now);
                    json_response(200, &json!({ "valid": valid }))
                }
                None => json_response(
                    400,
                    &json!({ "error": "expected {appid, url, timestamp, nonceStr, signature}" }),
                ),
            };
        }
        let mut record = CallRecord {
            endpoint,
            path,
            host: self.host,
            outcome: Outcome::Ok,
            injected: false,
            delay: None,
            at_unix: now,
        };
        let Some(endpoint) = endpoint else {
            record.outcome = Outcome::Http(404);
            inner.counters.record(record);
            return ResponseTemplate::new(404);
        };

        let mut delay = None;
        match inner.faults.take(Some(endpoint), self.host, false) {
            Some(Fault::Errcode(code)) => {
                record.outcome = Outcome::Errcode(code);
                record.injected = true;
                inner.counters.record(record);
                let err = ApiError {
                    errcode: code,
                    errmsg: errmsg_for(code).to_owned(),
                };
                return json_response(200, &shared.error_body(&err));
            }
            Some(Fault::Http(status)) => {
                record.outcome = Outcome::Http(status);
                record.injected = true;
                inner.counters.record(record);
                return ResponseTemplate::new(status)
                    .set_body_string(format!("{status} injected by the fake platform"));
            }
            Some(Fault::Delay(d)) => delay = Some(d),
            // Drops are consumed by the gate; a drop rule can never be returned here.
            Some(Fault::Drop) | None => {}
        }

        if let Some(answer) = media::serve(endpoint, request, &mut inner.platform, now) {
            let template = answer.unwrap_or_else(|e| {
                record.outcome = Outcome::Errcode(e.errcode);
                json_response(200, &shared.error_body(&e))
            });
            record.injected = delay.is_some();
            record.delay = delay;
            inner.counters.record(record);
            return match delay {
                Some(d) => template.set_delay(d),
                None => template,
            };
        }
        let user_auth = crate::endpoints::USER_AUTH_SERVED.contains(&endpoint);
        let wants = if endpoint == GETTICKET || user_auth {
            wiremock::http::Method::GET
        } else {
            wiremock::http::Method::POST
        };
        // get_qrcode answers bytes: served by the binary handler, not the mini-program rules.
        let wxa_api = wxopen_proto::wxa::WxaApi::from_path(request.url.path())
            .filter(|a| *a != wxopen_proto::wxa::WxaApi::GetQrcode);
        let result = if user_auth && request.method != wants {
            Err(ApiError::hint(43001, "require GET method"))
        } else if user_auth {
            let Inner {
                users, platform, ..
            } = &mut *inner;
            crate::user_auth::serve(users, platform, endpoint, &request.url, now)
        } else if let Some(api) = wxa_api {
            let inner = &mut *inner;
            wxa::serve(&inner.platform, &mut inner.wxa, api, request, now)
        } else if request.method != wants {
            Err(ApiError::new(43002))
        } else if endpoint != Endpoint::ClearQuota
            && endpoint != Endpoint::ClearQuotaV2
            && inner.platform.quota_exhausted(endpoint)
        {
            Err(ApiError::new(45009))
        } else if endpoint == GETTICKET {
            getticket::serve(&mut inner.platform, &request.url, now)
        } else if endpoint == CUSTOM_SEND {
            custom_send::serve(
                &mut inner.platform,
                &request.url,
                &request.body,
                now,
                arrived,
            )
        } else {
            let token = validate::query_token(&request.url, endpoint);
            inner
                .platform
                .caller(endpoint, token.as_deref(), now)
                .and_then(|caller| {
                    let body = validate::body(endpoint, &request.body)?;
                    inner.platform.call(endpoint, &caller, &body, now)
                })
        };
        let template = match result {
            Ok(v) if endpoint == crate::endpoints::OAUTH_AUTHORIZE => ResponseTemplate::new(302)
                .insert_header("location", v["redirect"].as_str().unwrap_or("")),
            Ok(v) => json_response(200, &v),
            Err(e) => {
                if endpoint == CUSTOM_SEND {
                    inner.platform.record_refused_send(arrived, e.errcode);
                }
                record.outcome = Outcome::Errcode(e.errcode);
                json_response(200, &shared.error_body(&e))
            }
        };
        record.injected = delay.is_some();
        record.delay = delay;
        inner.counters.record(record);
        match delay {
            Some(d) => template.set_delay(d),
            None => template,
        }
    }
}

/// Matches (and so drops the connection of) requests that an injected [`Fault::Drop`] targets.
pub(crate) struct DropGate {
    pub(crate) shared: Arc<Shared>,
    pub(crate) host: Host,
}

impl Match for DropGate {
    fn matches(&self, request: &Request) -> bool {
        let endpoint = crate::endpoints::endpoint_at(request.url.path());
        let mut inner = self.shared.lock();
        if inner.faults.take(endpoint, self.host, true).is_none() {
            return false;
        }
        let record = CallRecord {
            endpoint,
            path: request.url.path().to_owned(),
            host: self.host,
            outcome: Outcome::Dropped,
            injected: true,
            delay: None,
            at_unix: self.shared.clock.unix_seconds(),
        };
        inner.counters.record(record);
        true
    }
}

/// The error that makes the server close the connection without an answer.
#[derive(Debug)]
pub(crate) struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fake platform (injected fault)")
    }
}

impl std::error::Error for ConnectionDropped {}
