//! Prometheus metrics on the Prometheus project's `prometheus-client` crate: counters, latency
//! histograms, and gauges computed at scrape time, rendered on `/metrics` in the Prometheus
//! text format (version 0.0.4).
//!
//! Each metric is a [`Family`] of one typed label set, made of `&'static str`s, small label
//! enums and shared strings. Label values only known at run time (component appids, InfoTypes,
//! MsgTypes, routes) are interned once per [`Metrics`], so counting on a series that exists
//! allocates nothing (`server/tests/metrics_alloc.rs` counts).

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{
    prometheus_text, EncodeLabel, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder,
    LabelValueEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as GaugeMetric;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use wxopen_client::{
    ApiObserver, BoxFuture, CasOutcome, Error, StoreError, StoreKey, StoredValue, TokenStore,
    TransportKind, Versioned,
};

/// The name of every metric as `/metrics` shows it, in one place (`server/README.md` lists
/// them; dashboards and tests read them, so they never change). Counters are registered
/// without their `_total`, which `prometheus-client` appends.
pub(crate) mod name {
    /// Component pushes by result and InfoType.
    pub(crate) const PUSHES: &str = "wxopen_pushes_total";
    /// Authorized-account messages by result.
    pub(crate) const MESSAGES: &str = "wxopen_messages_total";
    /// Deliveries to the message webhook by result.
    pub(crate) const WEBHOOK_DELIVERIES: &str = "wxopen_webhook_deliveries_total";
    /// Message webhook latency.
    pub(crate) const WEBHOOK_SECONDS: &str = "wxopen_webhook_seconds";
    /// The event log by result: appended, duplicate, delivered, failed (to be retried), dead
    /// (dead letters), not_durable (WeChat got a 503).
    pub(crate) const EVENTS: &str = "wxopen_events_total";
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
    /// Requests to the authorization routes refused by a rate limit, by route and reason.
    pub(crate) const RATE_LIMITED: &str = "wxopen_rate_limited_total";
    /// Requests through the token-injecting proxy by token, path family, result and errcode.
    pub(crate) const PROXY_REQUESTS: &str = "wxopen_proxy_requests_total";
    /// Connections a listener holds now.
    pub(crate) const OPEN_CONNECTIONS: &str = "wxopen_open_connections";
    /// Times a listener held its most connections and stopped accepting.
    pub(crate) const CONNECTION_CAP_REACHED: &str = "wxopen_connection_cap_reached_total";
    /// Failed accepts (e.g. out of file descriptors) by listener.
    pub(crate) const ACCEPT_ERRORS: &str = "wxopen_accept_errors_total";
    /// Age of the stored component_verify_ticket (a gauge computed at scrape time).
    pub(crate) const TICKET_AGE: &str = "wxopen_ticket_age_seconds";
    /// Seconds until the component access token expires (a gauge computed at scrape time).
    pub(crate) const COMPONENT_TOKEN_TTL: &str = "wxopen_component_token_ttl_seconds";
    /// Accounts with undelivered events, up to 1,000 (a gauge computed at scrape time).
    pub(crate) const EVENTS_BACKLOG_ACCOUNTS: &str = "wxopen_events_backlog_accounts";
    /// Age of the oldest undelivered event (a gauge computed at scrape time; 0 with none).
    pub(crate) const EVENTS_OLDEST_PENDING: &str = "wxopen_events_oldest_pending_seconds";
}

/// Help text of each metric (`prometheus-client` ends it with a full stop).
const HELP: &[(&str, &str)] = &[
    (name::PUSHES, "Component pushes by result and InfoType"),
    (name::MESSAGES, "Authorized-account messages by result"),
    (
        name::WEBHOOK_DELIVERIES,
        "Deliveries to the message webhook by result",
    ),
    (name::WEBHOOK_SECONDS, "Message webhook latency"),
    (
        name::EVENTS,
        "Event log outcomes by result: appended, duplicate, delivered, failed, dead, not_durable",
    ),
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
    (name::REFRESHES, "Token refreshes by token kind and result"),
    (
        name::TOKENS_REJECTED,
        "Tokens WeChat rejected (40001/40014/42001), expired in the store and refreshed",
    ),
    (
        name::REFRESHER_DUE,
        "Authorizer tokens the background refresher found due (each one then asked for, so refreshed unless it fails)",
    ),
    (
        name::LEASE_WAITS,
        "Token requests that gave up waiting for a refresh (another instance's lease, or the caller's deadline)",
    ),
    (name::STORE_SECONDS, "Token store operation latency"),
    (name::STORE_ERRORS, "Token store operation failures"),
    (
        name::HTTP_REQUESTS,
        "HTTP requests by listener, route and status",
    ),
    (
        name::RATE_LIMITED,
        "Requests to the authorization routes refused by a rate limit (429), by route and reason",
    ),
    (
        name::PROXY_REQUESTS,
        "Requests through the token-injecting proxy by token, path family, result (forwarded, retried, denied, too_large, failed) and WeChat's errcode",
    ),
    (name::OPEN_CONNECTIONS, "Connections a listener holds now"),
    (
        name::CONNECTION_CAP_REACHED,
        "Times a listener held connections.max_per_listener connections and stopped accepting until one closed",
    ),
    (
        name::ACCEPT_ERRORS,
        "Failed accepts by listener (e.g. out of file descriptors: raise ulimit -n)",
    ),
    (name::TICKET_AGE, "Age of the stored component_verify_ticket"),
    (
        name::COMPONENT_TOKEN_TTL,
        "Seconds until the component access token expires",
    ),
    (
        name::EVENTS_BACKLOG_ACCOUNTS,
        "Accounts with undelivered events in the event log (counted up to 1000)",
    ),
    (
        name::EVENTS_OLDEST_PENDING,
        "Age of the oldest undelivered event in the event log (0 with none)",
    ),
];

fn help(name: &str) -> &'static str {
    HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| h)
}

/// Upper bounds, in seconds, of the latency histograms' buckets (`_bucket{le=…}`; `+Inf` is
/// added): the service answers in microseconds (a cached token) to seconds (WeChat, a slow
/// webhook or store).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A gauge computed at scrape time: name, labels, value.
pub type Gauge = (&'static str, Vec<(&'static str, String)>, f64);

// ---------------------------------------------------------------------------------------------
// Label sets

/// A label value met at run time, shared by every series that carries it.
type Shared = Arc<str>;

/// `{component}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: Shared,
}

/// `{component, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    component: Shared,
    result: &'static str,
}

/// A label that only some series of a family carry (`info_type` of an accepted push,
/// `msg_type` of an answered message): absent, it is not written at all.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Optional(Option<(&'static str, Shared)>);

impl EncodeLabelSet for Optional {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        match &self.0 {
            Some(label) => label.encode(encoder.encode_label()),
            None => Ok(()),
        }
    }
}

/// `{component, result, info_type?}` or `{component, result, msg_type?}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultDetailLabels {
    component: Shared,
    result: &'static str,
    #[prometheus(flatten)]
    detail: Optional,
}

/// The `errcode` of a WeChat API attempt: `0`, WeChat's errcode, `http_<status>`,
/// `transport_<kind>` or `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Errcode {
    Code(i64),
    Http(u16),
    Transport(TransportKind),
    Other,
}

impl Errcode {
    fn of(error: Option<&Error>) -> Self {
        match error {
            None => Errcode::Code(0),
            Some(Error::HttpStatus { status, .. }) => Errcode::Http(*status),
            Some(Error::Transport { kind, .. }) => Errcode::Transport(*kind),
            Some(other) => other.code().map_or(Errcode::Other, Errcode::Code),
        }
    }
}

// By hand: `TransportKind` is not `Hash`; its variant is hashed instead (equal kinds, equal
// variants, so this agrees with `Eq`).
impl Hash for Errcode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Errcode::Code(c) => c.hash(state),
            Errcode::Http(s) => s.hash(state),
            Errcode::Transport(k) => std::mem::discriminant(k).hash(state),
            Errcode::Other => {}
        }
    }
}

impl EncodeLabelValue for Errcode {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> fmt::Result {
        match self {
            Errcode::Code(c) => write!(encoder, "{c}"),
            Errcode::Http(s) => write!(encoder, "http_{s}"),
            // `transport_timeout`, `transport_connection_failed`, …
            Errcode::Transport(k) => {
                encoder.write_str("transport_")?;
                write!(Underscored(encoder), "{k}")
            }
            Errcode::Other => encoder.write_str("other"),
        }
    }
}

/// Writes through to `W` with spaces as underscores.
struct Underscored<'a, W>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Underscored<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, part) in s.split(' ').enumerate() {
            if i > 0 {
                self.0.write_char('_')?;
            }
            self.0.write_str(part)?;
        }
        Ok(())
    }
}

/// `{component, endpoint, errcode}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamCallLabels {
    component: Shared,
    endpoint: &'static str,
    errcode: Errcode,
}

/// `{component, endpoint}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    component: Shared,
    endpoint: &'static str,
}

/// `{component, token, result}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    component: Shared,
    token: &'static str,
    result: &'static str,
}

/// `{component, token, errcode}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    component: Shared,
    token: &'static str,
    errcode: i64,
}

/// `{component, token, family, result, errcode}` of a proxied request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProxyLabels {
    component: Shared,
    token: &'static str,
    family: &'static str,
    result: &'static str,
    errcode: i64,
}

/// `{component, token, reason}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseWaitLabels {
    component: Shared,
    token: &'static str,
    reason: &'static str,
}

/// `{op}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    op: &'static str,
}

/// `{listener, route, status}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    listener: &'static str,
    route: Shared,
    status: u16,
}

/// `{route, reason}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLimitedLabels {
    route: &'static str,
    reason: &'static str,
}

/// `{listener}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

/// Label values met at run time, each stored once: looking up one already met allocates
/// nothing (an `Arc` clone).
#[derive(Debug, Default)]
struct Interner(RwLock<HashSet<Shared>>);

impl Interner {
    fn get(&self, value: &str) -> Shared {
        let known = self.0.read().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = known.get(value) {
            return v.clone();
        }
        drop(known);
        let mut known = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = known.get(value) {
            return v.clone();
        }
        let v: Shared = Arc::from(value);
        known.insert(v.clone());
        v
    }
}

// ---------------------------------------------------------------------------------------------
// The metrics

type Histograms<S> = Family<S, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Registers a counter family under `name` less its `_total` (which the encoder appends).
fn counter<S>(registry: &mut Registry, name: &'static str) -> Family<S, Counter>
where
    S: Clone + Hash + Eq + EncodeLabelSet + fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<S, Counter>::default();
    let bare = name.strip_suffix("_total").unwrap_or(name);
    registry.register(bare, help(name), family.clone());
    family
}

/// Registers a latency histogram family ([`LATENCY_BUCKETS`]) under `name`.
fn histogram<S>(registry: &mut Registry, name: &'static str) -> Histograms<S>
where
    S: Clone + Hash + Eq + EncodeLabelSet + fmt::Debug + Send + Sync + 'static,
{
    let family = Histograms::<S>::new_with_constructor(latency_histogram);
    registry.register(name, help(name), family.clone());
    family
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    interned: Interner,
    pushes: Family<ResultDetailLabels, Counter>,
    messages: Family<ResultDetailLabels, Counter>,
    webhook_deliveries: Family<ResultLabels, Counter>,
    webhook_seconds: Histograms<ComponentLabels>,
    events: Family<ResultLabels, Counter>,
    release_check_sends: Family<ResultLabels, Counter>,
    dedupe_errors: Family<ComponentLabels, Counter>,
    upstream_calls: Family<UpstreamCallLabels, Counter>,
    upstream_seconds: Histograms<EndpointLabels>,
    refreshes: Family<RefreshLabels, Counter>,
    tokens_rejected: Family<RejectedLabels, Counter>,
    refresher_due: Family<ComponentLabels, Counter>,
    lease_waits: Family<LeaseWaitLabels, Counter>,
    store_seconds: Histograms<StoreLabels>,
    store_errors: Family<StoreLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    rate_limited: Family<RateLimitedLabels, Counter>,
    proxy_requests: Family<ProxyLabels, Counter>,
    open_connections: Family<ListenerLabels, GaugeMetric>,
    connection_cap_reached: Family<ListenerLabels, Counter>,
    accept_errors: Family<ListenerLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::default();
        // In the order of `server/README.md`'s table, which is the order of `/metrics`.
        Self {
            pushes: counter(&mut r, name::PUSHES),
            messages: counter(&mut r, name::MESSAGES),
            webhook_deliveries: counter(&mut r, name::WEBHOOK_DELIVERIES),
            webhook_seconds: histogram(&mut r, name::WEBHOOK_SECONDS),
            events: counter(&mut r, name::EVENTS),
            release_check_sends: counter(&mut r, name::RELEASE_CHECK_SENDS),
            dedupe_errors: counter(&mut r, name::DEDUPE_ERRORS),
            upstream_calls: counter(&mut r, name::UPSTREAM_CALLS),
            upstream_seconds: histogram(&mut r, name::UPSTREAM_SECONDS),
            refreshes: counter(&mut r, name::REFRESHES),
            tokens_rejected: counter(&mut r, name::TOKENS_REJECTED),
            refresher_due: counter(&mut r, name::REFRESHER_DUE),
            lease_waits: counter(&mut r, name::LEASE_WAITS),
            store_seconds: histogram(&mut r, name::STORE_SECONDS),
            store_errors: counter(&mut r, name::STORE_ERRORS),
            http_requests: counter(&mut r, name::HTTP_REQUESTS),
            rate_limited: counter(&mut r, name::RATE_LIMITED),
            proxy_requests: counter(&mut r, name::PROXY_REQUESTS),
            open_connections: {
                let family = Family::<ListenerLabels, GaugeMetric>::default();
                r.register(
                    name::OPEN_CONNECTIONS,
                    help(name::OPEN_CONNECTIONS),
                    family.clone(),
                );
                family
            },
            connection_cap_reached: counter(&mut r, name::CONNECTION_CAP_REACHED),
            accept_errors: counter(&mut r, name::ACCEPT_ERRORS),
            interned: Interner::default(),
            registry: r,
        }
    }
}

impl Metrics {
    fn shared(&self, value: &str) -> Shared {
        self.interned.get(value)
    }

    /// Counts a component push: `result`, and the `info_type` of an accepted one.
    pub fn push(&self, component: &str, result: &'static str, info_type: Option<&str>) {
        let detail = Optional(info_type.map(|t| ("info_type", self.shared(t))));
        self.pushes
            .get_or_create(&ResultDetailLabels {
                component: self.shared(component),
                result,
                detail,
            })
            .inc();
    }

    /// Counts an authorized account's message: `result`, and the `msg_type` of an answered one.
    pub fn message(&self, component: &str, result: &'static str, msg_type: Option<&str>) {
        let detail = Optional(msg_type.map(|t| ("msg_type", self.shared(t))));
        self.messages
            .get_or_create(&ResultDetailLabels {
                component: self.shared(component),
                result,
                detail,
            })
            .inc();
    }

    /// Counts one delivery to a webhook by `result`, and its latency when given.
    pub fn webhook_delivery(
        &self,
        component: &str,
        result: &'static str,
        latency: Option<Duration>,
    ) {
        let component = self.shared(component);
        if let Some(latency) = latency {
            self.webhook_seconds
                .get_or_create(&ComponentLabels {
                    component: component.clone(),
                })
                .observe(latency.as_secs_f64());
        }
        self.webhook_deliveries
            .get_or_create(&ResultLabels { component, result })
            .inc();
    }

    /// Counts `n` event-log outcomes of `component` by `result`.
    pub fn events(&self, component: &str, result: &'static str, n: u64) {
        self.events
            .get_or_create(&ResultLabels {
                component: self.shared(component),
                result,
            })
            .inc_by(n);
    }

    /// Counts a release check's customer-service follow-up by `result`.
    pub fn release_check_send(&self, component: &str, result: &'static str) {
        self.release_check_sends
            .get_or_create(&ResultLabels {
                component: self.shared(component),
                result,
            })
            .inc();
    }

    /// Counts a message handled without deduplication.
    pub fn dedupe_error(&self, component: &str) {
        self.dedupe_errors
            .get_or_create(&ComponentLabels {
                component: self.shared(component),
            })
            .inc();
    }

    /// Counts a WeChat API attempt by its errcode, and times it.
    pub fn upstream_call(
        &self,
        component: &str,
        endpoint: &'static str,
        error: Option<&Error>,
        latency: Duration,
    ) {
        let component = self.shared(component);
        self.upstream_seconds
            .get_or_create(&EndpointLabels {
                component: component.clone(),
                endpoint,
            })
            .observe(latency.as_secs_f64());
        self.upstream_calls
            .get_or_create(&UpstreamCallLabels {
                component,
                endpoint,
                errcode: Errcode::of(error),
            })
            .inc();
    }

    /// Counts a token refresh (`token`: `component` or `authorizer`) by `result`.
    pub fn refresh(&self, component: &str, token: &'static str, result: &'static str) {
        self.refreshes
            .get_or_create(&RefreshLabels {
                component: self.shared(component),
                token,
                result,
            })
            .inc();
    }

    /// Counts a proxied request: `token` (`authorizer`, `component`), the path's bounded
    /// `family`, `result` and WeChat's `errcode` (0 when none).
    pub fn proxy_request(
        &self,
        component: &str,
        token: &'static str,
        family: &'static str,
        result: &'static str,
        errcode: i64,
    ) {
        self.proxy_requests
            .get_or_create(&ProxyLabels {
                component: self.shared(component),
                token,
                family,
                result,
                errcode,
            })
            .inc();
    }

    /// Counts a token WeChat rejected with `errcode`.
    pub fn token_rejected(&self, component: &str, token: &'static str, errcode: i64) {
        self.tokens_rejected
            .get_or_create(&RejectedLabels {
                component: self.shared(component),
                token,
                errcode,
            })
            .inc();
    }

    /// Counts an authorizer token the background refresher found due.
    pub fn refresher_due(&self, component: &str) {
        self.refresher_due
            .get_or_create(&ComponentLabels {
                component: self.shared(component),
            })
            .inc();
    }

    /// Counts a token request that gave up waiting for a refresh, by `reason`.
    pub fn lease_wait(&self, component: &str, token: &'static str, reason: &'static str) {
        self.lease_waits
            .get_or_create(&LeaseWaitLabels {
                component: self.shared(component),
                token,
                reason,
            })
            .inc();
    }

    /// Times a token store operation, and counts it when it failed.
    pub fn store_op(&self, op: &'static str, latency: Duration, ok: bool) {
        let labels = StoreLabels { op };
        self.store_seconds
            .get_or_create(&labels)
            .observe(latency.as_secs_f64());
        if !ok {
            self.store_errors.get_or_create(&labels).inc();
        }
    }

    /// Counts an answered HTTP request of `listener` (`public` or `internal`) by its matched
    /// `route` and `status`.
    pub fn http_request(&self, listener: &'static str, route: &str, status: u16) {
        self.http_requests
            .get_or_create(&HttpLabels {
                listener,
                route: self.shared(route),
                status,
            })
            .inc();
    }

    /// Counts a request to an authorization route (`route`: `authorize` or `authorized`)
    /// refused by the `reason` bucket (`client` or `component`).
    pub fn rate_limited(&self, route: &'static str, reason: &'static str) {
        self.rate_limited
            .get_or_create(&RateLimitedLabels { route, reason })
            .inc();
    }

    /// Moves the number of connections `listener` holds by `delta` (+1 opened, -1 closed).
    pub fn connections(&self, listener: &'static str, delta: i64) {
        self.open_connections
            .get_or_create(&ListenerLabels { listener })
            .inc_by(delta);
    }

    /// Counts a moment `listener` held its most connections and stopped accepting.
    pub fn connection_cap_reached(&self, listener: &'static str) {
        self.connection_cap_reached
            .get_or_create(&ListenerLabels { listener })
            .inc();
    }

    /// Counts a failed accept of `listener`.
    pub fn accept_error(&self, listener: &'static str) {
        self.accept_errors
            .get_or_create(&ListenerLabels { listener })
            .inc();
    }

    /// The value of the counter `name` (as `/metrics` shows it, `_total` included) with exactly
    /// the labels `l`, in any order; 0 for a series not counted yet (tests).
    pub fn counter(&self, name: &str, l: &[(&str, &str)]) -> u64 {
        let text = self.render(&[]);
        text.lines()
            .filter_map(sample)
            .find(|(n, labels, _)| {
                *n == name
                    && labels.len() == l.len()
                    && l.iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .and_then(|(_, _, value)| value.parse().ok())
            .unwrap_or(0)
    }

    /// The Prometheus text exposition (version 0.0.4), with `gauges` computed at scrape time
    /// after the rest. A metric with nothing counted yet is left out.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        // Writing into a `String` cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        if gauges.is_empty() {
            return out;
        }
        type Gauges = Family<Vec<(&'static str, String)>, GaugeMetric<f64, AtomicU64>>;
        let mut families: Vec<(&'static str, Gauges)> = Vec::new();
        for (name, labels, value) in gauges {
            let family = match families.iter().find(|(n, _)| n == name) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = Gauges::default();
                    families.push((name, f.clone()));
                    f
                }
            };
            family.get_or_create(labels).set(*value);
        }
        let mut scraped = Registry::default();
        for (name, family) in families {
            scraped.register(name, help(name), family);
        }
        let _ = prometheus_text::encode(&mut out, &scraped);
        out
    }
}

/// One sample line of the text format: name, labels (unescaped), value.
type Sample<'a> = (&'a str, Vec<(String, String)>, &'a str);

/// Reads one sample line; `None` for a comment.
fn sample(line: &str) -> Option<Sample<'_>> {
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let end = line.find(['{', ' '])?;
    let (name, mut rest) = line.split_at(end);
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        loop {
            let (start, c) = chars.next()?;
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            if c == ',' {
                continue;
            }
            let eq = start + inner[start..].find('=')?;
            let key = inner[start..eq].to_owned();
            while chars.next()?.0 <= eq {}
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    other => value.push(other),
                }
            }
            labels.push((key, value));
        }
    }
    let value = rest.split_whitespace().next()?;
    Some((name, labels, value))
}

/// Counts every WeChat API attempt of one component.
#[derive(Debug)]
pub(crate) struct UpstreamObserver {
    pub metrics: Arc<Metrics>,
    pub component: String,
}

impl ApiObserver for UpstreamObserver {
    fn on_attempt(&self, endpoint: &'static str, error: Option<&Error>, latency: Duration) {
        self.metrics
            .upstream_call(&self.component, endpoint, error, latency);
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
            self.metrics.store_op(op, started.elapsed(), r.is_ok());
            r
        })
    }
}

impl TokenStore for MeteredStore {
    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }

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
        m.push("wxc", "ok", None);
        m.push("wxc", "ok", None);
        m.store_op("get", Duration::from_millis(5), true);
        let text = m.render(&[(
            "wxopen_ticket_age_seconds",
            vec![("component", "wx\"c".into())],
            12.0,
        )]);
        for line in [
            "# HELP wxopen_pushes_total Component pushes by result and InfoType.",
            "# TYPE wxopen_pushes_total counter",
            "wxopen_pushes_total{component=\"wxc\",result=\"ok\"} 2",
            "# TYPE wxopen_store_seconds histogram",
            "wxopen_store_seconds_bucket{op=\"get\",le=\"0.0025\"} 0",
            "wxopen_store_seconds_bucket{op=\"get\",le=\"0.005\"} 1",
            "wxopen_store_seconds_bucket{op=\"get\",le=\"10\"} 1",
            "wxopen_store_seconds_bucket{op=\"get\",le=\"+Inf\"} 1",
            "wxopen_store_seconds_sum{op=\"get\"} 0.005",
            "wxopen_store_seconds_count{op=\"get\"} 1",
            "# TYPE wxopen_ticket_age_seconds gauge",
            "wxopen_ticket_age_seconds{component=\"wx\\\"c\"} 12.0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        // Prometheus text 0.0.4 (what `/metrics` has always answered): no OpenMetrics `# EOF`,
        // and a metric with nothing counted is left out.
        assert!(!text.contains("# EOF"), "{text}");
        assert!(!text.contains("wxopen_messages_total"), "{text}");
        assert_eq!(
            m.counter(
                "wxopen_pushes_total",
                &[("result", "ok"), ("component", "wxc")]
            ),
            2
        );
    }

    #[test]
    fn series_are_kept_apart() {
        let m = Metrics::default();
        for result in ["ok", "duplicate", "ok", "ok"] {
            m.message("wxc", result, Some("text"));
        }
        m.message("wxc", "bad_push", None);
        m.message("wx\\c", "ok", Some("event"));
        let ok = [("component", "wxc"), ("result", "ok"), ("msg_type", "text")];
        assert_eq!(m.counter("wxopen_messages_total", &ok), 3);
        assert_eq!(
            m.counter(
                "wxopen_messages_total",
                &[("component", "wxc"), ("result", "bad_push")]
            ),
            1
        );
        assert_eq!(
            m.counter(
                "wxopen_messages_total",
                &[
                    ("component", "wx\\c"),
                    ("result", "ok"),
                    ("msg_type", "event")
                ]
            ),
            1
        );
        assert_eq!(m.counter("wxopen_pushes_total", &ok), 0);
        assert_eq!(m.counter("wxopen_messages_total", &ok[..2]), 0);
        // Series of a family come in no particular order.
        let text = m.render(&[]);
        let mut lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            [
                "wxopen_messages_total{component=\"wx\\\\c\",result=\"ok\",msg_type=\"event\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"bad_push\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"duplicate\",msg_type=\"text\"} 1",
                "wxopen_messages_total{component=\"wxc\",result=\"ok\",msg_type=\"text\"} 3",
            ]
        );
    }

    #[test]
    fn upstream_attempts_are_counted_by_errcode_and_timed() {
        let m = Metrics::default();
        let errors = [
            None,
            Some(Error::HttpStatus {
                endpoint: "api_component_token",
                status: 502,
                attempts: 1,
            }),
            Some(Error::Transport {
                endpoint: "api_component_token",
                kind: TransportKind::Connect,
                message: String::new(),
                attempts: 1,
            }),
            Some(Error::Config {
                endpoint: "api_component_token",
                errcode: 61004,
                errmsg: String::new(),
            }),
        ];
        for e in &errors {
            m.upstream_call(
                "wxc",
                "api_component_token",
                e.as_ref(),
                Duration::from_millis(30),
            );
        }
        for errcode in ["0", "http_502", "transport_connection_failed", "61004"] {
            assert_eq!(
                m.counter(
                    "wxopen_upstream_calls_total",
                    &[
                        ("component", "wxc"),
                        ("endpoint", "api_component_token"),
                        ("errcode", errcode)
                    ]
                ),
                1,
                "{errcode}"
            );
        }
        let text = m.render(&[]);
        assert!(
            text.contains("wxopen_upstream_seconds_bucket{component=\"wxc\",endpoint=\"api_component_token\",le=\"0.05\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "wxopen_upstream_seconds_count{component=\"wxc\",endpoint=\"api_component_token\"} 4\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn interned_values_are_stored_once() {
        let i = Interner::default();
        let a = i.get("wxcomponent0001");
        let b = i.get(&String::from("wxcomponent0001"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &i.get("wxcomponent0002")));
    }

    #[test]
    fn every_metric_has_help_and_counters_are_registered_without_total() {
        let m = Metrics::default();
        m.push("c", "ok", None);
        m.message("c", "ok", None);
        m.webhook_delivery("c", "reply", Some(Duration::ZERO));
        m.release_check_send("c", "ok");
        m.dedupe_error("c");
        m.upstream_call("c", "e", None, Duration::ZERO);
        m.refresh("c", "component", "ok");
        m.token_rejected("c", "component", 40001);
        m.refresher_due("c");
        m.lease_wait("c", "component", "lease_busy");
        m.store_op("get", Duration::ZERO, false);
        m.http_request("internal", "/healthz", 200);
        m.proxy_request("c", "authorizer", "wxa", "forwarded", 0);
        m.rate_limited("authorize", "client");
        m.connections("public", 1);
        m.connection_cap_reached("public");
        m.accept_error("public");
        m.events("c", "appended", 1);
        let text = m.render(&[
            (name::TICKET_AGE, vec![("component", "c".into())], 1.0),
            (
                name::COMPONENT_TOKEN_TTL,
                vec![("component", "c".into())],
                1.0,
            ),
            (
                name::EVENTS_BACKLOG_ACCOUNTS,
                vec![("component", "c".into())],
                1.0,
            ),
            (
                name::EVENTS_OLDEST_PENDING,
                vec![("component", "c".into())],
                1.0,
            ),
        ]);
        let typed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let named: Vec<&str> = HELP.iter().map(|(n, _)| *n).collect();
        assert_eq!(typed, named);
        for (n, h) in HELP {
            assert!(text.contains(&format!("# HELP {n} {h}.\n")), "{n}");
        }
        assert!(!text.contains("_total_total"), "{text}");
    }
}
