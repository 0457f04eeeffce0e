//! What the conformance tests that run `wxopen serve` share: the server for a
//! [`FakeWeChat`]'s component, in process on loopback ports, on the fake's clock, with its
//! default SQLite store in a fresh temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use wxopen_fake::FakeWeChat;
use wxopen_server::{config, Server, ServerOptions};

/// The bearer key of the internal API's client.
pub const KEY: &str = "conformance-internal-key-0123";

/// A TOML string.
pub fn toml(s: &str) -> String {
    format!("{s:?}")
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "wxopen-conformance-{name}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running server; [`Served::stop`] ends it and removes its directory.
pub struct Served {
    /// `http://…` of the public listener.
    pub public: String,
    /// `http://…` of the internal listener.
    pub internal: String,
    dir: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops the server, waits for it and removes its data directory.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Serves `fake`'s component with `component_extra` lines added to its `[[component]]`
/// (e.g. a webhook), the refresher off, one client with [`KEY`] for every component.
pub async fn serve(fake: &FakeWeChat, name: &str, component_extra: &str) -> Served {
    let dir = temp_dir(name);
    let text = format!(
        "[server]\npublic_listen = \"127.0.0.1:0\"\ninternal_listen = \"127.0.0.1:0\"\ndata_dir = {}\n\n[refresher]\nenabled = false\n\n[[component]]\nappid = {}\nappsecret = {}\ntoken = {}\nencoding_aes_key = {}\napi_base_urls = [{}, {}]\n{component_extra}\n\n[[client]]\nname = \"conformance\"\nkey = {}\ncomponents = [\"*\"]\n",
        toml(&dir.display().to_string()),
        toml(fake.component_appid()),
        toml(fake.component_appsecret()),
        toml(fake.token()),
        toml(fake.encoding_aes_key()),
        toml(&fake.primary_url()),
        toml(&fake.fallback_url()),
        toml(KEY),
    );
    let cfg = config::parse(&text, &dir).unwrap();
    let server = Server::bind(cfg, ServerOptions::default().clock(fake.clock()))
        .await
        .unwrap();
    let public = format!("http://{}", server.public_addr());
    let internal = format!("http://{}", server.internal_addr());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Served {
        public,
        internal,
        dir,
        stop,
        task,
    }
}

/// The fake platform started at `start_unix` and a client of its component (memory store,
/// two immediate retries) that has the ticket: what the mini-program tests start from.
pub async fn mini_program_platform(
    start_unix: u64,
) -> (FakeWeChat, wxopen_client::ComponentClient) {
    use std::sync::Arc;
    use wxopen_client::{MemoryStore, RetryPolicy, TokenStore};
    let fake = FakeWeChat::start_with(wxopen_fake::FakeConfig {
        start_unix: Some(start_unix),
        ..wxopen_fake::FakeConfig::default()
    })
    .await
    .unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let client = fake
        .client_builder(
            fake.client_config()
                .unwrap()
                .with_retry(RetryPolicy::immediate(2)),
        )
        .store(store)
        .build()
        .unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    (fake, client)
}

/// Authorizes each of `accounts` as a mini program: the authorization page's pre-auth code,
/// the admin's consent at the fake, then `api_query_auth`.
pub async fn authorize_mini_programs(
    fake: &FakeWeChat,
    client: &wxopen_client::ComponentClient,
    accounts: &[&str],
) {
    use wxopen_client::{AuthPage, AuthUrlOptions, AuthorizationCode};
    for appid in accounts {
        let request = client
            .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/cb"))
            .await
            .unwrap();
        let consent = fake
            .simulate_admin_consent_as(
                request.pre_auth_code.expose_secret(),
                appid,
                wxopen_fake::AuthorizerKind::MiniProgram,
            )
            .unwrap();
        client
            .query_auth(&AuthorizationCode::new(consent.auth_code))
            .await
            .unwrap();
    }
}
