//! Appids: the shape WeChat gives them, checked before an appid reaches a store key, a URL or a
//! log line.

use crate::error::{Error, Result};

/// The longest appid accepted (WeChat appids are 18 characters).
pub const MAX_APPID_LEN: usize = 32;

/// `true` for a well-formed appid: 1 to [`MAX_APPID_LEN`] ASCII letters, digits or `_`.
pub fn valid_appid(appid: &str) -> bool {
    !appid.is_empty()
        && appid.len() <= MAX_APPID_LEN
        && appid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// [`valid_appid`] as a typed error.
pub fn check_appid(appid: &str) -> Result<()> {
    if valid_appid(appid) {
        Ok(())
    } else {
        Err(Error::invalid(
            "authorizer_appid",
            format!("must be 1 to {MAX_APPID_LEN} ASCII letters, digits or '_'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appids_are_validated() {
        assert!(valid_appid("wx570bc396a51b8ff8"));
        assert!(valid_appid("wx_not_listed"));
        assert!(!valid_appid(""));
        assert!(!valid_appid(&"a".repeat(33)));
        assert!(valid_appid(&"a".repeat(32)));
        for bad in ["wx 1", "wx\n1", "wx:1", "wx{1}", "ｗｘ", "wx/../1"] {
            assert!(!valid_appid(bad), "{bad}");
        }
    }
}
