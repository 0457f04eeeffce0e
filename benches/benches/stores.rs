//! Token store latencies on loopback: `get`, `compare_and_set` and a lease cycle
//! (`try_lease` + `release_lease`) for MemoryStore, SqliteStore (a file in a temp dir, WAL,
//! `synchronous=FULL`) and RedisStore (a private `redis-server` on a free loopback port,
//! `appendfsync always`, skipped when it is not on PATH), plus a cached component token read
//! through `ComponentClient` on each store.
//!
//! Before the criterion groups, a percentile pass prints p50/p99 per operation (criterion
//! reports means and medians, not tails). `cargo bench -p wxopen-benches --bench stores`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;
use wxopen_client::{
    CasOutcome, ComponentAccessToken, ComponentClient, ComponentConfig, ComponentTokenRecord,
    ComponentVerifyTicket, ManualClock, MemoryStore, StoreKey, StoredValue, TicketRecord,
    TokenStore,
};

const APPID: &str = "wxbenchcomponent";
const T0: u64 = 1_700_000_000;

/// A private redis-server, SIGKILLed and reaped on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        for _ in 0..10 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .arg("--dir")
                .arg(dir.path())
                .args([
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(5) {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Some(Self {
                        child,
                        port,
                        _dir: dir,
                    });
                }
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        None
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ticket(n: u64) -> StoredValue {
    StoredValue::Ticket(TicketRecord {
        ticket: ComponentVerifyTicket::new(format!("ticket@@@bench-{n}")),
        create_time: T0,
        received_at: T0,
    })
}

fn applied(o: CasOutcome) -> u64 {
    match o {
        CasOutcome::Applied { version } => version,
        other => panic!("{other:?}"),
    }
}

/// One store under test, with a record to read and a version to compare-and-set on.
struct Subject {
    name: &'static str,
    store: Arc<dyn TokenStore>,
    key: StoreKey,
    version: u64,
    n: u64,
}

impl Subject {
    async fn new(name: &'static str, store: Arc<dyn TokenStore>) -> Self {
        let key = StoreKey::ticket(APPID);
        let version = match store.get(&key).await.unwrap() {
            Some(v) => applied(
                store
                    .compare_and_set(&key, Some(v.version), ticket(0), None)
                    .await
                    .unwrap(),
            ),
            None => applied(
                store
                    .compare_and_set(&key, None, ticket(0), None)
                    .await
                    .unwrap(),
            ),
        };
        Self {
            name,
            store,
            key,
            version,
            n: 0,
        }
    }

    async fn get(&mut self) {
        self.store.get(&self.key).await.unwrap().unwrap();
    }

    async fn cas(&mut self) {
        self.n += 1;
        let o = self
            .store
            .compare_and_set(&self.key, Some(self.version), ticket(self.n), None)
            .await
            .unwrap();
        self.version = applied(o);
    }

    async fn lease(&mut self) {
        let lk = StoreKey::component_token(APPID);
        assert!(self
            .store
            .try_lease(&lk, "bench-holder", Duration::from_secs(30))
            .await
            .unwrap());
        self.store.release_lease(&lk, "bench-holder").await.unwrap();
    }
}

/// A client on `store` with a ticket and a valid component token stored, and its clock.
async fn client_on(store: Arc<dyn TokenStore>) -> ComponentClient {
    let key = StoreKey::component_token(APPID);
    if let Some(v) = store.get(&key).await.unwrap() {
        store.compare_and_delete(&key, v.version).await.unwrap();
    }
    let rec = StoredValue::ComponentToken(ComponentTokenRecord {
        token: ComponentAccessToken::new("ctok-bench"),
        obtained_at: T0,
        refresh_at: T0 + 6000,
        expires_at: T0 + 7200,
    });
    store.compare_and_set(&key, None, rec, None).await.unwrap();
    let config = ComponentConfig::new(
        APPID,
        "secret",
        "token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    .with_base_urls(["http://127.0.0.1:9"])
    .unwrap();
    let client = ComponentClient::builder(config)
        .store(store)
        .clock(Arc::new(ManualClock::at_unix(T0 + 60)))
        .build()
        .unwrap();
    assert_eq!(
        client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-bench"
    );
    client
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn percentiles(rt: &Runtime, s: &mut Subject, client: &ComponentClient) {
    let rounds = if s.name == "sqlite" { 300 } else { 2000 };
    let mut line = format!("{:<7}", s.name);
    for op in ["get", "cas", "lease", "client_token"] {
        let mut times = Vec::with_capacity(rounds);
        rt.block_on(async {
            for _ in 0..rounds {
                let t = Instant::now();
                match op {
                    "get" => s.get().await,
                    "cas" => s.cas().await,
                    "lease" => s.lease().await,
                    _ => {
                        client.component_access_token().await.unwrap();
                    }
                }
                times.push(t.elapsed());
            }
        });
        times.sort();
        line.push_str(&format!(
            "  {op} p50 {:>7.1} µs p99 {:>7.1} µs",
            pct(&times, 0.50).as_secs_f64() * 1e6,
            pct(&times, 0.99).as_secs_f64() * 1e6
        ));
    }
    println!("{line}");
}

fn bench_subject(c: &mut Criterion, rt: &Runtime, mut s: Subject) {
    let client = rt.block_on(client_on(Arc::clone(&s.store)));
    percentiles(rt, &mut s, &client);
    let mut g = c.benchmark_group(format!("store_{}", s.name));
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    g.bench_function("get", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    s.get().await;
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("cas", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    s.cas().await;
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("lease_take_release", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    s.lease().await;
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("client_cached_component_token", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    client.component_access_token().await.unwrap();
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let memory = rt.block_on(Subject::new("memory", Arc::new(MemoryStore::new())));
    bench_subject(c, &rt, memory);

    let dir = tempfile::tempdir().unwrap();
    let sqlite = wxopen_store::SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let sqlite = rt.block_on(Subject::new("sqlite", Arc::new(sqlite)));
    bench_subject(c, &rt, sqlite);

    match Redis::start() {
        Some(redis) => {
            let url = format!("redis://127.0.0.1:{}/", redis.port);
            let store = rt
                .block_on(wxopen_store::RedisStore::connect(&url, Default::default()))
                .unwrap();
            let subject = rt.block_on(Subject::new("redis", Arc::new(store)));
            bench_subject(c, &rt, subject);
        }
        None => println!("skipped: redis-server not on PATH"),
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
