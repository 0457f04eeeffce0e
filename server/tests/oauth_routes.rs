//! The web-authorization and mini-program-login routes, in process (`oneshot`, WeChat a
//! wiremock upstream): the link, one upstream exchange per code however many requests carry
//! it, the component token (never the account's) on the exchanges, typed 400s for refused
//! codes and bad input, 429 for 45011, answers never cached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

const ACCOUNT: &str = "wxauthorizer01";

async fn ready(upstream: &MockServer) -> App {
    let s = in_process(upstream).await;
    mount_component_token(upstream, "ctok-1").await;
    assert_eq!(
        s.push_ticket("ticket@@@t1", T0).await,
        (200, "success".into())
    );
    s
}

fn base() -> String {
    format!("/v1/{APPID}/authorizers/{ACCOUNT}")
}

#[tokio::test]
async fn the_link_is_built_and_bad_queries_are_typed_400s() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    let r = s
        .internal_get(
            &format!(
                "{}/oauth/link?redirect_uri=https%3A%2F%2Fh.example%2Fcb&scope=snsapi_userinfo&state=s-1",
                base()
            ),
            Some(KEY),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["url"],
        format!("https://open.weixin.qq.com/connect/oauth2/authorize?appid={ACCOUNT}&redirect_uri=https%3A%2F%2Fh.example%2Fcb&response_type=code&scope=snsapi_userinfo&state=s-1&component_appid={APPID}#wechat_redirect")
    );
    for bad in [
        "redirect_uri=https%3A%2F%2Fh.example%2Fcb&scope=snsapi_login",
        "redirect_uri=https%3A%2F%2Fh.example%2Fcb&scope=snsapi_base&state=a%20b",
        "redirect_uri=%2Fcb&scope=snsapi_base",
        "scope=snsapi_base",
    ] {
        let r = s
            .internal_get(&format!("{}/oauth/link?{bad}", base()), Some(KEY))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.json()["error"].is_string() && r.json()["hint"].is_string());
    }
    let r = s
        .internal_get(
            &format!(
                "{}/oauth/link?redirect_uri=https%3A%2F%2Fh%2F&scope=snsapi_base",
                base()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_make_one_upstream_call_with_the_component_token() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    Mock::given(method("GET"))
        .and(path("/sns/oauth2/component/access_token"))
        .and(query_param("component_access_token", "ctok-1"))
        .and(query_param("component_appid", APPID))
        .and(query_param("appid", ACCOUNT))
        .and(query_param("code", "c0de"))
        .and(query_param("grant_type", "authorization_code"))
        .respond_with(ok_json(json!({
            "access_token": "utok-1", "expires_in": 7200, "refresh_token": "uref-1",
            "openid": "o-1", "scope": "snsapi_userinfo"
        })))
        .mount(&upstream)
        .await;
    let p = format!("{}/oauth/exchange", base());
    let body = json!({"code": "c0de"});
    let answers =
        futures_util::future::join_all((0..8).map(|_| s.internal_post(&p, KEY, &body))).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.header("cache-control"), "no-store");
        assert_eq!(a.json(), answers[0].json());
    }
    let v = answers[0].json();
    assert_eq!(v["access_token"], "utok-1");
    assert_eq!(v["refresh_token"], "uref-1");
    assert_eq!(v["openid"], "o-1");
    // Later: the same answer, still one call.
    assert_eq!(
        s.internal_post(&p, KEY, &json!({"code": "c0de"}))
            .await
            .json(),
        v
    );
    assert_eq!(
        hits(&upstream, "/sns/oauth2/component/access_token").await,
        1
    );
}

#[tokio::test]
async fn refused_codes_are_400s_with_the_errcode_and_are_not_sent_again() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    Mock::given(method("GET"))
        .and(path("/sns/oauth2/component/access_token"))
        .respond_with(ok_json(
            json!({"errcode": 40163, "errmsg": "code been used"}),
        ))
        .mount(&upstream)
        .await;
    let p = format!("{}/oauth/exchange", base());
    for _ in 0..2 {
        let r = s.internal_post(&p, KEY, &json!({"code": "used"})).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["errcode"], 40163);
        assert!(r.json()["hint"].as_str().unwrap().contains("single use"));
    }
    assert_eq!(
        hits(&upstream, "/sns/oauth2/component/access_token").await,
        1
    );
    // Bad bodies never reach WeChat.
    for bad in [
        json!({}),
        json!({"code": ""}),
        json!({"code": "x".repeat(513)}),
        json!({"code": "c", "extra": 1}),
        json!({"code": 7}),
    ] {
        let r = s.internal_post(&p, KEY, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    assert_eq!(
        hits(&upstream, "/sns/oauth2/component/access_token").await,
        1
    );
}

#[tokio::test]
async fn refresh_and_userinfo() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    Mock::given(method("GET"))
        .and(path("/sns/oauth2/component/refresh_token"))
        .and(query_param("component_access_token", "ctok-1"))
        .and(query_param("refresh_token", "uref-1"))
        .and(query_param("grant_type", "refresh_token"))
        .respond_with(ok_json(json!({
            "access_token": "utok-2", "expires_in": 7200, "refresh_token": "uref-1",
            "openid": "o-1", "scope": "snsapi_userinfo"
        })))
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/sns/userinfo"))
        .and(query_param("access_token", "utok-2"))
        .and(query_param("openid", "o-1"))
        .and(query_param("lang", "en"))
        .respond_with(ok_json(
            json!({"openid": "o-1", "nickname": "N", "privilege": []}),
        ))
        .mount(&upstream)
        .await;
    let r = s
        .internal_post(
            &format!("{}/oauth/refresh", base()),
            KEY,
            &json!({"refresh_token": "uref-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["access_token"], "utok-2");
    let r = s
        .internal_post(
            &format!("{}/oauth/userinfo", base()),
            KEY,
            &json!({"access_token": "utok-2", "openid": "o-1", "lang": "en"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["nickname"], "N");
    let r = s
        .internal_post(
            &format!("{}/oauth/userinfo", base()),
            KEY,
            &json!({"access_token": "utok-2", "openid": "o-1", "lang": "fr"}),
        )
        .await;
    assert_eq!(r.status, 400);
}

/// A user's refresh token or access token that WeChat refuses is the caller's mistake: 400
/// with the errcode and what to do, never a 502 (found by Schemathesis), and no component
/// token is refreshed for the user's token.
#[tokio::test]
async fn refused_user_credentials_are_400s_not_gateway_errors() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    Mock::given(method("GET"))
        .and(path("/sns/oauth2/component/refresh_token"))
        .respond_with(ok_json(
            json!({"errcode": 40030, "errmsg": "invalid refresh_token"}),
        ))
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/sns/userinfo"))
        .respond_with(ok_json(
            json!({"errcode": 40001, "errmsg": "invalid credential"}),
        ))
        .mount(&upstream)
        .await;
    let r = s
        .internal_post(
            &format!("{}/oauth/refresh", base()),
            KEY,
            &json!({"refresh_token": "nonsense"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["errcode"], 40030);
    assert!(r.json()["hint"].as_str().unwrap().contains("link again"));
    let r = s
        .internal_post(
            &format!("{}/oauth/userinfo", base()),
            KEY,
            &json!({"access_token": "stale", "openid": "o-1"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["errcode"], 40001);
    assert!(!r.text().contains("it was refreshed"), "{}", r.text());
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_component_token").await,
        1,
        "the component token is not refreshed for a user's token"
    );
}

#[tokio::test]
async fn jscode2session_once_per_code_and_typed_refusals() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream).await;
    let answer = |code: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path("/sns/component/jscode2session"))
            .and(query_param("component_access_token", "ctok-1"))
            .and(query_param("js_code", code))
            .respond_with(ok_json(body))
    };
    answer(
        "good",
        json!({"openid": "o-9", "session_key": "SK==", "unionid": "u-9"}),
    )
    .mount(&upstream)
    .await;
    answer(
        "risky",
        json!({"errcode": 40226, "errmsg": "high risk user"}),
    )
    .mount(&upstream)
    .await;
    answer(
        "busy",
        json!({"errcode": 45011, "errmsg": "api minute-quota reach limit"}),
    )
    .mount(&upstream)
    .await;
    let p = format!("{}/wxa/jscode2session", base());
    let body = json!({"js_code": "good"});
    let answers =
        futures_util::future::join_all((0..4).map(|_| s.internal_post(&p, KEY, &body))).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(
            a.json(),
            json!({"openid": "o-9", "session_key": "SK==", "unionid": "u-9"})
        );
        assert_eq!(a.header("cache-control"), "no-store");
    }
    let r = s.internal_post(&p, KEY, &json!({"js_code": "risky"})).await;
    assert_eq!((r.status, r.json()["errcode"].clone()), (400, json!(40226)));
    let r = s.internal_post(&p, KEY, &json!({"js_code": "busy"})).await;
    assert_eq!((r.status, r.json()["errcode"].clone()), (429, json!(45011)));
    // 45011 does not settle the code: asked again, WeChat is asked again.
    s.internal_post(&p, KEY, &json!({"js_code": "busy"})).await;
    let calls = |code: &'static str| {
        let upstream = &upstream;
        async move {
            upstream
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| {
                    r.url
                        .query_pairs()
                        .any(|(k, v)| k == "js_code" && v == code)
                })
                .count()
        }
    };
    assert_eq!(calls("good").await, 1);
    assert_eq!(calls("risky").await, 1);
    assert_eq!(calls("busy").await, 2);
    let r = s
        .internal(Method::POST, &p)
        .bearer(KEY)
        .body("{\"js_code\":\"good\"}")
        .send()
        .await;
    assert_eq!(r.status, 400, "no JSON content type: {}", r.text());
}
