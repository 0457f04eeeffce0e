//! [`open_store`]: a store from a URL in a config file.

use std::sync::Arc;

use wxopen_client::store::EventLog;
use wxopen_client::{MemoryEventLog, MemoryStore, TokenStore};

use crate::open_error::OpenError;

/// Opens a store from a URL:
///
/// | URL | store |
/// |---|---|
/// | `sqlite:///var/lib/wxopen/wxopen.db` | [`SqliteStore`](crate::SqliteStore) at the absolute path `/var/lib/wxopen/wxopen.db` |
/// | `sqlite://data/wxopen.db`, `sqlite:data/wxopen.db` | the same, at a path relative to the working directory |
/// | `redis://[:password@]host[:port][/db][?prefix=name]` | `RedisStore` (feature `redis`) |
/// | `rediss://…` | `RedisStore` over TLS (feature `redis-tls`) |
/// | `redis+cluster://host:port[,host:port…][?prefix=name]` | `RedisStore` on Redis Cluster (feature `cluster`; seed nodes) |
/// | `memory:` | [`MemoryStore`] (loses everything on exit) |
///
/// The SQLite path is everything after `sqlite://` (or `sqlite:`), taken literally (no
/// percent-decoding, no query string). `prefix` replaces the leading `wxopen` of every Redis key
/// (default `wxopen`), so two deployments can share one Redis.
///
/// # Errors
/// [`OpenError::BadUrl`], [`OpenError::UnsupportedScheme`], [`OpenError::FeatureDisabled`], or
/// [`OpenError::Store`] when the store itself cannot be opened (missing directory, Redis down…).
pub async fn open_store(url: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(OpenError::BadUrl {
            reason: "no scheme (expected sqlite:, redis://, rediss://, memory:)".into(),
        });
    };
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => {
            if !(rest.is_empty() || rest == "//") {
                return Err(OpenError::BadUrl {
                    reason: "memory: takes no path".into(),
                });
            }
            Ok(Arc::new(MemoryStore::new()))
        }
        "sqlite" => open_sqlite(rest).await,
        s @ ("redis" | "rediss" | "redis+cluster") => open_redis(s, url).await,
        other => Err(OpenError::UnsupportedScheme {
            scheme: other.to_owned(),
        }),
    }
}

/// Whether the Redis server of a `redis://` or `rediss://` store URL writes an append-only file
/// (`aof_enabled` of `INFO persistence`; `appendonly no` loses every write since the last
/// snapshot on a restart). `Ok(None)` for any other store and for `redis+cluster://` (each
/// node answers for itself). Opens a connection of its own.
///
/// # Errors
/// As [`open_store`] for the URL; [`OpenError::Store`] when the server does not answer.
pub async fn redis_append_only(url: &str) -> Result<Option<bool>, OpenError> {
    let url = url.trim();
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some(s @ ("redis" | "rediss" | "redis+cluster")) => append_only_redis(s, url).await,
        _ => Ok(None),
    }
}

#[cfg(feature = "redis")]
async fn append_only_redis(scheme: &str, url: &str) -> Result<Option<bool>, OpenError> {
    crate::redis_store::append_only_url(scheme, url).await
}

#[cfg(not(feature = "redis"))]
async fn append_only_redis(scheme: &str, _url: &str) -> Result<Option<bool>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: scheme.to_owned(),
        feature: "redis",
    })
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(rest: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(OpenError::BadUrl {
            reason: "sqlite: URL without a path".into(),
        });
    }
    let store =
        crate::SqliteStore::open_async(path.to_owned(), crate::SqliteOptions::default()).await?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_rest: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: "sqlite".into(),
        feature: "sqlite",
    })
}

#[cfg(feature = "redis")]
async fn open_redis(scheme: &str, url: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    crate::redis_store::open_url(scheme, url).await
}

#[cfg(not(feature = "redis"))]
async fn open_redis(scheme: &str, _url: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: scheme.to_owned(),
        feature: match scheme {
            "rediss" => "redis-tls",
            "redis+cluster" => "cluster",
            _ => "redis",
        },
    })
}

/// A token store and the event log beside it, opened from one URL ([`open_stores`]).
#[derive(Debug, Clone)]
pub struct Stores {
    /// Tickets, tokens, leases and claims.
    pub tokens: Arc<dyn TokenStore>,
    /// The event plane's log: in the same SQLite file, the same Redis (and key prefix), or
    /// process memory for `memory:`.
    pub events: Arc<dyn EventLog>,
}

/// Opens the store of `url` (as [`open_store`]) and its event log: a
/// [`SqliteEventLog`](crate::SqliteEventLog) in the same file, a
/// `RedisEventLog` on the same connection, or a [`MemoryEventLog`].
///
/// # Errors
/// As [`open_store`].
pub async fn open_stores(url: &str) -> Result<Stores, OpenError> {
    let trimmed = url.trim();
    let scheme = trimmed
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let rest = &trimmed["sqlite:".len()..];
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(OpenError::BadUrl {
                    reason: "sqlite: URL without a path".into(),
                });
            }
            let store =
                crate::SqliteStore::open_async(path.to_owned(), crate::SqliteOptions::default())
                    .await?;
            let events = crate::SqliteEventLog::open(&store, crate::EventLogOptions::default())?;
            Ok(Stores {
                tokens: Arc::new(store),
                events: Arc::new(events),
            })
        }
        #[cfg(feature = "redis")]
        s @ ("redis" | "rediss" | "redis+cluster") => {
            let store = crate::redis_store::open_redis(s, trimmed).await?;
            Ok(Stores {
                events: Arc::new(crate::RedisEventLog::new(store.clone())),
                tokens: Arc::new(store),
            })
        }
        _ => Ok(Stores {
            tokens: open_store(url).await?,
            events: Arc::new(MemoryEventLog::new()),
        }),
    }
}
