//! The errcodes of mini-program code management, review and release as a typed enum
//! ([`WxaErrcode`]), each with what to do about it.

/// A WeChat errcode specific to mini-program code management (see [`WxaErrcode::from_code`]).
///
/// Sources: api-contracts §20–§22. Confirmed on the official pages (developers.weixin.qq.com,
/// read through the search tool): 44002 on `release` ("post data is empty … 44002") and 87013
/// on `undocodeaudit` ("no quota to undo code", 5 a day, 10 a month); the others are taken
/// from the contracts and the peers' issue trackers, not yet each confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WxaErrcode {
    /// 85009: a review is already running for this account (undo it or wait).
    AuditRunning,
    /// 85085: the platform's monthly review quota (shared by all accounts) is spent.
    AuditQuotaSpent,
    /// 85086: nothing was committed; commit before submitting.
    NotCommitted,
    /// 61039: WeChat's privacy detection after the commit has not finished; retry in about a
    /// minute without committing again (that restarts it).
    PrivacyCheckRunning,
    /// 61040: the code uses privacy APIs the account's privacy settings do not declare.
    PrivacyNotDeclared,
    /// 85019: no approved version to release.
    NothingApproved,
    /// 85020: the review status does not allow release.
    ReleaseNotAllowed,
    /// 85052: this version is already released.
    AlreadyReleased,
    /// 87012: the review was already rejected (nothing to undo).
    AuditAlreadyRejected,
    /// 85012: the `auditid` is unknown.
    UnknownAuditId,
    /// 85058: no review exists for this account.
    NoAudit,
    /// 86000: the call must be made through a third-party platform.
    NotThroughPlatform,
    /// 44002: the POST body is empty (`release` needs a body of `{}`).
    EmptyBody,
    /// 85064: the template is not in the library.
    TemplateNotFound,
    /// 85065: the template library is full.
    TemplateLibraryFull,
    /// 87013: no undo left (5 a day, 10 a month per account).
    UndoQuotaSpent,
    /// 61007: the account did not grant the permission set the API belongs to
    /// ([`crate::Error::missing_permission_set`] names it).
    PermissionSetMissing,
}

impl WxaErrcode {
    /// Every variant, for tables and tests.
    pub const ALL: [WxaErrcode; 17] = [
        WxaErrcode::AuditRunning,
        WxaErrcode::AuditQuotaSpent,
        WxaErrcode::NotCommitted,
        WxaErrcode::PrivacyCheckRunning,
        WxaErrcode::PrivacyNotDeclared,
        WxaErrcode::NothingApproved,
        WxaErrcode::ReleaseNotAllowed,
        WxaErrcode::AlreadyReleased,
        WxaErrcode::AuditAlreadyRejected,
        WxaErrcode::UnknownAuditId,
        WxaErrcode::NoAudit,
        WxaErrcode::NotThroughPlatform,
        WxaErrcode::EmptyBody,
        WxaErrcode::TemplateNotFound,
        WxaErrcode::TemplateLibraryFull,
        WxaErrcode::UndoQuotaSpent,
        WxaErrcode::PermissionSetMissing,
    ];

    /// The typed code for a WeChat `errcode`, if it is one of these.
    pub fn from_code(errcode: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == errcode)
    }

    /// The numeric `errcode`.
    pub fn code(self) -> i64 {
        match self {
            WxaErrcode::AuditRunning => 85009,
            WxaErrcode::AuditQuotaSpent => 85085,
            WxaErrcode::NotCommitted => 85086,
            WxaErrcode::PrivacyCheckRunning => 61039,
            WxaErrcode::PrivacyNotDeclared => 61040,
            WxaErrcode::NothingApproved => 85019,
            WxaErrcode::ReleaseNotAllowed => 85020,
            WxaErrcode::AlreadyReleased => 85052,
            WxaErrcode::AuditAlreadyRejected => 87012,
            WxaErrcode::UnknownAuditId => 85012,
            WxaErrcode::NoAudit => 85058,
            WxaErrcode::NotThroughPlatform => 86000,
            WxaErrcode::EmptyBody => 44002,
            WxaErrcode::TemplateNotFound => 85064,
            WxaErrcode::TemplateLibraryFull => 85065,
            WxaErrcode::UndoQuotaSpent => 87013,
            WxaErrcode::PermissionSetMissing => 61007,
        }
    }

    /// What to do about it, one line.
    pub fn hint(self) -> &'static str {
        match self {
            WxaErrcode::AuditRunning => "a review is already running for this mini program; wait for its result or undo it (undocodeaudit)",
            WxaErrcode::AuditQuotaSpent => "the platform's monthly review quota (shared by every account) is spent; submit again after it resets (see queryquota)",
            WxaErrcode::NotCommitted => "no code is committed for this mini program; commit before submitting",
            WxaErrcode::PrivacyCheckRunning => "WeChat's privacy detection of the last commit is still running; submit again in about a minute, do not commit again",
            WxaErrcode::PrivacyNotDeclared => "the code uses privacy APIs the privacy settings do not declare; declare them (setprivacysetting) and submit again",
            WxaErrcode::NothingApproved => "no approved version to release; wait for the review result",
            WxaErrcode::ReleaseNotAllowed => "the review status does not allow release",
            WxaErrcode::AlreadyReleased => "this version is already released",
            WxaErrcode::AuditAlreadyRejected => "the review was already rejected; nothing to undo",
            WxaErrcode::UnknownAuditId => "unknown auditid",
            WxaErrcode::NoAudit => "no review exists for this mini program",
            WxaErrcode::NotThroughPlatform => "this call must be made by a third-party platform with the account's authorizer token",
            WxaErrcode::EmptyBody => "the request body is empty; release needs a body of {}",
            WxaErrcode::TemplateNotFound => "the template is not in the platform's template library",
            WxaErrcode::TemplateLibraryFull => "the platform's template library is full; delete templates first",
            WxaErrcode::UndoQuotaSpent => "no undo left for this mini program (5 a day, 10 a month)",
            WxaErrcode::PermissionSetMissing => "api unauthorized for this component: the account did not grant the permission set this API belongs to",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in WxaErrcode::ALL {
            assert_eq!(WxaErrcode::from_code(c.code()), Some(c));
            assert!(!c.hint().contains('\n'));
        }
        let mut codes: Vec<i64> = WxaErrcode::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), WxaErrcode::ALL.len());
        for c in [0, -1, 40001, 85000, i64::MAX] {
            assert_eq!(WxaErrcode::from_code(c), None, "{c}");
        }
        assert_eq!(
            WxaErrcode::from_code(85085),
            Some(WxaErrcode::AuditQuotaSpent)
        );
    }
}
