//! `GET /cgi-bin/ticket/getticket` (see [`GETTICKET`](crate::GETTICKET)) and the fake-only
//! `POST /fake/jssdk/verify`, which tells whether a `wx.config` signature matches the
//! account's current jsapi ticket.

use serde_json::{json, Value};
use url::Url;

use crate::js_tickets::JsSdkSignature;
use crate::state::{ApiError, Platform};

/// How long an issued ticket is valid (seconds), as WeChat answers.
pub(crate) const TICKET_LIFETIME: u64 = 7200;

/// The fake-only verification path.
pub(crate) const VERIFY_PATH: &str = "/fake/jssdk/verify";

/// Serves one `getticket`.
pub(crate) fn serve(platform: &mut Platform, url: &Url, now: u64) -> Result<Value, ApiError> {
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    };
    let token = query("access_token").ok_or_else(|| ApiError::new(41001))?;
    let appid = platform.check_authorizer_token(&token, now)?;
    let ticket_type = match query("type").as_deref() {
        Some("jsapi") => "jsapi",
        Some("wx_card") => "wx_card",
        _ => return Err(ApiError::hint(40097, "type must be jsapi or wx_card")),
    };
    if !platform.is_authorized(&appid) {
        return Err(ApiError::new(61003));
    }
    let ticket = platform
        .js_tickets
        .issue(&appid, ticket_type, now, TICKET_LIFETIME);
    Ok(json!({"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": TICKET_LIFETIME}))
}

/// Parses the verification request `{appid, url, timestamp, nonceStr, signature}`.
pub(crate) fn parse_verify(body: &[u8]) -> Option<JsSdkSignature> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some(JsSdkSignature {
        app_id: v.get("appid")?.as_str()?.to_owned(),
        url: v.get("url")?.as_str()?.to_owned(),
        timestamp: v.get("timestamp")?.as_u64()?,
        nonce_str: v.get("nonceStr")?.as_str()?.to_owned(),
        signature: v.get("signature")?.as_str()?.to_owned(),
    })
}
