//! What every handler shares: the served components ([`Component`]: a client, its section, its
//! webhook, its in-process code exchanges) and the application state around them
//! ([`AppState`]). The bottom of the crate: it imports no route module and not `app`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use wxopen_client::api::AuthorizationInfo;
use wxopen_client::{AuthorizationCode, ComponentClient, Error};

use crate::background::Background;
use crate::config::{ApiClient, ComponentSection, ServerConfig};
use crate::instance::Instance;
use crate::metrics::Metrics;
use crate::webhook::Webhook;

/// Codes exchanged (or being exchanged) recently, so the `authorized` push and the browser's
/// redirect share one `query_auth` per code.
const EXCHANGE_MEMORY: usize = 10_000;

type Exchange = Arc<OnceCell<Result<AuthorizationInfo, Error>>>;

/// One served component.
pub(crate) struct Component {
    pub client: ComponentClient,
    pub section: ComponentSection,
    pub webhook: Option<Webhook>,
    exchanges: Mutex<HashMap<String, (u64, Exchange)>>,
}

impl Component {
    /// A served component with no exchange remembered yet.
    pub(crate) fn new(
        client: ComponentClient,
        section: ComponentSection,
        webhook: Option<Webhook>,
    ) -> Self {
        Self {
            client,
            section,
            webhook,
            exchanges: Mutex::new(HashMap::new()),
        }
    }

    /// `query_auth` for `code`, once per code in this process (push and redirect share it).
    pub(crate) async fn exchange(
        &self,
        code: &AuthorizationCode,
    ) -> Result<AuthorizationInfo, Error> {
        let cell = {
            let now = self.client.clock().unix_seconds();
            let mut map = self.exchanges.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= EXCHANGE_MEMORY {
                map.retain(|_, (at, _)| now.saturating_sub(*at) < 600);
                if map.len() >= EXCHANGE_MEMORY {
                    map.clear();
                }
            }
            map.entry(code.expose_secret().to_owned())
                .or_insert_with(|| (now, Arc::new(OnceCell::new())))
                .1
                .clone()
        };
        cell.get_or_init(|| async { self.client.query_auth(code).await })
            .await
            .clone()
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub components: HashMap<String, Arc<Component>>,
    pub clients: Vec<Arc<ApiClient>>,
    pub metrics: Arc<Metrics>,
    pub config: ServerConfig,
    pub background: Background,
    /// The data-directory slot whose name this instance's leases carry (held while it runs).
    pub _instance: Option<Instance>,
}

impl AppState {
    /// The served component `appid`, if configured.
    pub(crate) fn component(&self, appid: &str) -> Option<&Arc<Component>> {
        self.components.get(appid)
    }
}
