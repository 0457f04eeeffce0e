//! [`open_store`]: a store from a URL in a config file.

use std::fmt;
use std::sync::Arc;

use wxopen_client::{MemoryStore, StoreError, TokenStore};

/// Why [`open_store`] could not open a store. Messages never contain a password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL is malformed (no scheme, empty path, unparsable Redis URL, bad option).
    BadUrl {
        /// What is wrong (the URL itself is not repeated: it may hold a password).
        reason: String,
    },
    /// The scheme is none of `sqlite`, `redis`, `rediss`, `redis+cluster`, `memory`.
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
    },
    /// The scheme is known but its feature was not compiled into `wxopen-store`.
    FeatureDisabled {
        /// The scheme found.
        scheme: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// The URL is fine but the store could not be opened (see [`StoreError::kind`]).
    Store(StoreError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::BadUrl { reason } => write!(f, "bad store URL: {reason}"),
            OpenError::UnsupportedScheme { scheme } => write!(
                f,
                "unsupported store URL scheme {scheme:?} (expected sqlite:, redis://, \
                 rediss://, redis+cluster:// or memory:)"
            ),
            OpenError::FeatureDisabled { scheme, feature } => write!(
                f,
                "store URL scheme {scheme:?} needs wxopen-store's `{feature}` feature, which \
                 this build does not have"
            ),
            OpenError::Store(e) => write!(f, "cannot open store: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for OpenError {
    fn from(e: StoreError) -> Self {
        OpenError::Store(e)
    }
}

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
