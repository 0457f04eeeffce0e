//! The whole flow, from the first ticket push to a refreshed authorizer token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::MockBuilder;
use wxopen_client::{AuthPage, AuthUrlOptions, ClientEvent, ComponentEvent, Error, TokenState};

/// A component-token fetch with exactly the documented body, carrying `ticket`.
fn component_token_request(ticket: &str) -> MockBuilder {
    post(P_COMPONENT_TOKEN).body(json!({
        "component_appid": APPID,
        "component_appsecret": SECRET,
        "component_verify_ticket": ticket
    }))
}

#[tokio::test]
async fn ticket_push_to_refreshed_authorizer_token() {
    let h = Scenario::new().start().await;
    let mut events = h.client.subscribe();

    // 1. Before any ticket: typed error, no upstream call.
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(matches!(err, Error::TicketMissing), "{err}");
    assert_eq!(
        events.recv().await.unwrap(),
        ClientEvent::RefreshFailed {
            authorizer_appid: None,
            errcode: None
        }
    );
    // Remembered: asking again costs nothing until a ticket arrives.
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(matches!(err, Error::TicketMissing), "{err}");

    // 2. Ticket push (it ends the ticket cool-down).
    h.push_ticket("ticket@@@first", T0).await;
    assert_eq!(
        events.recv().await.unwrap(),
        ClientEvent::TicketReceived {
            create_time: T0,
            stored: true
        }
    );

    // 3. Component token: exactly the documented request body, with the pushed ticket.
    let first = component_token_request("ticket@@@first");
    h.expect(1, first, ctok_answer("ctok-1")).await;
    let ctok = h.client.component_access_token().await.unwrap();
    assert_eq!(ctok.expose_secret(), "ctok-1");
    // Cached: the second call makes no upstream request (expect(1) above).
    assert_eq!(h.client.component_access_token().await.unwrap(), ctok);

    // 4. Pre-auth code and authorization URL.
    let preauth = post(P_PREAUTH)
        .ctok("ctok-1")
        .body(json!({"component_appid": APPID}));
    let code = json!({"pre_auth_code": "preauthcode@@@abc", "expires_in": 600});
    h.expect(1, preauth, ok_json(code)).await;
    let request = h
        .client
        .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/cb"))
        .await
        .unwrap();
    assert_eq!(request.pre_auth_code.expose_secret(), "preauthcode@@@abc");
    assert_eq!(request.expires_at, T0 + 600);
    assert_eq!(
        request.url,
        format!("https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid={APPID}&pre_auth_code=preauthcode%40%40%40abc&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&auth_type=3")
    );

    // 5. The admin consents: WeChat pushes `authorized` with a code.
    let (q, body) = push(
        &authorized_xml("wxauthorizer01", "queryauthcode@@@xyz", T0 + 5),
        "1700000005",
        "n2",
    );
    let ack = h.client.handle_component_push(&q, &body).await.unwrap();
    let ComponentEvent::Authorized(grant) = ack.event else {
        panic!("{:?}", ack.event)
    };
    assert_eq!(grant.authorizer_appid, "wxauthorizer01");

    // 6. query_auth stores the tokens before returning.
    let exchange = post(P_QUERY_AUTH)
        .ctok("ctok-1")
        .body(json!({"component_appid": APPID, "authorization_code": "queryauthcode@@@xyz"}));
    let answer = query_auth_answer("wxauthorizer01", "atok-1", "refreshtoken@@@r1");
    h.expect(1, exchange, answer).await;
    let info = h
        .client
        .query_auth(&grant.authorization_code)
        .await
        .unwrap();
    assert_eq!(info.authorizer_appid, "wxauthorizer01");
    assert_eq!(h.refresh_token("wxauthorizer01").await, "refreshtoken@@@r1");
    let rec = h.record("wxauthorizer01").await.unwrap();
    assert_eq!(rec.expires_at, T0 + 7200);
    assert_eq!(rec.refresh_at, T0 + 6600);

    // 7. Served from the store while fresh.
    assert_eq!(h.atok("wxauthorizer01").await, "atok-1");

    // 8. Time passes beyond expiry of both tokens. The component token is refreshed with the
    //    newest ticket, then the authorizer token with the stored refresh token; the new
    //    refresh token WeChat returns is stored with the new access token.
    h.push_ticket("ticket@@@second", T0 + 7000).await;
    h.clock.advance(Duration::from_secs(7300));
    component_token_request("ticket@@@second")
        .respond_with(ctok_answer("ctok-2"))
        .expect(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    let refresh = post(P_AUTHORIZER_TOKEN).ctok("ctok-2").body(json!({
        "component_appid": APPID,
        "authorizer_appid": "wxauthorizer01",
        "authorizer_refresh_token": "refreshtoken@@@r1"
    }));
    let rotated = rotated_atok_answer("atok-2", "refreshtoken@@@r2");
    h.expect(1, refresh, rotated).await;
    assert_eq!(h.atok("wxauthorizer01").await, "atok-2");
    assert_eq!(h.refresh_token("wxauthorizer01").await, "refreshtoken@@@r2");
    let rec = h.record("wxauthorizer01").await.unwrap();
    assert_eq!(rec.access_token.as_ref().unwrap().expose_secret(), "atok-2");
    assert_eq!(rec.expires_at, T0 + 7300 + 7200);

    // Hooks saw every step.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen.contains(&ClientEvent::AuthorizerAuthorized {
        authorizer_appid: "wxauthorizer01".into()
    }));
    assert!(seen.contains(&ClientEvent::AuthorizationCodeReceived {
        authorizer_appid: "wxauthorizer01".into(),
        update: false
    }));
    assert!(seen.contains(&ClientEvent::ComponentTokenRefreshed {
        expires_at: T0 + 7300 + 7200
    }));
    assert!(seen.contains(&ClientEvent::AuthorizerTokenRefreshed {
        authorizer_appid: "wxauthorizer01".into(),
        expires_at: T0 + 7300 + 7200
    }));
    h.verify().await;
}

/// Refresh ahead runs in the background: the caller holding a valid token never waits on the
/// network, and a failed refresh ahead keeps the valid token and is remembered for its
/// cool-down instead of being retried on the very next call.
///
/// (This replaces an assertion of the old engine, where the caller itself ran the refresh
/// ahead, waited for it, and every later call inside the margin tried again — one upstream
/// call per request while WeChat answered 45009.)
#[tokio::test]
async fn refresh_ahead_runs_in_the_background_and_a_failure_is_remembered() {
    let h = Scenario::ready("ctok-1", 1).start().await;
    h.client.component_access_token().await.unwrap();
    h.server.reset().await;

    // Inside the margin (10 min before expiry).
    h.clock.advance(Duration::from_secs(6700));
    let rec = h.client.component_token_record().await.unwrap().unwrap();
    assert_eq!(
        wxopen_client::tokens::token_state(T0 + 6700, rec.refresh_at, rec.expires_at),
        TokenState::RefreshAhead
    );
    let quota = err_json(45009, "reach max api daily quota limit");
    let slow = quota.set_delay(Duration::from_secs(1));
    h.expect(1, post(P_COMPONENT_TOKEN), slow).await;
    let mut events = h.client.subscribe();
    // The caller gets the valid token without waiting for the (slow) refresh: its outcome
    // has not arrived when the call returns.
    let token = h.client.component_access_token().await.unwrap();
    assert_eq!(token.expose_secret(), "ctok-1");
    assert!(
        events.try_recv().is_err(),
        "the caller waited for the refresh outcome"
    );
    loop {
        match events.recv().await.unwrap() {
            ClientEvent::RefreshFailed { errcode, .. } => {
                assert_eq!(errcode, Some(45009));
                break;
            }
            _ => continue,
        }
    }
    // During the cool-down: the valid token, and nothing reaches WeChat.
    for _ in 0..20 {
        assert_eq!(h.ctok().await, "ctok-1");
    }
    h.verify().await;
    h.server.reset().await;

    // After the cool-down (10 min ± 20 %) the token has expired: the caller waits for a
    // refresh, which succeeds.
    h.clock.advance(Duration::from_secs(721));
    h.server.component_token("ctok-2", 1).await;
    assert_eq!(h.ctok().await, "ctok-2");
    h.verify().await;
}

#[tokio::test]
async fn second_client_on_the_same_store_reuses_ticket_and_component_token() {
    let h = Scenario::ready("ctok-1", 1).start().await;
    h.client.component_access_token().await.unwrap();

    // A second client on the same in-process store (what another instance sharing a store
    // sees; not a process restart, which needs a persistent store).
    let again = h.second_client();
    assert_eq!(
        again
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-1"
    );
    let stored = again.stored_ticket().await.unwrap().unwrap();
    assert_eq!(stored.ticket.expose_secret(), "ticket@@@t");
    h.verify().await;
}

#[tokio::test]
async fn health_reports_a_missing_or_stale_ticket() {
    let h = Scenario::new().start().await;
    assert!(!h.client.health().await.unwrap().is_healthy());
    h.push_ticket("ticket@@@t", T0).await;
    let health = h.client.health().await.unwrap();
    assert!(health.is_healthy());
    assert_eq!(health.ticket_create_time, Some(T0));
    // No push for 12 h and a bit: the ticket is stale.
    h.clock.advance(Duration::from_secs(12 * 3600 + 1));
    let health = h.client.health().await.unwrap();
    assert!(health.ticket_stale && !health.is_healthy());
}
