//! The top of the service: building the state, assembling the two routers from the route
//! files, binding and running them until shutdown ([`Server`], [`ServerOptions`],
//! [`ServeError`], [`shutdown_signal`]). Nothing below imports this file.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wxopen_client::store::EventLog;
use wxopen_client::{Clock, ComponentClient, ComponentConfig, Error, SystemClock, TokenStore};

use crate::background::Background;
use crate::config::{ComponentSection, ServerConfig};
use crate::listener::{self, Listen};
use crate::metrics::{MeteredStore, Metrics, UpstreamObserver};
use crate::outbox::Outbox;
use crate::rate_limit::{self, RateLimits};
use crate::refresher;
use crate::routes::{authorize, message, push};
use crate::state::{AppState, Component};
use crate::webhook::Webhook;

/// Largest push or message body accepted (WeChat's are a few KiB).
pub const MAX_PUSH_BODY: usize = 64 * 1024;
/// Largest internal request body.
pub const MAX_INTERNAL_BODY: usize = 256 * 1024;

/// The public listener's routes: what WeChat and admins' browsers reach.
///
/// | route | what |
/// |---|---|
/// | `POST /wechat/{component}/component` | the authorization event URL (tickets, authorization events) |
/// | `GET /wechat/{component}/authorize` | the authorization entry page (rate limited: `[rate_limit]`) |
/// | `GET /wechat/{component}/authorized` | where WeChat sends the admin back (`auth_code`; rate limited) |
/// | `POST /wechat/{component}/callback/{authorizer}` | the message and event URL (`$APPID$`) |
fn public_router(state: Arc<AppState>) -> Router {
    let timeout = state.config.request_timeout;
    let metrics = state.metrics.clone();
    let routes = Router::new()
        .route("/wechat/{component}/component", post(push::component_push))
        .route(
            "/wechat/{component}/authorize",
            get(authorize::authorize_page).route_layer(from_fn_with_state(
                (state.limits.clone(), "authorize"),
                rate_limit::admit,
            )),
        )
        .route(
            "/wechat/{component}/authorized",
            get(authorize::authorized).route_layer(from_fn_with_state(
                (state.limits.clone(), "authorized"),
                rate_limit::admit,
            )),
        )
        .route(
            "/wechat/{component}/callback/{authorizer}",
            post(message::callback),
        )
        .layer(DefaultBodyLimit::max(MAX_PUSH_BODY))
        .with_state(state);
    crate::http::wrap(routes, timeout, "public", metrics)
}

/// The internal listener's routes: the token API (the "中控" server other services read
/// tokens from), authorizers, health, metrics and the OpenAPI document, listed once in
/// [`crate::openapi::internal_routes`] with their documentation. Every `/v1/{component}/…` route
/// takes a client's bearer key (see `auth.rs`).
fn internal_router(state: Arc<AppState>) -> Router {
    let timeout = state.config.request_timeout;
    let metrics = state.metrics.clone();
    let (routes, _) = crate::openapi::internal_routes().split_for_parts();
    let routes = routes
        .merge(crate::routes::proxy::routes())
        .layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY))
        .with_state(state);
    crate::http::wrap(routes, timeout, "internal", metrics)
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
    /// The event log (default: the one beside `config.store`; in process memory when `store`
    /// is given without it).
    pub events: Option<Arc<dyn EventLog>>,
}

impl ServerOptions {
    /// Uses `store` instead of opening `config.store`.
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `events` as the event log of every component.
    pub fn events(mut self, events: Arc<dyn EventLog>) -> Self {
        self.events = Some(events);
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

/// A component's client configuration: its section's secrets and API URLs, and the
/// refresher's margin.
fn client_config(section: &ComponentSection, cfg: &ServerConfig) -> Result<ComponentConfig, Error> {
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

/// Opens the store, builds a client per component and the state every handler shares.
async fn build_state(
    config: ServerConfig,
    options: ServerOptions,
) -> Result<Arc<AppState>, ServeError> {
    let metrics = Arc::new(Metrics::default());
    let mut warnings = crate::warnings::config_warnings(&config);
    let (raw_store, opened_events) = match options.store {
        Some(s) => (s, None),
        None => {
            let s = crate::store::open(&config.store, &config.data_dir, config.store_is_default)
                .await
                .map_err(ServeError::Store)?;
            warnings.extend(crate::warnings::store_warnings(&config.store).await);
            (s.tokens, Some(s.events))
        }
    };
    let event_log: Arc<dyn EventLog> = options
        .events
        .or(opened_events)
        .unwrap_or_else(|| Arc::new(wxopen_client::MemoryEventLog::new()));
    crate::warnings::log(&warnings);
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
        let outbox = match &section.webhook {
            Some(w) => Some(Outbox::new(
                &section.appid,
                event_log.clone(),
                Webhook::new(w.clone()).map_err(ServeError::Webhook)?,
                client.clone(),
                &config.events,
            )),
            None => None,
        };
        components.insert(
            section.appid.clone(),
            Arc::new(Component::new(client, section.clone(), outbox)),
        );
    }
    let limits = Arc::new(RateLimits::new(
        &config.rate_limit,
        config.components.iter().map(|c| c.appid.as_str()),
        clock,
        metrics.clone(),
    ));
    Ok(Arc::new(AppState {
        limits,
        components,
        clients: config.clients.iter().cloned().map(Arc::new).collect(),
        metrics,
        refresh_pace: crate::refresh_pace::RefreshPace::new(config.min_refresh_interval),
        config,
        background: Background::default(),
        warnings,
        _instance: instance,
    }))
}

/// The service built without listeners: its two routers for `tower::ServiceExt::oneshot`
/// tests, and what those tests read. Not a stable API.
#[doc(hidden)]
pub struct InProcess {
    state: Arc<AppState>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").finish_non_exhaustive()
    }
}

impl InProcess {
    /// The public router.
    pub fn public_router(&self) -> Router {
        public_router(self.state.clone())
    }

    /// The internal router.
    pub fn internal_router(&self) -> Router {
        internal_router(self.state.clone())
    }

    /// The metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// The client of a configured component.
    pub fn client(&self, component_appid: &str) -> Option<ComponentClient> {
        self.state
            .component(component_appid)
            .map(|c| c.client.clone())
    }

    /// The risky settings warned about at start.
    pub fn warnings(&self) -> &[crate::warnings::ConfigWarning] {
        &self.state.warnings
    }

    /// One pass of `component`'s delivery worker (what [`Server::run`] runs in the
    /// background): `None` without a webhook.
    pub async fn deliver_once(
        &self,
        component: &str,
    ) -> Option<Result<wxopen_client::delivery::Pass, wxopen_client::StoreError>> {
        let comp = self.state.component(component)?;
        let worker = crate::delivery::worker(comp, self.state.metrics.clone())?;
        Some(worker.run_once().await)
    }

    /// Waits (at most `timeout`) for background work (relays, release-check follow-ups) to
    /// finish, as [`Server::run`] does at shutdown; `true` if none is left.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.state.background.drain(timeout).await
    }
}

impl Server {
    /// Opens the store, builds a client per component and binds both listeners.
    pub async fn bind(config: ServerConfig, options: ServerOptions) -> Result<Self, ServeError> {
        let public_listen = config.public_listen;
        let internal_listen = config.internal_listen;
        let state = build_state(config, options).await?;
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|error| ServeError::Io { addr, error })
        };
        let public = bind(public_listen).await?;
        let internal = bind(internal_listen).await?;
        Ok(Self {
            state,
            public,
            internal,
        })
    }

    /// Builds the service as [`Server::bind`] does, without binding: routers for in-process
    /// tests. Nothing runs the refresher.
    #[doc(hidden)]
    pub async fn in_process(
        config: ServerConfig,
        options: ServerOptions,
    ) -> Result<InProcess, ServeError> {
        Ok(InProcess {
            state: build_state(config, options).await?,
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
        public_router(self.state.clone())
    }

    /// The internal router.
    pub fn internal_router(&self) -> Router {
        internal_router(self.state.clone())
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

    /// The risky settings warned about at start ([`crate::warnings`]).
    pub fn warnings(&self) -> &[crate::warnings::ConfigWarning] {
        &self.state.warnings
    }

    /// Serves until `shutdown` completes (each listener with `[connections]`' header-read
    /// timeout and connection cap, see `listener.rs`): then stops accepting, finishes in-flight requests,
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
        // One delivery worker per component with a webhook: events go out at least once.
        let deliveries: Vec<_> = state
            .components
            .values()
            .filter(|c| c.outbox.is_some())
            .map(|c| {
                tokio::spawn(crate::delivery::run(
                    c.clone(),
                    state.metrics.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        let listen = |name, router| Listen {
            name,
            router,
            connections: state.config.connections.clone(),
            metrics: state.metrics.clone(),
        };
        let public = listener::serve(
            self.public,
            listen("public", public_router(state.clone())),
            stop_rx.clone(),
        );
        let internal = listener::serve(
            self.internal,
            listen("internal", internal_router(state.clone())),
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        tracing::info!(%public_addr, %internal_addr, components = state.components.len(), "wxopen serve listening");
        let (p, i) = tokio::join!(public, internal);
        for r in refreshers {
            let _ = r.await;
        }
        // A running attempt ends within its webhook timeout; what is left is still in the log.
        for d in deliveries {
            let _ = tokio::time::timeout(Duration::from_secs(5), d).await;
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
