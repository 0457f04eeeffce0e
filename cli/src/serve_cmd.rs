//! `wxopen serve` and `wxopen config check`. A configuration error is one line naming the key
//! and the fix, exit code 2.

use std::path::Path;

use crate::args::ServeArgs;
use crate::failure::Failure;

/// `wxopen config check --config FILE`: validates and prints the redacted configuration, then
/// each risky setting as a `# warning: …` line (a readable secret file, a public internal
/// listener, a plain-http API base URL, a Redis store without `appendonly`).
#[cfg(feature = "serve")]
pub fn check(path: &Path) -> Result<Vec<u8>, Failure> {
    let cfg = wxopen_server::config::load(path).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut warnings = wxopen_server::warnings::config_warnings(&cfg);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("cannot start the runtime: {e}")))?;
    warnings.extend(rt.block_on(wxopen_server::warnings::store_warnings(&cfg.store)));
    let mut out = cfg.redacted();
    // TOML comments, so the output stays a valid configuration.
    for w in &warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    Ok(out.into_bytes())
}

/// `wxopen serve --config FILE`: runs until SIGTERM or SIGINT.
#[cfg(feature = "serve")]
pub fn serve(args: &ServeArgs) -> Result<Vec<u8>, Failure> {
    let cfg =
        wxopen_server::config::load(&args.config).map_err(|e| Failure::Usage(e.to_string()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("WXOPEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = match args.log_format.as_str() {
        "json" => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .try_init(),
        "human" => tracing_subscriber::fmt().with_env_filter(filter).try_init(),
        other => {
            return Err(Failure::Usage(format!(
                "--log-format {other}: use human or json"
            )))
        }
    };
    let _ = installed;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let server = wxopen_server::Server::bind(cfg, wxopen_server::ServerOptions::default())
            .await
            .map_err(|e| match e {
                wxopen_server::ServeError::Config(c) => Failure::Usage(c.to_string()),
                other => Failure::Io(other.to_string()),
            })?;
        eprintln!(
            "wxopen serve: public http://{} internal http://{}",
            server.public_addr(),
            server.internal_addr()
        );
        server
            .run(wxopen_server::shutdown_signal())
            .await
            .map_err(|e| Failure::Io(e.to_string()))
    })?;
    Ok(Vec::new())
}

/// Without the `serve` feature: a usage error.
#[cfg(not(feature = "serve"))]
pub fn check(_path: &Path) -> Result<Vec<u8>, Failure> {
    Err(Failure::Usage(
        "this wxopen was built without the `serve` feature".to_owned(),
    ))
}

/// Without the `serve` feature: a usage error.
#[cfg(not(feature = "serve"))]
pub fn serve(_args: &ServeArgs) -> Result<Vec<u8>, Failure> {
    Err(Failure::Usage(
        "this wxopen was built without the `serve` feature".to_owned(),
    ))
}
