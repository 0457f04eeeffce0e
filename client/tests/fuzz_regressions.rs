//! Every input in `fuzz/regressions/` that reaches the client, replayed on stable.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use wxopen_client::api::{
    parse_response, AuthorizerTokenResponse, ComponentTokenResponse, PreAuthCodeResponse,
};

const EMPTY_SECRET: &[u8] = include_bytes!("../../fuzz/regressions/api_response/empty-secret");

#[test]
fn empty_secret_body_parses_without_panic_and_without_leaking() {
    // The body carries an empty pre_auth_code next to a refresh token.
    // (An empty code is currently accepted by the parser; the harness crashed on it, the
    // client did not.)
    let pre = parse_response::<PreAuthCodeResponse>(EMPTY_SECRET).unwrap();
    assert!(!format!("{pre:?}").contains("refreshthke"));
    // Not a component token response (no such field), not an authorizer token response.
    assert!(parse_response::<ComponentTokenResponse>(EMPTY_SECRET).is_err());
    if let Ok(r) = parse_response::<AuthorizerTokenResponse>(EMPTY_SECRET) {
        assert!(!format!("{r:?}").contains("refreshthke"));
    }
}
