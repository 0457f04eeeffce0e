//! The `wx.config` signature of the JS-SDK (pure): `sha1` of
//! `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` (keys in ASCII order, raw values, lowercase
//! hex), the page URL without its `#…` part, and the **authorized account's** appid in the
//! result — a `wx.config` signed for the component's appid fails in the browser.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::secret::JsTicket;

/// Longest page URL accepted for signing, in bytes.
pub const MAX_PAGE_URL_LEN: usize = 2048;

/// Longest nonce accepted for signing, in bytes (WeChat's examples use 16).
pub const MAX_NONCE_LEN: usize = 32;

/// Why a page URL cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageUrlError {
    /// Empty.
    Empty,
    /// Longer than [`MAX_PAGE_URL_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Not an absolute `http://` or `https://` URL with a host.
    NotAbsoluteHttp,
    /// Holds whitespace or a control character (a browser never reports such a URL).
    BadCharacter,
}

impl fmt::Display for PageUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageUrlError::Empty => f.write_str("the page URL is empty"),
            PageUrlError::TooLong { len } => write!(
                f,
                "the page URL is {len} bytes long; at most {MAX_PAGE_URL_LEN} are accepted"
            ),
            PageUrlError::NotAbsoluteHttp => {
                f.write_str("the page URL must be an absolute http:// or https:// URL with a host")
            }
            PageUrlError::BadCharacter => {
                f.write_str("the page URL holds whitespace or a control character")
            }
        }
    }
}

impl std::error::Error for PageUrlError {}

/// The part of a page URL that is signed: validated (absolute http(s) with a host, at most
/// [`MAX_PAGE_URL_LEN`] bytes, no whitespace or control character) and cut at the first `#`.
/// Everything else is kept exactly as given (no normalisation: the browser signs what it shows).
pub fn page_url(url: &str) -> Result<&str, PageUrlError> {
    if url.is_empty() {
        return Err(PageUrlError::Empty);
    }
    if url.len() > MAX_PAGE_URL_LEN {
        return Err(PageUrlError::TooLong { len: url.len() });
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PageUrlError::BadCharacter);
    }
    let signed = url.split('#').next().unwrap_or(url);
    let lower = signed.get(..8).unwrap_or(signed).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(PageUrlError::NotAbsoluteHttp);
    }
    match url::Url::parse(signed) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(signed),
        _ => Err(PageUrlError::NotAbsoluteHttp),
    }
}

/// The signature of `wx.config` (lowercase hex SHA-1). `url` is signed as given up to its
/// first `#`; validate it with [`page_url`] first.
pub fn signature(ticket: &str, noncestr: &str, timestamp: u64, url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let mut h = Sha1::new();
    h.update(b"jsapi_ticket=");
    h.update(ticket.as_bytes());
    h.update(b"&noncestr=");
    h.update(noncestr.as_bytes());
    h.update(b"&timestamp=");
    h.update(timestamp.to_string().as_bytes());
    h.update(b"&url=");
    h.update(url.as_bytes());
    let mut hex = String::with_capacity(40);
    for b in h.finalize().iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// What a page passes to `wx.config` (with its `jsApiList`): field names as the JS-SDK wants
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsSdkConfig {
    /// The **authorized account's** appid (never the component's).
    pub app_id: String,
    /// The timestamp signed (unix seconds).
    pub timestamp: u64,
    /// The nonce signed.
    pub nonce_str: String,
    /// The signature.
    pub signature: String,
}

/// Signs `wx.config` for the page at `url` of the account `authorizer_appid` with its jsapi
/// ticket. The caller draws the nonce (1 to [`MAX_NONCE_LEN`] ASCII letters or digits; this
/// function has no randomness) and passes the time.
pub fn sign_config(
    authorizer_appid: &str,
    ticket: &JsTicket,
    nonce: &str,
    timestamp: u64,
    url: &str,
) -> Result<JsSdkConfig, PageUrlError> {
    let url = page_url(url)?;
    Ok(JsSdkConfig {
        app_id: authorizer_appid.to_owned(),
        timestamp,
        nonce_str: nonce.to_owned(),
        signature: signature(ticket.expose_secret(), nonce, timestamp, url),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WeChat's published example (JS-SDK 说明文档, 附录1 签名算法).
    const DOC_TICKET: &str =
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";

    #[test]
    fn the_published_example_signs_to_its_signature() {
        let rows = [
            (
                "http://mp.weixin.qq.com?params=value",
                "0f9de62fce790f9a083d5c99e95740ceb90c27ed",
            ),
            // The fragment is not signed.
            (
                "http://mp.weixin.qq.com?params=value#/a/b?c=d",
                "0f9de62fce790f9a083d5c99e95740ceb90c27ed",
            ),
        ];
        for (url, want) in rows {
            assert_eq!(
                signature(DOC_TICKET, "Wm3WZYTPz0wzccnW", 1414587457, url),
                want
            );
            let config = sign_config(
                "wx_account",
                &JsTicket::from(DOC_TICKET),
                "Wm3WZYTPz0wzccnW",
                1414587457,
                url,
            )
            .unwrap();
            assert_eq!(config.signature, want);
            assert_eq!(config.app_id, "wx_account");
        }
        // Anything else signed changes the signature.
        assert_ne!(
            signature(
                DOC_TICKET,
                "Wm3WZYTPz0wzccnW",
                1414587458,
                "http://mp.weixin.qq.com?params=value"
            ),
            "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
        );
    }

    #[test]
    fn page_urls_are_validated_and_cut_at_the_fragment() {
        let long = format!("https://a.example/{}", "x".repeat(MAX_PAGE_URL_LEN));
        let rows: [(&str, Result<&str, PageUrlError>); 10] = [
            (
                "https://a.example/p?q=1#frag",
                Ok("https://a.example/p?q=1"),
            ),
            ("HTTP://A.example/", Ok("HTTP://A.example/")),
            ("http://a.example", Ok("http://a.example")),
            ("", Err(PageUrlError::Empty)),
            ("/relative", Err(PageUrlError::NotAbsoluteHttp)),
            ("ftp://a.example/", Err(PageUrlError::NotAbsoluteHttp)),
            ("javascript:alert(1)", Err(PageUrlError::NotAbsoluteHttp)),
            ("https://", Err(PageUrlError::NotAbsoluteHttp)),
            ("https://a.example/a b", Err(PageUrlError::BadCharacter)),
            ("https://a.example/\n", Err(PageUrlError::BadCharacter)),
        ];
        for (url, want) in rows {
            assert_eq!(page_url(url), want, "{url:?}");
        }
        assert_eq!(
            page_url(&long),
            Err(PageUrlError::TooLong { len: long.len() })
        );
        assert_eq!(
            sign_config("wx_a", &JsTicket::from("t"), "n", 1, "/x"),
            Err(PageUrlError::NotAbsoluteHttp)
        );
    }

    #[test]
    fn the_config_serializes_with_the_js_sdk_names() {
        let c = sign_config("wx_a", &JsTicket::from("t"), "abc", 5, "https://a.example/").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["appId"], "wx_a");
        assert_eq!(v["nonceStr"], "abc");
        assert_eq!(v["timestamp"], 5);
        assert_eq!(v["signature"].as_str().map(str::len), Some(40));
    }
}
