#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use wxopen_client::api::{
    parse_response, Ack, AuthorizerInfoResponse, AuthorizerListResponse, AuthorizerOption,
    AuthorizerTokenResponse, ComponentTokenResponse, PreAuthCodeResponse, QueryAuthResponse,
    ResponseError,
};

/// What one endpoint's parser made of the body, reduced to what all parsers must agree on.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Api(i64, String),
    Decode,
}

/// Parse as `T`; a secret the body carries must never show in the response's `Debug` output.
fn parse<T: DeserializeOwned + Debug>(data: &[u8], secrets: impl Fn(&T) -> Vec<String>) -> Outcome {
    match parse_response::<T>(data) {
        Ok(resp) => {
            let shown = format!("{resp:?}");
            for s in secrets(&resp) {
                // Only secrets that cannot also come from another field or from the type's
                // own names: long, with an '@', written once in an input without escapes.
                if s.len() < 8 || !s.contains('@') || data.contains(&b'\\') {
                    continue;
                }
                let once = data.windows(s.len()).filter(|w| *w == s.as_bytes()).count() == 1;
                if once {
                    assert!(!shown.contains(&s), "secret in Debug: {shown}");
                }
            }
            Outcome::Ok
        }
        Err(ResponseError::Api { errcode, errmsg }) => {
            assert_ne!(errcode, 0);
            Outcome::Api(errcode, errmsg)
        }
        Err(ResponseError::Decode(_)) => Outcome::Decode,
    }
}

fuzz_target!(|data: &[u8]| {
    let outcomes = [
        parse::<ComponentTokenResponse>(data, |r| {
            vec![r.component_access_token.expose_secret().to_owned()]
        }),
        parse::<PreAuthCodeResponse>(data, |r| vec![r.pre_auth_code.expose_secret().to_owned()]),
        parse::<QueryAuthResponse>(data, |r| {
            let i = &r.authorization_info;
            let mut s = Vec::new();
            s.extend(
                i.authorizer_access_token
                    .iter()
                    .map(|t| t.expose_secret().to_owned()),
            );
            s.extend(
                i.authorizer_refresh_token
                    .iter()
                    .map(|t| t.expose_secret().to_owned()),
            );
            s
        }),
        parse::<AuthorizerTokenResponse>(data, |r| {
            let mut s = vec![r.authorizer_access_token.expose_secret().to_owned()];
            s.extend(
                r.authorizer_refresh_token
                    .iter()
                    .map(|t| t.expose_secret().to_owned()),
            );
            s
        }),
        parse::<AuthorizerInfoResponse>(data, |_| Vec::new()),
        parse::<AuthorizerListResponse>(data, |r| {
            r.list
                .iter()
                .map(|i| i.refresh_token.expose_secret().to_owned())
                .collect()
        }),
        parse::<AuthorizerOption>(data, |_| Vec::new()),
        parse::<Ack>(data, |_| Vec::new()),
    ];

    // A non-zero errcode wins over every success shape: all endpoints see the same API error.
    if let Some(api) = outcomes.iter().find(|o| matches!(o, Outcome::Api(..))) {
        assert!(outcomes.iter().all(|o| o == api), "{outcomes:?}");
    }
    // A success never carries a non-zero errcode.
    if outcomes.contains(&Outcome::Ok) {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(data) {
            let code = map.get("errcode");
            assert!(
                matches!(code, None | Some(serde_json::Value::Null))
                    || code.and_then(serde_json::Value::as_i64) == Some(0),
                "success with errcode {code:?}"
            );
        }
    }
});
