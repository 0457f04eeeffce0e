//! `POST /cgi-bin/message/custom/send?access_token=…`: a customer-service message sent on
//! behalf of an authorized account with its authorizer access token.
//!
//! Not a component API, so it is outside the generic contract table ([`crate::contract`]):
//! its body is nested. The checks are listed on [`CUSTOM_SEND`]. Accepted messages are
//! recorded (`SentMessage`) and answered `{"errcode":0,"errmsg":"ok"}`.
//!
//! [`CUSTOM_SEND`]: crate::CUSTOM_SEND

use std::time::Instant;

use serde_json::{json, Map, Value};
use url::Url;

use crate::sent::SentMessage;
use crate::state::{ApiError, Platform};

fn str_member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    empty_code: i64,
) -> Result<&'a str, ApiError> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None => Err(ApiError::hint(
            empty_code,
            &format!("missing or empty `{name}`"),
        )),
        Some(_) => Err(ApiError::hint(
            47001,
            &format!("`{name}` has the wrong type"),
        )),
    }
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str], within: &str) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(ApiError::hint(
            47001,
            &format!("unexpected field `{within}.{extra}`"),
        )),
        None => Ok(()),
    }
}

/// Serves one `custom/send` POST.
pub(crate) fn serve(
    platform: &mut Platform,
    url: &Url,
    raw: &[u8],
    now: u64,
    at: Instant,
) -> Result<Value, ApiError> {
    let token = url
        .query_pairs()
        .find(|(k, v)| k == "access_token" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::new(41001))?;
    let appid = platform.check_authorizer_token(&token, now)?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(44002));
    }
    let value: Value = serde_json::from_slice(raw)
        .map_err(|_| ApiError::hint(47001, "request body is not valid JSON"))?;
    let Value::Object(body) = value else {
        return Err(ApiError::hint(47001, "request body is not a JSON object"));
    };
    if let Some(extra) = body
        .keys()
        .find(|k| !["touser", "msgtype", "text", "customservice"].contains(&k.as_str()))
    {
        return Err(ApiError::hint(
            47001,
            &format!("unexpected field `{extra}`"),
        ));
    }
    let touser = str_member(&body, "touser", 40003)?;
    let msgtype = str_member(&body, "msgtype", 40008)?;
    if msgtype != "text" {
        return Err(ApiError::hint(40008, "the fake models msgtype `text` only"));
    }
    let text = match body.get("text") {
        Some(Value::Object(text)) => text,
        None => return Err(ApiError::hint(40008, "msgtype `text` without `text`")),
        Some(_) => return Err(ApiError::hint(47001, "`text` must be an object")),
    };
    only_keys(text, &["content"], "text")?;
    let content = str_member(text, "content", 44004)?;
    let kf_account = match body.get("customservice") {
        None => None,
        Some(Value::Object(cs)) => {
            only_keys(cs, &["kf_account"], "customservice")?;
            Some(str_member(cs, "kf_account", 47001)?.to_owned())
        }
        Some(_) => return Err(ApiError::hint(47001, "`customservice` must be an object")),
    };
    if !platform.is_authorized(&appid) {
        return Err(ApiError::new(61003));
    }
    let Some(last) = platform.user_last_wrote(&appid, touser) else {
        return Err(ApiError::hint(40003, "touser never wrote to this account"));
    };
    if now >= last.saturating_add(platform.cfg.customer_service_window) {
        return Err(ApiError::new(45015));
    }
    platform.record_sent(SentMessage {
        authorizer_appid: appid,
        touser: touser.to_owned(),
        msgtype: msgtype.to_owned(),
        content: content.to_owned(),
        kf_account,
        at_unix: now,
        at,
    });
    Ok(json!({"errcode": 0, "errmsg": "ok"}))
}
