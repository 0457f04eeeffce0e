//! [`ComponentClientBuilder`].

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::broadcast;
use wxopen_core::MsgCrypt;

use super::client::{ComponentClient, Inner};
use crate::clock::{Clock, SystemClock};
use crate::config::ComponentConfig;
use crate::engine::authorizer_calls::AuthorizerCalls;
use crate::engine::authorizer_token::AuthorizerKind;
use crate::engine::component_token::ComponentKind;
use crate::engine::{Ports, Settings, TokenCache};
use crate::error::{Error, Result};
use crate::hooks::ApiObserver;
use crate::jitter::{JitterSource, RandomJitter};
use crate::memory_store::MemoryStore;
use crate::replay::ReplayCache;
use crate::store::{StoreKey, TokenStore};
use crate::transport::Transport;

/// Builds a [`ComponentClient`] with a custom store, clock or HTTP client.
pub struct ComponentClientBuilder {
    config: ComponentConfig,
    store: Option<Arc<dyn TokenStore>>,
    clock: Option<Arc<dyn Clock>>,
    http: Option<reqwest::Client>,
    replay: Option<Arc<dyn ReplayCache>>,
    observer: Option<Arc<dyn ApiObserver>>,
    holder: Option<String>,
    jitter: Option<Arc<dyn JitterSource>>,
}

/// Longest accepted [`ComponentClientBuilder::lease_holder`] name, in bytes.
pub const MAX_LEASE_HOLDER_LEN: usize = 128;

impl fmt::Debug for ComponentClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentClientBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("lease_holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl ComponentClient {
    /// A client with an in-process [`MemoryStore`](crate::MemoryStore) and the
    /// [`SystemClock`](crate::SystemClock). **The memory store loses the ticket and every
    /// refresh token when the process exits** (a warning is logged); deploy with a durable
    /// store through [`builder`](Self::builder).
    pub fn new(config: ComponentConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder for a client with a custom store, clock or HTTP client.
    pub fn builder(config: ComponentConfig) -> ComponentClientBuilder {
        ComponentClientBuilder::new(config)
    }
}

impl ComponentClientBuilder {
    pub(super) fn new(config: ComponentConfig) -> Self {
        Self {
            config,
            store: None,
            clock: None,
            http: None,
            replay: None,
            observer: None,
            holder: None,
            jitter: None,
        }
    }

    /// Uses `store` instead of a fresh [`MemoryStore`] (which loses everything on exit).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `clock` (time and waits) instead of [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Draws the engine's random spreads (refresh ahead, cool-downs) from `jitter` instead of
    /// the thread-local generator, e.g. [`FixedJitter`](crate::FixedJitter) in tests.
    pub fn jitter_source(mut self, jitter: Arc<dyn JitterSource>) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Uses a preconfigured `reqwest::Client` (its own timeouts then apply).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Answers pushes whose signature `cache` has seen (inside the timestamp window) without
    /// applying them again.
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }

    /// Reports every WeChat API attempt to `observer` (metrics).
    pub fn api_observer(mut self, observer: Arc<dyn ApiObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Names this instance in the store's refresh leases (default: a random name per client).
    ///
    /// The name must be unique among the instances sharing a store while they run. Giving an
    /// instance the same name after a restart lets it take back at once the leases it held
    /// when it died (a `kill -9` in the middle of a refresh); with a random name the restarted
    /// instance waits for them to expire (`lease_ttl`) like for another live instance's.
    /// `wxopen serve` keeps such a name per slot of its data directory. 1 to
    /// [`MAX_LEASE_HOLDER_LEN`] bytes of ASCII letters, digits, `-`, `_`, `.` and `:`;
    /// anything else fails [`build`](Self::build).
    pub fn lease_holder(mut self, name: impl Into<String>) -> Self {
        self.holder = Some(name.into());
        self
    }

    /// Validates the configuration (see [`ComponentConfig::validate`]) and builds the client.
    pub fn build(self) -> Result<ComponentClient> {
        let config = self.config;
        config.validate()?;
        let holder = match self.holder {
            Some(h) => {
                let ok = !h.is_empty()
                    && h.len() <= MAX_LEASE_HOLDER_LEN
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
                if !ok {
                    return Err(Error::invalid(
                        "lease_holder",
                        format!(
                            "1 to {MAX_LEASE_HOLDER_LEN} bytes of ASCII letters, digits, '-', '_', '.' or ':'"
                        ),
                    ));
                }
                h
            }
            None => format!("wxopen-{:016x}", rand::random::<u64>()),
        };
        let crypt = MsgCrypt::new(
            config.message_token.expose_secret(),
            config.encoding_aes_key.expose_secret(),
            &config.component_appid,
        )?;
        let previous_crypt = match &config.previous_encoding_aes_key {
            Some(key) => Some(MsgCrypt::new(
                config.message_token.expose_secret(),
                key.expose_secret(),
                &config.component_appid,
            )?),
            None => None,
        };
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(config.connect_timeout)
                .build()
                .map_err(|e| Error::invalid("HTTP client", e.to_string()))?,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let transport =
            Transport::from_config(http, &config, clock.clone()).with_observer(self.observer);
        let (events, _) = broadcast::channel(256);
        let store = match self.store {
            Some(s) => s,
            None => {
                tracing::warn!(
                    component_appid = %config.component_appid,
                    "no token store configured: using MemoryStore, which loses the ticket and every refresh token on exit"
                );
                Arc::new(MemoryStore::new())
            }
        };
        let transport = Arc::new(transport);
        let ticket_key = StoreKey::ticket(&config.component_appid);
        let component_key = StoreKey::component_token(&config.component_appid);
        let ports = Arc::new(Ports {
            store: store.clone(),
            clock: clock.clone(),
            jitter: self.jitter.unwrap_or_else(|| Arc::new(RandomJitter)),
            holder,
            settings: Settings::from_config(&config),
            ticket_generation: AtomicU64::new(0),
            events,
        });
        let component_tokens = TokenCache::new(
            ComponentKind {
                component_appid: config.component_appid.clone(),
                appsecret: config.component_appsecret.clone(),
                key: component_key.clone(),
                ticket_key: ticket_key.clone(),
                transport: transport.clone(),
            },
            ports.clone(),
        );
        let authorizer_tokens = TokenCache::new(
            AuthorizerKind {
                calls: AuthorizerCalls {
                    component_appid: config.component_appid.clone(),
                    transport: transport.clone(),
                    component: component_tokens.clone(),
                },
                unknown: crate::engine::unknown::UnknownAppids::default(),
            },
            ports.clone(),
        );
        let js_tickets = TokenCache::new(
            crate::engine::js_ticket::JsTicketKind {
                component_appid: config.component_appid.clone(),
                transport: transport.clone(),
                authorizer_tokens: authorizer_tokens.clone(),
            },
            ports.clone(),
        );
        Ok(ComponentClient {
            inner: Arc::new(Inner {
                ticket_key,
                component_key,
                config,
                crypt,
                previous_crypt,
                replay: self.replay,
                store,
                clock,
                transport,
                ports,
                component_tokens,
                authorizer_tokens,
                js_tickets,
                exchanges: Default::default(),
                user_codes: Default::default(),
            }),
        })
    }
}
