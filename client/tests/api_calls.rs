//! The remaining component endpoints: exact paths, token parameters and bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use wxopen_client::ApiCall;

use common::*;
use serde_json::json;
use wxopen_client::{AuthPage, AuthType, AuthUrlOptions, PreAuthCode};

/// A ticket, one component-token fetch ("ctok"), and "wxa" authorized ("atok-…" as given, refresh token "refreshtoken@@@r").
async fn authorized(access: &str) -> Harness {
    Scenario::ready("ctok", 1)
        .authorized("wxa", access, "refreshtoken@@@r")
        .start()
        .await
}

#[tokio::test]
async fn authorizer_info_list_and_legacy_options() {
    let h = Scenario::ready("ctok", 1).start().await;
    let info = ok_json(json!({
        "authorizer_info": {"nick_name": "Shop", "user_name": "gh_x", "MiniProgramInfo": {"network": {}}},
        "authorization_info": {"authorizer_appid": "wxa", "func_info": [{"funcscope_category": {"id": 17}}]}
    }));
    let asked = json!({"component_appid": APPID, "authorizer_appid": "wxa"});
    h.expect(1, post(P_AUTHORIZER_INFO).ctok("ctok").body(asked), info)
        .await;
    let info = h.client.authorizer_info("wxa").await.unwrap();
    assert!(info.authorizer_info.is_mini_program());
    assert_eq!(
        info.authorization_info.func_info[0].funcscope_category.id,
        17
    );

    let page = json!({"component_appid": APPID, "offset": 10, "count": 5});
    let listed = json!({"total_count": 11, "list": [{"authorizer_appid": "wxa", "refresh_token": "rt", "auth_time": 5}]});
    h.expect(1, post(P_AUTHORIZER_LIST).body(page), ok_json(listed))
        .await;
    let list = h.client.authorizer_list(10, 5).await.unwrap();
    assert_eq!(list.total_count, 11);
    assert_eq!(list.list[0].auth_time, 5);
    assert!(h.client.authorizer_list(0, 0).await.is_err());

    let option = json!({"component_appid": APPID, "authorizer_appid": "wxa", "option_name": "location_report"});
    let answer =
        json!({"authorizer_appid": "wxa", "option_name": "location_report", "option_value": "1"});
    h.expect(
        1,
        post("/cgi-bin/component/api_get_authorizer_option").body(option),
        ok_json(answer),
    )
    .await;
    let o = h
        .client
        .authorizer_option_legacy("wxa", "location_report")
        .await
        .unwrap();
    assert_eq!(o.option_value, "1");
    let set = json!({"component_appid": APPID, "authorizer_appid": "wxa", "option_name": "location_report", "option_value": "2"});
    h.expect(
        1,
        post("/cgi-bin/component/api_set_authorizer_option").body(set),
        err_json(0, "ok"),
    )
    .await;
    h.client
        .set_authorizer_option_legacy("wxa", "location_report", "2")
        .await
        .unwrap();
    h.verify().await;
}

#[tokio::test]
async fn new_options_and_quota_resets() {
    let h = authorized("atok").await;
    let ok = || err_json(0, "ok");
    let option = json!({"option_name": "customer_service", "option_value": "1"});
    h.expect(
        1,
        post("/cgi-bin/component/set_authorizer_option")
            .atok("atok")
            .body(option),
        ok(),
    )
    .await;
    h.client
        .set_authorizer_option("wxa", "customer_service", "1")
        .await
        .unwrap();

    let clear = |token: &str, appid: &str| {
        post("/cgi-bin/clear_quota")
            .atok(token)
            .body(json!({ "appid": appid }))
    };
    h.expect(1, clear("ctok", APPID), ok()).await;
    h.client.clear_component_quota().await.unwrap();
    h.expect(1, clear("atok", "wxa"), ok()).await;
    h.client.clear_authorizer_quota("wxa").await.unwrap();
    let v2 = json!({"component_appid": APPID, "appsecret": SECRET, "appid": "wxa"});
    h.expect(1, post("/cgi-bin/component/clear_quota/v2").body(v2), ok())
        .await;
    h.client.clear_quota_v2(Some("wxa")).await.unwrap();
    h.verify().await;
}

#[tokio::test]
async fn authorization_urls_pc_and_h5_exactly_encoded() {
    let code = json!({"pre_auth_code": "preauthcode@@@X+Y/Z=", "expires_in": 1800});
    let h = Scenario::ready("ctok", 1)
        .expect(1, post(P_PREAUTH), ok_json(code))
        .start()
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
    h.verify().await;
}

#[tokio::test]
async fn any_api_on_behalf_of_an_authorizer_with_token_rules() {
    const SEND: &str = "/cgi-bin/message/custom/send";
    let h = authorized("atok-old").await;
    let message = json!({"touser": "openid", "msgtype": "text", "text": {"content": "hi"}});
    h.expect(
        1,
        post(SEND).atok("atok-old"),
        err_json(40001, "invalid credential"),
    )
    .await;
    h.expect(1, post(P_AUTHORIZER_TOKEN), atok_answer("atok-new"))
        .await;
    h.expect(
        1,
        post(SEND).atok("atok-new").body(message.clone()),
        err_json(0, "ok"),
    )
    .await;
    let v: serde_json::Value = h
        .client
        .call_authorizer_api(
            "wxa",
            &ApiCall::post("cgi-bin/message/custom/send").unwrap(),
            Some(&message),
        )
        .await
        .unwrap();
    assert_eq!(v["errmsg"], "ok");

    h.expect(
        1,
        post("/cgi-bin/component/fastregisterweapp").ctok("ctok"),
        err_json(89249, "task running"),
    )
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
    h.verify().await;
}
