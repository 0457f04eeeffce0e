//! Inbound pushes as WeChat sends them: encrypted, signed envelope plus query string.

use std::collections::BTreeMap;

use rand::Rng;
use wxopen_core::MsgCrypt;

/// What a push announces.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushKind {
    /// `InfoType` `component_verify_ticket`.
    ComponentVerifyTicket {
        /// The ticket (`ticket@@@…`).
        ticket: String,
    },
    /// `InfoType` `authorized` (first authorization) or `updateauthorized` (re-authorization).
    Authorized {
        /// `true` for `updateauthorized`.
        update: bool,
        /// `AuthorizerAppid`.
        authorizer_appid: String,
        /// `AuthorizationCode` (`queryauthcode@@@…`), for `api_query_auth`.
        authorization_code: String,
        /// `AuthorizationCodeExpiredTime` (Unix seconds).
        expires_at: u64,
        /// `PreAuthCode` the admin consented with.
        pre_auth_code: String,
    },
    /// `InfoType` `unauthorized`.
    Unauthorized {
        /// `AuthorizerAppid`.
        authorizer_appid: String,
    },
    /// Any other `InfoType` (see [`crate::FakeWeChat::push_event`]).
    Other {
        /// The `InfoType`.
        info_type: String,
    },
    /// A message pushed for an authorized account (envelope `ToUserName`; the trailing id inside
    /// the ciphertext is the component appid).
    Message {
        /// The authorizer the message is for.
        authorizer_appid: String,
        /// The account's original id (`gh_…`), the envelope's `ToUserName`.
        to_user_name: String,
    },
}

/// The query string of a push POST, every parameter WeChat sends (the client's
/// [`wxopen_client::PushQuery`] keeps only what verification needs: see [`Push::client_query`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushParams {
    /// `timestamp` (Unix seconds on the fake clock).
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `msg_signature`: SHA-1 over token, timestamp, nonce and the `Encrypt` text. The one to verify.
    pub msg_signature: String,
    /// `signature`: SHA-1 over token, timestamp and nonce only (not a message signature).
    pub signature: String,
    /// `encrypt_type`, always `aes`.
    pub encrypt_type: String,
    /// `openid` of the sending user (messages of authorized accounts only).
    pub openid: Option<String>,
}

impl PushParams {
    /// The parameters as name/value pairs, in the order WeChat sends them.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("signature".to_owned(), self.signature.clone()),
            ("timestamp".to_owned(), self.timestamp.clone()),
            ("nonce".to_owned(), self.nonce.clone()),
        ];
        if let Some(openid) = &self.openid {
            v.push(("openid".to_owned(), openid.clone()));
        }
        v.push(("encrypt_type".to_owned(), self.encrypt_type.clone()));
        v.push(("msg_signature".to_owned(), self.msg_signature.clone()));
        v
    }

    /// The parameters as a map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.pairs().into_iter().collect()
    }

    /// The URL-encoded query string (without `?`).
    pub fn to_query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.pairs())
            .finish()
    }
}

/// One push, ready to be delivered to the receiver's push handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// What it announces.
    pub kind: PushKind,
    /// The query string parameters.
    pub query: PushParams,
    /// The POST body: `<xml><AppId|ToUserName/><Encrypt/></xml>`.
    pub body: String,
    /// The decrypted message inside (for debugging and assertions; WeChat never sends this).
    pub plaintext: String,
}

impl Push {
    /// `receiver_url?query` for delivering the push over HTTP.
    pub fn url(&self, receiver_url: &str) -> String {
        let sep = if receiver_url.contains('?') { '&' } else { '?' };
        format!("{receiver_url}{sep}{}", self.query.to_query_string())
    }
}

/// Wraps `s` as CDATA, splitting any `]]>` inside.
pub(crate) fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// Encrypts and signs `plaintext` into an envelope whose id element is `<{id_tag}>id_value`.
pub(crate) fn seal(
    crypt: &MsgCrypt,
    token: &str,
    now: u64,
    (id_tag, id_value): (&str, &str),
    plaintext: String,
    kind: PushKind,
    openid: Option<String>,
) -> Result<Push, wxopen_core::Error> {
    let mut rng = rand::rng();
    let timestamp = now.to_string();
    let nonce = rng.random_range(100_000_000u64..10_000_000_000).to_string();
    let mut random16 = [0u8; 16];
    rng.fill(&mut random16);
    let reply = crypt.encrypt_reply(plaintext.as_bytes(), &timestamp, &nonce, &random16)?;
    let signature = wxopen_core::signature::sign_plain(token, &timestamp, &nonce)
        .as_str()
        .to_owned();
    let body = format!(
        "<xml><{id_tag}>{}</{id_tag}><Encrypt>{}</Encrypt></xml>",
        cdata(id_value),
        cdata(&reply.encrypt)
    );
    Ok(Push {
        kind,
        query: PushParams {
            timestamp,
            nonce,
            msg_signature: reply.msg_signature,
            signature,
            encrypt_type: "aes".to_owned(),
            openid,
        },
        body,
        plaintext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_splits_terminators() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
    }

    #[test]
    fn query_string_is_encoded_and_ordered() {
        let q = PushParams {
            timestamp: "1".into(),
            nonce: "2".into(),
            msg_signature: "m".into(),
            signature: "s".into(),
            encrypt_type: "aes".into(),
            openid: Some("o+/=".into()),
        };
        assert_eq!(
            q.to_query_string(),
            "signature=s&timestamp=1&nonce=2&openid=o%2B%2F%3D&encrypt_type=aes&msg_signature=m"
        );
        assert_eq!(q.to_map().len(), 6);
    }
}
