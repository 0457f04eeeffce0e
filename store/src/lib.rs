//! `wxopen-store`: durable [`TokenStore`]s for `wxopen-client`.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wxopen_client::{ComponentClient, ComponentConfig};
//!
//! let dir = std::env::temp_dir();
//! let url = format!("sqlite://{}", dir.join("wxopen-doc.db").display());
//! let store = wxopen_store::open_store(&url).await?;
//! let config = ComponentConfig::new(
//!     "wx_component_appid",
//!     "component_appsecret",
//!     "message_token",
//!     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
//! );
//! let client = ComponentClient::builder(config).store(store).build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! | store | pick it for | feature |
//! |---|---|---|
//! | [`SqliteStore`] | one host: one process or several sharing the file | `sqlite` (default) |
//! | `RedisStore` | many instances on many hosts, Redis Cluster | `redis`, `redis-tls`, `cluster` |
//! | [`wxopen_client::MemoryStore`] | tests; loses everything on exit | (in `wxopen-client`) |
//!
//! [`SqliteEventLog`] keeps the event plane's log in the same file (group commit: concurrent
//! appends share one fsync) and passes [`wxopen_client::store::check_event_log_contract`].
//!
//! Every store passes [`wxopen_client::store::check_store_contract`]. [`open_store`] picks one
//! from a URL, for config files. See the crate README for what survives what.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | `SqliteStore` (bundled SQLite: no system library needed) |
//! | `redis` | no | `RedisStore` over one Redis server (tokio, a connection manager, Lua scripts) |
//! | `redis-tls` | no | `rediss://` URLs, TLS through rustls; implies `redis` |
//! | `cluster` | no | `RedisStore` over Redis Cluster (`redis+cluster://`); implies `redis` |
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod open;
mod open_error;
#[cfg(feature = "redis")]
mod redis_events;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_events;

pub use open::{open_store, open_stores, redis_append_only, Stores};
pub use open_error::OpenError;
#[cfg(feature = "redis")]
pub use redis_events::RedisEventLog;
#[cfg(feature = "redis")]
pub use redis_store::{RedisOptions, RedisStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};
#[cfg(feature = "sqlite")]
pub use sqlite_events::{EventLogOptions, EventLogStats, SqliteEventLog, MAX_GROUP};
pub use wxopen_client::TokenStore;

/// The value format version written inside every stored value's JSON envelope.
pub const VALUE_FORMAT: u32 = codec::FORMAT;
