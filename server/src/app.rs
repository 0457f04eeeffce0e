//! The service: shared state, the two routers, and running them until shutdown.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, OnceCell};
use wxopen_client::api::AuthorizationInfo;
use wxopen_client::{
    AuthorizationCode, Clock, ComponentClient, ComponentConfig, Error, SystemClock, TokenStore,
};

use crate::background::Background;
use crate::config::{ApiClient, ComponentSection, ServerConfig};
use crate::metrics::{MeteredStore, Metrics, UpstreamObserver};
use crate::refresher;
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
    pub _instance: Option<crate::instance::Instance>,
}

impl AppState {
    pub(crate) fn component(&self, appid: &str) -> Option<&Arc<Component>> {
        self.components.get(appid)
    }
}

/// Why the service could not start or stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is invalid.
    Config(crate::config::ConfigError),
    /// The store could not be opened.
    Store(String),
    /// A client could not be built.
    Client(Error),
    /// A webhook client could not be built.
    Webhook(String),
    /// A listener could not be bound or failed.
    Io {
        /// Which address.
        addr: SocketAddr,
        /// What happened.
        error: std::io::Error,
    },
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(e) => write!(f, "{e}"),
            ServeError::Store(e) => write!(f, "token store: {e}"),
            ServeError::Client(e) => write!(f, "component client: {e}"),
            ServeError::Webhook(e) => write!(f, "{e}"),
            ServeError::Io { addr, error } => write!(f, "listener {addr}: {error}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Optional parts a host or a test injects.
#[derive(Default)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The store (default: opened from `config.store`).
    pub store: Option<Arc<dyn TokenStore>>,
    /// The clock (default: the system clock).
    pub clock: Option<Arc<dyn Clock>>,
    /// Adjusts each component's client configuration (e.g. retry timings in tests).
    pub tune: Option<Arc<dyn Fn(ComponentConfig) -> ComponentConfig + Send + Sync>>,
}

impl ServerOptions {
    /// Uses `store` instead of opening `config.store`.
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `clock` for every component.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adjusts each component's client configuration.
    pub fn tune(
        mut self,
        f: impl Fn(ComponentConfig) -> ComponentConfig + Send + Sync + 'static,
    ) -> Self {
        self.tune = Some(Arc::new(f));
        self
    }
}

/// A bound, not yet running service.
pub struct Server {
    state: Arc<AppState>,
    public: TcpListener,
    internal: TcpListener,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("public", &self.public.local_addr().ok())
            .field("internal", &self.internal.local_addr().ok())
            .finish_non_exhaustive()
    }
}

pub(crate) fn client_config(
    section: &ComponentSection,
    cfg: &ServerConfig,
) -> Result<ComponentConfig, Error> {
    let mut c = ComponentConfig::new(
        section.appid.clone(),
        section.appsecret.expose_secret(),
        section.token.expose_secret(),
        section.encoding_aes_key.expose_secret(),
    )
    .with_refresh(cfg.refresher.ahead, wxopen_client::Jitter::default());
    if let Some(p) = &section.previous_encoding_aes_key {
        c = c.with_previous_encoding_aes_key(p.expose_secret());
    }
    if let Some(urls) = &section.api_base_urls {
        c = c.with_base_urls(urls)?;
    }
    Ok(c)
}

/// The instance's slot in `data_dir` when that directory exists (the default SQLite store
/// creates it; a Redis deployment that wants restarts to take back their leases at once
/// keeps one per host). Without it the clients name their leases at random.
fn instance_slot(data_dir: &std::path::Path) -> Option<crate::instance::Instance> {
    if !data_dir.is_dir() {
        return None;
    }
    match crate::instance::claim(data_dir) {
        Ok(i) => {
            tracing::info!(slot = i.slot, holder = %i.name, "instance slot taken");
            Some(i)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no instance slot: leases named at random, so a restart after a crash waits for the leases it held to expire");
            None
        }
    }
}

impl Server {
    /// Opens the store, builds a client per component and binds both listeners.
    pub async fn bind(config: ServerConfig, options: ServerOptions) -> Result<Self, ServeError> {
        let metrics = Arc::new(Metrics::default());
        let raw_store = match options.store {
            Some(s) => s,
            None => crate::store::open(&config.store, &config.data_dir, config.store_is_default)
                .await
                .map_err(ServeError::Store)?,
        };
        let store: Arc<dyn TokenStore> = Arc::new(MeteredStore {
            inner: raw_store,
            metrics: metrics.clone(),
        });
        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let instance = instance_slot(&config.data_dir);
        let mut components = HashMap::new();
        for section in &config.components {
            let mut cc = client_config(section, &config).map_err(ServeError::Client)?;
            if let Some(t) = &options.tune {
                cc = t(cc);
            }
            let mut builder = ComponentClient::builder(cc);
            if let Some(i) = &instance {
                builder = builder.lease_holder(i.name.clone());
            }
            let client = builder
                .store(store.clone())
                .clock(clock.clone())
                .api_observer(Arc::new(UpstreamObserver {
                    metrics: metrics.clone(),
                    component: section.appid.clone(),
                }))
                .build()
                .map_err(ServeError::Client)?;
            crate::events::count(section.appid.clone(), client.subscribe(), metrics.clone());
            let webhook = match &section.webhook {
                Some(w) => Some(Webhook::new(w.clone()).map_err(ServeError::Webhook)?),
                None => None,
            };
            components.insert(
                section.appid.clone(),
                Arc::new(Component {
                    client,
                    section: section.clone(),
                    webhook,
                    exchanges: Mutex::new(HashMap::new()),
                }),
            );
        }
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|error| ServeError::Io { addr, error })
        };
        let public = bind(config.public_listen).await?;
        let internal = bind(config.internal_listen).await?;
        Ok(Self {
            state: Arc::new(AppState {
                components,
                clients: config.clients.iter().cloned().map(Arc::new).collect(),
                metrics,
                config,
                background: Background::default(),
                _instance: instance,
            }),
            public,
            internal,
        })
    }

    /// The bound public address.
    pub fn public_addr(&self) -> SocketAddr {
        self.public
            .local_addr()
            .unwrap_or(self.state.config.public_listen)
    }

    /// The bound internal address.
    pub fn internal_addr(&self) -> SocketAddr {
        self.internal
            .local_addr()
            .unwrap_or(self.state.config.internal_listen)
    }

    /// The public router (for `tower::ServiceExt::oneshot` tests).
    pub fn public_router(&self) -> Router {
        crate::public::router(self.state.clone())
    }

    /// The internal router.
    pub fn internal_router(&self) -> Router {
        crate::internal::router(self.state.clone())
    }

    /// The client of a configured component.
    pub fn client(&self, component_appid: &str) -> Option<ComponentClient> {
        self.state
            .component(component_appid)
            .map(|c| c.client.clone())
    }

    /// The metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// Serves until `shutdown` completes: then stops accepting, finishes in-flight requests,
    /// stops the refresher and waits (up to 5 s) for running refreshes to release their leases.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let public_addr = self.public_addr();
        let internal_addr = self.internal_addr();
        let state = self.state.clone();
        let refreshers: Vec<_> = if state.config.refresher.enabled {
            state
                .components
                .values()
                .map(|c| tokio::spawn(refresher::run(c.clone(), state.clone(), stop_rx.clone())))
                .collect()
        } else {
            Vec::new()
        };
        let wait = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let public_router = crate::public::router(state.clone());
        let public =
            axum::serve(self.public, public_router).with_graceful_shutdown(wait(stop_rx.clone()));
        let internal = axum::serve(self.internal, crate::internal::router(state.clone()))
            .with_graceful_shutdown(wait(stop_rx.clone()));
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        tracing::info!(%public_addr, %internal_addr, components = state.components.len(), "wxopen serve listening");
        let (p, i) = tokio::join!(public.into_future(), internal.into_future());
        for r in refreshers {
            let _ = r.await;
        }
        if !state.background.drain(Duration::from_secs(5)).await {
            tracing::warn!(
                running = state.background.running(),
                "background work (release-check follow-ups, webhook relays) still running at shutdown"
            );
        }
        for c in state.components.values() {
            if !c.client.drain(Duration::from_secs(5)).await {
                tracing::warn!(component = %c.section.appid, "refreshes still running at shutdown; their leases expire by themselves");
            }
        }
        tracing::info!("stopped");
        p.map_err(|error| ServeError::Io {
            addr: public_addr,
            error,
        })?;
        i.map_err(|error| ServeError::Io {
            addr: internal_addr,
            error,
        })?;
        Ok(())
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
