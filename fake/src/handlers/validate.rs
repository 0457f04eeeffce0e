//! Contract checks on the raw request: query token parameter and JSON body schema.

use serde_json::{Map, Value};
use url::Url;

use crate::endpoints::{contract, missing_code, AcceptedToken, Endpoint, FieldType};
use crate::state::ApiError;

/// The access token from the query string, under the parameter name(s) the endpoint accepts.
///
/// Component endpoints take `component_access_token` (or, as the newer official pages write it,
/// `access_token`); authorizer endpoints and `clear_quota` take `access_token` only. An absent or
/// empty parameter is `None` (the platform answers 41001).
pub(crate) fn query_token(url: &Url, endpoint: Endpoint) -> Option<String> {
    let names: &[&str] = match contract(endpoint)?.accepted_token {
        AcceptedToken::None => return None,
        AcceptedToken::Component => &["component_access_token", "access_token"],
        AcceptedToken::Authorizer | AcceptedToken::ComponentOrAuthorizer => &["access_token"],
    };
    names.iter().find_map(|name| {
        url.query_pairs()
            .find(|(k, v)| k == *name && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    })
}

/// Parses and checks the body against the endpoint's schema: a JSON object, no unknown key, every
/// required key present and non-empty, every value of the documented type.
pub(crate) fn body(endpoint: Endpoint, raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|_| ApiError::hint(47001, "request body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Err(ApiError::hint(47001, "request body is not a JSON object"));
    };
    let spec = contract(endpoint).map_or(&[][..], |c| c.fields);
    if let Some(extra) = map.keys().find(|k| !spec.iter().any(|f| f.name == *k)) {
        return Err(ApiError::hint(
            47001,
            &format!("unexpected field `{extra}`"),
        ));
    }
    for field in spec {
        match (map.get(field.name), field.ty) {
            (None, _) if field.required => {
                return Err(ApiError::hint(
                    missing_code(field.name),
                    &format!("missing `{}`", field.name),
                ))
            }
            (None, _) => {}
            (Some(Value::Null), _) => {
                // Documented quirks: a null ticket is "invalid ticket", a null refresh token is
                // "refresh_token is invalid"; any other null is a type error.
                let code = match field.name {
                    "component_verify_ticket" => 61006,
                    "authorizer_refresh_token" => 61023,
                    _ => 47001,
                };
                return Err(ApiError::hint(code, &format!("`{}` is null", field.name)));
            }
            (Some(Value::String(s)), FieldType::Str) => {
                if s.is_empty() && field.required {
                    return Err(ApiError::hint(
                        missing_code(field.name),
                        &format!("empty `{}`", field.name),
                    ));
                }
            }
            (Some(Value::Number(n)), FieldType::UInt) if n.as_u64().is_some() => {}
            (Some(_), _) => {
                return Err(ApiError::hint(
                    47001,
                    &format!("`{}` has the wrong type", field.name),
                ))
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(ep: Endpoint, raw: &str) -> Option<i64> {
        body(ep, raw.as_bytes()).err().map(|e| e.errcode)
    }

    #[test]
    fn schema_is_strict() {
        let ep = Endpoint::ComponentToken;
        let good =
            r#"{"component_appid":"a","component_appsecret":"b","component_verify_ticket":"c"}"#;
        assert_eq!(code(ep, good), None);
        assert_eq!(code(ep, "not json"), Some(47001));
        assert_eq!(code(ep, "[]"), Some(47001));
        assert_eq!(
            code(ep, r#"{"component_appid":"a","component_appsecret":"b"}"#),
            Some(61006)
        );
        assert_eq!(
            code(
                ep,
                r#"{"component_appid":"a","component_verify_ticket":"c"}"#
            ),
            Some(41004)
        );
        assert_eq!(
            code(
                ep,
                r#"{"component_appsecret":"b","component_verify_ticket":"c"}"#
            ),
            Some(41002)
        );
        assert_eq!(
            code(
                ep,
                r#"{"component_appid":"a","component_appsecret":"b","component_verify_ticket":null}"#
            ),
            Some(61006)
        );
        assert_eq!(
            code(
                ep,
                r#"{"component_appid":"a","component_appsecret":"b","component_verify_ticket":"c","x":1}"#
            ),
            Some(47001)
        );
        assert_eq!(
            code(
                ep,
                r#"{"component_appid":1,"component_appsecret":"b","component_verify_ticket":"c"}"#
            ),
            Some(47001)
        );
        let list = Endpoint::GetAuthorizerList;
        assert_eq!(
            code(list, r#"{"component_appid":"a","offset":0,"count":500}"#),
            None
        );
        assert_eq!(
            code(list, r#"{"component_appid":"a","offset":"0","count":500}"#),
            Some(47001)
        );
        assert_eq!(
            code(list, r#"{"component_appid":"a","offset":-1,"count":500}"#),
            Some(47001)
        );
        assert_eq!(
            code(list, r#"{"component_appid":"a","offset":0.5,"count":500}"#),
            Some(47001)
        );
        let v2 = Endpoint::ClearQuotaV2;
        assert_eq!(code(v2, r#"{"component_appid":"a","appsecret":"s"}"#), None);
        assert_eq!(
            code(v2, r#"{"component_appid":"a","appsecret":"s","appid":"x"}"#),
            None
        );
    }

    #[test]
    fn token_parameter_names() {
        let u = |s: &str| Url::parse(s).ok();
        let Some(a) = u("http://h/p?component_access_token=T") else {
            panic!("url")
        };
        assert_eq!(query_token(&a, Endpoint::QueryAuth).as_deref(), Some("T"));
        assert_eq!(query_token(&a, Endpoint::GetAuthorizerOption), None);
        let Some(b) = u("http://h/p?access_token=U") else {
            panic!("url")
        };
        assert_eq!(query_token(&b, Endpoint::QueryAuth).as_deref(), Some("U"));
        assert_eq!(query_token(&b, Endpoint::ClearQuota).as_deref(), Some("U"));
        let Some(c) = u("http://h/p?componentaccesstoken=T&access_token=") else {
            panic!("url")
        };
        assert_eq!(query_token(&c, Endpoint::QueryAuth), None);
    }
}
