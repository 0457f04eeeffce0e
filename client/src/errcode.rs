//! WeChat `errcode` classification: a pure table from code to what the client does about it.

/// What the client does about an `errcode` (or a transport failure of the same nature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient (-1 "system busy"): bounded exponential backoff, then the fallback domain.
    Retryable,
    /// The access token used was rejected (40001, 40014, 42001): expire only that token,
    /// refresh once, retry once.
    TokenInvalid,
    /// The `component_verify_ticket` is missing, stale or invalid (61005, 61006): wait for the
    /// next push or call `start_push_ticket`.
    Ticket,
    /// The authorizer refresh token is invalid (61023): recover it from the authorizer list,
    /// else the account must re-authorize.
    RefreshTokenInvalid,
    /// The account no longer authorizes this component (61003): it must re-authorize.
    NotAuthorized,
    /// A quota is exhausted (45009 daily API quota, 48006 monthly clear_quota limit): no retry.
    Quota,
    /// Misconfiguration (61004 IP whitelist, 40125 bad appsecret, 41004 missing appsecret,
    /// 40013 bad appid): no retry; fix the configuration.
    Config,
    /// Anything else: reported as is, no retry.
    Other,
}

/// Classifies a WeChat `errcode`.
pub fn classify(errcode: i64) -> ErrorClass {
    match errcode {
        -1 => ErrorClass::Retryable,
        40001 | 40014 | 42001 => ErrorClass::TokenInvalid,
        61005 | 61006 => ErrorClass::Ticket,
        61023 => ErrorClass::RefreshTokenInvalid,
        61003 => ErrorClass::NotAuthorized,
        45009 | 48006 => ErrorClass::Quota,
        61004 | 40125 | 41004 | 40013 => ErrorClass::Config,
        _ => ErrorClass::Other,
    }
}

/// A one-line explanation of what to do about an `errcode`, where one helps.
pub fn hint(errcode: i64) -> Option<&'static str> {
    Some(match errcode {
        -1 => "WeChat is busy; retried with backoff and the fallback domain",
        40001 | 40014 | 42001 => "the access token was rejected; it was refreshed and the call retried once",
        61005 => "component_verify_ticket expired; wait for the next push (every 10 minutes) or call start_push_ticket",
        61006 => "component_verify_ticket invalid; wait for the next push or call start_push_ticket",
        61023 => "authorizer refresh token invalid and not recoverable from the authorizer list; the account must re-authorize",
        61003 => "the account has not authorized this component; it must re-authorize",
        45009 => "daily API quota reached; see clear_quota / clear_quota_v2",
        48006 => "monthly clear_quota limit reached",
        61004 => "this server's IP is not on the component's IP whitelist (open platform settings)",
        40125 => "invalid component appsecret; check the configuration",
        41004 => "component appsecret missing; check the configuration",
        40013 => "invalid appid; check the component or authorizer appid",
        48001 => "api unauthorized: the account did not grant this permission set",
        61011 => "invalid component appid",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_is_classified() {
        assert_eq!(classify(-1), ErrorClass::Retryable);
        for c in [40001, 40014, 42001] {
            assert_eq!(classify(c), ErrorClass::TokenInvalid, "{c}");
        }
        for c in [61005, 61006] {
            assert_eq!(classify(c), ErrorClass::Ticket, "{c}");
        }
        assert_eq!(classify(61023), ErrorClass::RefreshTokenInvalid);
        assert_eq!(classify(61003), ErrorClass::NotAuthorized);
        for c in [45009, 48006] {
            assert_eq!(classify(c), ErrorClass::Quota, "{c}");
        }
        for c in [61004, 40125, 41004, 40013] {
            assert_eq!(classify(c), ErrorClass::Config, "{c}");
        }
        for c in [0, 1, 48001, 61011, 47001, i64::MIN, i64::MAX] {
            assert_eq!(classify(c), ErrorClass::Other, "{c}");
        }
    }

    #[test]
    fn hints_exist_for_actionable_codes() {
        for c in [
            -1, 40001, 61004, 61005, 61006, 61023, 45009, 48006, 40125, 41004, 40013,
        ] {
            let h = hint(c);
            assert!(h.is_some_and(|h| !h.contains('\n')), "{c}");
        }
        assert!(hint(12345).is_none());
        assert!(hint(61004).is_some_and(|h| h.contains("whitelist")));
    }
}
