//! WeChat's calendar for mini-program limits: days and months in Beijing time (UTC+8), which
//! the monthly review quota and the per-day undo limit count in.

const BEIJING_OFFSET: u64 = 8 * 3600;

/// The Beijing-time day number (days since 1970-01-01) of a Unix time.
pub fn day_key(unix: u64) -> u64 {
    unix.saturating_add(BEIJING_OFFSET) / 86_400
}

/// (year, month 1–12, day 1–31) of a Unix time in Beijing time.
pub fn beijing_date(unix: u64) -> (u64, u64, u64) {
    // Days-to-civil on the proleptic Gregorian calendar, with eras of 400 years.
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

/// The calendar month of a Unix time in Beijing time, as `year * 12 + month - 1`.
pub fn month_key(unix: u64) -> u64 {
    let (y, m, _) = beijing_date(unix);
    y * 12 + (m - 1)
}

/// The Unix time of the next Beijing midnight after `unix`.
pub fn next_day_start(unix: u64) -> u64 {
    (day_key(unix) + 1) * 86_400 - BEIJING_OFFSET
}

/// The Unix time the next Beijing calendar month starts (when the monthly review quota is
/// back).
pub fn next_month_start(unix: u64) -> u64 {
    let (_, _, d) = beijing_date(unix);
    // Jump past the month's end (at most 31 days), then back to that month's first day.
    let later = unix.saturating_add((32 - d.min(31)) * 86_400);
    let (_, _, d2) = beijing_date(later);
    (day_key(later) + 1 - d2) * 86_400 - BEIJING_OFFSET
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-01T00:00:00+08:00.
    const NEW_YEAR_2027: u64 = 1_798_761_600 - 8 * 3600;

    #[test]
    fn beijing_calendar() {
        assert_eq!(beijing_date(0), (1970, 1, 1));
        assert_eq!(beijing_date(NEW_YEAR_2027), (2027, 1, 1));
        assert_eq!(beijing_date(NEW_YEAR_2027 - 1), (2026, 12, 31));
        assert_ne!(month_key(NEW_YEAR_2027), month_key(NEW_YEAR_2027 - 1));
        // 2000-02-29T00:00:00Z is already 08:00 that day in Beijing.
        assert_eq!(beijing_date(951_782_400), (2000, 2, 29));
    }

    #[test]
    fn next_boundaries() {
        for t in [
            NEW_YEAR_2027 - 1,
            NEW_YEAR_2027 - 31 * 86_400 + 5,
            NEW_YEAR_2027 - 20 * 86_400,
        ] {
            assert_eq!(next_month_start(t), NEW_YEAR_2027, "{t}");
        }
        let feb = next_month_start(NEW_YEAR_2027);
        assert_eq!(beijing_date(feb), (2027, 2, 1));
        assert_eq!(beijing_date(feb - 1), (2027, 1, 31));
        assert_eq!(next_day_start(NEW_YEAR_2027 - 1), NEW_YEAR_2027);
        assert_eq!(next_day_start(NEW_YEAR_2027), NEW_YEAR_2027 + 86_400);
        assert_eq!(
            next_month_start(u64::MAX - 10),
            next_month_start(u64::MAX - 10)
        );
    }
}
