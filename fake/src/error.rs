//! Errors of the fake's own (non-HTTP) operations.

use std::fmt;

/// Why an operation driven by the test (not by an API call) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FakeError {
    /// The pre-auth code was never issued.
    UnknownPreAuthCode,
    /// The pre-auth code was already used for a consent (codes are single use).
    PreAuthCodeUsed,
    /// The pre-auth code is past its validity.
    PreAuthCodeExpired,
    /// No account with this appid ever authorized the component.
    UnknownAuthorizer(String),
    /// The message crypto refused an input (bad EncodingAESKey, oversized message, …).
    Crypto(wxopen_core::Error),
    /// A reply handed to the fake is not the expected XML.
    Reply(String),
    /// Binding or reaching a loopback listener failed.
    Io(std::io::Error),
    /// A release check could not be started (unknown group, no HTTP client); failed checks
    /// are not errors but entries of the report.
    ReleaseCheck(String),
    /// The mini program has no review the reviewer could decide (none submitted, or already
    /// decided).
    NoRunningAudit(String),
    /// A web-authorization link or a user hook the fake refuses (what WeChat's page would
    /// show instead of redirecting).
    UserAuth(String),
}

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FakeError::UnknownPreAuthCode => f.write_str("unknown pre_auth_code"),
            FakeError::PreAuthCodeUsed => f.write_str("pre_auth_code already used"),
            FakeError::PreAuthCodeExpired => f.write_str("pre_auth_code expired"),
            FakeError::UnknownAuthorizer(a) => write!(f, "unknown authorizer {a}"),
            FakeError::Crypto(e) => write!(f, "message crypto: {e} (WeChat code {})", e.code()),
            FakeError::Reply(why) => write!(f, "bad reply: {why}"),
            FakeError::Io(e) => write!(f, "io: {e}"),
            FakeError::ReleaseCheck(why) => write!(f, "release check: {why}"),
            FakeError::NoRunningAudit(a) => write!(f, "mini program {a} has no review in progress"),
            FakeError::UserAuth(why) => write!(f, "web authorization: {why}"),
        }
    }
}

impl std::error::Error for FakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FakeError::Crypto(e) => Some(e),
            FakeError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<wxopen_core::Error> for FakeError {
    fn from(e: wxopen_core::Error) -> Self {
        FakeError::Crypto(e)
    }
}

impl From<std::io::Error> for FakeError {
    fn from(e: std::io::Error) -> Self {
        FakeError::Io(e)
    }
}
