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

/// The calendar month (as `year * 12 + month - 1`) of a Unix time in Beijing time (UTC+8),
/// the month WeChat's review quota counts.
pub(crate) fn month_key(unix: u64) -> u64 {
    let (y, m, _) = civil_date(unix);
    y * 12 + (m - 1)
}

/// The Beijing-time day number of a Unix time.
pub(crate) fn day_key(unix: u64) -> u64 {
    (unix + 8 * 3600) / 86_400
}

/// (year, month 1–12, day 1–31) of a Unix time in UTC+8 (days-to-civil, proleptic Gregorian).
pub(crate) fn civil_date(unix: u64) -> (u64, u64, u64) {
    let days = day_key(unix) + 719_468;
    let era = days / 146_097;
    let doe = days % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        // 2026-12-31T16:00:00Z is 2027-01-01 00:00 in Beijing.
        assert_eq!(civil_date(1_798_761_600 - 8 * 3600), (2027, 1, 1));
        assert_eq!(civil_date(1_798_761_600 - 8 * 3600 - 1), (2026, 12, 31));
        assert_ne!(
            month_key(1_798_761_600 - 8 * 3600),
            month_key(1_798_761_600 - 8 * 3600 - 1)
        );
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
    }
}
