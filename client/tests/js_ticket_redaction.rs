//! A JS-SDK ticket never shows in the Debug or Display of what the client hands out (the
//! ticket, the `wx.config`, events, errors of a failed fetch) nor in its logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wxopen_client::{JsTicketType, TokenStore};

const P_GETTICKET: &str = "/cgi-bin/ticket/getticket";
const ACCOUNT: &str = "wxauthorizer01";

#[tokio::test]
async fn no_ticket_in_debug_display_or_logs() {
    let (capture, _guard) = capture_logs();

    let h = Scenario::new()
        .ticket("ticket@@@t")
        .component_token("ctok", 1)
        .authorized(ACCOUNT, "atok", "refreshtoken@@@rt")
        // The card ticket's answer is malformed (expires_in a string) and carries the ticket:
        // the decode error must not repeat it.
        .expect(
            1,
            get(P_GETTICKET).atok("atok").and(wiremock::matchers::query_param("type", "wx_card")),
            ok_json(json!({"errcode": 0, "errmsg": "ok", "ticket": "SECRET-CARD", "expires_in": "SECRET-CARD"})),
        )
        .expect(
            1,
            get(P_GETTICKET).atok("atok").and(wiremock::matchers::query_param("type", "jsapi")),
            ok_json(json!({"errcode": 0, "errmsg": "ok", "ticket": "SECRET-JSAPI", "expires_in": 7200})),
        )
        .start()
        .await;
    let mut events = h.client.subscribe();

    let ticket = h.client.jsapi_ticket(ACCOUNT).await.unwrap();
    assert_eq!(ticket.token.expose_secret(), "SECRET-JSAPI");
    let config = h
        .client
        .jssdk_config(ACCOUNT, "https://shop.example/p?id=1#top")
        .await
        .unwrap();
    let card = h.client.card_ticket(ACCOUNT).await.unwrap_err();
    let record = h
        .store
        .get(&wxopen_client::StoreKey::js_ticket(
            APPID,
            ACCOUNT,
            JsTicketType::Jsapi,
        ))
        .await
        .unwrap();

    let mut texts = vec![
        format!("{ticket:?}"),
        format!("{config:?}"),
        serde_json::to_string(&config).unwrap(),
        format!("{card:?}"),
        card.to_string(),
        format!("{record:?}"),
        format!("{:?}", h.client),
    ];
    while let Ok(e) = events.try_recv() {
        texts.push(format!("{e:?}"));
    }
    texts.push(capture.text());
    assert!(
        texts.iter().any(|t| t.contains("JsTicketRefreshed")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("JsTicketFailed")),
        "{texts:#?}"
    );
    for t in &texts {
        assert!(!t.contains("SECRET"), "a ticket leaked: {t}");
    }
    // The record does hold it (the check above is not vacuous).
    assert!(matches!(
        record.map(|v| v.value),
        Some(wxopen_client::StoredValue::JsTicket(r)) if r.ticket.expose_secret() == "SECRET-JSAPI"
    ));
    h.verify().await;
}
