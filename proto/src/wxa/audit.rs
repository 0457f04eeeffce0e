//! Review: `submit_audit` (every documented field, validated), the audit status answers,
//! `speedupaudit` and `queryquota`.
//!
//! Confirmed on the official pages (developers.weixin.qq.com, via the search tool):
//! `submit_audit`'s body fields (`item_list` at most 5 items with `first_class`/`second_class`/
//! `first_id`/`second_id` required, `feedback_info` ≤ 200 characters, `feedback_stuff` ≤ 5
//! media ids joined by `|`, `title` ≤ 32, ≤ 10 tags of ≤ 20, `preview_info`, `version_desc`,
//! `ugc_declare`, `privacy_api_not_use`, `order_path`) and `queryquota`'s answer (`rest`,
//! `limit`, `speedup_rest`, `speedup_limit`; shared by every mini program of the platform).
//! The status values come from api-contracts §20.

use serde::{Deserialize, Serialize};

use super::code::Extra;
use crate::Error;

/// Most items a review may list.
pub const MAX_AUDIT_ITEMS: usize = 5;
/// Longest `feedback_info`, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 200;
/// Most media ids in `feedback_stuff`.
pub const MAX_FEEDBACK_STUFF: usize = 5;
/// Longest page `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 32;
/// Most tags per item.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 20;

/// One review item: a page and its category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditItem {
    /// The page (from `get_page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Tags separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// First-level category name (from `get_category`).
    pub first_class: String,
    /// Second-level category name.
    pub second_class: String,
    /// Third-level category name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_class: Option<String>,
    /// First-level category id.
    pub first_id: u64,
    /// Second-level category id.
    pub second_id: u64,
    /// Third-level category id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_id: Option<u64>,
    /// The page's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Screenshots and recordings for the reviewer (media ids from the review-material upload).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewInfo {
    /// Recording media ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_id_list: Vec<String>,
    /// Screenshot media ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pic_id_list: Vec<String>,
}

/// The user-generated-content declaration (needed on the first review of social categories).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UgcDeclare {
    /// UGC scenes (numbers from the doc's table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scene: Vec<u32>,
    /// Other scenes, described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_scene_desc: Option<String>,
    /// Safety measures (numbers from the doc's table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method: Vec<u32>,
    /// Whether there is a review team (0 no, 1 yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_audit_team: Option<u32>,
    /// How content is reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_desc: Option<String>,
}

/// `POST /wxa/submit_audit`. Fields WeChat adds later go into `extra` and are sent as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubmitAuditRequest {
    /// 1 to [`MAX_AUDIT_ITEMS`] items.
    pub item_list: Vec<AuditItem>,
    /// Screenshots and recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_info: Option<PreviewInfo>,
    /// What this version does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_desc: Option<String>,
    /// Feedback to the reviewer (only read after a rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_info: Option<String>,
    /// Media ids joined by `|` (only read after a rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_stuff: Option<String>,
    /// The UGC declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ugc_declare: Option<UgcDeclare>,
    /// Declares that privacy APIs detected but not configured are not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_api_not_use: Option<bool>,
    /// The order-centre path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_path: Option<String>,
    /// Fields not modelled here, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

fn too_long(what: &'static str, s: &str, max: usize) -> Result<(), Error> {
    if s.chars().count() > max {
        return Err(Error::invalid(
            what,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

impl SubmitAuditRequest {
    /// A request with these items and nothing else (see [`validate`](Self::validate)).
    pub fn new(item_list: Vec<AuditItem>) -> Result<Self, Error> {
        let r = Self {
            item_list,
            ..Self::default()
        };
        r.validate()?;
        Ok(r)
    }

    /// Checks the documented limits: 1–5 items, each with its two first category levels; title,
    /// tags, `feedback_info` and `feedback_stuff` within their lengths.
    pub fn validate(&self) -> Result<(), Error> {
        let n = self.item_list.len();
        if n == 0 || n > MAX_AUDIT_ITEMS {
            return Err(Error::invalid(
                "item_list",
                format!("must have 1 to {MAX_AUDIT_ITEMS} items, has {n}"),
            ));
        }
        for item in &self.item_list {
            if item.first_class.is_empty() || item.second_class.is_empty() {
                return Err(Error::invalid(
                    "item_list",
                    "each item needs first_class and second_class (from get_category)",
                ));
            }
            if let Some(t) = &item.title {
                too_long("item_list.title", t, MAX_TITLE_CHARS)?;
            }
            if let Some(tags) = &item.tag {
                let tags: Vec<&str> = tags.split_whitespace().collect();
                if tags.len() > MAX_TAGS {
                    return Err(Error::invalid(
                        "item_list.tag",
                        format!("more than {MAX_TAGS} tags"),
                    ));
                }
                for t in tags {
                    too_long("item_list.tag", t, MAX_TAG_CHARS)?;
                }
            }
        }
        if let Some(f) = &self.feedback_info {
            too_long("feedback_info", f, MAX_FEEDBACK_CHARS)?;
        }
        if let Some(s) = &self.feedback_stuff {
            if s.split('|').count() > MAX_FEEDBACK_STUFF {
                return Err(Error::invalid(
                    "feedback_stuff",
                    format!("more than {MAX_FEEDBACK_STUFF} media ids"),
                ));
            }
        }
        Ok(())
    }
}

/// `submit_audit`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubmitAuditResponse {
    /// The review's id.
    pub auditid: u64,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{auditid}`: the body of `get_auditstatus` and `speedupaudit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIdRequest {
    /// The review's id.
    pub auditid: u64,
}

/// A review's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "i64", into = "i64")]
#[non_exhaustive]
pub enum AuditState {
    /// 0: approved.
    Approved,
    /// 1: rejected.
    Rejected,
    /// 2: in review.
    InReview,
    /// 3: withdrawn (undone).
    Withdrawn,
    /// 4: delayed.
    Delayed,
    /// A value not documented yet.
    Other(i64),
}

impl From<i64> for AuditState {
    fn from(v: i64) -> Self {
        match v {
            0 => AuditState::Approved,
            1 => AuditState::Rejected,
            2 => AuditState::InReview,
            3 => AuditState::Withdrawn,
            4 => AuditState::Delayed,
            other => AuditState::Other(other),
        }
    }
}

impl From<AuditState> for i64 {
    fn from(s: AuditState) -> Self {
        match s {
            AuditState::Approved => 0,
            AuditState::Rejected => 1,
            AuditState::InReview => 2,
            AuditState::Withdrawn => 3,
            AuditState::Delayed => 4,
            AuditState::Other(v) => v,
        }
    }
}

/// `get_auditstatus` / `get_latest_auditstatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditStatus {
    /// The review's id (`get_latest_auditstatus` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditid: Option<u64>,
    /// Its status.
    pub status: AuditState,
    /// Why it was rejected or delayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Screenshot media ids joined by `|`.
    #[serde(
        rename = "ScreenShot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub screenshot: Option<String>,
    /// The submitted `user_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_version: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `queryquota`: the platform's review quota for this month, shared by all its mini programs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuota {
    /// Reviews left this month.
    pub rest: u64,
    /// Reviews allotted this month.
    pub limit: u64,
    /// Speed-ups left.
    #[serde(default)]
    pub speedup_rest: u64,
    /// Speed-ups allotted.
    #[serde(default)]
    pub speedup_limit: u64,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn item() -> AuditItem {
        AuditItem {
            first_class: "教育".into(),
            second_class: "在线教育".into(),
            first_id: 1,
            second_id: 2,
            ..AuditItem::default()
        }
    }

    #[test]
    fn item_list_is_one_to_five() {
        assert!(SubmitAuditRequest::new(vec![]).is_err());
        for n in 1..=5 {
            assert!(SubmitAuditRequest::new(vec![item(); n]).is_ok(), "{n}");
        }
        let e = SubmitAuditRequest::new(vec![item(); 6]).unwrap_err();
        assert!(e.to_string().contains("item_list"), "{e}");
    }

    #[test]
    fn documented_limits_are_checked() {
        let mut r = SubmitAuditRequest::new(vec![item()]).unwrap();
        r.feedback_info = Some("字".repeat(201));
        assert!(r.validate().is_err());
        r.feedback_info = Some("字".repeat(200));
        r.feedback_stuff = Some("a|b|c|d|e|f".into());
        assert!(r.validate().is_err());
        r.feedback_stuff = Some("a|b|c|d|e".into());
        assert!(r.validate().is_ok());
        r.item_list[0].title = Some("t".repeat(33));
        assert!(r.validate().is_err());
        r.item_list[0].title = None;
        r.item_list[0].tag = Some("a b c d e f g h i j k".into());
        assert!(r.validate().is_err());
        r.item_list[0].tag = Some("x".repeat(21));
        assert!(r.validate().is_err());
        r.item_list[0].tag = None;
        r.item_list[0].second_class.clear();
        assert!(r.validate().is_err());
    }

    #[test]
    fn submit_body_has_documented_names_and_passes_new_fields() {
        let mut r = SubmitAuditRequest::new(vec![item()]).unwrap();
        r.privacy_api_not_use = Some(true);
        r.order_path = Some("pages/order".into());
        r.preview_info = Some(PreviewInfo {
            pic_id_list: vec!["m1".into()],
            ..PreviewInfo::default()
        });
        r.extra.insert("future_field".into(), json!(1));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({
                "item_list": [{"first_class": "教育", "second_class": "在线教育", "first_id": 1, "second_id": 2}],
                "preview_info": {"pic_id_list": ["m1"]},
                "privacy_api_not_use": true,
                "order_path": "pages/order",
                "future_field": 1
            })
        );
    }

    #[test]
    fn audit_status_values() {
        for (n, s) in [
            (0, AuditState::Approved),
            (1, AuditState::Rejected),
            (2, AuditState::InReview),
            (3, AuditState::Withdrawn),
            (4, AuditState::Delayed),
            (9, AuditState::Other(9)),
        ] {
            assert_eq!(AuditState::from(n), s);
            assert_eq!(i64::from(s), n);
        }
        let a: AuditStatus = serde_json::from_value(json!({
            "errcode": 0, "auditid": 7, "status": 1, "reason": "不符合", "ScreenShot": "a|b"
        }))
        .unwrap();
        assert_eq!(a.status, AuditState::Rejected);
        assert_eq!(a.screenshot.as_deref(), Some("a|b"));
        assert_eq!(a.auditid, Some(7));
        let q: AuditQuota = serde_json::from_value(json!({"rest": 3, "limit": 20})).unwrap();
        assert_eq!((q.rest, q.limit, q.speedup_rest), (3, 20, 0));
    }
}
