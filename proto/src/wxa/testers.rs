//! Experience testers: `bind_tester`, `unbind_tester`, `memberauth`.
//!
//! Confirmed on the official pages (via the search tool): `bind_tester` POST `{wechatid}` →
//! `userstr` (85001 no such user, 85002 tester limit), `unbind_tester` POST with `wechatid` or
//! `userstr`, both permission set 18; `memberauth` from api-contracts §20.

use serde::{Deserialize, Serialize};

use super::code::Extra;

/// `POST /wxa/bind_tester`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindTesterRequest {
    /// The tester's WeChat id.
    pub wechatid: String,
}

/// `bind_tester`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BindTesterResponse {
    /// The tester's opaque id on this account.
    #[serde(default)]
    pub userstr: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /wxa/unbind_tester`: by WeChat id or by `userstr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum UnbindTesterRequest {
    /// `{"wechatid": …}`.
    Wechatid(String),
    /// `{"userstr": …}`.
    Userstr(String),
}

/// `POST /wxa/memberauth` (`{"action":"get_experiencer"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAuthRequest {
    /// Always `get_experiencer`.
    pub action: String,
}

impl Default for MemberAuthRequest {
    fn default() -> Self {
        Self {
            action: "get_experiencer".into(),
        }
    }
}

/// One tester.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its opaque id.
    #[serde(default)]
    pub userstr: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `memberauth`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberList {
    /// The testers.
    #[serde(default)]
    pub members: Vec<Member>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies() {
        let u = serde_json::to_value(UnbindTesterRequest::Userstr("u1".into())).unwrap();
        assert_eq!(u, json!({"userstr": "u1"}));
        let m = serde_json::to_value(MemberAuthRequest::default()).unwrap();
        assert_eq!(m, json!({"action": "get_experiencer"}));
    }
}
