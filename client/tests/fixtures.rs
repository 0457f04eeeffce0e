//! The shared API fixtures (`vectors/api/`): the client sends exactly the documented request
//! (path, query parameter name, JSON body) for every endpoint, decodes every documented
//! success response, and classifies every documented error body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use wiremock::matchers::{query_param, query_param_is_missing};
use wiremock::ResponseTemplate;
use wxopen_client::api::{check_response, ResponseError, TokenParam, ENDPOINTS};
use wxopen_client::{AuthorizationCode, ComponentConfig, Error};
use wxopen_vectors::{api_fixture, api_fixtures};

fn fixture_str(name: &str, pointer: &str) -> String {
    let f = api_fixture(name).unwrap();
    let doc = serde_json::json!({"request": f.request, "response": f.response});
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

#[test]
fn every_fixture_maps_to_an_endpoint_with_the_same_token_parameter() {
    let fixtures = api_fixtures();
    assert_eq!(fixtures.len(), 14);
    for f in &fixtures {
        let endpoint = ENDPOINTS
            .iter()
            .find(|e| e.path() == f.endpoint)
            .unwrap_or_else(|| panic!("no endpoint for {}", f.endpoint));
        let keys: Vec<&str> = f
            .query
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: Vec<&str> = match endpoint.token_param() {
            TokenParam::None => vec![],
            TokenParam::ComponentAccessToken => vec!["component_access_token"],
            TokenParam::AccessToken => vec!["access_token"],
        };
        assert_eq!(keys, expected, "{}", f.name);
        assert_eq!(f.method, "POST");

        let body = serde_json::to_vec(&f.response).unwrap();
        assert_eq!(check_response(*endpoint, &body), Ok(()), "{}", f.name);
        for e in &f.errors {
            let body =
                serde_json::to_vec(&serde_json::json!({"errcode": e.errcode, "errmsg": e.errmsg}))
                    .unwrap();
            assert_eq!(
                check_response(*endpoint, &body),
                Err(ResponseError::Api {
                    errcode: e.errcode,
                    errmsg: e.errmsg.clone()
                }),
                "{} {}",
                f.name,
                e.errcode
            );
            // Display of the typed error is one line and names the code.
            let text = Error::from_api(endpoint.name(), e.errcode, e.errmsg.clone()).to_string();
            assert!(
                text.contains(&e.errcode.to_string()) && !text.contains('\n'),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn client_sends_exactly_the_documented_requests() {
    let appid = fixture_str("api_component_token", "/request/component_appid");
    let secret = fixture_str("api_component_token", "/request/component_appsecret");
    let ticket = fixture_str("api_component_token", "/request/component_verify_ticket");
    let ctok = fixture_str("api_component_token", "/response/component_access_token");
    let atok = fixture_str(
        "api_query_auth",
        "/response/authorization_info/authorizer_access_token",
    );
    let code = fixture_str("api_query_auth", "/request/authorization_code");
    let authorizer = fixture_str(
        "api_query_auth",
        "/response/authorization_info/authorizer_appid",
    );
    let mini = fixture_str(
        "api_get_authorizer_info_miniprogram",
        "/request/authorizer_appid",
    );

    // The fixtures' own component, with the library's defaults (not the tests' tuning).
    let (id, key) = (appid.clone(), secret.clone());
    let h = Scenario::new()
        .config(move |tuned| {
            let urls = tuned.base_urls.iter().map(|u| u.to_string());
            ComponentConfig::new(id, key, TOKEN, AES_KEY)
                .with_base_urls(urls)
                .unwrap()
        })
        .start()
        .await;
    for f in api_fixtures() {
        let mut mock = post(f.endpoint.as_str()).body(f.request.clone());
        let keys: Vec<String> = f.query.as_object().unwrap().keys().cloned().collect();
        let token = if f.endpoint.contains("authorizer_option") && keys == ["access_token"] {
            atok.clone()
        } else {
            ctok.clone()
        };
        if keys.is_empty() {
            mock = mock
                .and(query_param_is_missing("component_access_token"))
                .and(query_param_is_missing("access_token"));
        }
        for k in keys {
            mock = mock.and(query_param(k.as_str(), token.as_str()));
        }
        mock.respond_with(ResponseTemplate::new(200).set_body_json(&f.response))
            .expect(1)
            .named(f.name.as_str())
            .mount(&h.server)
            .await;
    }

    let xml = format!(
        "<xml><AppId>{appid}</AppId><CreateTime>{T0}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>{ticket}</ComponentVerifyTicket></xml>"
    );
    let (q, body) = push_for(&appid, &xml, TS, "n");
    h.client.handle_component_push(&q, &body).await.unwrap();

    let c = &h.client;
    c.start_push_ticket().await.unwrap();
    c.clear_quota_v2(Some(&authorizer)).await.unwrap();
    assert_eq!(
        c.component_access_token().await.unwrap().expose_secret(),
        ctok
    );
    c.pre_auth_code().await.unwrap();
    let info = c.query_auth(&AuthorizationCode::new(code)).await.unwrap();
    assert_eq!(info.authorizer_appid, authorizer);
    assert!(info.func_info.len() >= 2);
    assert_eq!(
        c.refresh_authorizer_access_token(&authorizer)
            .await
            .unwrap()
            .expose_secret(),
        atok
    );
    assert!(!c
        .authorizer_info(&authorizer)
        .await
        .unwrap()
        .authorizer_info
        .is_mini_program());
    assert!(c
        .authorizer_info(&mini)
        .await
        .unwrap()
        .authorizer_info
        .is_mini_program());
    let list = c.authorizer_list(0, 100).await.unwrap();
    assert!(!list.list.is_empty());
    assert_eq!(
        c.authorizer_option_legacy(&authorizer, "voice_recognize")
            .await
            .unwrap()
            .option_value,
        "1"
    );
    c.set_authorizer_option_legacy(&authorizer, "location_report", "2")
        .await
        .unwrap();
    assert_eq!(
        c.authorizer_option(&authorizer, "customer_service")
            .await
            .unwrap()
            .option_value,
        "0"
    );
    c.set_authorizer_option(&authorizer, "voice_recognize", "0")
        .await
        .unwrap();
    c.clear_component_quota().await.unwrap();
    h.verify().await;
}
