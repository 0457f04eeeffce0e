//! Secrets never appear in Debug or Display of anything the client exposes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use wxopen_client::{
    AuthorizationCode, AuthorizerAccessToken, AuthorizerRefreshToken, ClientEvent,
    ComponentAccessToken, ComponentAppSecret, ComponentVerifyTicket, EncodingAesKey, MessageToken,
    PreAuthCode,
};

#[tokio::test]
async fn nothing_leaks_through_debug_or_display() {
    let h = Scenario::new()
        .ticket("ticket@@@SECRET-TICKET")
        .component_token("SECRET-CTOK", 1)
        .authorized("wxauthorizer01", "SECRET-ATOK", "refreshtoken@@@SECRET-RT")
        .start()
        .await;

    let mut texts = vec![
        format!("{:?}", h.client),
        format!("{:?}", h.client.config()),
        format!("{:?}", h.store),
        format!("{:?}", h.client.store()),
        format!("{:?}", h.client.stored_ticket().await.unwrap()),
        format!("{:?}", h.client.component_token_record().await.unwrap()),
        format!(
            "{:?}",
            h.client.authorizer_record("wxauthorizer01").await.unwrap()
        ),
        format!("{:?}", h.client.component_access_token().await.unwrap()),
        format!(
            "{:?}",
            h.client
                .authorizer_access_token("wxauthorizer01")
                .await
                .unwrap()
        ),
        format!(
            "{:?}",
            ClientEvent::ComponentTokenRefreshed { expires_at: 1 }
        ),
    ];
    for s in [
        format!("{:?}", ComponentAppSecret::new("SECRET-A")),
        format!("{:?}", MessageToken::new("SECRET-B")),
        format!("{:?}", EncodingAesKey::new("SECRET-C")),
        format!("{:?}", ComponentVerifyTicket::new("SECRET-D")),
        format!("{:?}", ComponentAccessToken::new("SECRET-E")),
        format!("{:?}", AuthorizerAccessToken::new("SECRET-F")),
        format!("{:?}", AuthorizerRefreshToken::new("SECRET-G")),
        format!("{:?}", PreAuthCode::new("SECRET-H")),
        format!("{:?}", AuthorizationCode::new("SECRET-I")),
    ] {
        texts.push(s);
    }
    // (The secret types have no `Display`; see the compile_fail example in `secret`.)
    for t in &texts {
        for secret in ["SECRET", SECRET, TOKEN, AES_KEY] {
            assert!(!t.contains(secret), "{secret} leaked in: {t}");
        }
    }
    // And they are reachable on purpose.
    assert_eq!(
        h.client.config().component_appsecret.expose_secret(),
        SECRET
    );
    h.verify().await;
}
