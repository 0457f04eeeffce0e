//! Committing code and reading it back: `commit` (with `ext_json` as a typed value),
//! `get_page`, `get_category`, `get_code_privacy_info`, `getversioninfo`,
//! `change_visitstatus` and the `get_qrcode` request.
//!
//! Fields from api-contracts §20; `get_code_privacy_info` (`without_auth_list`,
//! `without_conf_list`, GET, permission set 18) confirmed on its official page.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// Unknown response fields, kept as WeChat sent them (a field added later needs no release).
pub type Extra = Map<String, Value>;

/// Longest `user_version` WeChat accepts, in characters.
pub const MAX_USER_VERSION_CHARS: usize = 64;
/// Longest serialised `ext_json` this library sends, in bytes.
pub const MAX_EXT_JSON_BYTES: usize = 64 * 1024;

/// The `ext.json` given to a template (third-party mini programs): serialised by
/// [`CommitRequest::new`] into the JSON *string* WeChat wants in `ext_json`.
///
/// Standard-library templates accept only `extAppid`, `ext` and `window`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtJson {
    /// `extEnable`: whether the ext config applies.
    #[serde(rename = "extEnable", skip_serializing_if = "Option::is_none")]
    pub ext_enable: Option<bool>,
    /// `extAppid`: the authorized mini program's appid.
    #[serde(rename = "extAppid", skip_serializing_if = "Option::is_none")]
    pub ext_appid: Option<String>,
    /// `directCommit`: commit straight to the account instead of its ext config.
    #[serde(rename = "directCommit", skip_serializing_if = "Option::is_none")]
    pub direct_commit: Option<bool>,
    /// `ext`: per-account values the code reads with `wx.getExtConfig`.
    #[serde(skip_serializing_if = "Map::is_empty", default)]
    pub ext: Map<String, Value>,
    /// `window`: window settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Value>,
    /// Any other `ext.json` key (`extPages`, `pages`, `tabBar`, `networkTimeout`, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `POST /wxa/commit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRequest {
    /// The template id from the platform's library.
    pub template_id: u64,
    /// The `ext.json`, as a JSON string.
    pub ext_json: String,
    /// The version name (≤ 64 characters).
    pub user_version: String,
    /// The version description.
    pub user_desc: String,
}

impl CommitRequest {
    /// Builds the request, serialising `ext` into the string WeChat wants.
    ///
    /// ```
    /// use wxopen_proto::wxa::{CommitRequest, ExtJson};
    /// let mut ext = ExtJson { ext_appid: Some("wx0123456789abcdef".into()), ..ExtJson::default() };
    /// ext.ext.insert("shop".into(), "七号店".into());
    /// let c = CommitRequest::new(7, &ext, "1.0.0", "first")?;
    /// assert_eq!(c.ext_json, r#"{"extAppid":"wx0123456789abcdef","ext":{"shop":"七号店"}}"#);
    /// # Ok::<(), wxopen_proto::Error>(())
    /// ```
    pub fn new(
        template_id: u64,
        ext: &ExtJson,
        user_version: &str,
        user_desc: &str,
    ) -> Result<Self, Error> {
        if user_version.is_empty() || user_version.chars().count() > MAX_USER_VERSION_CHARS {
            return Err(Error::invalid(
                "user_version",
                format!("must be 1 to {MAX_USER_VERSION_CHARS} characters"),
            ));
        }
        let ext_json =
            serde_json::to_string(ext).map_err(|e| Error::invalid("ext_json", e.to_string()))?;
        if ext_json.len() > MAX_EXT_JSON_BYTES {
            return Err(Error::invalid(
                "ext_json",
                format!("longer than {MAX_EXT_JSON_BYTES} bytes"),
            ));
        }
        Ok(Self {
            template_id,
            ext_json,
            user_version: user_version.to_owned(),
            user_desc: user_desc.to_owned(),
        })
    }
}

/// `get_page`: the pages of the committed code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageList {
    /// Page paths, e.g. `pages/index/index`.
    #[serde(default)]
    pub page_list: Vec<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One category a review may name (`get_category`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// First-level name.
    #[serde(default)]
    pub first_class: String,
    /// Second-level name.
    #[serde(default)]
    pub second_class: String,
    /// Third-level name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_class: Option<String>,
    /// First-level id.
    #[serde(default)]
    pub first_id: u64,
    /// Second-level id.
    #[serde(default)]
    pub second_id: u64,
    /// Third-level id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_id: Option<u64>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `get_category`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryList {
    /// The categories.
    #[serde(default)]
    pub category_list: Vec<Category>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `get_code_privacy_info`: privacy APIs the code uses without permission or declaration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodePrivacyInfo {
    /// Privacy APIs used without the permission (e.g. `wx.getLocation`).
    #[serde(default)]
    pub without_auth_list: Vec<String>,
    /// Privacy APIs used but not configured.
    #[serde(default)]
    pub without_conf_list: Vec<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The experience version in `getversioninfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpInfo {
    /// When it was committed (Unix seconds).
    #[serde(default)]
    pub exp_time: u64,
    /// Its `user_version`.
    #[serde(default)]
    pub exp_version: String,
    /// Its `user_desc`.
    #[serde(default)]
    pub exp_desc: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The released version in `getversioninfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    /// When it was released (Unix seconds).
    #[serde(default)]
    pub release_time: u64,
    /// Its `user_version`.
    #[serde(default)]
    pub release_version: String,
    /// Its `user_desc`.
    #[serde(default)]
    pub release_desc: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `getversioninfo`: what is committed (experience) and released — the facts a crashed
/// release step is reconciled with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The experience version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_info: Option<ExpInfo>,
    /// The released version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_info: Option<ReleaseInfo>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `change_visitstatus` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VisitStatus {
    /// Reachable.
    Open,
    /// Not reachable (suspended).
    Close,
}

/// `POST /wxa/change_visitstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitStatusRequest {
    /// Open or close.
    pub action: VisitStatus,
}

/// `GET /wxa/get_qrcode?path=…`: the experience version's QR code (the answer is an image;
/// the call itself is left to the client's binary calls).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrcodeRequest {
    /// The page and query to open, URL-encoded by the caller's URL builder; `None` opens the
    /// home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn ext_json_is_sent_as_a_string() {
        let mut ext = ExtJson {
            ext_appid: Some("wxa".into()),
            window: Some(json!({"navigationBarTitleText": "店"})),
            ..ExtJson::default()
        };
        ext.ext.insert("k".into(), json!(1));
        ext.other.insert("extPages".into(), json!({}));
        let c = CommitRequest::new(3, &ext, "v1", "d").unwrap();
        let body = serde_json::to_value(&c).unwrap();
        let Value::String(s) = &body["ext_json"] else {
            panic!("ext_json must be a string: {body}")
        };
        let back: Value = serde_json::from_str(s).unwrap();
        assert_eq!(
            back,
            json!({"extAppid":"wxa","ext":{"k":1},"window":{"navigationBarTitleText":"店"},"extPages":{}})
        );
        assert_eq!(body["template_id"], json!(3));
    }

    #[test]
    fn user_version_is_bounded() {
        let ext = ExtJson::default();
        assert!(CommitRequest::new(1, &ext, &"v".repeat(64), "").is_ok());
        assert!(CommitRequest::new(1, &ext, &"版".repeat(64), "").is_ok());
        assert!(CommitRequest::new(1, &ext, &"v".repeat(65), "").is_err());
        assert!(CommitRequest::new(1, &ext, "", "").is_err());
        let mut big = ExtJson::default();
        big.ext
            .insert("x".into(), json!("a".repeat(MAX_EXT_JSON_BYTES)));
        assert!(CommitRequest::new(1, &big, "v", "").is_err());
    }

    #[test]
    fn responses_keep_unknown_fields() {
        let v: VersionInfo = serde_json::from_value(json!({
            "errcode": 0, "errmsg": "ok",
            "exp_info": {"exp_time": 1, "exp_version": "1.0", "exp_desc": "d", "new": true},
            "brand_new": [1]
        }))
        .unwrap();
        assert_eq!(v.exp_info.as_ref().unwrap().exp_version, "1.0");
        assert_eq!(v.exp_info.as_ref().unwrap().extra["new"], json!(true));
        assert!(v.release_info.is_none());
        assert_eq!(v.extra["brand_new"], json!([1]));
        let p: CodePrivacyInfo =
            serde_json::from_value(json!({"without_auth_list": ["wx.getLocation"]})).unwrap();
        assert_eq!(p.without_auth_list, ["wx.getLocation"]);
        assert!(p.without_conf_list.is_empty());
        let vs = serde_json::to_value(VisitStatusRequest {
            action: VisitStatus::Close,
        })
        .unwrap();
        assert_eq!(vs, json!({"action": "close"}));
    }
}
