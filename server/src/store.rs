//! Opening the configured store (`sqlite:///…` by default, `redis://…` for many instances,
//! `memory:` for tests), creating the data directory of a default SQLite store.

use wxopen_store::Stores;

/// Creates `dir` (and missing parents) readable by its owner only (0700 on Unix): the default
/// store keeps tokens in clear there. An existing directory is left as it is.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens the store named by `url` and the event log beside it (the same SQLite file, the
/// same Redis; see [`wxopen_store::open_stores`]).
pub(crate) async fn open(
    url: &str,
    data_dir: &std::path::Path,
    default_store: bool,
) -> Result<Stores, String> {
    if default_store {
        create_private_dir(data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", data_dir.display()))?;
    }
    wxopen_store::open_stores(url)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The default store's data directory and database file are the owner's only.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_default_data_dir_and_its_database_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = std::env::temp_dir().join(format!("wxopen-private-{}", std::process::id()));
        let dir = tmp.join("data");
        let url = format!("sqlite://{}/wxopen.db", dir.display());
        let store = open(&url, &dir, true).await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("wxopen.db")), 0o600);
        drop(store);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
