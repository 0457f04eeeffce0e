//! The service under demo: its configuration for the fake, and its instances on the demo's
//! runtime.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wxopen_client::Clock;
use wxopen_fake::harness::{self, Routes, StopError, Stoppable};
use wxopen_fake::FakeWeChat;
use wxopen_server::{ServeError, Server, ServerConfig, ServerOptions};

use super::client::Why;

/// How long a server instance may take to shut down gracefully.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The service configuration, as a `wxopen.toml` would hold it: the public listener on
/// `public_port` (its address is `public_base_url`, where WeChat sends the admin back), the
/// default SQLite store in `data_dir`, the refresher off, the fake as the component, one API
/// client.
pub(super) fn config_text(
    fake: &FakeWeChat,
    public_port: u16,
    data_dir: &Path,
    key: &str,
) -> String {
    format!(
        r#"[server]
public_listen = "127.0.0.1:{public_port}"
internal_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:{public_port}"
allow_http_redirect = true
data_dir = {data_dir}

[refresher]
enabled = false

{component}
[[client]]
name = "demo"
key = {key}
components = [{appid}]
"#,
        data_dir = harness::toml_string(&data_dir.display().to_string()),
        component = harness::component_toml(fake),
        key = harness::toml_string(key),
        appid = harness::toml_string(fake.component_appid()),
    )
}

/// A server instance running on the demo's runtime, and its routes.
pub(super) struct Instance {
    task: Stoppable<Result<(), ServeError>>,
    /// Its routes for the demo's component.
    pub(super) routes: Routes,
}

impl Instance {
    /// Binds a server for `cfg` on the shared `clock` and runs it until [`Instance::stop`].
    pub(super) async fn start(
        cfg: ServerConfig,
        clock: Arc<dyn Clock>,
        component: &str,
    ) -> Result<Self, Why> {
        let server = Server::bind(cfg, ServerOptions::default().clock(clock))
            .await
            .map_err(|e| format!("the server did not start: {e}"))?;
        let routes = Routes::new(
            format!("http://{}", server.public_addr()),
            format!("http://{}", server.internal_addr()),
            component,
        );
        let task = Stoppable::spawn(|stop| server.run(stop));
        Ok(Self { task, routes })
    }

    /// Graceful shutdown: stop accepting, finish in-flight requests, release leases.
    pub(super) async fn stop(self) -> Result<(), Why> {
        match self.task.stop(STOP_WITHIN).await {
            Err(StopError::TimedOut(d)) => {
                Err(format!("the server did not stop within {} s", d.as_secs()))?
            }
            Err(StopError::Failed(e)) => Err(format!("the server task failed: {e}"))?,
            Ok(Err(e)) => Err(format!("the server stopped with: {e}"))?,
            Ok(Ok(())) => Ok(()),
        }
    }
}
