//! `wxopen-server`: the deployable third-party-platform service behind `wxopen serve`.
//!
//! One process serves one or more components: the public listener takes WeChat's pushes and
//! messages and hosts the authorization pages; the internal listener is the token API the
//! host's other services read from (WeChat's recommended central token server), with health
//! checks and Prometheus metrics; a background refresher keeps every token fresh.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wxopen_server::{config, Server, ServerOptions};
//!
//! let cfg = config::load(std::path::Path::new("wxopen.toml"))?;
//! let server = Server::bind(cfg, ServerOptions::default()).await?;
//! println!("public {} internal {}", server.public_addr(), server.internal_addr());
//! server.run(wxopen_server::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! | module | holds |
//! |---|---|
//! | `app` | the top: building the state, assembling the routers, running, graceful shutdown |
//! | `routes::{push, authorize, message}` | the public routes: authorization event URL, authorization pages, message URL |
//! | `routes::{tokens, authorizers, health, metrics}` | the internal routes, each described by its `#[utoipa::path]` |
//! | `account_names` | the original id (`gh_…`) of each account, which a relayed message's `ToUserName` must match |
//! | `auth` | the `Authed` extractor: bearer keys of the internal API |
//! | `listener` | the accept loop of each listener: header-read timeout, connection cap, graceful shutdown |
//! | `rate_limit` | token buckets per client address and per component on the authorization routes, the 429 page |
//! | `log_gate` | at most one warn line per interval for what outsiders can repeat |
//! | `observe` | outcomes of requests turned into metrics and log lines |
//! | `state` | the bottom: the state every handler shares, the served components |
//! | [`messages`] | release check, deduplication and webhook relay of messages |
//! | [`config`] | `wxopen.toml`: parsing, validation, secrets from env or files, redaction |
//! | `limits_config` | the `[connections]` and `[rate_limit]` sections (re-exported by [`config`]) |
//! | `outbox`, `delivery`, `component_events` | the event plane: the log and the webhook sink, the delivery worker, what component pushes log |
//! | `events_config` | the `[events]` section and `webhook_delivery` (re-exported by [`config`]) |
//! | [`openapi`] | the internal router and its OpenAPI 3.1 document, both from one list of the handlers |
//! | [`scope`] | what a `[[client]]` may do: `tokens`, `refresh`, `proxy`, `admin` (`full`, `read`) |
//! | `proxy_config` | the `[proxy]` section, a client's scope list and proxy path rules (re-exported by [`config`]) |
//! | `refresh_pace` | the minimum interval between unconditional refreshes of one token |
//! | `refresher` | proactive, paced refresh; `api_start_push_ticket` |
//! | [`warnings`] | risky but valid settings, warned about at start and by `wxopen config check` |
//! | [`metrics`] | Prometheus counters, latency histograms and scrape-time gauges (`prometheus-client`), the metric names |
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `avx512` | no | `wxopen-core`'s AVX-512 VBMI base64 decoder for pushes (x86-64, runtime-detected; the only `unsafe` code in wxopen) |
//!
//! The server always links the SQLite and Redis stores of `wxopen-store`.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account_names;
mod answer;
mod app;
mod auth;
mod background;
mod component_events;
pub mod config;
mod delivery;
mod error;
mod events;
mod events_config;
mod handoff;
mod http;
mod instance;
mod limits_config;
mod listener;
mod log_gate;
pub mod messages;
pub mod metrics;
mod observe;
pub mod openapi;
mod outbox;
mod pages;
mod proxy_config;
mod rate_limit;
mod refresh_pace;
mod refresher;
mod routes;
pub mod scope;
mod state;
mod store;
pub mod warnings;
pub mod webhook;

#[doc(hidden)]
pub use app::InProcess;
pub use app::{shutdown_signal, ServeError, Server, ServerOptions};
pub use app::{MAX_INTERNAL_BODY, MAX_PUSH_BODY};
pub use background::MAX_BACKGROUND_TASKS;
pub use config::{ConfigError, ServerConfig};
pub use error::ApiError;
pub use routes::authorize::MAX_STATE_LEN;
pub use routes::authorizers::MAX_IMPORT;
