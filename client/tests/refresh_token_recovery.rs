//! 61023: recover the current refresh token from api_get_authorizer_list, retry once, else
//! report that the account must re-authorize.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wiremock::ResponseTemplate;
use wxopen_client::{ClientEvent, Error};

/// An authorized account whose refresh token WeChat no longer accepts, both tokens expired:
/// the next call must refresh, and fetches one more component token ("ctok-2").
async fn setup() -> Harness {
    // Both tokens expired: the next call must use the refresh token.
    let h = Scenario::expired_authorizer(1, "refreshtoken@@@lost")
        .start()
        .await;
    h.verify().await;
    h.server.reset().await;
    // The component token expired too; one more fetch.
    h.server.component_token("ctok-2", 1).await;
    h
}

fn refresh_rejected() -> ResponseTemplate {
    err_json(61023, "refresh_token is invalid")
}

#[tokio::test]
async fn recovered_from_authorizer_list_then_retried_once() {
    let h = setup().await;
    let mut events = h.client.subscribe();

    let refresh_with =
        |t: &str| post(P_AUTHORIZER_TOKEN).body_has(json!({"authorizer_refresh_token": t}));
    h.expect(1, refresh_with("refreshtoken@@@lost"), refresh_rejected())
        .await;
    // Two pages: the account is on the second one (offset 500).
    let others: Vec<(String, String)> = (0..500)
        .map(|i| (format!("wxother{i}"), format!("refreshtoken@@@o{i}")))
        .collect();
    let others: Vec<(&str, &str)> = others.iter().map(|(a, r)| (&**a, &**r)).collect();
    let first_page = post(P_AUTHORIZER_LIST)
        .body_has(json!({"component_appid": APPID, "offset": 0, "count": 500}));
    h.expect(1, first_page, list_answer(501, &others)).await;
    h.expect(
        1,
        post(P_AUTHORIZER_LIST).body_has(json!({"offset": 500})),
        list_answer(501, &[("wxauthorizer01", "refreshtoken@@@current")]),
    )
    .await;
    h.expect(
        1,
        refresh_with("refreshtoken@@@current"),
        rotated_atok_answer("atok-2", "refreshtoken@@@current"),
    )
    .await;

    assert_eq!(h.atok("wxauthorizer01").await, "atok-2");
    assert_eq!(
        h.refresh_token("wxauthorizer01").await,
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
    assert_eq!(h.refresh_token("wxother7").await, "refreshtoken@@@o7");
    h.verify().await;
}

/// The token error when the refresh token is rejected at each of exactly `exchanges`
/// exchanges and the one list scan answers `list`.
async fn rejected_refresh(exchanges: u64, list: ResponseTemplate) -> (Harness, Error) {
    let h = setup().await;
    h.expect(exchanges, post(P_AUTHORIZER_TOKEN), refresh_rejected())
        .await;
    h.expect(1, post(P_AUTHORIZER_LIST), list).await;
    let err = h.atok_error("wxauthorizer01").await;
    (h, err)
}

#[tokio::test]
async fn not_in_list_means_must_reauthorize() {
    let (h, err) = rejected_refresh(1, list_answer(0, &[])).await;
    assert!(err.must_reauthorize(), "{err}");
    assert!(matches!(
        err,
        Error::MustReauthorize {
            errcode: Some(61023),
            ..
        }
    ));
    assert!(err.to_string().contains("must re-authorize"));
    h.verify().await;
}

#[tokio::test]
async fn recovered_token_rejected_too_is_one_retry_only() {
    // Both the stored and the listed token are rejected: exactly 2 exchanges, 1 list call.
    let listed = list_answer(1, &[("wxauthorizer01", "refreshtoken@@@other")]);
    let (h, err) = rejected_refresh(2, listed).await;
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
    h.verify().await;
}

#[tokio::test]
async fn unknown_authorizer_is_looked_up_in_the_list() {
    // Nothing stored (e.g. the store was lost): the list supplies the refresh token.
    let listed = json!({"authorizer_appid": "wxauthorizer09", "authorizer_refresh_token": "refreshtoken@@@listed"});
    let h = Scenario::ready("ctok", 1)
        .expect(
            1,
            post(P_AUTHORIZER_LIST),
            list_answer(1, &[("wxauthorizer09", "refreshtoken@@@listed")]),
        )
        .expect(
            1,
            post(P_AUTHORIZER_TOKEN).body_has(listed),
            atok_answer("atok-9"),
        )
        .start()
        .await;
    assert_eq!(h.atok("wxauthorizer09").await, "atok-9");
    h.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthorization_during_a_refresh_keeps_the_new_refresh_token() {
    let h = setup().await;
    // A slow refresh with the old token...
    let slow = rotated_atok_answer("atok-from-refresh", "refreshtoken@@@lost")
        .set_delay(std::time::Duration::from_millis(400));
    h.expect(1, post(P_AUTHORIZER_TOKEN), slow).await;
    // ...while the admin re-authorizes and query_auth stores a new refresh token.
    let reauth = query_auth_answer("wxauthorizer01", "atok-reauth", "refreshtoken@@@reauth");
    h.expect(1, post(P_QUERY_AUTH), reauth).await;
    let refresher = {
        let client = h.client.clone();
        tokio::spawn(async move { client.authorizer_access_token("wxauthorizer01").await })
    };
    eventually("the refresh reached WeChat", || async {
        h.server.hits(P_AUTHORIZER_TOKEN).await == 1
    })
    .await;
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
    assert_eq!(
        h.refresh_token("wxauthorizer01").await,
        "refreshtoken@@@reauth"
    );
    let rec = h.record("wxauthorizer01").await.unwrap();
    assert_eq!(rec.access_token.unwrap().expose_secret(), "atok-reauth");
    h.verify().await;
}
