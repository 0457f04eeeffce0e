//! The hand-off to `authorized_redirect` (issue 22, item 4) and the pages' protections: the
//! redirect is signed and verifies with `wxopen_proto::handoff::Handoff::verify`, a code is
//! handed off once, a `state` not issued with the visit's pre-auth code is refused (changed
//! in the URL, or the `authorized` push naming another pre-auth code), problem pages show a
//! request id and never WeChat's errmsg, and every page forbids framing and sniffing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};
use wxopen_client::wxopen_proto::handoff::{Handoff, HandoffError};
use wxopen_client::MemoryStore;
use wxopen_fake::harness::AuthorizeLink;

const HANDOFF_KEY: &str = "handoff-key-0123456789abcdef-0123456789";
const HOST: &str = "https://host.example/after-authorization";

/// The first component with a display name, `authorized_redirect` and `handoff_key`.
async fn service(upstream: &MockServer) -> App {
    let text = config_text(&upstream.uri(), "").replacen(
        &format!("encoding_aes_key = \"{AES_KEY}\"\n"),
        &format!(
            "encoding_aes_key = \"{AES_KEY}\"\ndisplay_name = \"Acme 运营平台\"\nauthorized_redirect = \"{HOST}?from=wechat\"\nhandoff_key = \"{HANDOFF_KEY}\"\n"
        ),
        1,
    );
    let cfg = wxopen_server::config::parse(&text, std::path::Path::new("/")).unwrap();
    in_process_config(cfg, Arc::new(MemoryStore::new())).await
}

async fn mount_pre_auth_code(upstream: &MockServer, code: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_create_preauthcode"))
        .respond_with(ok_json(json!({"pre_auth_code": code, "expires_in": 600})))
        .mount(upstream)
        .await;
}

/// A service with a ticket, a component token, a pre-auth code and `query_auth` mounted.
async fn ready(upstream: &MockServer, pre_auth_code: &str) -> App {
    let s = service(upstream).await;
    mount_component_token(upstream, "ctok").await;
    mount_pre_auth_code(upstream, pre_auth_code).await;
    mount_query_auth(upstream, "wxauthorizer01", "atok-1", "refreshtoken@@@r1").await;
    s.push_ticket("ticket@@@t", T0).await;
    s
}

/// The authorize page's link for `state`.
async fn link(s: &App, state: &str) -> AuthorizeLink {
    let page = s
        .public_get(&format!("/wechat/{APPID}/authorize?state={state}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    AuthorizeLink::find(&page.text()).unwrap()
}

/// The path and query WeChat sends the browser back to (the link's `redirect_uri` + `query`).
fn back(link: &AuthorizeLink, code: &str) -> String {
    let url = link.redirect(&format!("auth_code={code}&expires_in=600"));
    let u = url::Url::parse(&url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap())
}

fn authorized_push_xml(code: &str, pre_auth_code: &str) -> String {
    format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><CreateTime>{T0}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wxauthorizer01]]></AuthorizerAppid><AuthorizationCode><![CDATA[{code}]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[{pre_auth_code}]]></PreAuthCode></xml>",
        T0 + 600
    )
}

#[tokio::test]
async fn the_hand_off_is_signed_and_verifies_with_the_library() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let link = link(&s, "order-42").await;
    assert!(
        link.redirect_uri.contains("state=order-42&wxopen_bind="),
        "the state rides on the redirect URI, bound: {}",
        link.redirect_uri
    );
    let done = s.public_get(&back(&link, "queryauthcode@@@c")).await;
    assert_eq!(done.status, 303, "{}", done.text());
    let to = url::Url::parse(done.header("location")).unwrap();
    assert_eq!(
        format!("{}://{}{}", to.scheme(), to.host_str().unwrap(), to.path()),
        HOST
    );
    let query = to.query().unwrap();
    assert!(
        query.starts_with("from=wechat&"),
        "the host's own parameters stay: {query}"
    );
    let got = Handoff::verify(query, APPID, HANDOFF_KEY.as_bytes(), s.now() + 1, 300).unwrap();
    assert_eq!(got.authorizer_appid, "wxauthorizer01");
    assert_eq!(got.state.as_deref(), Some("order-42"));
    assert_eq!(got.issued_at, s.now());
    assert_eq!(got.nonce.len(), 32);
    // The host refuses a changed appid or state, another key, and a stale hand-off.
    for forged in [
        query.replace(
            "authorizer_appid=wxauthorizer01",
            "authorizer_appid=wxauthorizer02",
        ),
        query.replace("state=order-42", "state=order-43"),
    ] {
        assert_eq!(
            Handoff::verify(&forged, APPID, HANDOFF_KEY.as_bytes(), s.now(), 300),
            Err(HandoffError::BadSignature),
            "{forged}"
        );
    }
    assert_eq!(
        Handoff::verify(query, APPID, &[7u8; 32], s.now(), 300),
        Err(HandoffError::BadSignature)
    );
    assert!(matches!(
        Handoff::verify(query, APPID, HANDOFF_KEY.as_bytes(), s.now() + 301, 300),
        Err(HandoffError::Expired { .. })
    ));
}

#[tokio::test]
async fn a_replayed_code_is_not_handed_off_twice() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let link = link(&s, "order-42").await;
    let url = back(&link, "queryauthcode@@@c");
    let first = s.public_get(&url).await;
    assert_eq!(first.status, 303);
    let again = s.public_get(&url).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.header("location"), "", "no second hand-off");
    let html = again.text();
    assert!(
        html.contains("授权已完成") && html.contains("Authorization already completed"),
        "{html}"
    );
    assert!(html.contains("回到 Acme 运营平台 继续"), "{html}");
    assert!(
        !html.contains("wxopen_sig") && !html.contains(HOST),
        "{html}"
    );
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_query_auth").await,
        1
    );
}

#[tokio::test]
async fn a_state_not_issued_with_that_pre_auth_code_is_refused() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let link = link(&s, "order-42").await;
    let url = back(&link, "queryauthcode@@@c");
    // Another state on the same binding.
    let other_state = s
        .public_get(&url.replace("state=order-42", "state=order-43"))
        .await;
    assert_eq!(other_state.status, 403, "{}", other_state.text());
    assert!(other_state.text().contains("无法确认这次授权"));
    // No binding at all (a state the authorize page never issued).
    let unbound = s
        .public_get(&format!(
            "/wechat/{APPID}/authorized?auth_code=queryauthcode@@@c&expires_in=600&state=order-42"
        ))
        .await;
    assert_eq!(unbound.status, 403);
    // A binding given twice.
    let bind = url
        .split("wxopen_bind=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let twice = s.public_get(&format!("{url}&wxopen_bind={bind}")).await;
    assert_eq!(twice.status, 403);
    // Nothing was exchanged for any of them.
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_query_auth").await,
        0
    );
}

#[tokio::test]
async fn the_push_naming_another_pre_auth_code_refuses_the_redirect() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let link = link(&s, "order-42").await;
    // WeChat's push says the code came from another visit's pre-auth code.
    let (q, body) = push(
        &authorized_push_xml("queryauthcode@@@c", "preauthcode@@@other"),
        &s.now().to_string(),
        "n2",
    );
    assert_eq!(s.post_push(APPID, &q, body).await.0, 200);
    assert!(s.service.drain(Duration::from_secs(5)).await);
    let done = s.public_get(&back(&link, "queryauthcode@@@c")).await;
    assert_eq!(done.status, 403, "{}", done.text());
    assert_eq!(done.header("location"), "");
}

#[tokio::test]
async fn the_push_naming_the_same_pre_auth_code_lets_the_hand_off_through() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let link = link(&s, "order-42").await;
    let (q, body) = push(
        &authorized_push_xml("queryauthcode@@@c", "preauthcode@@@abc"),
        &s.now().to_string(),
        "n2",
    );
    assert_eq!(s.post_push(APPID, &q, body).await.0, 200);
    assert!(s.service.drain(Duration::from_secs(5)).await);
    let done = s.public_get(&back(&link, "queryauthcode@@@c")).await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_query_auth").await,
        1
    );
}

#[tokio::test]
async fn problem_pages_show_a_request_id_and_no_internals() {
    let upstream = MockServer::start().await;
    let s = service(&upstream).await;
    mount_component_token(&upstream, "ctok").await;
    mount_pre_auth_code(&upstream, "preauthcode@@@abc").await;
    s.push_ticket("ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_query_auth"))
        .respond_with(ok_json(
            json!({"errcode": 61004, "errmsg": "access clientip 203.0.113.9 is not registered rid: 1"}),
        ))
        .mount(&upstream)
        .await;
    let link = link(&s, "order-42").await;
    let page = s
        .public(Method::GET, &back(&link, "queryauthcode@@@c"))
        .header("x-request-id", "req-123")
        .send()
        .await;
    let html = page.text();
    assert!(page.status >= 500, "{}: {html}", page.status);
    assert!(
        html.contains("<code id=\"request-id\">req-123</code>"),
        "{html}"
    );
    assert!(
        html.contains("请联系平台方") && html.to_lowercase().contains("contact the platform"),
        "{html}"
    );
    for internal in [
        "203.0.113.9",
        "61004",
        "errmsg",
        "api_query_auth",
        "clientip",
        "README",
    ] {
        assert!(!html.contains(internal), "{internal} shown: {html}");
    }
    // An unknown platform: still bilingual, with an id of the service's own.
    let unknown = s.public_get("/wechat/wxunknown/authorize").await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("找不到这个授权页") && unknown.text().contains("does not exist")
    );
    assert!(
        unknown.text().contains("id=\"request-id\""),
        "{}",
        unknown.text()
    );
}

#[tokio::test]
async fn pages_are_never_framed_or_sniffed_and_keep_the_origin_referrer() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let entry = s.public_get(&format!("/wechat/{APPID}/authorize")).await;
    let error = s.public_get(&format!("/wechat/{APPID}/authorized")).await;
    for page in [&entry, &error] {
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert!(page
            .header("content-security-policy")
            .contains("frame-ancestors 'none'"));
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("cache-control"), "no-store");
    }
    let html = entry.text();
    assert!(
        html.contains("<meta name=\"referrer\" content=\"origin\">"),
        "{html}"
    );
    assert!(
        html.contains("授权给 Acme 运营平台") && html.contains("Authorize Acme 运营平台"),
        "the display name, not the appid: {html}"
    );
    assert!(!html.contains("Component"), "{html}");
}

#[tokio::test]
async fn a_phone_outside_wechat_gets_both_links_and_wechat_only_h5() {
    let upstream = MockServer::start().await;
    let s = ready(&upstream, "preauthcode@@@abc").await;
    let get = |ua: &'static str| {
        s.public(Method::GET, &format!("/wechat/{APPID}/authorize"))
            .header("user-agent", ua)
            .send()
    };
    let phone = get("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36")
        .await
        .text();
    assert!(
        phone.contains(
            "id=\"authorize\" href=\"https://open.weixin.qq.com/wxaopen/safe/bindcomponent"
        ),
        "{phone}"
    );
    assert!(
        phone.contains(
            "id=\"authorize-pc\" href=\"https://mp.weixin.qq.com/cgi-bin/componentloginpage"
        ),
        "{phone}"
    );
    assert!(
        phone.contains("Use this one when this page is open inside WeChat"),
        "{phone}"
    );
    let wechat = get("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0")
        .await
        .text();
    assert!(
        wechat.contains("bindcomponent") && !wechat.contains("componentloginpage"),
        "{wechat}"
    );
    let desktop = get("Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
        .await
        .text();
    assert!(
        desktop.contains("componentloginpage") && !desktop.contains("bindcomponent"),
        "{desktop}"
    );
}

#[test]
fn the_hand_off_needs_a_key_of_32_bytes_and_display_names_are_checked() {
    let upstream_text = |extra: &str| {
        config_text("http://127.0.0.1:9", "").replacen(
            &format!("encoding_aes_key = \"{AES_KEY}\"\n"),
            &format!("encoding_aes_key = \"{AES_KEY}\"\n{extra}"),
            1,
        )
    };
    let parse = |extra: &str| {
        wxopen_server::config::parse(&upstream_text(extra), std::path::Path::new("/"))
    };
    let e = parse(&format!("authorized_redirect = \"{HOST}\"\n")).unwrap_err();
    assert_eq!(e.key, "component[0].handoff_key", "{e}");
    assert!(e.to_string().contains("Handoff::verify"), "{e}");
    let e = parse(&format!(
        "authorized_redirect = \"{HOST}\"\nhandoff_key = \"too-short\"\n"
    ))
    .unwrap_err();
    assert_eq!(e.key, "component[0].handoff_key", "{e}");
    let e = parse("display_name = \"a\\nb\"\n").unwrap_err();
    assert_eq!(e.key, "component[0].display_name", "{e}");
    let ok = parse(&format!(
        "authorized_redirect = \"{HOST}\"\nhandoff_key = \"{HANDOFF_KEY}\"\ndisplay_name = \"{{x}}\"\n"
    ))
    .unwrap();
    let c = &ok.components[0];
    assert_eq!(c.display_name.as_deref(), Some("{x}"));
    assert!(
        !format!("{c:?}").contains(HANDOFF_KEY),
        "the key is redacted"
    );
}
