//! Hosts spawn client calls on multi-threaded runtimes and share the client: every public
//! future is `Send`, and the client, store and clock are `Send + Sync`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use wxopen_client::{
    AuthPage, AuthUrlOptions, AuthorizationCode, ComponentClient, ComponentConfig,
    ComponentVerifyTicket, ManualClock, MemoryStore, PushQuery, TokenStore,
};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync + 'static>() {}

#[test]
fn public_futures_are_send() {
    send_sync::<ComponentClient>();
    send_sync::<MemoryStore>();
    send_sync::<Arc<dyn TokenStore>>();
    send_sync::<ManualClock>();
    send_sync::<wxopen_client::Error>();

    let client = ComponentClient::new(ComponentConfig::new(
        "wxc",
        "secret",
        "token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ))
    .unwrap();
    let q = PushQuery::new("1", "n", "s");
    let code = AuthorizationCode::new("c");
    let opts = AuthUrlOptions::new("https://example.com/");
    let json = serde_json::json!({});
    // Futures are created, never polled: no network.
    send(&client.handle_component_push(&q, b""));
    send(&client.record_ticket(ComponentVerifyTicket::new("t"), 1));
    send(&client.component_access_token());
    send(&client.refresh_component_access_token());
    send(&client.pre_auth_code());
    send(&client.authorization_url(AuthPage::H5, &opts));
    send(&client.query_auth(&code));
    send(&client.authorizer_access_token("wxa"));
    send(&client.refresh_authorizer_access_token("wxa"));
    send(&client.authorizer_info("wxa"));
    send(&client.authorizer_list(0, 10));
    send(&client.authorizer_option("wxa", "voice_recognize"));
    send(&client.set_authorizer_option("wxa", "voice_recognize", "1"));
    send(&client.authorizer_option_legacy("wxa", "voice_recognize"));
    send(&client.set_authorizer_option_legacy("wxa", "voice_recognize", "1"));
    send(&client.start_push_ticket());
    send(&client.clear_component_quota());
    send(&client.clear_authorizer_quota("wxa"));
    send(&client.clear_quota_v2(None));
    let call = wxopen_client::ApiCall::post("/x").unwrap();
    send(&client.call_component_api::<_, serde_json::Value>(&call, Some(&json)));
    send(&client.call_authorizer_api::<_, serde_json::Value>("wxa", &call, Some(&json)));
    send(&client.forget_authorizer("wxa"));
}
