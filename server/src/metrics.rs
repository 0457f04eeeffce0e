//! Prometheus text metrics: counters and latency summaries, rendered on `/metrics`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wxopen_client::{
    ApiObserver, BoxFuture, CasOutcome, Error, StoreError, StoreKey, StoredValue, TokenStore,
    Versioned,
};

/// The name of every metric, in one place (`server/README.md` lists them; dashboards and
/// tests read them, so they never change).
pub(crate) mod name {
    /// Component pushes by result and InfoType.
    pub(crate) const PUSHES: &str = "wxopen_pushes_total";
    /// Authorized-account messages by result.
    pub(crate) const MESSAGES: &str = "wxopen_messages_total";
    /// Deliveries to the message webhook by result.
    pub(crate) const WEBHOOK_DELIVERIES: &str = "wxopen_webhook_deliveries_total";
    /// Message webhook latency.
    pub(crate) const WEBHOOK_SECONDS: &str = "wxopen_webhook_seconds";
    /// Release-check customer-service follow-ups by result.
    pub(crate) const RELEASE_CHECK_SENDS: &str = "wxopen_release_check_sends_total";
    /// Messages handled without deduplication.
    pub(crate) const DEDUPE_ERRORS: &str = "wxopen_dedupe_errors_total";
    /// WeChat API attempts by endpoint and errcode.
    pub(crate) const UPSTREAM_CALLS: &str = "wxopen_upstream_calls_total";
    /// WeChat API attempt latency.
    pub(crate) const UPSTREAM_SECONDS: &str = "wxopen_upstream_seconds";
    /// Token refreshes by token kind and result.
    pub(crate) const REFRESHES: &str = "wxopen_refreshes_total";
    /// Tokens WeChat rejected.
    pub(crate) const TOKENS_REJECTED: &str = "wxopen_tokens_rejected_total";
    /// Token requests that gave up waiting for a refresh.
    pub(crate) const LEASE_WAITS: &str = "wxopen_lease_waits_total";
    /// Authorizer tokens the refresher found due.
    pub(crate) const REFRESHER_DUE: &str = "wxopen_refresher_due_total";
    /// Token store operation latency.
    pub(crate) const STORE_SECONDS: &str = "wxopen_store_seconds";
    /// Token store operation failures.
    pub(crate) const STORE_ERRORS: &str = "wxopen_store_errors_total";
    /// HTTP requests by listener, route and status.
    pub(crate) const HTTP_REQUESTS: &str = "wxopen_http_requests_total";
    /// Age of the stored component_verify_ticket (a gauge computed at scrape time).
    pub(crate) const TICKET_AGE: &str = "wxopen_ticket_age_seconds";
    /// Seconds until the component access token expires (a gauge computed at scrape time).
    pub(crate) const COMPONENT_TOKEN_TTL: &str = "wxopen_component_token_ttl_seconds";
}

type Labels = Vec<(&'static str, String)>;

/// A gauge computed at scrape time: name, labels, value.
pub type Gauge = (&'static str, Vec<(&'static str, String)>, f64);

#[derive(Debug, Default)]
struct Summary {
    count: u64,
    sum: f64,
}

/// Series of one kind, bucketed by a hash of name and labels, so that updating an existing
/// series allocates nothing (the labels are compared borrowed; only a new series owns them).
#[derive(Debug)]
struct Series<V> {
    buckets: HashMap<u64, Vec<(&'static str, Labels, V)>>,
}

impl<V> Default for Series<V> {
    fn default() -> Self {
        Self {
            buckets: HashMap::new(),
        }
    }
}

fn key_hash(name: &str, l: &[(&'static str, &str)]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    for (k, v) in l {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

fn same(stored: &Labels, l: &[(&'static str, &str)]) -> bool {
    stored.len() == l.len()
        && stored
            .iter()
            .zip(l)
            .all(|((k1, v1), (k2, v2))| k1 == k2 && v1 == v2)
}

impl<V: Default> Series<V> {
    fn entry(&mut self, name: &'static str, l: &[(&'static str, &str)]) -> &mut V {
        let bucket = self.buckets.entry(key_hash(name, l)).or_default();
        let i = match bucket
            .iter()
            .position(|(n, stored, _)| *n == name && same(stored, l))
        {
            Some(i) => i,
            None => {
                bucket.push((name, labels(l), V::default()));
                bucket.len() - 1
            }
        };
        &mut bucket[i].2
    }

    fn get(&self, name: &'static str, l: &[(&'static str, &str)]) -> Option<&V> {
        self.buckets
            .get(&key_hash(name, l))?
            .iter()
            .find(|(n, stored, _)| *n == name && same(stored, l))
            .map(|(_, _, v)| v)
    }

    /// Every series, ordered by name, then labels.
    fn sorted(&self) -> Vec<(&'static str, &Labels, &V)> {
        let mut all: Vec<_> = self
            .buckets
            .values()
            .flatten()
            .map(|(n, l, v)| (*n, l, v))
            .collect();
        all.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        all
    }
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Series<u64>>,
    summaries: Mutex<Series<Summary>>,
}

fn labels(l: &[(&'static str, &str)]) -> Labels {
    l.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_labels(l: &Labels) -> String {
    if l.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// Help text of each metric.
const HELP: &[(&str, &str)] = &[
    (
        name::PUSHES,
        "Component pushes by result and InfoType",
    ),
    (
        name::MESSAGES,
        "Authorized-account messages by result",
    ),
    (
        name::WEBHOOK_DELIVERIES,
        "Deliveries to the message webhook by result",
    ),
    (name::WEBHOOK_SECONDS, "Message webhook latency"),
    (
        name::RELEASE_CHECK_SENDS,
        "Release-check customer-service follow-ups by result",
    ),
    (
        name::DEDUPE_ERRORS,
        "Messages handled without deduplication (the store failed or was slow)",
    ),
    (
        name::UPSTREAM_CALLS,
        "WeChat API attempts by endpoint and errcode",
    ),
    (name::UPSTREAM_SECONDS, "WeChat API attempt latency"),
    (
        name::REFRESHES,
        "Token refreshes by token kind and result",
    ),
    (
        name::TOKENS_REJECTED,
        "Tokens WeChat rejected (40001/40014/42001), expired in the store and refreshed",
    ),
    (
        name::LEASE_WAITS,
        "Token requests that gave up waiting for a refresh (another instance's lease, or the caller's deadline)",
    ),
    (name::STORE_SECONDS, "Token store operation latency"),
    (
        name::STORE_ERRORS,
        "Token store operation failures",
    ),
    (
        name::HTTP_REQUESTS,
        "HTTP requests by listener, route and status",
    ),
    (
        name::TICKET_AGE,
        "Age of the stored component_verify_ticket",
    ),
    (
        name::COMPONENT_TOKEN_TTL,
        "Seconds until the component access token expires",
    ),
];

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, l: &[(&'static str, &str)]) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry(name, l) += 1;
    }

    /// Records one observation of a duration.
    pub fn observe(&self, name: &'static str, l: &[(&'static str, &str)], d: Duration) {
        let mut s = self.summaries.lock().unwrap_or_else(|p| p.into_inner());
        let e = s.entry(name, l);
        e.count += 1;
        e.sum += d.as_secs_f64();
    }

    /// The value of a counter (tests).
    pub fn counter(&self, name: &'static str, l: &[(&'static str, &str)]) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.get(name, l).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition, with `gauges` computed at scrape time.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let mut typed = std::collections::BTreeSet::new();
        let mut header = |out: &mut String, name: &'static str, kind: &str| {
            if typed.insert(name) {
                let help = HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| h);
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
            }
        };
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for (name, l, v) in counters.sorted() {
            header(&mut out, name, "counter");
            let _ = writeln!(out, "{name}{} {v}", render_labels(l));
        }
        drop(counters);
        let summaries = self.summaries.lock().unwrap_or_else(|p| p.into_inner());
        for (name, l, s) in summaries.sorted() {
            header(&mut out, name, "summary");
            let _ = writeln!(out, "{name}_sum{} {}", render_labels(l), s.sum);
            let _ = writeln!(out, "{name}_count{} {}", render_labels(l), s.count);
        }
        for (name, l, v) in gauges {
            header(&mut out, name, "gauge");
            let _ = writeln!(out, "{name}{} {v}", render_labels(l));
        }
        out
    }
}

/// Counts every WeChat API attempt of one component.
#[derive(Debug)]
pub(crate) struct UpstreamObserver {
    pub metrics: Arc<Metrics>,
    pub component: String,
}

impl ApiObserver for UpstreamObserver {
    fn on_attempt(&self, endpoint: &'static str, error: Option<&Error>, latency: Duration) {
        let errcode = match error {
            None => "0".to_owned(),
            Some(e) => match e {
                Error::HttpStatus { status, .. } => format!("http_{status}"),
                Error::Transport { kind, .. } => {
                    format!("transport_{}", kind.to_string().replace(' ', "_"))
                }
                other => other
                    .code()
                    .map_or_else(|| "other".to_owned(), |c| c.to_string()),
            },
        };
        let l = [
            ("component", self.component.as_str()),
            ("endpoint", endpoint),
            ("errcode", errcode.as_str()),
        ];
        self.metrics.inc(name::UPSTREAM_CALLS, &l);
        self.metrics.observe(
            name::UPSTREAM_SECONDS,
            &[("component", &self.component), ("endpoint", endpoint)],
            latency,
        );
    }
}

/// A store that times every operation.
#[derive(Debug)]
pub(crate) struct MeteredStore {
    pub inner: Arc<dyn TokenStore>,
    pub metrics: Arc<Metrics>,
}

impl MeteredStore {
    fn time<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        f: BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        Box::pin(async move {
            let started = Instant::now();
            let r = f.await;
            self.metrics
                .observe(name::STORE_SECONDS, &[("op", op)], started.elapsed());
            if r.is_err() {
                self.metrics.inc(name::STORE_ERRORS, &[("op", op)]);
            }
            r
        })
    }
}

impl TokenStore for MeteredStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        self.time("get", self.inner.get(key))
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        self.time(
            "compare_and_set",
            self.inner.compare_and_set(key, expected, value, fence),
        )
    }
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.time(
            "compare_and_delete",
            self.inner.compare_and_delete(key, expected),
        )
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.time("try_lease", self.inner.try_lease(key, holder, ttl))
    }
    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.time("extend_lease", self.inner.extend_lease(key, holder, ttl))
    }
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.time("release_lease", self.inner.release_lease(key, holder))
    }
    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.time(
            "list_authorizers",
            self.inner.list_authorizers(component_appid, after, limit),
        )
    }
    fn claim_once<'a>(
        &'a self,
        component_appid: &'a str,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.time(
            "claim_once",
            self.inner.claim_once(component_appid, id, ttl),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.inc(
            "wxopen_pushes_total",
            &[("component", "wxc"), ("result", "ok")],
        );
        m.inc(
            "wxopen_pushes_total",
            &[("component", "wxc"), ("result", "ok")],
        );
        m.observe(
            "wxopen_store_seconds",
            &[("op", "get")],
            Duration::from_millis(5),
        );
        let text = m.render(&[(
            "wxopen_ticket_age_seconds",
            vec![("component", "wx\"c".into())],
            12.0,
        )]);
        assert!(
            text.contains("# TYPE wxopen_pushes_total counter"),
            "{text}"
        );
        assert!(
            text.contains("wxopen_pushes_total{component=\"wxc\",result=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("wxopen_store_seconds_count{op=\"get\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("wxopen_ticket_age_seconds{component=\"wx\\\"c\"} 12"),
            "{text}"
        );
        assert_eq!(
            m.counter(
                "wxopen_pushes_total",
                &[("component", "wxc"), ("result", "ok")]
            ),
            2
        );
    }

    #[test]
    fn series_are_kept_apart_and_rendered_in_order() {
        let m = Metrics::default();
        for result in ["ok", "duplicate", "ok", "bad", "ok"] {
            m.inc(
                "wxopen_messages_total",
                &[("component", "wxc"), ("result", result)],
            );
        }
        m.inc("wxopen_messages_total", &[("component", "wxc")]);
        let ok = [("component", "wxc"), ("result", "ok")];
        assert_eq!(m.counter("wxopen_messages_total", &ok), 3);
        assert_eq!(
            m.counter("wxopen_messages_total", &[("component", "wxc")]),
            1
        );
        assert_eq!(m.counter("wxopen_pushes_total", &ok), 0);
        let text = m.render(&[]);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "wxopen_messages_total{component=\"wxc\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"bad\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"duplicate\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"ok\"} 3",
            ]
        );
    }
}
