//! Passive replies to messages of authorized accounts: the typed shape, its JSON form (what
//! `wxopen serve`'s webhook may answer) and the reply XML WeChat expects.
//!
//! ```
//! use wxopen_proto::passive::PassiveReply;
//!
//! let reply: PassiveReply = serde_json::from_str(r#"{"type": "text", "content": "hi"}"#)?;
//! let xml = reply.to_xml("ouser", "gh_account", 1_700_000_000)?;
//! assert!(xml.contains("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::message::push_cdata;

/// Most articles a news reply may carry (WeChat shows one; it accepts up to eight).
pub const MAX_ARTICLES: usize = 8;

/// Longest text of any one field of a reply, in bytes (a text reply's limit is 2048 bytes;
/// longer texts are refused rather than cut).
pub const MAX_FIELD_LEN: usize = 2048;

/// A passive reply. JSON: an object tagged by `type`:
/// `{"type":"text","content":…}`, `{"type":"image","media_id":…}`,
/// `{"type":"voice","media_id":…}`,
/// `{"type":"video","media_id":…,"title"?:…,"description"?:…}`,
/// `{"type":"news","articles":[{"title":…,"description"?:…,"pic_url"?:…,"url"?:…}]}`,
/// `{"type":"transfer_customer_service","kf_account"?:…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum PassiveReply {
    /// A text message.
    Text {
        /// The text.
        content: String,
    },
    /// An image uploaded as media.
    Image {
        /// Its `media_id`.
        media_id: String,
    },
    /// A voice message uploaded as media.
    Voice {
        /// Its `media_id`.
        media_id: String,
    },
    /// A video uploaded as media.
    Video {
        /// Its `media_id`.
        media_id: String,
        /// Title.
        #[serde(default)]
        title: Option<String>,
        /// Description.
        #[serde(default)]
        description: Option<String>,
    },
    /// News (article cards).
    News {
        /// One to [`MAX_ARTICLES`] articles.
        articles: Vec<Article>,
    },
    /// Hand the conversation to the customer-service system (`transfer_customer_service`),
    /// to one agent if `kf_account` is given.
    TransferCustomerService {
        /// `kf_account` of the agent (`name@account`).
        #[serde(default)]
        kf_account: Option<String>,
    },
}

/// One article of a news reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Picture URL.
    #[serde(default)]
    pub pic_url: Option<String>,
    /// Link opened on tap.
    #[serde(default)]
    pub url: Option<String>,
}

/// Why a [`PassiveReply`] cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassiveReplyError {
    /// A required field is empty.
    Empty(&'static str),
    /// A field is longer than [`MAX_FIELD_LEN`].
    TooLong(&'static str),
    /// A news reply without articles or with more than [`MAX_ARTICLES`].
    Articles(usize),
}

impl fmt::Display for PassiveReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassiveReplyError::Empty(field) => write!(f, "passive reply: `{field}` is empty"),
            PassiveReplyError::TooLong(field) => {
                write!(
                    f,
                    "passive reply: `{field}` is longer than {MAX_FIELD_LEN} bytes"
                )
            }
            PassiveReplyError::Articles(n) => write!(
                f,
                "passive reply: a news reply needs 1 to {MAX_ARTICLES} articles, not {n}"
            ),
        }
    }
}

impl std::error::Error for PassiveReplyError {}

fn field<'a>(
    name: &'static str,
    value: &'a str,
    required: bool,
) -> Result<&'a str, PassiveReplyError> {
    if required && value.trim().is_empty() {
        return Err(PassiveReplyError::Empty(name));
    }
    if value.len() > MAX_FIELD_LEN {
        return Err(PassiveReplyError::TooLong(name));
    }
    Ok(value)
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

impl PassiveReply {
    /// A text reply.
    pub fn text(content: impl Into<String>) -> Self {
        PassiveReply::Text {
            content: content.into(),
        }
    }

    /// The reply's `MsgType`.
    pub fn msg_type(&self) -> &'static str {
        match self {
            PassiveReply::Text { .. } => "text",
            PassiveReply::Image { .. } => "image",
            PassiveReply::Voice { .. } => "voice",
            PassiveReply::Video { .. } => "video",
            PassiveReply::News { .. } => "news",
            PassiveReply::TransferCustomerService { .. } => "transfer_customer_service",
        }
    }

    /// The plaintext reply XML: `to` is the user (the message's `FromUserName`), `from` the
    /// account (its `ToUserName`). Values are CDATA-safe. Encrypt it before sending.
    ///
    /// # Errors
    /// An empty required field, a field over [`MAX_FIELD_LEN`], or a news reply without
    /// articles or with more than [`MAX_ARTICLES`].
    pub fn to_xml(
        &self,
        to: &str,
        from: &str,
        create_time: u64,
    ) -> Result<String, PassiveReplyError> {
        let mut body = String::with_capacity(256);
        match self {
            PassiveReply::Text { content } => {
                element(&mut body, "Content", field("content", content, true)?);
            }
            PassiveReply::Image { media_id } => {
                body.push_str("<Image>");
                element(&mut body, "MediaId", field("media_id", media_id, true)?);
                body.push_str("</Image>");
            }
            PassiveReply::Voice { media_id } => {
                body.push_str("<Voice>");
                element(&mut body, "MediaId", field("media_id", media_id, true)?);
                body.push_str("</Voice>");
            }
            PassiveReply::Video {
                media_id,
                title,
                description,
            } => {
                body.push_str("<Video>");
                element(&mut body, "MediaId", field("media_id", media_id, true)?);
                if let Some(t) = title {
                    element(&mut body, "Title", field("title", t, false)?);
                }
                if let Some(d) = description {
                    element(&mut body, "Description", field("description", d, false)?);
                }
                body.push_str("</Video>");
            }
            PassiveReply::News { articles } => {
                if articles.is_empty() || articles.len() > MAX_ARTICLES {
                    return Err(PassiveReplyError::Articles(articles.len()));
                }
                body.push_str("<ArticleCount>");
                body.push_str(&articles.len().to_string());
                body.push_str("</ArticleCount><Articles>");
                for a in articles {
                    body.push_str("<item>");
                    element(&mut body, "Title", field("title", &a.title, true)?);
                    let optional = [
                        ("Description", "description", &a.description),
                        ("PicUrl", "pic_url", &a.pic_url),
                        ("Url", "url", &a.url),
                    ];
                    for (tag, name, v) in optional {
                        if let Some(v) = v {
                            element(&mut body, tag, field(name, v, false)?);
                        }
                    }
                    body.push_str("</item>");
                }
                body.push_str("</Articles>");
            }
            PassiveReply::TransferCustomerService { kf_account } => {
                if let Some(k) = kf_account {
                    body.push_str("<TransInfo>");
                    element(&mut body, "KfAccount", field("kf_account", k, true)?);
                    body.push_str("</TransInfo>");
                }
            }
        }
        let mut out = String::with_capacity(160 + to.len() + from.len() + body.len());
        out.push_str("<xml>");
        element(&mut out, "ToUserName", to);
        element(&mut out, "FromUserName", from);
        out.push_str("<CreateTime>");
        out.push_str(&create_time.to_string());
        out.push_str("</CreateTime>");
        element(&mut out, "MsgType", self.msg_type());
        out.push_str(&body);
        out.push_str("</xml>");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::message::parse_authorizer_message;

    fn parse(json: &str) -> PassiveReply {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_kind_renders_xml_that_reads_back() {
        let cases = [
            (r#"{"type":"text","content":"a]]>b"}"#, "Content", "a]]>b"),
            (r#"{"type":"image","media_id":"m1"}"#, "Image/MediaId", "m1"),
            (r#"{"type":"voice","media_id":"m2"}"#, "Voice/MediaId", "m2"),
            (
                r#"{"type":"video","media_id":"m3","title":"t"}"#,
                "Video/Title",
                "t",
            ),
            (
                r#"{"type":"news","articles":[{"title":"T","url":"https://x"}]}"#,
                "Articles/item/Url",
                "https://x",
            ),
            (
                r#"{"type":"transfer_customer_service","kf_account":"kf@gh"}"#,
                "TransInfo/KfAccount",
                "kf@gh",
            ),
        ];
        for (json, path, want) in cases {
            let r = parse(json);
            let xml = r.to_xml("ouser", "gh_a", 5).unwrap();
            let m = parse_authorizer_message(xml.as_bytes()).unwrap();
            assert_eq!(m.to_user_name, "ouser");
            assert_eq!(m.from_user_name, "gh_a");
            assert_eq!(m.msg_type.as_str(), r.msg_type());
            assert_eq!(m.field(path), Some(want), "{xml}");
        }
        let plain = parse(r#"{"type":"transfer_customer_service"}"#)
            .to_xml("o", "g", 1)
            .unwrap();
        assert!(!plain.contains("TransInfo"));
    }

    #[test]
    fn bad_replies_are_refused_not_sent() {
        for (json, err) in [
            (
                r#"{"type":"text","content":" "}"#,
                PassiveReplyError::Empty("content"),
            ),
            (
                r#"{"type":"image","media_id":""}"#,
                PassiveReplyError::Empty("media_id"),
            ),
            (
                r#"{"type":"news","articles":[]}"#,
                PassiveReplyError::Articles(0),
            ),
        ] {
            assert_eq!(parse(json).to_xml("o", "g", 1), Err(err));
        }
        let long = PassiveReply::text("x".repeat(MAX_FIELD_LEN + 1));
        assert_eq!(
            long.to_xml("o", "g", 1),
            Err(PassiveReplyError::TooLong("content"))
        );
        let nine = PassiveReply::News {
            articles: vec![
                Article {
                    title: "t".into(),
                    description: None,
                    pic_url: None,
                    url: None
                };
                9
            ],
        };
        assert_eq!(
            nine.to_xml("o", "g", 1),
            Err(PassiveReplyError::Articles(9))
        );
        for bad in [
            r#"{"type":"music"}"#,
            r#"{"type":"text"}"#,
            r#"{"type":"text","content":"a","extra":1}"#,
            r#"{"content":"a"}"#,
        ] {
            assert!(serde_json::from_str::<PassiveReply>(bad).is_err(), "{bad}");
        }
    }
}
