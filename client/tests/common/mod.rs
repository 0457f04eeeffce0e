//! Shared helpers for the integration tests.
//!
//! A test starts from a [`Scenario`]: which API domains answer (wiremock servers standing in
//! for WeChat), the store, the client options, the ticket, the component token, authorized
//! accounts and the requests the upstream expects next; [`Scenario::start`] returns the
//! [`Harness`] (client, manual clock, store, mock servers). [`upstream`] scripts requests and
//! answers with exact call counts, [`pushes`] encrypts pushes the way WeChat sends them,
//! [`stores`] has a store that fails on demand, [`logs`] captures log lines, [`waiting`] bounded waits for background work.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod logs;
pub mod pushes;
pub mod scenario;
pub mod stores;
pub mod upstream;
pub mod waiting;

pub use logs::*;
pub use pushes::*;
pub use scenario::*;
pub use stores::*;
pub use upstream::*;
pub use waiting::*;

use std::sync::Arc;
use std::time::Duration;

use wiremock::MockServer;
use wxopen_client::{
    ComponentClient, ComponentConfig, Jitter, ManualClock, RetryPolicy, TokenStore,
};

pub const APPID: &str = "wxcomponent0001";
pub const SECRET: &str = "component-secret-0001";
pub const TOKEN: &str = "msg-token-0001";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const T0: u64 = 1_700_000_000;
/// `T0` as a push `timestamp` (inside the default 10-minute window of a clock at `T0`).
pub const TS: &str = "1700000000";

pub const P_COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
pub const P_PREAUTH: &str = "/cgi-bin/component/api_create_preauthcode";
pub const P_QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";
pub const P_AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
pub const P_AUTHORIZER_INFO: &str = "/cgi-bin/component/api_get_authorizer_info";
pub const P_AUTHORIZER_LIST: &str = "/cgi-bin/component/api_get_authorizer_list";

/// The tests' configuration on `urls`: 3 quick attempts per host, a 10-minute refresh margin
/// without jitter, 2 s request and 1 s connect timeouts.
pub fn config_for<I: IntoIterator<Item = String>>(urls: I) -> ComponentConfig {
    ComponentConfig::new(APPID, SECRET, TOKEN, AES_KEY)
        .with_base_urls(urls)
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts_per_host: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        })
        .with_refresh(Duration::from_secs(600), Jitter::None)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(1))
}

/// [`config_for`] the servers' URLs, in order.
pub fn config(servers: &[&MockServer]) -> ComponentConfig {
    config_for(servers.iter().map(|s| s.uri()))
}

/// A base URL on a loopback port with nothing listening: every connection is refused.
pub fn dead_base_url() -> String {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", dead.local_addr().unwrap())
}

/// A client on `store` with the manual `clock`.
pub fn client_on(
    config: ComponentConfig,
    store: Arc<dyn TokenStore>,
    clock: &ManualClock,
) -> ComponentClient {
    ComponentClient::builder(config)
        .store(store)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}
