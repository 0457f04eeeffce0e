//! The client's error type.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::api::AuthorizationInfo;
use crate::errcode::{self, ErrorClass};
use crate::records::StoreError;

/// Result alias for the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a request failed below the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The request or connection timed out.
    Timeout,
    /// No connection could be made (DNS, refused, TLS handshake).
    Connect,
    /// The connection failed while sending or receiving.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connection failed",
            TransportKind::Other => "transport error",
        })
    }
}

/// Why a push (or a decrypted message body) could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The push query lacks a required parameter.
    MissingQueryParam(&'static str),
    /// The decrypted message is not UTF-8.
    NotUtf8,
    /// Malformed XML.
    Xml(String),
    /// A `<!DOCTYPE>` declaration: never processed (no DTD, no entity expansion).
    Doctype,
    /// A reference to an entity other than the five predefined ones (never expanded).
    UnknownEntity(String),
    /// Elements nested deeper than a WeChat payload ever is.
    TooDeep,
    /// A required field is missing from a known event.
    MissingField(&'static str),
    /// A field has a value of the wrong shape (e.g. a non-numeric `CreateTime`).
    InvalidField(&'static str),
    /// The push names a different component appid than the configured one.
    AppIdMismatch {
        /// The configured component appid.
        expected: String,
        /// The `AppId` inside the push.
        found: String,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::MissingQueryParam(p) if *p == "msg_signature" => write!(
                f,
                "push query lacks msg_signature (the `signature` parameter is not msg_signature; is the push URL set to safe mode?)"
            ),
            PushError::MissingQueryParam(p) => write!(f, "push query lacks `{p}`"),
            PushError::NotUtf8 => f.write_str("decrypted push is not UTF-8"),
            PushError::Xml(m) => write!(f, "malformed push XML: {}", one_line(m)),
            PushError::Doctype => f.write_str("push XML contains a DOCTYPE; refused"),
            PushError::UnknownEntity(e) => {
                write!(f, "push XML references entity `{}`; refused (no entity expansion)", one_line(e))
            }
            PushError::TooDeep => f.write_str("push XML is nested too deeply"),
            PushError::MissingField(n) => write!(f, "push lacks required field `{n}`"),
            PushError::InvalidField(n) => write!(f, "push field `{n}` has an invalid value"),
            PushError::AppIdMismatch { expected, found } => write!(
                f,
                "push is for component `{}`, this client is `{}`",
                one_line(found),
                one_line(expected)
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// Everything that can go wrong in the client.
///
/// [`code`](Error::code) gives the WeChat `errcode` where there is one; the `is_*` methods
/// classify the error; `Display` is one line and never contains a secret. Errors are `Clone`:
/// every caller waiting for one refresh receives the same outcome.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// WeChat answered a non-zero `errcode` not covered by a more specific variant (this includes
    /// -1 after the retry budget and token errors after the one refresh-and-retry).
    WechatApi {
        /// Endpoint name, e.g. `api_query_auth`.
        endpoint: &'static str,
        /// WeChat error code.
        errcode: i64,
        /// WeChat error message (usually carries `rid: …` for support tickets).
        errmsg: String,
    },
    /// No `component_verify_ticket` has been received yet (or the store lost it).
    TicketMissing,
    /// WeChat rejected the stored ticket (61005 expired, 61006 invalid).
    TicketRejected {
        /// 61005 or 61006.
        errcode: i64,
        /// WeChat error message.
        errmsg: String,
        /// `true` when the stored ticket was older than 12 h.
        stale: bool,
    },
    /// The account must authorize the component again: its refresh token is invalid and could
    /// not be recovered from the authorizer list (61023), it revoked the authorization (61003),
    /// or nothing is known about it.
    MustReauthorize {
        /// The authorizer appid.
        authorizer_appid: String,
        /// The WeChat code that led here, if any (61023 keeps its meaning even when recovering
        /// the refresh token failed for another reason).
        errcode: Option<i64>,
        /// What happened.
        reason: String,
        /// What went wrong while trying to avoid it (e.g. the authorizer-list call that
        /// failed during 61023 recovery); [`std::error::Error::source`] returns it.
        source: Option<Arc<Error>>,
    },
    /// A caller waited `wxopen_client::ComponentConfig::token_wait` for
    /// a refresh; the refresh goes on in the background.
    WaitTimeout {
        /// Which token (`component_access_token`, `authorizer_access_token`).
        token: &'static str,
        /// How long the caller waited.
        waited: Duration,
    },
    /// Another instance held the refresh lease for longer than
    /// `wxopen_client::ComponentConfig::lease_wait` without storing a
    /// token.
    LeaseBusy {
        /// Which token.
        token: &'static str,
    },
    /// The refresh task ended without an outcome (the runtime is shutting down).
    RefreshAborted {
        /// Which token.
        token: &'static str,
    },
    /// `query_auth` exchanged the (single-use) code but could not store the result. The
    /// result is here: store it yourself or retry
    /// `wxopen_client::ComponentClient::store_authorization`.
    NotStored {
        /// What WeChat answered, tokens included.
        info: Box<AuthorizationInfo>,
        /// The store failure.
        source: StoreError,
    },
    /// A quota is exhausted (45009 daily, 48006 monthly clear_quota) or a per-minute frequency
    /// limit was hit (45011; see [`retry_after`](Error::retry_after)); not retried.
    Quota {
        /// Endpoint name.
        endpoint: &'static str,
        /// 45009, 48006 or 45011.
        errcode: i64,
        /// WeChat error message.
        errmsg: String,
    },
    /// A configuration problem or a malformed call (61004 and 40164 IP whitelist, 40125, 41004,
    /// 40013, 61011, 41001, 61014); not retried.
    Config {
        /// Endpoint name.
        endpoint: &'static str,
        /// WeChat error code.
        errcode: i64,
        /// WeChat error message.
        errmsg: String,
    },
    /// The request failed below HTTP after every retry and fallback domain.
    Transport {
        /// Endpoint name.
        endpoint: &'static str,
        /// What failed.
        kind: TransportKind,
        /// Details (never contains the URL's query, which carries tokens).
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// WeChat answered with a non-success HTTP status.
    HttpStatus {
        /// Endpoint name.
        endpoint: &'static str,
        /// HTTP status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// A response body was larger than the configured cap
    /// (`wxopen_client::ComponentConfig::max_response_bytes`);
    /// it was not read further. Not retried.
    ResponseTooLarge {
        /// Endpoint name.
        endpoint: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// A response could not be decoded into its documented shape.
    Decode {
        /// Endpoint name.
        endpoint: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Signature, decryption or envelope failure from `wxopen-core`.
    Crypto(wxopen_core::Error),
    /// The push or message body could not be parsed.
    Push(PushError),
    /// The token store failed.
    Store(StoreError),
    /// An argument or configuration value is invalid.
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Builds the error for a non-zero `errcode` from `endpoint`, choosing the typed variant.
    pub fn from_api(endpoint: &'static str, errcode: i64, errmsg: impl Into<String>) -> Self {
        let errmsg = errmsg.into();
        match errcode::classify(errcode) {
            ErrorClass::Ticket => Error::TicketRejected {
                errcode,
                errmsg,
                stale: false,
            },
            ErrorClass::Quota | ErrorClass::RateLimited => Error::Quota {
                endpoint,
                errcode,
                errmsg,
            },
            ErrorClass::Config => Error::Config {
                endpoint,
                errcode,
                errmsg,
            },
            _ => Error::WechatApi {
                endpoint,
                errcode,
                errmsg,
            },
        }
    }

    /// An [`Error::InvalidInput`] for `what`, with a reason.
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }

    /// The WeChat `errcode` (API errors) or the official crypto code (-40001..-40011).
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::WechatApi { errcode, .. }
            | Error::TicketRejected { errcode, .. }
            | Error::Quota { errcode, .. }
            | Error::Config { errcode, .. } => Some(*errcode),
            Error::MustReauthorize { errcode, .. } => *errcode,
            Error::Crypto(e) => Some(i64::from(e.code())),
            _ => None,
        }
    }

    /// The class of the WeChat code, if this error carries one.
    ///
    /// [`Error::MustReauthorize`] is [`ErrorClass::NotAuthorized`] when it carries 61003 (the
    /// account revoked the authorization) and [`ErrorClass::RefreshTokenInvalid`] otherwise
    /// (61023, or no code: nothing usable is known about the account).
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Error::Crypto(_) => None,
            Error::MustReauthorize { errcode, .. } => Some(match errcode.map(errcode::classify) {
                Some(ErrorClass::NotAuthorized) => ErrorClass::NotAuthorized,
                _ => ErrorClass::RefreshTokenInvalid,
            }),
            _ => self.code().map(errcode::classify),
        }
    }

    /// How long to wait before calling again, when WeChat's answer says so (45011, the
    /// per-minute frequency limit: about 60 s). `None` for everything else.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Quota { errcode, .. } | Error::WechatApi { errcode, .. } => {
                errcode::retry_after(*errcode)
            }
            _ => None,
        }
    }

    /// The account did not grant the permission set the API belongs to (48001, 61007).
    pub fn is_permission_denied(&self) -> bool {
        self.class() == Some(ErrorClass::PermissionDenied)
    }

    /// The typed mini-program code ([`WxaErrcode`](crate::wxa::errors::WxaErrcode)) of this
    /// error, e.g. 85085 (the monthly review quota is spent) or 61039 (privacy detection still
    /// running).
    pub fn wxa_code(&self) -> Option<crate::wxa::errors::WxaErrcode> {
        match self {
            Error::WechatApi { errcode, .. }
            | Error::Quota { errcode, .. }
            | Error::Config { errcode, .. } => crate::wxa::errors::WxaErrcode::from_code(*errcode),
            _ => None,
        }
    }

    /// For a permission error (48001, 61007) answered by a mini-program call, the permission
    /// set the account did not grant (18 for code management), from the call's path.
    pub fn missing_permission_set(&self) -> Option<u32> {
        match self {
            Error::WechatApi {
                endpoint, errcode, ..
            } if errcode::classify(*errcode) == ErrorClass::PermissionDenied => {
                crate::wxa::permission::permission_set_of(endpoint)
            }
            _ => None,
        }
    }

    /// Transient: -1, HTTP 5xx/429, timeouts and connection errors. The client has already
    /// retried these within its budget; a caller may try again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. }
            | Error::WaitTimeout { .. }
            | Error::LeaseBusy { .. }
            | Error::RefreshAborted { .. } => true,
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            _ => self.class() == Some(ErrorClass::Retryable),
        }
    }

    /// The access token was rejected (40001, 40014, 42001).
    pub fn is_token_invalid(&self) -> bool {
        self.class() == Some(ErrorClass::TokenInvalid)
    }

    /// The ticket is missing or was rejected (61005, 61006): wait for a push or call
    /// `start_push_ticket`.
    pub fn is_ticket_problem(&self) -> bool {
        matches!(self, Error::TicketMissing | Error::TicketRejected { .. })
    }

    /// A quota is exhausted.
    pub fn is_quota(&self) -> bool {
        matches!(self, Error::Quota { .. })
    }

    /// A configuration problem (IP whitelist, appsecret, appid, or an invalid local setting).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. } | Error::InvalidInput { .. })
    }

    /// The authorizer must authorize the component again.
    pub fn must_reauthorize(&self) -> bool {
        matches!(self, Error::MustReauthorize { .. })
            || self.class() == Some(ErrorClass::NotAuthorized)
    }
}

/// Replaces control characters so a message from the network stays on one line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn write_hint(f: &mut fmt::Formatter<'_>, endpoint: &str, errcode: i64) -> fmt::Result {
    match errcode::hint_for(endpoint, errcode) {
        Some(h) => write!(f, ": {h}"),
        None => Ok(()),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WechatApi {
                endpoint,
                errcode,
                errmsg,
            }
            | Error::Quota {
                endpoint,
                errcode,
                errmsg,
            }
            | Error::Config {
                endpoint,
                errcode,
                errmsg,
            } => {
                write!(f, "{endpoint}: WeChat error {errcode} ({})", one_line(errmsg))?;
                write_hint(f, endpoint, *errcode)
            }
            Error::TicketMissing => f.write_str(
                "no component_verify_ticket received yet: wait for the next push (every 10 minutes) or call start_push_ticket",
            ),
            Error::TicketRejected {
                errcode,
                errmsg,
                stale,
            } => {
                write!(f, "api_component_token: WeChat error {errcode} ({})", one_line(errmsg))?;
                if *stale {
                    f.write_str(" with a ticket older than 12 h")?;
                }
                write_hint(f, "api_component_token", *errcode)
            }
            Error::MustReauthorize {
                authorizer_appid,
                errcode,
                reason,
                source,
            } => {
                write!(f, "authorizer {} must re-authorize the component", one_line(authorizer_appid))?;
                if let Some(c) = errcode {
                    write!(f, " (WeChat error {c})")?;
                }
                write!(f, ": {}", one_line(reason))?;
                if let Some(s) = source {
                    write!(f, " (recovery failed: {s})")?;
                }
                Ok(())
            }
            Error::WaitTimeout { token, waited } => write!(
                f,
                "{token}: gave up waiting for the refresh after {} ms; it goes on in the background",
                waited.as_millis()
            ),
            Error::LeaseBusy { token } => write!(
                f,
                "{token}: another instance held the refresh lease without storing a token"
            ),
            Error::RefreshAborted { token } => {
                write!(f, "{token}: the refresh ended without an outcome (shutting down?)")
            }
            Error::NotStored { info, source } => write!(
                f,
                "api_query_auth for {} succeeded but its result could not be stored ({source}); the error carries it",
                one_line(&info.authorizer_appid)
            ),
            Error::Transport {
                endpoint,
                kind,
                message,
                attempts,
            } => write!(
                f,
                "{endpoint}: {kind} after {attempts} attempt(s): {}",
                one_line(message)
            ),
            Error::HttpStatus {
                endpoint,
                status,
                attempts,
            } => write!(f, "{endpoint}: HTTP status {status} after {attempts} attempt(s)"),
            Error::ResponseTooLarge { endpoint, limit } => write!(
                f,
                "{endpoint}: response body larger than {limit} bytes; refused (see ComponentConfig::with_max_response_bytes)"
            ),
            Error::Decode { endpoint, message } => {
                write!(f, "{endpoint}: unexpected response: {}", one_line(message))
            }
            Error::Crypto(e) => match e.hint() {
                Some(h) => write!(f, "{e}: {h}"),
                None => write!(f, "{e}"),
            },
            Error::Push(e) => write!(f, "{e}"),
            Error::Store(e) => write!(f, "token store: {e}"),
            Error::InvalidInput { what, reason } => {
                write!(f, "invalid {what}: {}", one_line(reason))
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Crypto(e) => Some(e),
            Error::Push(e) => Some(e),
            Error::Store(e) => Some(e),
            Error::NotStored { source, .. } => Some(source),
            Error::MustReauthorize {
                source: Some(s), ..
            } => Some(s.as_ref()),
            _ => None,
        }
    }
}

impl From<wxopen_core::Error> for Error {
    fn from(e: wxopen_core::Error) -> Self {
        Error::Crypto(e)
    }
}

impl From<PushError> for Error {
    fn from(e: PushError) -> Self {
        Error::Push(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_api_picks_typed_variants() {
        assert!(matches!(
            Error::from_api("x", 61005, "m"),
            Error::TicketRejected { errcode: 61005, .. }
        ));
        assert!(matches!(
            Error::from_api("x", 61006, "m"),
            Error::TicketRejected { .. }
        ));
        assert!(matches!(
            Error::from_api("x", 45009, "m"),
            Error::Quota { .. }
        ));
        assert!(matches!(
            Error::from_api("x", 48006, "m"),
            Error::Quota { .. }
        ));
        for c in [61004, 40164, 40125, 41004, 40013, 61011, 41001, 61014] {
            assert!(
                matches!(Error::from_api("x", c, "m"), Error::Config { .. }),
                "{c}"
            );
        }
        assert!(matches!(
            Error::from_api("x", 45011, "m"),
            Error::Quota { errcode: 45011, .. }
        ));
        for c in [48001, 61007] {
            assert!(
                matches!(Error::from_api("x", c, "m"), Error::WechatApi { .. }),
                "{c}"
            );
        }
        assert!(matches!(
            Error::from_api("x", -1, "m"),
            Error::WechatApi { errcode: -1, .. }
        ));
        assert!(matches!(
            Error::from_api("x", 40001, "m"),
            Error::WechatApi { .. }
        ));
    }

    #[test]
    fn classification_methods() {
        let e = Error::from_api("x", -1, "system error");
        assert!(e.is_retryable() && !e.is_config() && e.code() == Some(-1));
        let e = Error::from_api("x", 42001, "expired");
        assert!(e.is_token_invalid() && !e.is_retryable());
        let e = Error::from_api(
            "api_component_token",
            61004,
            "access clientip is not registered",
        );
        assert!(e.is_config() && !e.is_retryable() && e.code() == Some(61004));
        let e = Error::from_api("x", 45009, "quota");
        assert!(e.is_quota() && !e.is_retryable());
        assert!(Error::TicketMissing.is_ticket_problem());
        assert!(Error::from_api("x", 61006, "m").is_ticket_problem());
        let e = Error::MustReauthorize {
            authorizer_appid: "wx1".into(),
            errcode: Some(61023),
            reason: "r".into(),
            source: Some(Arc::new(Error::HttpStatus {
                endpoint: "api_get_authorizer_list",
                status: 404,
                attempts: 1,
            })),
        };
        assert!(e.must_reauthorize() && e.code() == Some(61023));
        assert_eq!(e.class(), Some(ErrorClass::RefreshTokenInvalid));
        assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("404")));
        assert!(e.to_string().contains("61023") && e.to_string().contains("recovery failed"));
        let e = Error::MustReauthorize {
            authorizer_appid: "wx1".into(),
            errcode: Some(61003),
            reason: "r".into(),
            source: None,
        };
        assert_eq!(e.class(), Some(ErrorClass::NotAuthorized));
        assert!(Error::from_api("x", 61003, "m").must_reauthorize());
        let e = Error::Transport {
            endpoint: "x",
            kind: TransportKind::Timeout,
            message: "t".into(),
            attempts: 6,
        };
        assert!(e.is_retryable() && e.code().is_none());
        let e = Error::HttpStatus {
            endpoint: "x",
            status: 502,
            attempts: 6,
        };
        assert!(e.is_retryable());
        let e = Error::HttpStatus {
            endpoint: "x",
            status: 404,
            attempts: 1,
        };
        assert!(!e.is_retryable());
    }

    #[test]
    fn new_codes_classify() {
        let e = Error::from_api("x", 45011, "api minute-quota reach limit");
        assert!(e.is_quota() && !e.is_retryable());
        assert_eq!(e.class(), Some(ErrorClass::RateLimited));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(60)));
        assert_eq!(Error::from_api("x", 45009, "m").retry_after(), None);
        for c in [48001, 61007] {
            let e = Error::from_api("x", c, "api unauthorized");
            assert!(
                e.is_permission_denied() && !e.is_retryable() && !e.is_config(),
                "{c}"
            );
            assert_eq!(e.class(), Some(ErrorClass::PermissionDenied));
        }
        assert!(!Error::from_api("x", 40001, "m").is_permission_denied());
        let e = Error::from_api("get_authorizer_option", 40164, "invalid ip");
        assert!(e.is_config() && e.to_string().contains("whitelist"));
        assert!(Error::from_api("x", 41001, "access_token missing").is_config());
        assert!(Error::from_api("x", 61014, "m").is_config());
        assert!(Error::from_api("x", 61011, "invalid component").is_config());
    }

    #[test]
    fn must_reauthorize_class_follows_its_code() {
        let mk = |errcode| Error::MustReauthorize {
            authorizer_appid: "wx1".into(),
            errcode,
            reason: "r".into(),
            source: None,
        };
        assert_eq!(mk(Some(61003)).class(), Some(ErrorClass::NotAuthorized));
        assert_eq!(
            mk(Some(61023)).class(),
            Some(ErrorClass::RefreshTokenInvalid)
        );
        assert_eq!(mk(None).class(), Some(ErrorClass::RefreshTokenInvalid));
        assert!(mk(Some(61003)).must_reauthorize() && mk(None).must_reauthorize());
    }

    #[test]
    fn component_token_40001_names_appsecret_and_ticket() {
        let s = Error::from_api("api_component_token", 40001, "invalid credential").to_string();
        assert!(s.contains("appsecret") && s.contains("ticket"), "{s}");
        assert!(!s.contains("refreshed and the call retried"), "{s}");
        let s = Error::from_api("api_query_auth", 40001, "invalid credential").to_string();
        assert!(s.contains("refreshed"), "{s}");
    }

    #[test]
    fn response_too_large_display() {
        let e = Error::ResponseTooLarge {
            endpoint: "api_query_auth",
            limit: 4096,
        };
        let s = e.to_string();
        assert!(s.contains("4096") && s.contains("api_query_auth"), "{s}");
        assert!(!e.is_retryable() && e.code().is_none());
    }

    #[test]
    fn display_is_one_line_with_hint() {
        let e = Error::from_api(
            "api_component_token",
            61004,
            "access clientip\nis not registered rid: 1",
        );
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        assert!(
            s.contains("61004") && s.contains("whitelist") && s.contains("api_component_token"),
            "{s}"
        );
        let s = Error::TicketMissing.to_string();
        assert!(s.contains("start_push_ticket"));
        let s = PushError::MissingQueryParam("msg_signature").to_string();
        assert!(
            s.contains("`signature` parameter is not msg_signature"),
            "{s}"
        );
    }

    #[test]
    fn mini_program_errors_are_typed() {
        use crate::wxa::errors::WxaErrcode;
        let quota = Error::from_api("/wxa/submit_audit", 85085, "quota");
        assert!(quota.is_quota());
        assert_eq!(quota.wxa_code(), Some(WxaErrcode::AuditQuotaSpent));
        let running = Error::from_api("/wxa/submit_audit", 85009, "running");
        assert_eq!(running.class(), Some(ErrorClass::WrongState));
        assert_eq!(running.wxa_code(), Some(WxaErrcode::AuditRunning));
        let privacy = Error::from_api("/wxa/submit_audit", 61039, "wait");
        assert_eq!(privacy.retry_after(), Some(Duration::from_secs(60)));
        let empty = Error::from_api("/wxa/release", 44002, "empty post data");
        assert!(empty.is_config());
        assert_eq!(empty.wxa_code(), Some(WxaErrcode::EmptyBody));
        let denied = Error::from_api("/wxa/commit", 61007, "api unauthorized");
        assert!(denied.is_permission_denied());
        assert_eq!(denied.missing_permission_set(), Some(18));
        assert!(denied.to_string().contains("permission set 18"), "{denied}");
        let other = Error::from_api("api_query_auth", 61007, "api unauthorized");
        assert_eq!(other.missing_permission_set(), None);
        assert_eq!(Error::from_api("x", 40001, "").wxa_code(), None);
    }
}
