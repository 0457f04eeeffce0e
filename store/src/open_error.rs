//! [`OpenError`]: why a store could not be opened from its URL.

use std::fmt;

use wxopen_client::StoreError;

/// Why `open_store` could not open a store. Messages never contain a password.
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
