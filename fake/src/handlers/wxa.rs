//! The HTTP side of the mini-program calls ([`WxaApi`]): method, token and body checks, then
//! the rules in `wxa_state`.

use serde_json::{Map, Value};
use wiremock::Request;
use wxopen_proto::wxa::{WxaApi, WxaToken};

use crate::state::{ApiError, Platform};
use crate::wxa_state::WxaState;
use wxopen_proto::api_call::Method;

fn token(request: &Request, api: WxaApi) -> Option<String> {
    let names: &[&str] = match api.token() {
        WxaToken::Component => &["access_token", "component_access_token"],
        _ => &["access_token"],
    };
    names.iter().find_map(|name| {
        request
            .url
            .query_pairs()
            .find(|(k, v)| k == *name && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    })
}

/// Serves one mini-program call.
pub(crate) fn serve(
    platform: &Platform,
    wxa: &mut WxaState,
    api: WxaApi,
    request: &Request,
    now: u64,
) -> Result<Value, ApiError> {
    let is_post = request.method == wiremock::http::Method::POST;
    match (api.method(), is_post) {
        (Method::Post, false) => return Err(ApiError::new(43002)),
        (Method::Get, true) => {
            return Err(ApiError {
                errcode: 43001,
                errmsg: "require GET method".into(),
            })
        }
        _ => {}
    }
    let token = token(request, api).ok_or_else(|| ApiError::new(41001))?;
    let appid = match api.token() {
        WxaToken::Component => {
            platform.check_component_token(&token, now)?;
            None
        }
        _ => Some(platform.check_authorizer_token(&token, now)?),
    };
    let body = if is_post {
        if request.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(44002));
        }
        if api == WxaApi::SetPrivacySetting && !request.body.is_ascii() {
            return Err(ApiError::hint(
                47001,
                "setprivacysetting wants non-ASCII characters as \\u escapes",
            ));
        }
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(m)) => m,
            _ => return Err(ApiError::hint(47001, "request body is not a JSON object")),
        }
    } else {
        Map::new()
    };
    wxa.call(api, appid.as_deref(), &body, now)
}
