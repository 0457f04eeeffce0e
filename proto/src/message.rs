//! Messages and events of authorized accounts (pushed, encrypted, to the component's message
//! URL `…/$APPID$/…`), and the passive replies to them.
//!
//! [`parse_authorizer_message`] reads the decrypted XML with the same no-DTD reader as pushes
//! ([`crate::xml`]). A reply is one of [`text_reply`] (encrypt it with [`encrypt_reply_with`]),
//! [`EMPTY_REPLY`] ("no reply"; WeChat does not retry) or [`SUCCESS_REPLY`].
//!
//! ```
//! use wxopen_proto::message::{parse_authorizer_message, MsgType};
//!
//! let msg = parse_authorizer_message(
//!     b"<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>\
//!       <FromUserName><![CDATA[ozy4qt1Eu]]></FromUserName><CreateTime>1700000000</CreateTime>\
//!       <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[TESTCOMPONENT_MSG_TYPE_TEXT]]></Content>\
//!       <MsgId>1234567890123456</MsgId></xml>",
//! )?;
//! assert_eq!(msg.msg_type, MsgType::Text);
//! let reply = msg.text_reply("TESTCOMPONENT_MSG_TYPE_TEXT_callback", 1_700_000_001);
//! assert!(reply.contains("<ToUserName><![CDATA[ozy4qt1Eu]]></ToUserName>"));
//! # Ok::<(), wxopen_proto::PushError>(())
//! ```

use std::fmt;

use wxopen_core::{MsgCrypt, Reply};

use crate::error::PushError;
use crate::xml::{parse_flat, FlatXml};

pub use crate::push::SUCCESS_REPLY;

/// The body that means "no reply" (WeChat shows nothing and does not retry).
pub const EMPTY_REPLY: &str = "";

/// Largest decrypted message [`parse_authorizer_message`] reads, in bytes (WeChat messages are
/// a few KiB; the field count is bounded by [`crate::xml::MAX_FIELDS`]).
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// `MsgType` of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MsgType {
    /// `text`
    Text,
    /// `image`
    Image,
    /// `voice`
    Voice,
    /// `video`
    Video,
    /// `shortvideo`
    ShortVideo,
    /// `location`
    Location,
    /// `link`
    Link,
    /// `event` (see [`AuthorizerMessage::event`])
    Event,
    /// Any other type, as sent.
    Other(String),
}

impl MsgType {
    fn parse(s: &str) -> Self {
        match s {
            "text" => MsgType::Text,
            "image" => MsgType::Image,
            "voice" => MsgType::Voice,
            "video" => MsgType::Video,
            "shortvideo" => MsgType::ShortVideo,
            "location" => MsgType::Location,
            "link" => MsgType::Link,
            "event" => MsgType::Event,
            other => MsgType::Other(other.to_owned()),
        }
    }

    /// The `MsgType` text.
    pub fn as_str(&self) -> &str {
        match self {
            MsgType::Text => "text",
            MsgType::Image => "image",
            MsgType::Voice => "voice",
            MsgType::Video => "video",
            MsgType::ShortVideo => "shortvideo",
            MsgType::Location => "location",
            MsgType::Link => "link",
            MsgType::Event => "event",
            MsgType::Other(s) => s,
        }
    }
}

/// A decrypted message or event of an authorized account.
///
/// `Debug` leaves out the content and the other fields' values (what users write).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizerMessage {
    /// `ToUserName`: the account's original id (`gh_…`).
    pub to_user_name: String,
    /// `FromUserName`: the user's openid.
    pub from_user_name: String,
    /// `CreateTime` (unix seconds).
    pub create_time: u64,
    /// `MsgType`.
    pub msg_type: MsgType,
    /// `MsgId` (messages; events have none — dedupe those by `FromUserName` + `CreateTime`).
    pub msg_id: Option<u64>,
    /// `Event` (events only), e.g. `LOCATION`, `subscribe`.
    pub event: Option<String>,
    /// `Content` (text messages).
    pub content: Option<String>,
    fields: FlatXml,
}

impl AuthorizerMessage {
    /// Any field by name, as sent (nested fields by `/`-joined path, e.g. `ScanCodeInfo/ScanType`).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name)
    }

    /// Every field in document order, as `(name, value)`.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A passive text reply to this message (sender and receiver swapped), as plaintext XML.
    pub fn text_reply(&self, content: &str, create_time: u64) -> String {
        text_reply(
            &self.from_user_name,
            &self.to_user_name,
            create_time,
            content,
        )
    }

    /// The key to deduplicate WeChat's retries by: `MsgId`, else (events) `FromUserName`,
    /// `CreateTime`, `Event` and `EventKey` — a `LOCATION` and a `CLICK` of one user in one
    /// second are two events, a retry of either is one.
    pub fn dedupe_key(&self) -> String {
        match self.msg_id {
            Some(id) => id.to_string(),
            None => format!(
                "{}:{}:{}:{}",
                self.from_user_name,
                self.create_time,
                self.event.as_deref().unwrap_or(""),
                self.field("EventKey").unwrap_or("")
            ),
        }
    }
}

impl fmt::Debug for AuthorizerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerMessage")
            .field("to_user_name", &self.to_user_name)
            .field("from_user_name", &self.from_user_name)
            .field("create_time", &self.create_time)
            .field("msg_type", &self.msg_type)
            .field("msg_id", &self.msg_id)
            .field("event", &self.event)
            .field(
                "content",
                &self
                    .content
                    .as_ref()
                    .map(|c| format!("[{} bytes]", c.len())),
            )
            .field("fields", &self.fields.fields.len())
            .finish()
    }
}

fn required(x: &FlatXml, name: &'static str) -> Result<String, PushError> {
    match x.get(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(PushError::MissingField(name)),
    }
}

fn optional(x: &FlatXml, name: &str) -> Option<String> {
    x.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Parses a decrypted message of an authorized account (pure; never panics).
///
/// `ToUserName`, `FromUserName`, `CreateTime` and `MsgType` are required; `MsgId` must be a
/// number when present. Inputs over [`MAX_MESSAGE_LEN`], DOCTYPEs and custom entities are
/// refused.
pub fn parse_authorizer_message(plain: &[u8]) -> Result<AuthorizerMessage, PushError> {
    if plain.len() > MAX_MESSAGE_LEN {
        return Err(PushError::Xml(format!(
            "message larger than {MAX_MESSAGE_LEN} bytes"
        )));
    }
    let x = parse_flat(plain)?;
    let create_time = required(&x, "CreateTime")?
        .parse()
        .map_err(|_| PushError::InvalidField("CreateTime"))?;
    let msg_id = match x.get("MsgId").map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(v.parse().map_err(|_| PushError::InvalidField("MsgId"))?),
    };
    Ok(AuthorizerMessage {
        to_user_name: required(&x, "ToUserName")?,
        from_user_name: required(&x, "FromUserName")?,
        create_time,
        msg_type: MsgType::parse(&required(&x, "MsgType")?),
        msg_id,
        event: optional(&x, "Event").map(|e| e.trim().to_owned()),
        content: optional(&x, "Content"),
        fields: x,
    })
}

/// `true` for characters XML 1.0 allows in text.
fn xml_char(c: char) -> bool {
    let forbidden_control = c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    !forbidden_control && c != '\u{FFFE}' && c != '\u{FFFF}'
}

/// Writes `text` as CDATA: a `]]>` inside is split across two sections, and characters XML 1.0
/// does not allow (control characters other than tab, CR and LF) are dropped.
pub fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let clean = text.chars().filter(|&c| xml_char(c));
    let mut tail = 0u8; // how many of "]]" precede
    for c in clean {
        if c == '>' && tail >= 2 {
            // "]]" + ">" would end the section: close it between "]]" and ">".
            out.push_str("]]><![CDATA[");
        }
        out.push(c);
        tail = if c == ']' { tail.saturating_add(1) } else { 0 };
    }
    out.push_str("]]>");
}

/// A passive text reply, as plaintext XML: `to` is the user (the message's `FromUserName`),
/// `from` the account (its `ToUserName`). Values are CDATA-safe.
pub fn text_reply(to: &str, from: &str, create_time: u64, content: &str) -> String {
    let mut out = String::with_capacity(160 + to.len() + from.len() + content.len());
    out.push_str("<xml><ToUserName>");
    push_cdata(&mut out, to);
    out.push_str("</ToUserName><FromUserName>");
    push_cdata(&mut out, from);
    out.push_str("</FromUserName><CreateTime>");
    out.push_str(&create_time.to_string());
    out.push_str("</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>");
    push_cdata(&mut out, content);
    out.push_str("</Content></xml>");
    out
}

/// Encrypts a plaintext reply (e.g. from [`text_reply`]) with the component's `MsgCrypt`, the
/// given 16-byte random prefix (draw a fresh one per reply: it is the frame's IV-like salt) and
/// the given timestamp and nonce. Send [`Reply::to_xml`]. `wxopen_client::message::encrypt_reply`
/// draws the prefix itself.
pub fn encrypt_reply_with(
    crypt: &MsgCrypt,
    plaintext: &str,
    timestamp: &str,
    nonce: &str,
    random16: &[u8; 16],
) -> Result<Reply, wxopen_core::Error> {
    crypt.encrypt_reply(plaintext.as_bytes(), timestamp, nonce, random16)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const TEXT: &[u8] = b"<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName><FromUserName><![CDATA[ozy4qt1Eu]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[QUERY_AUTH_CODE:queryauthcode@@@x]]></Content><MsgId>6054768590064713728</MsgId></xml>";

    #[test]
    fn text_message() {
        let m = parse_authorizer_message(TEXT).unwrap();
        assert_eq!(m.to_user_name, "gh_3c884a361561");
        assert_eq!(m.from_user_name, "ozy4qt1Eu");
        assert_eq!(m.create_time, 1_700_000_000);
        assert_eq!(m.msg_type, MsgType::Text);
        assert_eq!(m.msg_id, Some(6_054_768_590_064_713_728));
        assert_eq!(
            m.content.as_deref(),
            Some("QUERY_AUTH_CODE:queryauthcode@@@x")
        );
        assert_eq!(m.event, None);
        assert_eq!(m.field("MsgId"), Some("6054768590064713728"));
        assert_eq!(m.fields().count(), 6);
        assert_eq!(m.dedupe_key(), "6054768590064713728");
        let d = format!("{m:?}");
        assert!(!d.contains("QUERY_AUTH_CODE"), "{d}");
    }

    #[test]
    fn event_message_and_other_fields() {
        let m = parse_authorizer_message(
            b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>",
        )
        .unwrap();
        assert_eq!(m.msg_type, MsgType::Event);
        assert_eq!(m.event.as_deref(), Some("LOCATION"));
        assert_eq!(m.msg_id, None);
        assert_eq!(m.field("Latitude"), Some("23.137466"));
        assert_eq!(m.field("ScanCodeInfo/ScanType"), Some("qrcode"));
        assert_eq!(m.field("Nope"), None);
        assert_eq!(m.dedupe_key(), "o1:5:LOCATION:");
        // A CLICK of the same user in the same second is another event.
        let click = parse_authorizer_message(
            b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>V1001</EventKey></xml>",
        )
        .unwrap();
        assert_eq!(click.dedupe_key(), "o1:5:CLICK:V1001");
        assert_ne!(click.dedupe_key(), m.dedupe_key());
        let m = parse_authorizer_message(
            b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>miniprogrampage</MsgType></xml>",
        )
        .unwrap();
        assert_eq!(m.msg_type, MsgType::Other("miniprogrampage".into()));
        assert_eq!(m.msg_type.as_str(), "miniprogrampage");
    }

    #[test]
    fn missing_and_invalid_fields() {
        let base = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>";
        for (drop, field) in [
            ("<ToUserName>a</ToUserName>", "ToUserName"),
            ("<FromUserName>b</FromUserName>", "FromUserName"),
            ("<CreateTime>1</CreateTime>", "CreateTime"),
            ("<MsgType>text</MsgType>", "MsgType"),
        ] {
            assert_eq!(
                parse_authorizer_message(base.replace(drop, "").as_bytes()),
                Err(PushError::MissingField(field))
            );
        }
        assert_eq!(
            parse_authorizer_message(base.replace(">1<", ">soon<").as_bytes()),
            Err(PushError::InvalidField("CreateTime"))
        );
        assert_eq!(
            parse_authorizer_message(base.replace("</xml>", "<MsgId>x</MsgId></xml>").as_bytes()),
            Err(PushError::InvalidField("MsgId"))
        );
    }

    #[test]
    fn doctype_and_huge_inputs_are_refused() {
        assert_eq!(
            parse_authorizer_message(
                b"<!DOCTYPE x [<!ENTITY a \"b\">]><xml><ToUserName>&a;</ToUserName></xml>"
            ),
            Err(PushError::Doctype)
        );
        let huge = vec![b' '; MAX_MESSAGE_LEN + 1];
        assert!(matches!(
            parse_authorizer_message(&huge),
            Err(PushError::Xml(_))
        ));
        // Many fields: bounded by the reader.
        let mut many = String::from("<xml>");
        for _ in 0..=crate::xml::MAX_FIELDS {
            many.push_str("<A>1</A>");
        }
        many.push_str("</xml>");
        assert!(parse_authorizer_message(many.as_bytes()).is_err());
        for junk in [&b""[..], b"\xff", b"<xml>", b"<xml><A></B></xml>"] {
            assert!(parse_authorizer_message(junk).is_err());
        }
    }

    #[test]
    fn text_reply_is_exact_and_cdata_safe() {
        let r = text_reply("o1", "gh_1", 7, "hi");
        assert_eq!(
            r,
            "<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName><CreateTime>7</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"
        );
        for content in [
            "a]]>b",
            "]]>",
            "]]]]>>",
            "x]]",
            "]",
            "<b>&amp;</b>",
            "tab\tnl\n\u{0}\u{1b}end",
            "中文]]>",
        ] {
            let r = text_reply("o1", "gh_1", 7, content);
            let m = parse_authorizer_message(r.as_bytes()).unwrap();
            let want: String = content.chars().filter(|&c| xml_char(c)).collect();
            assert_eq!(
                m.content.as_deref(),
                Some(want.as_str()),
                "{content:?} -> {r}"
            );
            assert_eq!(m.to_user_name, "o1");
        }
        let m = parse_authorizer_message(TEXT).unwrap();
        let r = m.text_reply("x", 9);
        let back = parse_authorizer_message(r.as_bytes()).unwrap();
        assert_eq!(back.to_user_name, "ozy4qt1Eu");
        assert_eq!(back.from_user_name, "gh_3c884a361561");
        assert_eq!(EMPTY_REPLY, "");
        assert_eq!(SUCCESS_REPLY, "success");
    }

    #[test]
    fn encrypted_reply_decrypts_to_the_plaintext() {
        let crypt = MsgCrypt::new(
            "token",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "wxcomponent",
        )
        .unwrap();
        let plain = text_reply("o1", "gh_1", 7, "TESTCOMPONENT_MSG_TYPE_TEXT_callback");
        let reply = encrypt_reply_with(&crypt, &plain, "1700000000", "nonce1", &[7; 16]).unwrap();
        let back = crypt
            .decrypt_message(
                reply.to_xml().as_bytes(),
                &reply.msg_signature,
                &reply.timestamp,
                &reply.nonce,
            )
            .unwrap();
        assert_eq!(back, plain.as_bytes());
        assert!(encrypt_reply_with(&crypt, &plain, "not-digits", "n", &[7; 16]).is_err());
    }
}
