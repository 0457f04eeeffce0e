//! Token buckets on the two public routes whose every request costs a WeChat API call
//! (`GET /wechat/{component}/authorize`: `api_create_preauthcode`; `…/authorized`:
//! `api_query_auth`): one bucket per client address and one per component ([`RateLimits`],
//! on `governor`, timed by the service's clock). A refused request gets a short bilingual 429
//! page with `Retry-After` and is counted in `wxopen_rate_limited_total`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};
use ipnet::IpNet;
use wxopen_client::Clock;

use crate::config::RateLimitConfig;
use crate::log_gate::LogGate;
use crate::metrics::Metrics;

/// Client addresses tracked at most; past it, idle ones are dropped, and when none is idle
/// the per-client bucket is skipped for new addresses (the per-component one still holds).
pub const MAX_TRACKED_CLIENTS: usize = 65_536;
/// `X-Forwarded-For` entries looked at at most (from the right).
const MAX_FORWARDED_HOPS: usize = 32;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Refusal log lines: one per 10 s (each refusal is counted).
static LIMITED_LINES: LogGate = LogGate::new(Duration::from_secs(10));

/// `governor`'s clock over the service's [`Clock`] (the injected `ManualClock` in tests): the
/// time since the Unix epoch.
#[derive(Debug, Clone)]
struct ServiceClock(Arc<dyn Clock>);

impl governor::clock::Clock for ServiceClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

type Keyed<K> = RateLimiter<K, DashMapStateStore<K>, ServiceClock, NoOpMiddleware<Duration>>;
type Direct = RateLimiter<NotKeyed, InMemoryState, ServiceClock, NoOpMiddleware<Duration>>;

/// Which bucket refused a request (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    /// The client address's.
    Client,
    /// The component's.
    Component,
}

impl Bucket {
    fn label(self) -> &'static str {
        match self {
            Bucket::Client => "client",
            Bucket::Component => "component",
        }
    }
}

/// The buckets of the authorization routes, shared by both.
pub(crate) struct RateLimits {
    clock: ServiceClock,
    clients: Keyed<IpAddr>,
    components: HashMap<String, Direct>,
    trusted_proxies: Vec<IpNet>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("clients", &self.clients.len())
            .field("components", &self.components.len())
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Buckets per `config` for the components `appids`, on `clock`.
    pub(crate) fn new<'a>(
        config: &RateLimitConfig,
        appids: impl IntoIterator<Item = &'a str>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let clock = ServiceClock(clock);
        let client_quota =
            Quota::per_minute(config.per_client_per_minute).allow_burst(config.per_client_burst);
        let component_quota = Quota::per_minute(config.per_component_per_minute)
            .allow_burst(config.per_component_burst);
        Self {
            clients: RateLimiter::dashmap_with_clock(client_quota, clock.clone()),
            components: appids
                .into_iter()
                .map(|a| {
                    (
                        a.to_owned(),
                        RateLimiter::direct_with_clock(component_quota, clock.clone()),
                    )
                })
                .collect(),
            trusted_proxies: config.trusted_proxies.clone(),
            clock,
            metrics,
        }
    }

    /// The client of a request from `peer` carrying `headers`: the peer, or — when the peer
    /// is a trusted proxy — the rightmost `X-Forwarded-For` entry not itself a trusted proxy.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        let entries = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .rev()
            .flat_map(|v| v.to_str().unwrap_or("").rsplit(','))
            .take(MAX_FORWARDED_HOPS);
        for entry in entries {
            if !self.trusted(client) {
                break;
            }
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => client = ip,
                Err(_) => break,
            }
        }
        client
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    /// Takes a token of `client`'s bucket (when known) and of `component`'s; the bucket that
    /// had none and when it has one again.
    fn check(&self, client: Option<IpAddr>, component: &str) -> Result<(), (Bucket, Duration)> {
        if let Some(client) = client {
            if self.clients.len() >= MAX_TRACKED_CLIENTS {
                self.clients.retain_recent();
                self.clients.shrink_to_fit();
            }
            if self.clients.len() < MAX_TRACKED_CLIENTS {
                self.clients
                    .check_key(&bucket_key(client))
                    .map_err(|n| (Bucket::Client, self.wait(&n)))?;
            }
        }
        if let Some(c) = self.components.get(component) {
            c.check().map_err(|n| (Bucket::Component, self.wait(&n)))?;
        }
        Ok(())
    }

    fn wait(&self, n: &NotUntil<Duration>) -> Duration {
        n.wait_time_from(governor::clock::Clock::now(&self.clock))
    }

    /// Lets the request through, or answers 429 (counted, and logged at most once per 10 s).
    /// The peer is the listener's `ConnectInfo` (every request the listeners accept has one);
    /// a request without one (a router called in process) has only the component's bucket.
    async fn admit(
        &self,
        route: &'static str,
        component: &str,
        req: Request,
        next: Next,
    ) -> Response {
        let client = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| self.client(c.0.ip(), req.headers()));
        match self.check(client, component) {
            Ok(()) => next.run(req).await,
            Err((bucket, wait)) => {
                self.metrics.rate_limited(route, bucket.label());
                if let Some(held) = LIMITED_LINES.pass() {
                    tracing::warn!(target: "wxopen_server::public", route, reason = bucket.label(), held_back = held, "rate limited (429); later ones within 10 s are only counted");
                }
                too_many_requests(wait, crate::answer::request_id(req.headers()))
            }
        }
    }
}

/// The middleware of one authorization route (`route`: `authorize` or `authorized`, the
/// `route` label): [`RateLimits`]' check, then the handler or the 429 page. Applied with
/// `axum::middleware::from_fn_with_state((limits, route), admit)`.
pub(crate) async fn admit(
    State((limits, route)): State<(Arc<RateLimits>, &'static str)>,
    Path(component): Path<String>,
    req: Request,
    next: Next,
) -> Response {
    limits.admit(route, &component, req, next).await
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The bucket of a client: its IPv4 address, or its IPv6 `/64` (one host's share).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The 429 page: what happened and when to come back, in Chinese and English, with the
/// request id; like every page, never cached, framed or sniffed.
fn too_many_requests(wait: Duration, request_id: Option<&str>) -> Response {
    use crate::pages::{escape, frame, para};
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut body = String::from("<h1>请求过于频繁 / Too many requests</h1>\n");
    body.push_str(&para(
        &format!("此授权页面的请求过多。请在 {secs} 秒后刷新页面重试。"),
        &format!("This authorization page got too many requests. Reload it in {secs} seconds."),
    ));
    if let Some(id) = request_id {
        body.push_str(&para(
            &format!("请求编号：<code id=\"request-id\">{}</code>", escape(id)),
            "Request id (give it to the platform's operator if this keeps happening).",
        ));
    }
    let page = frame("请求过于频繁 / Too many requests", "", &body);
    let mut r = crate::answer::html_with(StatusCode::TOO_MANY_REQUESTS, page);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wxopen_client::ManualClock;

    fn limits(trusted: &[&str]) -> RateLimits {
        let c = RateLimitConfig {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            ..Default::default()
        };
        RateLimits::new(
            &c,
            ["wxc"],
            Arc::new(ManualClock::at_unix(1_700_000_000)),
            Arc::new(Metrics::default()),
        )
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(&X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let l = limits(&["10.0.0.0/8", "192.0.2.7/32"]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // (peer, X-Forwarded-For lines, client)
        for (peer, xff, want) in [
            // An untrusted peer's header is ignored: it could name anyone.
            ("203.0.113.9", &["1.2.3.4"][..], "203.0.113.9"),
            ("10.1.1.1", &["198.51.100.2"][..], "198.51.100.2"),
            // The rightmost entry not a trusted proxy; what the client itself wrote is left.
            (
                "10.1.1.1",
                &["6.6.6.6, 198.51.100.2, 192.0.2.7"][..],
                "198.51.100.2",
            ),
            ("10.1.1.1", &["6.6.6.6", "198.51.100.2"][..], "198.51.100.2"),
            // Junk stops the walk at the last trusted hop.
            ("10.1.1.1", &["198.51.100.2, junk"][..], "10.1.1.1"),
            ("10.1.1.1", &[][..], "10.1.1.1"),
            ("::ffff:10.1.1.1", &["198.51.100.2"][..], "198.51.100.2"),
        ] {
            assert_eq!(
                l.client(ip(peer), &headers(xff)),
                ip(want),
                "{peer} {xff:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            bucket_key(ip("2001:db8:1:2:aaaa::1")),
            bucket_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(bucket_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        for (wait, secs) in [
            (Duration::ZERO, "1"),
            (Duration::from_millis(1), "1"),
            (Duration::from_secs(3), "3"),
            (Duration::from_millis(3001), "4"),
        ] {
            let r = too_many_requests(wait, Some("abc-1"));
            assert_eq!(r.status(), 429);
            assert_eq!(r.headers()[header::RETRY_AFTER], secs);
            // Like every page: never framed or sniffed.
            assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }
}
