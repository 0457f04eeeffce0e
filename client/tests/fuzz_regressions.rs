//! Every input in `fuzz/regressions/` that reaches the client, replayed on stable.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use wxopen_client::api::{
    parse_response, AuthorizerTokenResponse, ComponentTokenResponse, PreAuthCodeResponse,
    ResponseError,
};

const EMPTY_SECRET: &[u8] = include_bytes!("../../fuzz/regressions/api_response/empty-secret");

#[test]
fn empty_secret_body_is_a_decode_error_without_leaking() {
    // The body carries an empty pre_auth_code next to a refresh token (the harness crashed on
    // the empty string, the client did not). An empty code is a decode error now.
    let pre = parse_response::<PreAuthCodeResponse>(EMPTY_SECRET);
    assert!(matches!(pre, Err(ResponseError::Decode(_))), "{pre:?}");
    assert!(!format!("{pre:?}").contains("refreshthke"));
    // Not a component token response (no such field), not an authorizer token response.
    assert!(parse_response::<ComponentTokenResponse>(EMPTY_SECRET).is_err());
    if let Ok(r) = parse_response::<AuthorizerTokenResponse>(EMPTY_SECRET) {
        assert!(!format!("{r:?}").contains("refreshthke"));
    }
}
