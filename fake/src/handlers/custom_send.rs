//! `POST /cgi-bin/message/custom/send?access_token=…`: a customer-service message sent on
//! behalf of an authorized account with its authorizer access token.
//!
//! The token and the top-level keys are checked by the generic contract ([`CUSTOM_SEND`]'s
//! entry in [`crate::contract`]); this handler checks the rest: `msgtype` `text` (the only
//! type the fake models: 40008 otherwise), `text` holding exactly a non-empty string
//! `content` (44004 empty, 47001 otherwise), an optional `customservice` with a string
//! `kf_account`, and a recipient who wrote to this account within
//! [`FakeConfig::customer_service_window`](crate::FakeConfig::customer_service_window)
//! (40003 for a user the account never heard from, 45015 once the window has passed).
//! Accepted messages are recorded ([`SentMessage`]) and answered `{"errcode":0,"errmsg":"ok"}`.
//!
//! [`CUSTOM_SEND`]: crate::CUSTOM_SEND

use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::state::{ApiError, Caller, Platform};

/// A customer-service message the fake accepted on `custom/send`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The account whose authorizer access token sent it.
    pub authorizer_appid: String,
    /// `touser`: the recipient's openid.
    pub touser: String,
    /// `msgtype` (always `text`: the only type the fake accepts).
    pub msgtype: String,
    /// `text.content`.
    pub content: String,
    /// `customservice.kf_account`, when given.
    pub kf_account: Option<String>,
    /// Arrival on the fake clock (Unix seconds).
    pub at_unix: u64,
    /// Arrival in real time (for latencies: the fake clock may stand still).
    pub at: Instant,
}

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

/// Serves one `custom/send` call whose token and top-level shape already passed the contract.
pub(crate) fn serve(
    platform: &mut Platform,
    caller: &Caller,
    body: &Map<String, Value>,
    now: u64,
    at: Instant,
) -> Result<Value, ApiError> {
    let Caller::Authorizer(appid) = caller else {
        // The contract admits only authorizer tokens here.
        return Err(ApiError::new(40001));
    };
    let touser = str_member(body, "touser", 40003)?;
    let msgtype = str_member(body, "msgtype", 40008)?;
    if msgtype != "text" {
        return Err(ApiError::hint(40008, "the fake models msgtype `text` only"));
    }
    let Some(Value::Object(text)) = body.get("text") else {
        return Err(ApiError::hint(47001, "`text` must be an object"));
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
    if !platform.is_authorized(appid) {
        return Err(ApiError::new(61003));
    }
    let Some(last) = platform.user_last_wrote(appid, touser) else {
        return Err(ApiError::hint(40003, "touser never wrote to this account"));
    };
    if now >= last.saturating_add(platform.cfg.customer_service_window) {
        return Err(ApiError::new(45015));
    }
    platform.record_sent(SentMessage {
        authorizer_appid: appid.clone(),
        touser: touser.to_owned(),
        msgtype: msgtype.to_owned(),
        content: content.to_owned(),
        kf_account,
        at_unix: now,
        at,
    });
    Ok(json!({"errcode": 0, "errmsg": "ok"}))
}
