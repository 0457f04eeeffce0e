//! Glue between the fake and `wxopen-client`: the shared clock, a ready client configuration and
//! push delivery, so tests and `wxopen demo` wire the two the same way.

use wxopen_client::{ComponentClient, ComponentClientBuilder, ComponentConfig, PushAck};

use crate::fake::FakeWeChat;
use crate::push::Push;

impl Push {
    /// The push's query string as the client's [`wxopen_client::PushQuery`].
    pub fn client_query(&self) -> Result<wxopen_client::PushQuery, wxopen_client::PushError> {
        wxopen_client::PushQuery::from_pairs(self.query.pairs())
    }

    /// Delivers the push to `client`'s component push handler (what WeChat's POST does).
    pub async fn deliver_to(&self, client: &ComponentClient) -> wxopen_client::Result<PushAck> {
        let query = self.client_query()?;
        client
            .handle_component_push(&query, self.body.as_bytes())
            .await
    }
}

impl FakeWeChat {
    /// A client configuration for this fake: its credentials and the base URLs
    /// `[primary_url, fallback_url]`; every other setting is the client's default.
    pub fn client_config(&self) -> wxopen_client::Result<ComponentConfig> {
        let cfg = self.config();
        ComponentConfig::new(
            cfg.component_appid.clone(),
            cfg.component_appsecret.clone(),
            cfg.token.clone(),
            cfg.encoding_aes_key.clone(),
        )
        .with_base_urls([self.primary_url(), self.fallback_url()])
    }

    /// A client builder for `config` (usually [`FakeWeChat::client_config`], adjusted) whose
    /// clock is this fake's clock, so `advance` moves both sides.
    pub fn client_builder(&self, config: ComponentConfig) -> ComponentClientBuilder {
        ComponentClient::builder(config).clock(self.clock())
    }
}
