//! What every handler shares: the served components ([`Component`]: a client, its section, its
//! webhook) and the application state around them
//! ([`AppState`]). The bottom of the crate: it imports no route module and not `app`.

use std::collections::HashMap;
use std::sync::Arc;

use wxopen_client::api::AuthorizationInfo;
use wxopen_client::{AuthorizationCode, ComponentClient, Error};

use crate::account_names::AccountNames;
use crate::background::Background;
use crate::config::{ApiClient, ComponentSection, ServerConfig};
use crate::instance::Instance;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::rate_limit::RateLimits;
use crate::refresh_pace::RefreshPace;

/// One served component.
pub(crate) struct Component {
    pub client: ComponentClient,
    pub section: ComponentSection,
    /// The event log and the webhook, when a webhook is configured.
    pub outbox: Option<Outbox>,
    /// The original ids of its accounts, which relayed messages are checked against.
    pub account_names: AccountNames,
}

impl Component {
    /// A served component.
    pub(crate) fn new(
        client: ComponentClient,
        section: ComponentSection,
        outbox: Option<Outbox>,
    ) -> Self {
        Self {
            client,
            section,
            outbox,
            account_names: AccountNames::default(),
        }
    }

    /// Exchanges `code` once across every instance sharing the store (the push and the
    /// redirect share it): [`ComponentClient::exchange_authorization_code`].
    pub(crate) async fn exchange(
        &self,
        code: &AuthorizationCode,
    ) -> Result<AuthorizationInfo, Error> {
        self.client.exchange_authorization_code(code).await
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub components: HashMap<String, Arc<Component>>,
    pub clients: Vec<Arc<ApiClient>>,
    pub metrics: Arc<Metrics>,
    pub config: ServerConfig,
    pub background: Background,
    /// The buckets of the authorization routes.
    pub limits: Arc<RateLimits>,
    /// The minimum interval between unconditional refreshes of one token.
    pub refresh_pace: RefreshPace,
    /// The risky settings warned about at start.
    pub warnings: Vec<crate::warnings::ConfigWarning>,
    /// The data-directory slot whose name this instance's leases carry (held while it runs).
    pub _instance: Option<Instance>,
}

impl AppState {
    /// The served component `appid`, if configured.
    pub(crate) fn component(&self, appid: &str) -> Option<&Arc<Component>> {
        self.components.get(appid)
    }
}
