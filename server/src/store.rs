//! Opening the configured store (`sqlite:///…` by default, `redis://…` for many instances,
//! `memory:` for tests), creating the data directory of a default SQLite store.

use std::sync::Arc;

use wxopen_client::TokenStore;

/// Opens the store named by `url`.
pub(crate) async fn open(
    url: &str,
    data_dir: &std::path::Path,
    default_store: bool,
) -> Result<Arc<dyn TokenStore>, String> {
    if default_store {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", data_dir.display()))?;
    }
    wxopen_store::open_store(url)
        .await
        .map_err(|e| e.to_string())
}
