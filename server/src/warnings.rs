//! Settings that are valid but risky, warned about when `wxopen serve` starts and by
//! `wxopen config check`: [`ConfigWarning`], from the configuration alone
//! ([`config_warnings`]) and from the Redis server the store names ([`store_warnings`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{redact_url, Secret, SecretSource, ServerConfig};

/// The most [`store_warnings`] waits for the Redis server.
pub const STORE_CHECK_BUDGET: Duration = Duration::from_secs(3);

/// A valid but risky setting: what it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// A `*_file` secret that the group or others may read.
    SecretFileReadable {
        /// The key, e.g. `component[0].appsecret_file`.
        key: String,
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `server.internal_listen` is not a loopback address: the token API is reachable from
    /// the network.
    InternalListenNotLoopback {
        /// The address.
        addr: SocketAddr,
    },
    /// An `api_base_urls` entry is plain `http://`: the appsecret and every token cross the
    /// network in clear.
    HttpApiBase {
        /// The key, e.g. `component[0].api_base_urls`.
        key: String,
        /// The entry.
        url: String,
    },
    /// The Redis store's server runs with `appendonly no`: a restart loses the writes since the
    /// last snapshot, rotated refresh tokens included.
    RedisWithoutAppendOnly {
        /// The store URL, password redacted.
        store: String,
    },
    /// The Redis store's persistence could not be checked.
    RedisUnchecked {
        /// The store URL, password redacted.
        store: String,
        /// Why.
        error: String,
    },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretFileReadable { key, path, mode } => write!(
                f,
                "`{key}`: {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
            Self::InternalListenNotLoopback { addr } => write!(
                f,
                "`server.internal_listen` is {addr}, not loopback: the token API answers anyone who can reach it with a key; keep it on a private network or bind 127.0.0.1"
            ),
            Self::HttpApiBase { key, url } => write!(
                f,
                "`{key}`: {url} is plain http: the appsecret and every token cross the network in clear; use https"
            ),
            Self::RedisWithoutAppendOnly { store } => write!(
                f,
                "`server.store`: the Redis server of {store} runs with appendonly no: a restart loses every write since the last snapshot, rotated refresh tokens included (accounts then need re-authorization); set appendonly yes and appendfsync always (or everysec)"
            ),
            Self::RedisUnchecked { store, error } => write!(
                f,
                "`server.store`: cannot check the persistence of {store}: {error}; make sure it runs with appendonly yes"
            ),
        }
    }
}

/// Logs each warning (at start).
pub(crate) fn log(warnings: &[ConfigWarning]) {
    for w in warnings {
        tracing::warn!(warning = %w, "risky configuration");
    }
}

/// The warnings the configuration alone gives: readable secret files, a non-loopback
/// internal listener, plain-http API base URLs.
pub fn config_warnings(cfg: &ServerConfig) -> Vec<ConfigWarning> {
    let mut out = Vec::new();
    if !cfg.internal_listen.ip().is_loopback() {
        out.push(ConfigWarning::InternalListenNotLoopback {
            addr: cfg.internal_listen,
        });
    }
    for (i, c) in cfg.components.iter().enumerate() {
        let k = |name: &str| format!("component[{i}].{name}");
        let secrets = [
            ("appsecret", Some(&c.appsecret)),
            ("token", Some(&c.token)),
            ("encoding_aes_key", Some(&c.encoding_aes_key)),
            (
                "previous_encoding_aes_key",
                c.previous_encoding_aes_key.as_ref(),
            ),
            ("webhook_secret", c.webhook.as_ref().map(|w| &w.secret)),
        ];
        for (name, s) in secrets {
            if let Some(w) = s.and_then(|s| readable_file(&k(name), s)) {
                out.push(w);
            }
        }
        for url in c.api_base_urls.iter().flatten() {
            if url.len() >= 7 && url[..7].eq_ignore_ascii_case("http://") {
                out.push(ConfigWarning::HttpApiBase {
                    key: k("api_base_urls"),
                    url: url.clone(),
                });
            }
        }
    }
    for (i, c) in cfg.clients.iter().enumerate() {
        if let Some(w) = readable_file(&format!("client[{i}].key"), &c.key) {
            out.push(w);
        }
    }
    out
}

/// The warning for `secret` (of `key`) if it comes from a file the group or others may read.
fn readable_file(key: &str, secret: &Secret) -> Option<ConfigWarning> {
    let SecretSource::File(path) = &secret.source else {
        return None;
    };
    let mode = mode(path)?;
    (mode & 0o077 != 0).then(|| ConfigWarning::SecretFileReadable {
        key: format!("{key}_file"),
        path: path.clone(),
        mode,
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_path: &Path) -> Option<u32> {
    None
}

/// The warnings the store gives: a Redis server without an append-only file (asked with
/// `INFO persistence`, within [`STORE_CHECK_BUDGET`]). Nothing for other stores.
pub async fn store_warnings(store: &str) -> Vec<ConfigWarning> {
    let shown = redact_url(store);
    match tokio::time::timeout(STORE_CHECK_BUDGET, wxopen_store::redis_append_only(store)).await {
        Ok(Ok(Some(false))) => vec![ConfigWarning::RedisWithoutAppendOnly { store: shown }],
        Ok(Ok(_)) => Vec::new(),
        Ok(Err(e)) => vec![ConfigWarning::RedisUnchecked {
            store: shown,
            error: e.to_string(),
        }],
        Err(_) => vec![ConfigWarning::RedisUnchecked {
            store: shown,
            error: format!("no answer within {} s", STORE_CHECK_BUDGET.as_secs()),
        }],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::parse;

    const AES: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn config(server: &str, component: &str, client: &str) -> String {
        format!(
            "[server]\n{server}\n[[component]]\nappid = \"wxcomponent0001\"\nappsecret = \"s3cr3t-appsecret\"\ntoken = \"msgtoken\"\nencoding_aes_key = \"{AES}\"\n{component}\n\n[[client]]\nname = \"orders\"\n{client}\n"
        )
    }

    #[test]
    fn a_safe_configuration_gives_no_warning() {
        let c = parse(
            &config("", "", "key = \"0123456789abcdef0123\""),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(config_warnings(&c), []);
    }

    #[cfg(unix)]
    #[test]
    fn readable_secret_files_public_listeners_and_http_upstreams_are_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("client.key");
        std::fs::write(&key, "0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let text = config(
            "internal_listen = \"0.0.0.0:8081\"",
            "api_base_urls = [\"https://api.example.com\", \"HTTP://10.0.0.5:8080\"]",
            "key_file = \"client.key\"",
        );
        let c = parse(&text, dir.path()).unwrap();
        let warnings = config_warnings(&c);
        assert_eq!(
            warnings,
            [
                ConfigWarning::InternalListenNotLoopback {
                    addr: "0.0.0.0:8081".parse().unwrap()
                },
                ConfigWarning::HttpApiBase {
                    key: "component[0].api_base_urls".into(),
                    url: "HTTP://10.0.0.5:8080".into()
                },
                ConfigWarning::SecretFileReadable {
                    key: "client[0].key_file".into(),
                    path: key.clone(),
                    mode: 0o644
                },
            ]
        );
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert!(shown[2].contains("chmod 600"), "{shown:?}");
        assert!(shown.iter().all(|w| !w.contains("0123456789abcdef0123")));
        // The owner's only: no warning.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = parse(&text, dir.path()).unwrap();
        assert_eq!(config_warnings(&c).len(), 2);
    }

    #[tokio::test]
    async fn a_store_that_is_not_redis_gives_no_warning_and_an_unreachable_one_says_so() {
        assert_eq!(store_warnings("memory:").await, []);
        // A port nothing listens on (the connection is refused at once).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let w = store_warnings(&format!("redis://:pw-secret@127.0.0.1:{port}/")).await;
        assert!(
            matches!(&w[..], [ConfigWarning::RedisUnchecked { .. }]),
            "{w:?}"
        );
        assert!(!w[0].to_string().contains("pw-secret"), "{}", w[0]);
    }
}
