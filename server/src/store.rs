//! Opening the configured store.

use std::sync::Arc;

use wxopen_client::{MemoryStore, TokenStore};

/// Opens the store named by `url`.
pub(crate) async fn open(url: &str) -> Result<Arc<dyn TokenStore>, String> {
    match url {
        "memory:" => Ok(Arc::new(MemoryStore::new())),
        other => Err(format!(
            "this build opens only `memory:` stores; `{}` needs wxopen-store",
            crate::config::redact_url(other)
        )),
    }
}
