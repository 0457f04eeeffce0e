//! Replay protection: is a push's timestamp close enough to `now`?
//!
//! The core has no clock; the caller passes `now` in Unix seconds.

use crate::error::Error;

/// Accept `timestamp` (decimal Unix seconds) only if it is within `window_secs` of `now_unix`,
/// in either direction. Anything else, including a non-number, is [`Error::StaleTimestamp`].
///
/// ```
/// use wxopen_core::timestamp::check_window;
/// assert!(check_window("1700000000", 1_700_000_100, 300).is_ok());
/// assert!(check_window("1700000000", 1_700_001_000, 300).is_err());
/// ```
pub fn check_window(timestamp: &str, now_unix: u64, window_secs: u64) -> Result<(), Error> {
    let ts = parse(timestamp).ok_or(Error::StaleTimestamp)?;
    if ts.abs_diff(now_unix) <= window_secs {
        Ok(())
    } else {
        Err(Error::StaleTimestamp)
    }
}

/// Parse 1..=20 ASCII digits into seconds.
pub fn parse(timestamp: &str) -> Option<u64> {
    if timestamp.is_empty() || timestamp.len() > 20 {
        return None;
    }
    timestamp.bytes().try_fold(0u64, |acc, b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_both_directions_and_garbage() {
        assert!(check_window("100", 400, 300).is_ok());
        assert!(check_window("700", 400, 300).is_ok());
        assert_eq!(check_window("99", 400, 300), Err(Error::StaleTimestamp));
        assert_eq!(check_window("1e3", 400, 300), Err(Error::StaleTimestamp));
        assert_eq!(check_window("", 400, 300), Err(Error::StaleTimestamp));
        assert_eq!(check_window("-1", 0, 300), Err(Error::StaleTimestamp));
        assert_eq!(parse("99999999999999999999"), None);
        assert_eq!(parse("18446744073709551615"), Some(u64::MAX));
    }
}
