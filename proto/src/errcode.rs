//! WeChat `errcode` classification: a pure table from code to what the client does about it.

use std::time::Duration;

/// What the client does about an `errcode` (or a transport failure of the same nature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient (-1 "system busy"): bounded exponential backoff, then the fallback domain —
    /// for idempotent calls only; for a call that is not idempotent, -1 is an answer (the
    /// request arrived) and it is not repeated.
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
    /// The account did not grant the permission set this API belongs to (48001 api
    /// unauthorized, 61007 api unauthorized for the component): no retry; the account must
    /// grant it (re-authorize with that permission set).
    PermissionDenied,
    /// A long quota is exhausted (45009 daily API quota, 48006 monthly clear_quota limit): no
    /// retry.
    Quota,
    /// A per-minute frequency limit was hit (45011): no immediate retry; back off for about
    /// [`RATE_LIMIT_BACKOFF`].
    RateLimited,
    /// Misconfiguration or a malformed call (61004 and 40164 IP whitelist, 40125 bad
    /// appsecret, 41004 missing appsecret, 40013 bad appid, 61011 invalid component, 41001
    /// access token missing, 61014 component API called with another kind of token): no
    /// retry; fix the configuration or the call.
    Config,
    /// WeChat is still working on something the call waits for (61039: the privacy detection
    /// after a commit): call again after [`PENDING_BACKOFF`], without redoing the step before.
    Pending,
    /// The account's code is not in a state that allows this step (85009 a review is
    /// running, 85086 nothing committed, 85019 nothing approved, 85020 release not allowed,
    /// 85052 already released, 87012 already rejected, 85058 no review): no retry; wait for
    /// the state to change or do the missing step first.
    WrongState,
    /// What the call names does not exist (85012 unknown `auditid`, 85064 unknown template).
    NotFound,
    /// Anything else: reported as is, no retry.
    Other,
}

/// How long to wait after 45011 (per-minute API frequency limit) before calling again.
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(60);

/// How long to wait after 61039 (privacy detection still running) before submitting again:
/// "about a minute" (api-contracts §20).
pub const PENDING_BACKOFF: Duration = Duration::from_secs(60);

/// Classifies a WeChat `errcode`.
pub fn classify(errcode: i64) -> ErrorClass {
    match errcode {
        -1 => ErrorClass::Retryable,
        40001 | 40014 | 42001 => ErrorClass::TokenInvalid,
        61005 | 61006 => ErrorClass::Ticket,
        61023 => ErrorClass::RefreshTokenInvalid,
        61003 => ErrorClass::NotAuthorized,
        48001 | 61007 => ErrorClass::PermissionDenied,
        45009 | 48006 | 85085 | 85065 | 87013 => ErrorClass::Quota,
        45011 => ErrorClass::RateLimited,
        61004 | 40164 | 40125 | 41004 | 40013 | 61011 | 41001 | 61014 | 44002 | 86000 | 61040 => {
            ErrorClass::Config
        }
        61039 => ErrorClass::Pending,
        85009 | 85086 | 85019 | 85020 | 85052 | 87012 | 85058 => ErrorClass::WrongState,
        85012 | 85064 => ErrorClass::NotFound,
        _ => ErrorClass::Other,
    }
}

/// How long to wait before calling again after `errcode`, when the code says so (45011,
/// 61039).
pub fn retry_after(errcode: i64) -> Option<Duration> {
    match classify(errcode) {
        ErrorClass::RateLimited => Some(RATE_LIMIT_BACKOFF),
        ErrorClass::Pending => Some(PENDING_BACKOFF),
        _ => None,
    }
}

/// A one-line explanation of what to do about an `errcode`, where one helps.
///
/// Prefer [`hint_for`] when the endpoint is known: some codes mean something else on some
/// endpoints.
pub fn hint(errcode: i64) -> Option<&'static str> {
    Some(match errcode {
        -1 => "WeChat is busy; idempotent calls were retried with backoff and the fallback domain",
        40001 | 40014 | 42001 => "the access token was rejected; it was refreshed and the call retried once",
        61005 => "component_verify_ticket expired; wait for the next push (every 10 minutes) or call start_push_ticket",
        61006 => "component_verify_ticket invalid; wait for the next push or call start_push_ticket",
        61023 => "authorizer refresh token invalid and not recoverable from the authorizer list; the account must re-authorize",
        61003 => "the account has not authorized this component; it must re-authorize",
        45009 => "daily API quota reached; see clear_quota / clear_quota_v2",
        45011 => "API minute quota reached; back off about 60 s before calling again",
        48006 => "monthly clear_quota limit reached",
        61004 => "this server's IP is not on the component's IP whitelist (open platform settings)",
        40164 => "this server's IP is not on the IP whitelist required for this API (check the component's and the account's whitelist settings)",
        40125 => "invalid component appsecret; check the configuration",
        41004 => "component appsecret missing; check the configuration",
        41001 => "access token missing from the request; this API needs an access_token query parameter",
        40013 => "invalid appid; check the component or authorizer appid",
        48001 => "api unauthorized: the account did not grant the permission set this API belongs to",
        61007 => "api unauthorized for this component: the account did not grant the permission set this API belongs to",
        61011 => "invalid component appid; check the configuration",
        61014 => "this component API must be called with the component access token, not an authorizer token",
        c => return crate::wxa::errors::WxaErrcode::from_code(c).map(|w| w.hint()),
    })
}

/// [`hint`] for a code answered by a given endpoint (its name, e.g. `api_component_token`).
///
/// `api_component_token` takes no access token, so 40001 there does not mean a stale token:
/// WeChat rejected the appsecret or the ticket.
pub fn hint_for(endpoint: &str, errcode: i64) -> Option<&'static str> {
    match (endpoint, errcode) {
        // The user's own token (web authorization), not one wxopen keeps: nothing to refresh.
        (e, 40001 | 40014 | 42001) if e.ends_with("sns/userinfo") => Some(
            "the user's access token was rejected or has expired (2 hours): refresh it with the user's refresh token, or send the user through the link again",
        ),
        (e, 40030 | 42002) if e.ends_with("oauth2/component/refresh_token") => Some(
            "the user's refresh token is invalid or expired (30 days): send the user through the link again",
        ),
        ("api_component_token", 40001) => Some(
            "api_component_token takes no access token: 40001 here means the component appsecret or the component_verify_ticket was rejected; check the appsecret and that the newest pushed ticket is stored",
        ),
        (e, 48001 | 61007) if crate::wxa::permission::permission_set_of(e) == Some(crate::wxa::permission::MINI_PROGRAM_DEVELOPMENT) => Some(
            "the account did not grant permission set 18 (mini-program development, 小程序开发与数据分析); ask it to re-authorize the platform with that set",
        ),
        _ => hint(errcode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_own_token_is_not_said_to_be_refreshed() {
        let h = hint_for("/sns/userinfo", 40001).unwrap();
        assert!(
            h.contains("user's access token") && !h.contains("was refreshed"),
            "{h}"
        );
        let h = hint_for("/sns/oauth2/component/refresh_token", 40030).unwrap();
        assert!(h.contains("refresh token"), "{h}");
        assert!(hint_for("api_query_auth", 40001)
            .unwrap()
            .contains("refreshed"));
    }

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
        for c in [48001, 61007] {
            assert_eq!(classify(c), ErrorClass::PermissionDenied, "{c}");
        }
        for c in [45009, 48006] {
            assert_eq!(classify(c), ErrorClass::Quota, "{c}");
        }
        assert_eq!(classify(45011), ErrorClass::RateLimited);
        for c in [61004, 40164, 40125, 41004, 40013, 61011, 41001, 61014] {
            assert_eq!(classify(c), ErrorClass::Config, "{c}");
        }
        for c in [0, 1, 47001, 61012, i64::MIN, i64::MAX] {
            assert_eq!(classify(c), ErrorClass::Other, "{c}");
        }
    }

    #[test]
    fn mini_program_codes_are_classified() {
        for c in [85085, 85065, 87013] {
            assert_eq!(classify(c), ErrorClass::Quota, "{c}");
        }
        for c in [44002, 86000, 61040] {
            assert_eq!(classify(c), ErrorClass::Config, "{c}");
        }
        assert_eq!(classify(61039), ErrorClass::Pending);
        assert_eq!(retry_after(61039), Some(Duration::from_secs(60)));
        for c in [85009, 85086, 85019, 85020, 85052, 87012, 85058] {
            assert_eq!(classify(c), ErrorClass::WrongState, "{c}");
            assert_eq!(retry_after(c), None, "{c}");
        }
        for c in [85012, 85064] {
            assert_eq!(classify(c), ErrorClass::NotFound, "{c}");
        }
        for w in crate::wxa::WxaErrcode::ALL {
            assert!(hint(w.code()).is_some(), "{w:?}");
        }
        assert!(hint(85085).is_some_and(|h| h.contains("monthly")));
    }

    #[test]
    fn permission_denied_on_a_mini_program_call_names_set_18() {
        for c in [61007, 48001] {
            let h = hint_for("/wxa/submit_audit", c).unwrap_or_default();
            assert!(h.contains("permission set 18"), "{h}");
        }
        assert_eq!(hint_for("/cgi-bin/x", 61007), hint(61007));
    }

    #[test]
    fn minute_quota_backs_off_a_minute() {
        assert_eq!(retry_after(45011), Some(Duration::from_secs(60)));
        for c in [45009, 48006, -1, 0, 40001] {
            assert_eq!(retry_after(c), None, "{c}");
        }
    }

    #[test]
    fn hints_exist_for_actionable_codes() {
        for c in [
            -1, 40001, 61004, 61005, 61006, 61023, 61003, 45009, 45011, 48006, 40125, 41004, 40013,
            48001, 61007, 61011, 61014, 41001, 40164,
        ] {
            let h = hint(c);
            assert!(h.is_some_and(|h| !h.contains('\n')), "{c}");
        }
        assert!(hint(12345).is_none());
        assert!(hint(61004).is_some_and(|h| h.contains("whitelist")));
        assert!(hint(40164).is_some_and(|h| h.contains("whitelist")));
        assert!(hint(45011).is_some_and(|h| h.contains("60 s")));
    }

    #[test]
    fn component_token_40001_is_a_credential_problem() {
        let h = hint_for("api_component_token", 40001).unwrap_or_default();
        assert!(h.contains("appsecret") && h.contains("ticket"), "{h}");
        assert!(!h.contains("refreshed"), "{h}");
        // Elsewhere 40001 is a stale token.
        assert_eq!(hint_for("api_query_auth", 40001), hint(40001));
        assert!(hint(40001).is_some_and(|h| h.contains("refreshed")));
        assert_eq!(hint_for("api_component_token", 61004), hint(61004));
    }
}
