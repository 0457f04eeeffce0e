//! 61023: recover the current refresh token from api_get_authorizer_list, retry once, else
//! report that the account must re-authorize.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer};
use wxopen_client::{ClientEvent, Error};

async fn setup(server: &MockServer) -> Harness {
    let h = harness(&[server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(server, "ctok", 1).await;
    authorize(
        &h,
        server,
        "wxauthorizer01",
        "atok-1",
        "refreshtoken@@@lost",
    )
    .await;
    // Expire the access token so the next call must use the refresh token.
    h.clock.advance(std::time::Duration::from_secs(7200));
    h
}

async fn mount_component_token_again(server: &MockServer) {
    // The component token expired too; one more fetch.
    mount_component_token(server, "ctok-2", 1).await;
}

#[tokio::test]
async fn recovered_from_authorizer_list_then_retried_once() {
    let server = MockServer::start().await;
    let h = setup(&server).await;
    server.verify().await;
    server.reset().await;
    mount_component_token_again(&server).await;
    let mut events = h.client.subscribe();

    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(
            json!({"authorizer_refresh_token": "refreshtoken@@@lost"}),
        ))
        .respond_with(err_json(61023, "refresh_token is invalid"))
        .expect(1)
        .mount(&server)
        .await;
    // Two pages: the account is on the second one (offset 500).
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .and(body_partial_json(
            json!({"component_appid": APPID, "offset": 0, "count": 500}),
        ))
        .respond_with(ok_json(json!({
            "total_count": 501,
            "list": (0..500).map(|i| json!({
                "authorizer_appid": format!("wxother{i}"),
                "refresh_token": format!("refreshtoken@@@o{i}"),
                "auth_time": 1
            })).collect::<Vec<_>>()
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .and(body_partial_json(json!({"offset": 500})))
        .respond_with(ok_json(json!({
            "total_count": 501,
            "list": [{"authorizer_appid": "wxauthorizer01", "refresh_token": "refreshtoken@@@current", "auth_time": 1}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(
            json!({"authorizer_refresh_token": "refreshtoken@@@current"}),
        ))
        .respond_with(ok_json(json!({
            "authorizer_access_token": "atok-2",
            "expires_in": 7200,
            "authorizer_refresh_token": "refreshtoken@@@current"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let token = h
        .client
        .authorizer_access_token("wxauthorizer01")
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "atok-2");
    let rec = h
        .client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.refresh_token.as_ref().unwrap().expose_secret(),
        "refreshtoken@@@current"
    );
    let mut recovered = false;
    let mut scanned = None;
    while let Ok(e) = events.try_recv() {
        recovered |= e
            == ClientEvent::RefreshTokenRecovered {
                authorizer_appid: "wxauthorizer01".into(),
            };
        if let ClientEvent::AuthorizerListScanned {
            listed, restored, ..
        } = e
        {
            scanned = Some((listed, restored));
        }
    }
    assert!(recovered);
    // One scan restored every listed account, not only the one asked for.
    assert_eq!(scanned, Some((501, 501)));
    let other = h
        .client
        .authorizer_record("wxother7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other.refresh_token.unwrap().expose_secret(),
        "refreshtoken@@@o7"
    );
    server.verify().await;
}

#[tokio::test]
async fn not_in_list_means_must_reauthorize() {
    let server = MockServer::start().await;
    let h = setup(&server).await;
    server.reset().await;
    mount_component_token_again(&server).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(err_json(61023, "refresh_token is invalid"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({"total_count": 0, "list": []})))
        .expect(1)
        .mount(&server)
        .await;
    let err = h
        .client
        .authorizer_access_token("wxauthorizer01")
        .await
        .unwrap_err();
    assert!(err.must_reauthorize(), "{err}");
    assert!(matches!(
        err,
        Error::MustReauthorize {
            errcode: Some(61023),
            ..
        }
    ));
    assert!(err.to_string().contains("must re-authorize"));
    server.verify().await;
}

#[tokio::test]
async fn recovered_token_rejected_too_is_one_retry_only() {
    let server = MockServer::start().await;
    let h = setup(&server).await;
    server.reset().await;
    mount_component_token_again(&server).await;
    // Both the stored and the listed token are rejected: exactly 2 exchanges, 1 list call.
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(err_json(61023, "refresh_token is invalid"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({
            "total_count": 1,
            "list": [{"authorizer_appid": "wxauthorizer01", "refresh_token": "refreshtoken@@@other", "auth_time": 1}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = h
        .client
        .authorizer_access_token("wxauthorizer01")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MustReauthorize {
                errcode: Some(61023),
                ..
            }
        ),
        "{err}"
    );
    server.verify().await;
}

#[tokio::test]
async fn unknown_authorizer_is_looked_up_in_the_list() {
    // Nothing stored (e.g. the store was lost): the list supplies the refresh token.
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({
            "total_count": 1,
            "list": [{"authorizer_appid": "wxauthorizer09", "refresh_token": "refreshtoken@@@listed", "auth_time": 1}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .and(body_partial_json(json!({"authorizer_appid": "wxauthorizer09", "authorizer_refresh_token": "refreshtoken@@@listed"})))
        .respond_with(ok_json(json!({"authorizer_access_token": "atok-9", "expires_in": 7200})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        h.client
            .authorizer_access_token("wxauthorizer09")
            .await
            .unwrap()
            .expose_secret(),
        "atok-9"
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthorization_during_a_refresh_keeps_the_new_refresh_token() {
    let server = MockServer::start().await;
    let h = setup(&server).await;
    server.reset().await;
    mount_component_token_again(&server).await;
    // A slow refresh with the old token...
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(
            ok_json(json!({
                "authorizer_access_token": "atok-from-refresh",
                "expires_in": 7200,
                "authorizer_refresh_token": "refreshtoken@@@lost"
            }))
            .set_delay(std::time::Duration::from_millis(400)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // ...while the admin re-authorizes and query_auth stores a new refresh token.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_query_auth"))
        .respond_with(ok_json(json!({"authorization_info": {
            "authorizer_appid": "wxauthorizer01",
            "authorizer_access_token": "atok-reauth",
            "expires_in": 7200,
            "authorizer_refresh_token": "refreshtoken@@@reauth",
            "func_info": []
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let refresher = {
        let client = h.client.clone();
        tokio::spawn(async move { client.authorizer_access_token("wxauthorizer01").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    h.client
        .query_auth(&wxopen_client::AuthorizationCode::new(
            "queryauthcode@@@again",
        ))
        .await
        .unwrap();
    // The in-flight refresh still hands its (valid) token to its caller...
    assert_eq!(
        refresher.await.unwrap().unwrap().expose_secret(),
        "atok-from-refresh"
    );
    // ...but does not overwrite the newer authorization.
    let rec = h
        .client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.refresh_token.as_ref().unwrap().expose_secret(),
        "refreshtoken@@@reauth"
    );
    assert_eq!(rec.access_token.unwrap().expose_secret(), "atok-reauth");
    server.verify().await;
}
