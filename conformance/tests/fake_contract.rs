//! The fake platform's own contract, driven with plain reqwest (no wxopen-client): it must behave
//! like the documented platform and refuse anything off-contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use wxopen_core::MsgCrypt;
use wxopen_fake::{
    AuthorizerKind, Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule, Host, Outcome, PushKind,
};

const T0: u64 = 1_700_000_000;

async fn fake() -> FakeWeChat {
    FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .expect("fake starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn post(base: &str, path_and_query: &str, body: Value) -> Value {
    post_raw(base, path_and_query, body.to_string()).await
}

async fn post_raw(base: &str, path_and_query: &str, body: String) -> Value {
    let resp = http()
        .post(format!("{base}{path_and_query}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path_and_query}");
    resp.json().await.unwrap()
}

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}

fn ticket_of(fake: &FakeWeChat) -> String {
    match fake.push_ticket().unwrap().kind {
        PushKind::ComponentVerifyTicket { ticket } => ticket,
        other => panic!("unexpected {other:?}"),
    }
}

async fn component_token(fake: &FakeWeChat, ticket: &str) -> Value {
    post(
        &fake.primary_url(),
        Endpoint::ComponentToken.path(),
        json!({
            "component_appid": fake.component_appid(),
            "component_appsecret": fake.component_appsecret(),
            "component_verify_ticket": ticket,
        }),
    )
    .await
}

async fn fresh_token(fake: &FakeWeChat) -> String {
    let t = ticket_of(fake);
    let v = component_token(fake, &t).await;
    v["component_access_token"].as_str().unwrap().to_owned()
}

fn q(ep: Endpoint, token: &str) -> String {
    format!("{}?component_access_token={token}", ep.path())
}

/// Authorizes `appid` through the API path: pre-auth code, consent, query_auth.
async fn authorize(fake: &FakeWeChat, token: &str, appid: &str) -> Value {
    let pre = post(
        &fake.primary_url(),
        &q(Endpoint::CreatePreAuthCode, token),
        json!({"component_appid": fake.component_appid()}),
    )
    .await;
    let pre = pre["pre_auth_code"].as_str().unwrap().to_owned();
    let consent = fake.simulate_admin_consent(&pre, appid).unwrap();
    post(
        &fake.primary_url(),
        &q(Endpoint::QueryAuth, token),
        json!({"component_appid": fake.component_appid(), "authorization_code": consent.auth_code}),
    )
    .await
}

#[tokio::test]
async fn component_token_requires_valid_ticket_and_secret() {
    let fake = fake().await;
    let appid = fake.component_appid().to_owned();
    let base = fake.primary_url();
    let path = Endpoint::ComponentToken.path();

    // No ticket was ever pushed: any ticket is invalid.
    let v = component_token(&fake, "ticket@@@made-up").await;
    assert_eq!(errcode(&v), 61006);

    let old = ticket_of(&fake);
    fake.advance(Duration::from_secs(600));
    let current = ticket_of(&fake);
    assert_ne!(old, current);

    let ok = component_token(&fake, &current).await;
    assert_eq!(ok["expires_in"], 7200);
    assert!(ok["component_access_token"].as_str().unwrap().len() > 20);
    assert!(ok.get("errcode").is_none());
    // An older ticket still within 12 h works too.
    assert!(component_token(&fake, &old).await["component_access_token"].is_string());

    let bad_secret = post(
        &base,
        path,
        json!({"component_appid": appid, "component_appsecret": "nope", "component_verify_ticket": current}),
    )
    .await;
    assert_eq!(errcode(&bad_secret), 40125);
    assert!(bad_secret["errmsg"].as_str().unwrap().contains("rid:"));
    let missing_secret = post(
        &base,
        path,
        json!({"component_appid": appid, "component_verify_ticket": current}),
    )
    .await;
    assert_eq!(errcode(&missing_secret), 41004);
    let null_ticket = post(
        &base,
        path,
        json!({"component_appid": appid, "component_appsecret": fake.component_appsecret(), "component_verify_ticket": null}),
    )
    .await;
    assert_eq!(errcode(&null_ticket), 61006);
    let wrong_component = post(
        &base,
        path,
        json!({"component_appid": "wx0000000000000000", "component_appsecret": fake.component_appsecret(), "component_verify_ticket": current}),
    )
    .await;
    assert_eq!(errcode(&wrong_component), 61011);

    // 12 h after it was pushed, the old ticket is expired; the newer one (10 min younger) is not.
    fake.advance(Duration::from_secs(12 * 3600 - 600));
    assert_eq!(errcode(&component_token(&fake, &old).await), 61005);
    assert!(component_token(&fake, &current).await["component_access_token"].is_string());
    fake.advance(Duration::from_secs(600));
    assert_eq!(errcode(&component_token(&fake, &current).await), 61005);

    assert_eq!(fake.calls(Endpoint::ComponentToken), 10);
    assert_eq!(fake.successes(Endpoint::ComponentToken), 3);
    println!("fake-contract: ticket and secret rules hold");
}

#[tokio::test]
async fn strict_request_shape() {
    let fake = fake().await;
    let base = fake.primary_url();
    let token = fresh_token(&fake).await;
    let appid = fake.component_appid().to_owned();
    let path = q(Endpoint::CreatePreAuthCode, &token);

    // Baseline.
    let ok = post(&base, &path, json!({"component_appid": appid})).await;
    assert!(ok["pre_auth_code"]
        .as_str()
        .unwrap()
        .starts_with("preauthcode@@@"));
    assert_eq!(ok["expires_in"], 1800);

    // Extra field, wrong type, not JSON, not an object, missing/empty appid.
    let cases: Vec<(String, i64)> = vec![
        (
            json!({"component_appid": appid, "extra": 1}).to_string(),
            47001,
        ),
        (json!({"component_appid": 12345}).to_string(), 47001),
        ("component_appid=wx".to_owned(), 47001),
        (json!([appid]).to_string(), 47001),
        (json!({}).to_string(), 41002),
        (json!({"component_appid": ""}).to_string(), 41002),
        (json!({"componentAppid": appid}).to_string(), 47001),
    ];
    for (body, code) in &cases {
        let v = post_raw(&base, &path, body.clone()).await;
        assert_eq!(errcode(&v), *code, "body {body}");
    }

    // Token parameter: absent, misspelt, unknown; the newer `access_token` name works.
    let body = json!({"component_appid": appid});
    let no_token = post(&base, Endpoint::CreatePreAuthCode.path(), body.clone()).await;
    assert_eq!(errcode(&no_token), 41001);
    let misspelt = post(
        &base,
        &format!(
            "{}?componentaccesstoken={token}",
            Endpoint::CreatePreAuthCode.path()
        ),
        body.clone(),
    )
    .await;
    assert_eq!(errcode(&misspelt), 41001);
    let unknown = post(
        &base,
        &q(Endpoint::CreatePreAuthCode, "forged"),
        body.clone(),
    )
    .await;
    assert_eq!(errcode(&unknown), 40001);
    let alias = post(
        &base,
        &format!(
            "{}?access_token={token}",
            Endpoint::CreatePreAuthCode.path()
        ),
        body.clone(),
    )
    .await;
    assert!(alias["pre_auth_code"].is_string());

    // Method and path.
    let get = http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(errcode(&get), 43002);
    let nf = http()
        .post(format!(
            "{base}/cgi-bin/component/api_create_preauthcode/?component_access_token={token}"
        ))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(nf.status(), 404);

    // List paging fields must be integers.
    let list = q(Endpoint::GetAuthorizerList, &token);
    let v = post(
        &base,
        &list,
        json!({"component_appid": appid, "offset": "0", "count": 10}),
    )
    .await;
    assert_eq!(errcode(&v), 47001);
    let v = post(
        &base,
        &list,
        json!({"component_appid": appid, "offset": 0, "count": 10}),
    )
    .await;
    assert_eq!(v["total_count"], 0);
    assert_eq!(v["list"], json!([]));

    let log = fake.call_log();
    assert_eq!(log.last().unwrap().outcome, Outcome::Ok);
    assert!(log
        .iter()
        .any(|r| r.outcome == Outcome::Http(404) && r.endpoint.is_none()));
    println!(
        "fake-contract: {} off-contract requests refused",
        cases.len() + 6
    );
}

#[tokio::test]
async fn component_token_expiry_and_supersede_grace() {
    let fake = fake().await;
    let appid = fake.component_appid().to_owned();
    let base = fake.primary_url();
    let body = json!({"component_appid": appid});
    let first = fresh_token(&fake).await;
    assert_eq!(fake.check_component_access_token(&first), Ok(()));

    fake.advance(Duration::from_secs(7000));
    let second = fresh_token(&fake).await;
    assert_eq!(
        fake.component_access_token().as_deref(),
        Some(second.as_str())
    );
    // The superseded token keeps working for a while (here: until its own expiry at 7200 s).
    let v = post(&base, &q(Endpoint::CreatePreAuthCode, &first), body.clone()).await;
    assert!(v["pre_auth_code"].is_string());
    fake.advance(Duration::from_secs(200));
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::CreatePreAuthCode, &first), body.clone()).await),
        42001
    );

    // Grace period of 300 s when the superseded token is young.
    let third = fresh_token(&fake).await;
    assert_eq!(fake.check_component_access_token(&second), Ok(()));
    fake.advance(Duration::from_secs(299));
    assert!(post(
        &base,
        &q(Endpoint::CreatePreAuthCode, &second),
        body.clone()
    )
    .await["pre_auth_code"]
        .is_string());
    fake.advance(Duration::from_secs(1));
    assert_eq!(
        errcode(
            &post(
                &base,
                &q(Endpoint::CreatePreAuthCode, &second),
                body.clone()
            )
            .await
        ),
        40001
    );
    // The newest expires after exactly 7200 s.
    fake.advance(Duration::from_secs(7200 - 300 - 1));
    assert!(
        post(&base, &q(Endpoint::CreatePreAuthCode, &third), body.clone()).await["pre_auth_code"]
            .is_string()
    );
    fake.advance(Duration::from_secs(1));
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::CreatePreAuthCode, &third), body.clone()).await),
        42001
    );
    assert_eq!(fake.component_access_token(), None);
    println!("fake-contract: component token 7200 s expiry and 300 s supersede grace hold");
}

#[tokio::test]
async fn authorization_flow_codes_and_refresh_tokens() {
    let fake = fake().await;
    let base = fake.primary_url();
    let appid = fake.component_appid().to_owned();
    let token = fresh_token(&fake).await;
    let auth = "wxa11ce0000000beef";

    // Pre-auth code: single use, expires.
    let pre = post(
        &base,
        &q(Endpoint::CreatePreAuthCode, &token),
        json!({"component_appid": appid}),
    )
    .await;
    let pre = pre["pre_auth_code"].as_str().unwrap().to_owned();
    let consent = fake.simulate_admin_consent(&pre, auth).unwrap();
    assert!(consent.auth_code.starts_with("queryauthcode@@@"));
    assert_eq!(consent.expires_in, 600);
    assert!(consent.redirect_query.ends_with("&expires_in=600"));
    assert!(consent
        .redirect_query
        .starts_with("auth_code=queryauthcode%40%40%40"));
    assert!(matches!(
        fake.simulate_admin_consent(&pre, auth),
        Err(wxopen_fake::FakeError::PreAuthCodeUsed)
    ));
    match &consent.push.kind {
        PushKind::Authorized {
            update,
            authorizer_appid,
            authorization_code,
            pre_auth_code,
            ..
        } => {
            assert!(!update);
            assert_eq!(authorizer_appid, auth);
            assert_eq!(authorization_code, &consent.auth_code);
            assert_eq!(pre_auth_code, &pre);
        }
        other => panic!("{other:?}"),
    }
    // query_auth: once.
    let qa_body = json!({"component_appid": appid, "authorization_code": consent.auth_code});
    let qa = post(&base, &q(Endpoint::QueryAuth, &token), qa_body.clone()).await;
    let info = &qa["authorization_info"];
    assert_eq!(info["authorizer_appid"], auth);
    assert_eq!(info["expires_in"], 7200);
    let access = info["authorizer_access_token"].as_str().unwrap().to_owned();
    let refresh = info["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(refresh.starts_with("refreshtoken@@@"));
    assert!(info["func_info"][0]["funcscope_category"]["id"].is_u64());
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::QueryAuth, &token), qa_body).await),
        61009
    );

    // Pre-auth codes expire too (after the consent above was used: its code lives 600 s).
    let stale = post(
        &base,
        &q(Endpoint::CreatePreAuthCode, &token),
        json!({"component_appid": appid}),
    )
    .await;
    fake.advance(Duration::from_secs(1800));
    assert!(matches!(
        fake.simulate_admin_consent(stale["pre_auth_code"].as_str().unwrap(), auth),
        Err(wxopen_fake::FakeError::PreAuthCodeExpired)
    ));
    let token = fresh_token(&fake).await;

    // Refresh: right token works and returns the same refresh token; wrong gives 61023.
    let at = |rt: &str| json!({"component_appid": appid, "authorizer_appid": auth, "authorizer_refresh_token": rt});
    let r = post(&base, &q(Endpoint::AuthorizerToken, &token), at(&refresh)).await;
    let access2 = r["authorizer_access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert_eq!(r["authorizer_refresh_token"], refresh.as_str());
    assert_eq!(r["expires_in"], 7200);
    assert_eq!(
        errcode(
            &post(
                &base,
                &q(Endpoint::AuthorizerToken, &token),
                at("refreshtoken@@@nope")
            )
            .await
        ),
        61023
    );
    let null_rt = json!({"component_appid": appid, "authorizer_appid": auth, "authorizer_refresh_token": null});
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::AuthorizerToken, &token), null_rt).await),
        61023
    );
    let no_rt = json!({"component_appid": appid, "authorizer_appid": auth});
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::AuthorizerToken, &token), no_rt).await),
        41003
    );
    assert_eq!(
        fake.authorizer_access_token(auth).as_deref(),
        Some(access2.as_str())
    );

    // List shows `refresh_token` (not authorizer_refresh_token).
    let list = post(
        &base,
        &q(Endpoint::GetAuthorizerList, &token),
        json!({"component_appid": appid, "offset": 0, "count": 500}),
    )
    .await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["list"][0]["authorizer_appid"], auth);
    assert_eq!(list["list"][0]["refresh_token"], refresh.as_str());
    assert!(list["list"][0].get("authorizer_refresh_token").is_none());
    let too_many = post(
        &base,
        &q(Endpoint::GetAuthorizerList, &token),
        json!({"component_appid": appid, "offset": 0, "count": 501}),
    )
    .await;
    assert_eq!(errcode(&too_many), 47001);

    // Re-authorization replaces the refresh token; the old one is dead.
    let re = fake.push_authorized(auth).unwrap();
    let PushKind::Authorized {
        update,
        authorization_code,
        ..
    } = re.kind
    else {
        panic!()
    };
    assert!(update, "second consent is updateauthorized");
    let new_refresh = fake.authorizer_refresh_token(auth).unwrap();
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::AuthorizerToken, &token), at(&refresh)).await),
        61023
    );
    let qa2 = post(
        &base,
        &q(Endpoint::QueryAuth, &token),
        json!({"component_appid": appid, "authorization_code": authorization_code}),
    )
    .await;
    assert_eq!(
        qa2["authorization_info"]["authorizer_refresh_token"],
        new_refresh.as_str()
    );
    assert!(post(
        &base,
        &q(Endpoint::AuthorizerToken, &token),
        at(&new_refresh)
    )
    .await["authorizer_access_token"]
        .is_string());

    // Auth code expiry.
    let late = fake.push_authorized(auth).unwrap();
    let PushKind::Authorized {
        authorization_code, ..
    } = late.kind
    else {
        panic!()
    };
    fake.advance(Duration::from_secs(3600));
    let token = fresh_token(&fake).await;
    assert_eq!(
        errcode(
            &post(
                &base,
                &q(Endpoint::QueryAuth, &token),
                json!({"component_appid": appid, "authorization_code": authorization_code})
            )
            .await
        ),
        61010
    );

    // Unauthorized: tokens stop, refresh answers 61003, info 61003, list drops it.
    let current_refresh = fake.authorizer_refresh_token(auth).unwrap();
    fake.push_unauthorized(auth).unwrap();
    assert!(!fake.is_authorized(auth));
    assert_eq!(
        errcode(
            &post(
                &base,
                &q(Endpoint::AuthorizerToken, &token),
                at(&current_refresh)
            )
            .await
        ),
        61003
    );
    assert_eq!(
        errcode(
            &post(
                &base,
                &q(Endpoint::GetAuthorizerInfo, &token),
                json!({"component_appid": appid, "authorizer_appid": auth})
            )
            .await
        ),
        61003
    );
    let list = post(
        &base,
        &q(Endpoint::GetAuthorizerList, &token),
        json!({"component_appid": appid, "offset": 0, "count": 10}),
    )
    .await;
    assert_eq!(list["total_count"], 0);
    println!(
        "fake-contract: pre-auth/auth codes single use, refresh token replaced on re-authorization"
    );
}

#[tokio::test]
async fn rotating_refresh_tokens_and_info_and_options() {
    let fake = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        rotate_refresh_tokens: true,
        ..FakeConfig::random()
    })
    .await
    .unwrap();
    let base = fake.primary_url();
    let appid = fake.component_appid().to_owned();
    let token = fresh_token(&fake).await;
    let oa = "wx0a0a0a0a0a0a0a0a";
    let mp = "wx0b0b0b0b0b0b0b0b";
    let qa = authorize(&fake, &token, oa).await;
    let refresh = qa["authorization_info"]["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let pre = post(
        &base,
        &q(Endpoint::CreatePreAuthCode, &token),
        json!({"component_appid": appid}),
    )
    .await;
    let c = fake
        .simulate_admin_consent_as(
            pre["pre_auth_code"].as_str().unwrap(),
            mp,
            AuthorizerKind::MiniProgram,
        )
        .unwrap();
    let mpqa = post(
        &base,
        &q(Endpoint::QueryAuth, &token),
        json!({"component_appid": appid, "authorization_code": c.auth_code}),
    )
    .await;
    let mp_access = mpqa["authorization_info"]["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = post(&base, &q(Endpoint::AuthorizerToken, &token), json!({"component_appid": appid, "authorizer_appid": oa, "authorizer_refresh_token": refresh})).await;
    let rotated = r["authorizer_refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, refresh);
    assert_eq!(
        fake.authorizer_refresh_token(oa).as_deref(),
        Some(rotated.as_str())
    );

    let info = post(
        &base,
        &q(Endpoint::GetAuthorizerInfo, &token),
        json!({"component_appid": appid, "authorizer_appid": oa}),
    )
    .await;
    assert!(info["authorizer_info"]["user_name"]
        .as_str()
        .unwrap()
        .starts_with("gh_"));
    assert!(info["authorizer_info"].get("MiniProgramInfo").is_none());
    assert_eq!(info["authorization_info"]["authorizer_appid"], oa);
    assert!(info["authorization_info"]
        .get("authorizer_access_token")
        .is_none());
    let info = post(
        &base,
        &q(Endpoint::GetAuthorizerInfo, &token),
        json!({"component_appid": appid, "authorizer_appid": mp}),
    )
    .await;
    assert!(info["authorizer_info"]["MiniProgramInfo"]["network"].is_object());

    // Legacy options (component token) and new ones (authorizer token) share one state.
    let get_old =
        |name: &str| json!({"component_appid": appid, "authorizer_appid": mp, "option_name": name});
    let v = post(
        &base,
        &q(Endpoint::GetAuthorizerOptionLegacy, &token),
        get_old("voice_recognize"),
    )
    .await;
    assert_eq!(
        v,
        json!({"authorizer_appid": mp, "option_name": "voice_recognize", "option_value": "0"})
    );
    let set_old = json!({"component_appid": appid, "authorizer_appid": mp, "option_name": "location_report", "option_value": "2"});
    assert_eq!(
        post(
            &base,
            &q(Endpoint::SetAuthorizerOptionLegacy, &token),
            set_old
        )
        .await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    let new_q = |ep: Endpoint| format!("{}?access_token={mp_access}", ep.path());
    let v = post(
        &base,
        &new_q(Endpoint::GetAuthorizerOption),
        json!({"option_name": "location_report"}),
    )
    .await;
    assert_eq!(
        v,
        json!({"option_name": "location_report", "option_value": "2"})
    );
    let v = post(
        &base,
        &new_q(Endpoint::SetAuthorizerOption),
        json!({"option_name": "customer_service", "option_value": "1"}),
    )
    .await;
    assert_eq!(errcode(&v), 0);
    assert_eq!(
        fake.authorizer_option(mp, "customer_service").as_deref(),
        Some("1")
    );
    let bad = post(
        &base,
        &new_q(Endpoint::SetAuthorizerOption),
        json!({"option_name": "customer_service", "option_value": 1}),
    )
    .await;
    assert_eq!(errcode(&bad), 47001);
    let bad = post(
        &base,
        &new_q(Endpoint::SetAuthorizerOption),
        json!({"option_name": "voice_recognize", "option_value": "2"}),
    )
    .await;
    assert_eq!(errcode(&bad), 47001);
    // The new endpoints take an authorizer token, not the component token, and only `access_token`.
    let wrong = post(
        &base,
        &format!(
            "{}?access_token={token}",
            Endpoint::GetAuthorizerOption.path()
        ),
        json!({"option_name": "location_report"}),
    )
    .await;
    assert_eq!(errcode(&wrong), 40001);
    let wrong = post(
        &base,
        &format!(
            "{}?component_access_token={mp_access}",
            Endpoint::GetAuthorizerOption.path()
        ),
        json!({"option_name": "location_report"}),
    )
    .await;
    assert_eq!(errcode(&wrong), 41001);
    println!("fake-contract: authorizer info, list and both option generations hold");
}

#[tokio::test]
async fn push_ticket_restart_and_quota() {
    let fake = fake().await;
    let base = fake.primary_url();
    let appid = fake.component_appid().to_owned();
    let secret = fake.component_appsecret().to_owned();
    let start = Endpoint::StartPushTicket.path();
    let v = post(
        &base,
        start,
        json!({"component_appid": appid, "component_secret": secret}),
    )
    .await;
    assert_eq!(v, json!({"errcode": 0, "errmsg": "ok"}));
    assert_eq!(
        errcode(
            &post(
                &base,
                start,
                json!({"component_appid": "wx1", "component_secret": secret})
            )
            .await
        ),
        40013
    );
    assert_eq!(
        errcode(
            &post(
                &base,
                start,
                json!({"component_appid": appid, "component_appsecret": secret})
            )
            .await
        ),
        47001
    );
    assert_eq!(fake.start_push_requests(), 1);
    let pushes = fake.drain_requested_pushes().unwrap();
    assert_eq!(pushes.len(), 1);
    assert!(fake.drain_requested_pushes().unwrap().is_empty());
    let PushKind::ComponentVerifyTicket { ticket } = &pushes[0].kind else {
        panic!()
    };
    assert_eq!(fake.current_ticket().as_deref(), Some(ticket.as_str()));
    let dup = fake.push_ticket_again().unwrap().unwrap();
    assert_eq!(dup.kind, pushes[0].kind);
    assert!(
        dup.plaintext == pushes[0].plaintext,
        "duplicate keeps CreateTime"
    );

    // Quota: exhausted endpoint answers 45009 until clear_quota with the component token.
    let token = fresh_token(&fake).await;
    fake.exhaust_quota(Endpoint::CreatePreAuthCode);
    let body = json!({"component_appid": appid});
    assert_eq!(
        errcode(&post(&base, &q(Endpoint::CreatePreAuthCode, &token), body.clone()).await),
        45009
    );
    let cq = format!("{}?access_token={token}", Endpoint::ClearQuota.path());
    assert_eq!(
        errcode(&post(&base, &cq, json!({"appid": "wx_other"})).await),
        40013
    );
    assert_eq!(
        post(&base, &cq, json!({"appid": appid})).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    assert!(
        post(&base, &q(Endpoint::CreatePreAuthCode, &token), body.clone()).await["pre_auth_code"]
            .is_string()
    );
    // v2: no token, appsecret; limit of 10 resets per appid.
    fake.exhaust_quota(Endpoint::QueryAuth);
    let v2 = Endpoint::ClearQuotaV2.path();
    assert_eq!(
        errcode(
            &post(
                &base,
                v2,
                json!({"component_appid": appid, "appsecret": "x"})
            )
            .await
        ),
        40125
    );
    assert_eq!(
        errcode(&post(&base, v2, json!({"component_appid": appid})).await),
        41004
    );
    for _ in 1..10 {
        assert_eq!(
            errcode(
                &post(
                    &base,
                    v2,
                    json!({"component_appid": appid, "appsecret": secret})
                )
                .await
            ),
            0
        );
    }
    assert_eq!(
        errcode(
            &post(
                &base,
                v2,
                json!({"component_appid": appid, "appsecret": secret})
            )
            .await
        ),
        48006
    );
    assert_eq!(
        errcode(
            &post(
                &base,
                v2,
                json!({"component_appid": appid, "appsecret": secret, "appid": "wx_not_authorized"})
            )
            .await
        ),
        40013
    );
    println!("fake-contract: start_push_ticket, clear_quota and clear_quota/v2 hold");
}

#[tokio::test]
async fn faults_are_scoped_counted_and_transient() {
    let fake = fake().await;
    let appid = fake.component_appid().to_owned();
    let token = fresh_token(&fake).await;
    let body = json!({"component_appid": appid});
    let path = q(Endpoint::CreatePreAuthCode, &token);

    for code in [-1, 40001, 42001, 45009, 61004, 61005, 61006, 61023] {
        fake.fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Errcode(code));
        let v = post(&fake.primary_url(), &path, body.clone()).await;
        assert_eq!(errcode(&v), code);
    }
    assert!(post(&fake.primary_url(), &path, body.clone()).await["pre_auth_code"].is_string());

    // Two 503s on the primary only; the fallback is unaffected.
    fake.inject(
        FaultRule::new(Fault::Http(503))
            .on(Endpoint::CreatePreAuthCode)
            .on_host(Host::Primary)
            .times(2),
    );
    for _ in 0..2 {
        let r = http()
            .post(format!("{}{path}", fake.primary_url()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
    let r = http()
        .post(format!("{}{path}", fake.fallback_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fake.pending_faults(), 0);

    // Delay past a client timeout.
    fake.fail_next(
        Endpoint::CreatePreAuthCode,
        1,
        Fault::Delay(Duration::from_millis(1500)),
    );
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = short
        .post(format!("{}{path}", fake.primary_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    // Dropped connection: a transport error, not an HTTP answer.
    fake.fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Drop);
    let err = http()
        .post(format!("{}{path}", fake.primary_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert!(post(&fake.primary_url(), &path, body.clone()).await["pre_auth_code"].is_string());

    // Counters by host and outcome.
    assert_eq!(
        fake.calls_on(Host::Fallback, Endpoint::CreatePreAuthCode),
        1
    );
    assert_eq!(
        fake.calls_on(Host::Primary, Endpoint::CreatePreAuthCode),
        8 + 1 + 2 + 1 + 1 + 1
    );
    let log = fake.call_log();
    assert_eq!(
        log.iter().filter(|r| r.outcome == Outcome::Dropped).count(),
        1
    );
    assert_eq!(log.iter().filter(|r| r.delay.is_some()).count(), 1);
    assert_eq!(log.iter().filter(|r| r.injected).count(), 8 + 2 + 1 + 1);

    // Dead primary: connection refused; the fallback serves the same state; revival works.
    fake.kill_primary().await;
    assert!(!fake.primary_alive());
    let err = http()
        .post(format!("{}{path}", fake.primary_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(post(&fake.fallback_url(), &path, body.clone()).await["pre_auth_code"].is_string());
    fake.revive_primary().await.unwrap();
    assert!(post(&fake.primary_url(), &path, body.clone()).await["pre_auth_code"].is_string());
    fake.reset_counters();
    assert_eq!(fake.total_calls(), 0);
    println!("fake-contract: errcode/5xx/delay/drop/dead-primary faults behave");
}

#[tokio::test]
async fn pushes_decrypt_with_the_component_credentials() {
    let fake = fake().await;
    let crypt = MsgCrypt::new(
        fake.token(),
        fake.encoding_aes_key(),
        fake.component_appid(),
    )
    .unwrap();
    let push = fake.push_ticket().unwrap();
    assert_eq!(push.query.timestamp, T0.to_string());
    let plain = crypt
        .decrypt_message(
            push.body.as_bytes(),
            &push.query.msg_signature,
            &push.query.timestamp,
            &push.query.nonce,
        )
        .unwrap();
    assert_eq!(plain, push.plaintext.as_bytes());
    let text = String::from_utf8(plain).unwrap();
    assert!(text.contains("<InfoType><![CDATA[component_verify_ticket]]></InfoType>"));
    assert!(text.contains(&format!("<CreateTime>{T0}</CreateTime>")));
    // `signature` is the 3-field one, and it is not a valid msg_signature.
    let sig =
        wxopen_core::signature::sign_plain(fake.token(), &push.query.timestamp, &push.query.nonce);
    assert_eq!(sig.as_str(), push.query.signature);
    let wrong = crypt.decrypt_message(
        push.body.as_bytes(),
        &push.query.signature,
        &push.query.timestamp,
        &push.query.nonce,
    );
    assert_eq!(wrong.unwrap_err().code(), -40001);

    // Authorized-account message: ToUserName envelope, component appid inside.
    let auth = "wxc0c0c0c0c0c0c0c0";
    fake.push_authorized(auth).unwrap();
    let msg = fake
        .push_text_message(auth, "oUser]]>1", "你好 <b>&")
        .unwrap();
    assert!(msg.body.starts_with("<xml><ToUserName><![CDATA[gh_"));
    assert_eq!(msg.query.openid.as_deref(), Some("oUser]]>1"));
    let plain = crypt
        .decrypt_message(
            msg.body.as_bytes(),
            &msg.query.msg_signature,
            &msg.query.timestamp,
            &msg.query.nonce,
        )
        .unwrap();
    assert!(String::from_utf8(plain)
        .unwrap()
        .contains("<Content><![CDATA[你好 <b>&]]></Content>"));
    let authorizer_keyed = MsgCrypt::new(fake.token(), fake.encoding_aes_key(), auth).unwrap();
    let e = authorizer_keyed
        .decrypt_message(
            msg.body.as_bytes(),
            &msg.query.msg_signature,
            &msg.query.timestamp,
            &msg.query.nonce,
        )
        .unwrap_err();
    assert_eq!(e.code(), -40005);

    // A passive reply encrypted by the receiver opens on the platform side.
    let reply = crypt
        .encrypt_reply(
            b"<xml><Content>ok</Content></xml>",
            "1700000001",
            "n0nce",
            &[9; 16],
        )
        .unwrap();
    assert_eq!(
        fake.open_reply(&reply.to_xml()).unwrap(),
        "<xml><Content>ok</Content></xml>"
    );
    let mut tampered = reply.clone();
    tampered.msg_signature = "0".repeat(40);
    assert!(fake.open_reply(&tampered.to_xml()).is_err());

    let unauth = fake.push_unauthorized(auth).unwrap();
    let plain = crypt
        .decrypt_message(
            unauth.body.as_bytes(),
            &unauth.query.msg_signature,
            &unauth.query.timestamp,
            &unauth.query.nonce,
        )
        .unwrap();
    assert!(String::from_utf8(plain)
        .unwrap()
        .contains("<InfoType><![CDATA[unauthorized]]></InfoType>"));
    assert!(fake.push_updateauthorized("wx_never").is_err());
    println!("fake-contract: pushes decrypt and verify under the component credentials");
}
