//! Privacy settings (用户隐私保护指引): `setprivacysetting` with non-ASCII characters written as
//! `\u` escapes, as the doc asks, and `getprivacysetting` (api-contracts §21).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::code::Extra;
use crate::Error;

/// Who collects the data and how users reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSetting {
    /// Contact e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// Contact phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    /// Contact QQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_qq: Option<String>,
    /// Contact WeChat id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_weixin: Option<String>,
    /// A custom privacy file (media id from `uploadprivacyextfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_file_media_id: Option<String>,
    /// How users are told of changes.
    #[serde(default)]
    pub notice_method: String,
    /// How long data is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_expire_timestamp: Option<String>,
    /// Where data is stored (1 mainland China, 2 elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_region: Option<u8>,
}

/// One piece of user data and why it is collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyItem {
    /// The key, e.g. `UserInfo`, `Location`.
    pub privacy_key: String,
    /// Why.
    pub privacy_text: String,
}

/// `POST /cgi-bin/component/setprivacysetting`. Send it with [`to_ascii_json`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetPrivacySettingRequest {
    /// 1 the live version, 2 the version under development (takes effect after review and
    /// release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_ver: Option<u8>,
    /// The owner's settings.
    pub owner_setting: OwnerSetting,
    /// The data collected.
    #[serde(default)]
    pub setting_list: Vec<PrivacyItem>,
    /// Third-party SDKs and their data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdk_privacy_info_list: Vec<Value>,
}

/// `POST /cgi-bin/component/getprivacysetting`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPrivacySettingRequest {
    /// 1 live, 2 under development.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_ver: Option<u8>,
}

/// `getprivacysetting`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacySetting {
    /// Whether code exists (0/1).
    #[serde(default)]
    pub code_exist: i64,
    /// Keys the code uses.
    #[serde(default)]
    pub privacy_list: Vec<String>,
    /// Keys declared, with texts.
    #[serde(default)]
    pub setting_list: Vec<Value>,
    /// The owner's settings.
    #[serde(default)]
    pub owner_setting: Value,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Serialises `value` as JSON with every non-ASCII character written as a `\uXXXX` escape
/// (UTF-16, surrogate pairs beyond the BMP), the form `setprivacysetting` asks for.
///
/// ```
/// let v = serde_json::json!({"privacy_text": "用于定位😀"});
/// let bytes = wxopen_proto::wxa::to_ascii_json(&v)?;
/// assert_eq!(bytes, br#"{"privacy_text":"\u7528\u4e8e\u5b9a\u4f4d\ud83d\ude00"}"#);
/// # Ok::<(), wxopen_proto::Error>(())
/// ```
pub fn to_ascii_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let s = serde_json::to_string(value).map_err(|e| Error::invalid("body", e.to_string()))?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            // Outside strings JSON has only ASCII, so every non-ASCII char is inside a string.
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn non_ascii_is_escaped_and_round_trips() {
        let r = SetPrivacySettingRequest {
            privacy_ver: Some(2),
            owner_setting: OwnerSetting {
                contact_phone: Some("10086".into()),
                notice_method: "弹窗".into(),
                ..OwnerSetting::default()
            },
            setting_list: vec![PrivacyItem {
                privacy_key: "Location".into(),
                privacy_text: "门店定位 \"x\" 😀".into(),
            }],
            ..SetPrivacySettingRequest::default()
        };
        let bytes = to_ascii_json(&r).unwrap();
        assert!(bytes.is_ascii());
        let s = String::from_utf8(bytes.clone()).unwrap();
        assert!(s.contains(r#""notice_method":"\u5f39\u7a97""#), "{s}");
        let back: SetPrivacySettingRequest = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(to_ascii_json(&json!({"a": 1})).unwrap(), br#"{"a":1}"#);
    }
}
