//! Embedding wxopen in an axum application you already have: the component push endpoint
//! (WeChat's 授权事件接收URL), the authorization redirect, the message URL (消息与事件接收URL,
//! answering the 全网发布 release check), and two routes that read tokens from the client's
//! token engine.
//!
//! ```sh
//! WXOPEN_APPID=wx… WXOPEN_APPSECRET=… WXOPEN_TOKEN=… WXOPEN_AES_KEY=… \
//!     cargo run -p wxopen-examples --example axum_app
//! ```
//!
//! `cargo test -p wxopen-examples --example axum_app` drives the same router with pushes from
//! `wxopen-fake` instead of WeChat. For a ready-made service with a token API, metrics and a
//! durable store, see `wxopen serve` (`wxopen-server`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use wxopen_client::release_check::{release_check_action, ReleaseCheckAction};
use wxopen_client::{
    AuthCallback, ComponentClient, ComponentConfig, ComponentEvent, Error, PushQuery,
};

/// The routes wxopen adds to the application. `ComponentClient` is cheap to clone (an `Arc`
/// inside), so it is the whole state.
fn wechat_routes(client: ComponentClient) -> Router {
    Router::new()
        .route("/wechat/component", post(component_push))
        .route("/wechat/authorized", get(authorized))
        // Registered in the console as `https://…/wechat/callback/$APPID$`.
        .route("/wechat/callback/{appid}", post(message))
        // These two hand out tokens: keep them off the public internet (a private listener, or
        // your own authentication layer) — see the top-level README, "Run it for real".
        .route("/internal/component_token", get(component_token))
        .route("/internal/authorizers/{appid}/token", get(authorizer_token))
        .with_state(client)
}

/// The application: its own routes, with wxopen's merged in.
fn app(client: ComponentClient) -> Router {
    Router::new()
        .route("/", get(|| async { "the existing application" }))
        .merge(wechat_routes(client))
}

/// POST from WeChat with `?timestamp=…&nonce=…&msg_signature=…&encrypt_type=aes`. The handler
/// checks `msg_signature`, decrypts, stores a ticket or applies an authorization event, and
/// makes no network call, so it answers well within WeChat's 5 s.
async fn component_push(
    State(client): State<ComponentClient>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = match PushQuery::parse(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match client.handle_component_push(&query, &body).await {
        Ok(ack) => {
            if let ComponentEvent::Authorized(grant) = &ack.event {
                // The push carries the same code as the redirect below. Both may exchange
                // it: `exchange_authorization_code` calls WeChat once per code (across
                // instances sharing the store) and gives every caller the same result.
                let (client, code) = (client.clone(), grant.authorization_code.clone());
                tokio::spawn(async move {
                    if let Ok(info) = client.exchange_authorization_code(&code).await {
                        println!("authorized by {}", info.authorizer_appid);
                    }
                });
            }
            // Exactly "success": anything else makes WeChat retry and, eventually, complain.
            ack.reply.into_response()
        }
        // The ticket could not be stored: fail, so that WeChat pushes it again.
        Err(Error::Store(e)) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        // Bad signature, not our appid, malformed XML: refuse it.
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// A message or event of an authorized account. The release check's decisions come from
/// `release_check_action` (pure); everything else is this application's to handle.
async fn message(
    State(client): State<ComponentClient>,
    Path(appid): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query = match PushQuery::parse(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let (msg, key) = match client.decrypt_authorizer_message_with_key(&query, &body) {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let now = client.clock().unix_seconds();
    match release_check_action(&appid, &msg, now) {
        // Passive text replies, encrypted with the key that decrypted the message.
        Some(ReleaseCheckAction::Reply { xml, .. }) => {
            match client.encrypt_authorizer_reply_as(key, xml.as_bytes()) {
                Ok(reply) => reply.to_xml().into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
        // Answer empty now; exchange the code and send the customer-service message after.
        Some(ReleaseCheckAction::QueryAuthAndSend {
            auth_code,
            touser,
            content,
        }) => {
            // WeChat retries a slow answer: act once per message (across instances, when the
            // store is shared).
            let once = client
                .store()
                .claim_once(
                    &client.config().component_appid,
                    &format!("{appid}:{}", msg.dedupe_key()),
                    std::time::Duration::from_secs(300),
                )
                .await
                .unwrap_or(true);
            if once {
                tokio::spawn(async move {
                    if let Err(e) = client
                        .complete_release_check(&auth_code, &touser, &content)
                        .await
                    {
                        eprintln!("release check follow-up failed: {e}");
                    }
                });
            }
            "".into_response()
        }
        Some(_) => "".into_response(),
        // Not a release check: the application's own handling goes here.
        None => "success".into_response(),
    }
}

/// Where WeChat sends the admin back: `?auth_code=…&expires_in=600`.
async fn authorized(State(client): State<ComponentClient>, RawQuery(query): RawQuery) -> Response {
    let callback = match AuthCallback::from_query(query.as_deref().unwrap_or("")) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    // Exchanges the code (once, shared with the push) and stores the authorizer's tokens
    // before it returns.
    match client
        .exchange_authorization_code(&callback.auth_code)
        .await
    {
        Ok(info) => format!("authorized: {}", info.authorizer_appid).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The component token: from the store while fresh; one refresh however many callers ask.
async fn component_token(State(client): State<ComponentClient>) -> Response {
    token_response(
        client
            .component_access_token_issued()
            .await
            .map(|t| (t.token.expose_secret().to_owned(), t.expires_at)),
    )
}

/// One authorized account's token, refreshed ahead of expiry from its stored refresh token.
async fn authorizer_token(
    State(client): State<ComponentClient>,
    Path(appid): Path<String>,
) -> Response {
    token_response(
        client
            .authorizer_access_token_issued(&appid)
            .await
            .map(|t| (t.token.expose_secret().to_owned(), t.expires_at)),
    )
}

fn token_response(result: Result<(String, u64), Error>) -> Response {
    match result {
        Ok((token, expires_at)) => {
            Json(json!({ "token": token, "expires_at": expires_at })).into_response()
        }
        // No ticket yet (the first push comes within 10 minutes of start_push_ticket), must
        // reauthorize, WeChat down...: the error says which, and never contains a secret.
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name)
        .map_err(|_| format!("set {name} (see the comment at the top of axum_app.rs)").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ComponentConfig::new(
        env("WXOPEN_APPID")?,
        env("WXOPEN_APPSECRET")?,
        env("WXOPEN_TOKEN")?,
        env("WXOPEN_AES_KEY")?,
    );
    // The in-memory store loses the ticket and every refresh token on exit. In production pass
    // a durable one: `.store(wxopen_store::open_store("sqlite:///var/lib/app/wxopen.db").await?)`.
    let client = ComponentClient::builder(config).build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(client)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    use wxopen_client::api::Endpoint;
    use wxopen_client::{AuthPage, AuthUrlOptions};
    use wxopen_fake::FakeWeChat;

    async fn call(app: &Router, request: Request<Body>) -> (StatusCode, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn push_then_tokens_through_the_router() {
        let fake = FakeWeChat::start().await.unwrap();
        let client = fake
            .client_builder(fake.client_config().unwrap())
            .build()
            .unwrap();
        let app = app(client.clone());

        // Before any ticket there is no component token, and the error says so.
        let (status, _) = call(&app, get("/internal/component_token")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

        // WeChat pushes a ticket; the app answers "success".
        let push = fake.push_ticket().unwrap();
        let request = Request::post(push.url("/wechat/component"))
            .body(Body::from(push.body.clone()))
            .unwrap();
        assert_eq!(
            call(&app, request).await,
            (StatusCode::OK, "success".to_owned())
        );

        // A tampered push is refused and stores nothing.
        let tampered = push
            .url("/wechat/component")
            .replace("msg_signature=", "msg_signature=0");
        let request = Request::post(tampered).body(Body::from(push.body)).unwrap();
        assert_eq!(call(&app, request).await.0, StatusCode::BAD_REQUEST);

        // Two reads of the component token, one call to WeChat.
        for _ in 0..2 {
            let (status, body) = call(&app, get("/internal/component_token")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains("\"token\""), "{body}");
        }
        assert_eq!(fake.calls(Endpoint::ComponentToken), 1);

        // An admin authorizes; WeChat redirects to /wechat/authorized with the code.
        let request = client
            .authorization_url(
                AuthPage::Pc,
                &AuthUrlOptions::new("https://example.com/wechat/authorized"),
            )
            .await
            .unwrap();
        let consent = fake
            .simulate_admin_consent(request.pre_auth_code.expose_secret(), "wxde0000000000a001")
            .unwrap();
        let (status, body) = call(
            &app,
            get(&format!("/wechat/authorized?{}", consent.redirect_query)),
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "authorized: wxde0000000000a001")
        );

        // The authorizer's token comes from the store: no further call to WeChat.
        let (status, body) =
            call(&app, get("/internal/authorizers/wxde0000000000a001/token")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(fake.calls(Endpoint::AuthorizerToken), 0);

        // The `authorized` push that WeChat sends alongside is answered too.
        let push = consent.push;
        let request = Request::post(push.url("/wechat/component"))
            .body(Body::from(push.body))
            .unwrap();
        assert_eq!(
            call(&app, request).await,
            (StatusCode::OK, "success".to_owned())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_release_check_passes_against_the_app() {
        let fake = FakeWeChat::start().await.unwrap();
        let client = fake
            .client_builder(fake.client_config().unwrap())
            .build()
            .unwrap();
        fake.push_ticket()
            .unwrap()
            .deliver_to(&client)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app(client)).await });
        // What the console's 全网发布 button does, for a group drawn at random.
        // (Waiting 2 s for duplicate customer-service messages instead of WeChat's 5 s.)
        let check = wxopen_fake::ReleaseCheck::new(format!("{base}/wechat/callback/$APPID$"))
            .deadline(std::time::Duration::from_secs(2));
        let report = fake.run_release_check(&check).await.unwrap();
        assert!(report.passed(), "{report}");
    }
}
