//! The remaining component endpoints: exact paths, token parameters and bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use wxopen_client::ApiCall;

use common::*;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer};
use wxopen_client::{AuthPage, AuthType, AuthUrlOptions, PreAuthCode};

async fn ready() -> (MockServer, Harness) {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    (server, h)
}

#[tokio::test]
async fn authorizer_info_list_and_legacy_options() {
    let (server, h) = ready().await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_INFO))
        .and(query_param("component_access_token", "ctok"))
        .and(body_json(json!({"component_appid": APPID, "authorizer_appid": "wxa"})))
        .respond_with(ok_json(json!({
            "authorizer_info": {"nick_name": "Shop", "user_name": "gh_x", "MiniProgramInfo": {"network": {}}},
            "authorization_info": {"authorizer_appid": "wxa", "func_info": [{"funcscope_category": {"id": 17}}]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let info = h.client.authorizer_info("wxa").await.unwrap();
    assert!(info.authorizer_info.is_mini_program());
    assert_eq!(
        info.authorization_info.func_info[0].funcscope_category.id,
        17
    );

    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .and(body_json(json!({"component_appid": APPID, "offset": 10, "count": 5})))
        .respond_with(ok_json(json!({"total_count": 11, "list": [{"authorizer_appid": "wxa", "refresh_token": "rt", "auth_time": 5}]})))
        .expect(1)
        .mount(&server)
        .await;
    let list = h.client.authorizer_list(10, 5).await.unwrap();
    assert_eq!(list.total_count, 11);
    assert_eq!(list.list[0].auth_time, 5);
    assert!(h.client.authorizer_list(0, 0).await.is_err());

    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_get_authorizer_option"))
        .and(body_json(json!({"component_appid": APPID, "authorizer_appid": "wxa", "option_name": "location_report"})))
        .respond_with(ok_json(json!({"authorizer_appid": "wxa", "option_name": "location_report", "option_value": "1"})))
        .expect(1)
        .mount(&server)
        .await;
    let o = h
        .client
        .authorizer_option_legacy("wxa", "location_report")
        .await
        .unwrap();
    assert_eq!(o.option_value, "1");
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_set_authorizer_option"))
        .and(body_json(json!({"component_appid": APPID, "authorizer_appid": "wxa", "option_name": "location_report", "option_value": "2"})))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    h.client
        .set_authorizer_option_legacy("wxa", "location_report", "2")
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn new_options_and_quota_resets() {
    let (server, h) = ready().await;
    authorize(&h, &server, "wxa", "atok", "refreshtoken@@@r").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/set_authorizer_option"))
        .and(query_param("access_token", "atok"))
        .and(body_json(
            json!({"option_name": "customer_service", "option_value": "1"}),
        ))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    h.client
        .set_authorizer_option("wxa", "customer_service", "1")
        .await
        .unwrap();

    Mock::given(method("POST"))
        .and(path("/cgi-bin/clear_quota"))
        .and(query_param("access_token", "ctok"))
        .and(body_json(json!({"appid": APPID})))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    h.client.clear_component_quota().await.unwrap();
    Mock::given(method("POST"))
        .and(path("/cgi-bin/clear_quota"))
        .and(query_param("access_token", "atok"))
        .and(body_json(json!({"appid": "wxa"})))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    h.client.clear_authorizer_quota("wxa").await.unwrap();
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/clear_quota/v2"))
        .and(body_json(
            json!({"component_appid": APPID, "appsecret": SECRET, "appid": "wxa"}),
        ))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    h.client.clear_quota_v2(Some("wxa")).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn authorization_urls_pc_and_h5_exactly_encoded() {
    let (server, h) = ready().await;
    Mock::given(method("POST"))
        .and(path(P_PREAUTH))
        .respond_with(ok_json(
            json!({"pre_auth_code": "preauthcode@@@X+Y/Z=", "expires_in": 1800}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let opts = AuthUrlOptions::new("https://shop.example.com/wx/cb?from=pc&lang=zh CN")
        .auth_type(AuthType::OfficialAccounts)
        .biz_appid("wxbiz01");
    let pc = h
        .client
        .authorization_url(AuthPage::Pc, &opts)
        .await
        .unwrap();
    assert_eq!(
        pc.url,
        "https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxcomponent0001&pre_auth_code=preauthcode%40%40%40X%2BY%2FZ%3D&redirect_uri=https%3A%2F%2Fshop.example.com%2Fwx%2Fcb%3Ffrom%3Dpc%26lang%3Dzh%20CN&auth_type=1&biz_appid=wxbiz01"
    );
    let h5 = h
        .client
        .authorization_url_with_code(
            AuthPage::H5,
            &PreAuthCode::new("preauthcode@@@p"),
            &AuthUrlOptions::new("https://shop.example.com/cb").category_ids([99]),
        )
        .unwrap();
    assert_eq!(
        h5,
        "https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wxcomponent0001&pre_auth_code=preauthcode%40%40%40p&redirect_uri=https%3A%2F%2Fshop.example.com%2Fcb&auth_type=3&category_id_list=99#wechat_redirect"
    );
    // Invalid input is refused before a pre-auth code is spent (expect(1) above).
    assert!(h
        .client
        .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("not a url"))
        .await
        .is_err());
    assert!(h
        .client
        .authorization_url(
            AuthPage::Pc,
            &AuthUrlOptions::new("http://shop.example.com/cb")
        )
        .await
        .is_err());
    server.verify().await;
}

#[tokio::test]
async fn any_api_on_behalf_of_an_authorizer_with_token_rules() {
    let (server, h) = ready().await;
    authorize(&h, &server, "wxa", "atok-old", "refreshtoken@@@r").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .and(query_param("access_token", "atok-old"))
        .respond_with(err_json(40001, "invalid credential"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(ok_json(
            json!({"authorizer_access_token": "atok-new", "expires_in": 7200}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .and(query_param("access_token", "atok-new"))
        .and(body_json(
            json!({"touser": "openid", "msgtype": "text", "text": {"content": "hi"}}),
        ))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    let v: serde_json::Value = h
        .client
        .call_authorizer_api(
            "wxa",
            &ApiCall::post("cgi-bin/message/custom/send").unwrap(),
            Some(&json!({"touser": "openid", "msgtype": "text", "text": {"content": "hi"}})),
        )
        .await
        .unwrap();
    assert_eq!(v["errmsg"], "ok");

    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/fastregisterweapp"))
        .and(query_param("component_access_token", "ctok"))
        .respond_with(err_json(89249, "task running"))
        .expect(1)
        .mount(&server)
        .await;
    let err = h
        .client
        .call_component_api::<_, serde_json::Value>(
            &ApiCall::post(format!("/cgi-bin/component/{}", "fastregisterweapp")).unwrap(),
            Some(&json!({})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(89249));
    assert!(
        err.to_string()
            .contains("/cgi-bin/component/fastregisterweapp"),
        "{err}"
    );
    server.verify().await;
}
