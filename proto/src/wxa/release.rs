//! Releasing reviewed code: `release` (a body of `{}`), gray release and its plan.
//!
//! Confirmed on the official `release` page (developers.weixin.qq.com, via the search tool):
//! POST, permission set 18, and "post data is empty" answering 44002 when no body is sent, so
//! the body must be `{}`. The gray-release fields come from api-contracts §20.

use serde::{Deserialize, Serialize};

use super::code::Extra;
use crate::Error;

/// The body of `release` (and of `getversioninfo`): serialises to `{}`, which WeChat needs
/// (an empty body is 44002).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyBody {}

/// `POST /wxa/grayrelease`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrayReleaseRequest {
    /// Share of users on the new version, 1–100.
    pub gray_percentage: u8,
}

impl GrayReleaseRequest {
    /// A gray release to `percentage` % of users (1–100).
    pub fn new(percentage: u8) -> Result<Self, Error> {
        if !(1..=100).contains(&percentage) {
            return Err(Error::invalid("gray_percentage", "must be 1 to 100"));
        }
        Ok(Self {
            gray_percentage: percentage,
        })
    }
}

/// The plan inside `getgrayreleaseplan`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrayPlan {
    /// 0 initial, 1 running, 2 paused, 3 done, 4 deleted.
    #[serde(default)]
    pub status: i64,
    /// When it was created (Unix seconds).
    #[serde(default)]
    pub create_timestamp: u64,
    /// Share of users on the new version.
    #[serde(default)]
    pub gray_percentage: u8,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `getgrayreleaseplan`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrayReleasePlan {
    /// The current plan.
    #[serde(default)]
    pub gray_release_plan: GrayPlan,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn release_body_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&EmptyBody {}).unwrap(), "{}");
    }

    #[test]
    fn gray_percentage_is_1_to_100() {
        assert!(GrayReleaseRequest::new(0).is_err());
        assert!(GrayReleaseRequest::new(101).is_err());
        assert_eq!(GrayReleaseRequest::new(30).unwrap().gray_percentage, 30);
    }
}
