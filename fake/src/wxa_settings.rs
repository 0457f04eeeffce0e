//! [`WxaSettings`]: the fake platform's mini-program limits and timings (review quota, privacy
//! detection time, undo limits, template library size).

/// The mini-program limits and timings of the fake (see [`crate::FakeWeChat::set_wxa_settings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WxaSettings {
    /// Reviews the platform may submit per calendar month (Beijing time), shared by all its
    /// mini programs (`queryquota` `limit`); one more answers 85085.
    pub audit_quota: u64,
    /// Speed-ups per month (`speedup_limit`).
    pub speedup_quota: u64,
    /// How long the privacy detection runs after a commit (seconds of the fake clock): until
    /// then `get_code_privacy_info` and `submit_audit` answer 61039.
    pub privacy_detection_secs: u64,
    /// `undocodeaudit` calls per account per day (5).
    pub undo_daily_limit: usize,
    /// `undocodeaudit` calls per account per month (10).
    pub undo_monthly_limit: usize,
    /// Templates the library holds; one more answers 85065.
    pub template_library_limit: usize,
}

impl Default for WxaSettings {
    fn default() -> Self {
        Self {
            audit_quota: 20,
            speedup_quota: 5,
            privacy_detection_secs: 60,
            undo_daily_limit: 5,
            undo_monthly_limit: 10,
            template_library_limit: 100,
        }
    }
}

impl WxaSettings {
    /// Sets [`WxaSettings::audit_quota`].
    pub fn audit_quota(mut self, n: u64) -> Self {
        self.audit_quota = n;
        self
    }

    /// Sets [`WxaSettings::privacy_detection_secs`].
    pub fn privacy_detection_secs(mut self, secs: u64) -> Self {
        self.privacy_detection_secs = secs;
        self
    }

    /// Sets [`WxaSettings::template_library_limit`].
    pub fn template_library_limit(mut self, n: usize) -> Self {
        self.template_library_limit = n;
        self
    }

    /// Sets [`WxaSettings::speedup_quota`].
    pub fn speedup_quota(mut self, n: u64) -> Self {
        self.speedup_quota = n;
        self
    }
}

pub(crate) use wxopen_proto::wxa::calendar::{day_key, month_key};
