//! `wxopen events list|get|replay|discard`: a running service's event log over its internal
//! API (`GET /v1/{component}/events…`, `POST …/replay`, `…/discard`), the bearer key from the
//! environment (never a flag: it would land in shell history). Prints the API's JSON; an
//! answer other than 2xx is the failure, with the API's `error` and `hint`.

#[cfg(feature = "serve")]
use crate::args::EventsAction;
use crate::args::{EventFilterArgs, EventsArgs};
use crate::failure::Failure;

fn query(f: &EventFilterArgs) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            q.push((k, v));
        }
    };
    put("state", f.state.clone());
    put("authorizer", f.authorizer.clone());
    put("kind", f.kind.clone());
    put("since_ms", f.since_ms.map(|v| v.to_string()));
    put("until_ms", f.until_ms.map(|v| v.to_string()));
    put("after", f.after.map(|v| v.to_string()));
    put("limit", f.limit.map(|v| v.to_string()));
    q
}

/// Runs one `wxopen events` action.
#[cfg(feature = "serve")]
pub fn run(a: &EventsArgs) -> Result<Vec<u8>, Failure> {
    let component = a
        .component
        .as_deref()
        .ok_or_else(|| Failure::Usage("--component <APPID> is required".to_owned()))?;
    if !wxopen_proto::appid::valid_appid(component) {
        return Err(Failure::Usage(format!(
            "--component {component}: not an appid"
        )));
    }
    let key = std::env::var(&a.key_env).map_err(|_| {
        Failure::Usage(format!(
            "set {} to the bearer key of a [[client]] of the service",
            a.key_env
        ))
    })?;
    let base = format!("{}/v1/{component}/events", a.url.trim_end_matches('/'));
    let (post, url, q) = match &a.action {
        EventsAction::List(f) => (false, base, query(f)),
        EventsAction::Get { id } => (false, format!("{base}/{id}"), Vec::new()),
        EventsAction::Replay { id: Some(id), .. } => {
            (true, format!("{base}/{id}/replay"), Vec::new())
        }
        EventsAction::Replay { id: None, filter } => {
            (true, format!("{base}/replay"), query(filter))
        }
        EventsAction::Discard { id } => (true, format!("{base}/{id}/discard"), Vec::new()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::Io(format!("HTTP client: {e}")))?;
        let url = reqwest::Url::parse_with_params(&url, &q)
            .map_err(|e| Failure::Usage(format!("--url {}: {e}", a.url)))?;
        let req = if post {
            http.post(url).body("{}")
        } else {
            http.get(url)
        };
        let resp = req
            .bearer_auth(key)
            .header("content-type", "application/json")
            .send()
            .await
            .map_err(|e| Failure::Io(format!("{}: {}", a.url, e.without_url())))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Failure::Io(format!("reading the answer: {}", e.without_url())))?;
        if !status.is_success() {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            return Err(Failure::Usage(format!(
                "the service answered {}: {} ({})",
                status.as_u16(),
                v["error"].as_str().unwrap_or("no error text"),
                v["hint"].as_str().unwrap_or("")
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Failure::Io(format!("the answer is not JSON: {e}")))?;
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        Ok(out)
    })
}

/// Without the `serve` feature there is no HTTP client.
#[cfg(not(feature = "serve"))]
pub fn run(_a: &EventsArgs) -> Result<Vec<u8>, Failure> {
    let _ = query;
    Err(Failure::Usage(
        "this wxopen was built without the `serve` feature; reinstall with default features"
            .to_owned(),
    ))
}
