//! Crash tests with real processes: a writer process (this test binary re-run as a worker)
//! writes tickets, component tokens and authorizer records with refresh tokens in a loop and
//! prints every acknowledged write; the test kills it with SIGKILL at random points (and, for
//! Redis, sometimes kills redis-server itself and restarts it on the same directory), then
//! reopens the store and checks that every acknowledged record is there, intact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use support::{worker_command, worker_role};
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRecord, AuthorizerRefreshToken, CasOutcome,
    ComponentAccessToken, ComponentTokenRecord, ComponentVerifyTicket, StoreKey, StoredValue,
    TicketRecord, TokenStore,
};

const COMPONENT: &str = "wxcrashcomponent";
const KILLS: usize = 50;

fn keys() -> Vec<StoreKey> {
    let mut k = vec![
        StoreKey::ticket(COMPONENT),
        StoreKey::component_token(COMPONENT),
    ];
    for i in 0..4 {
        k.push(StoreKey::authorizer(COMPONENT, &format!("wxauthorizer{i}")));
    }
    k
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `n`-th value a writer puts at key number `k`.
fn value_for(k: usize, n: u64) -> StoredValue {
    let t = now();
    match k {
        0 => StoredValue::Ticket(TicketRecord {
            ticket: ComponentVerifyTicket::new(format!("ticket@@@{n}")),
            create_time: t,
            received_at: t,
        }),
        1 => StoredValue::ComponentToken(ComponentTokenRecord {
            token: ComponentAccessToken::new(format!("component-token-{n}")),
            obtained_at: t,
            refresh_at: t + 6000,
            expires_at: t + 7200,
        }),
        _ => StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(AuthorizerAccessToken::new(format!("at-{k}-{n}"))),
            refresh_token: Some(AuthorizerRefreshToken::new(format!(
                "refreshtoken@@@{k}-{n}"
            ))),
            obtained_at: t,
            refresh_at: t + 6000,
            expires_at: t + 7200,
            authorized_at: t,
            event_time: 0,
            token_serial: 0,
            func_info: None,
            func_info_removed: Vec::new(),
        }),
    }
}

fn kind_matches(k: usize, v: &StoredValue) -> bool {
    matches!(
        (k, v),
        (0, StoredValue::Ticket(_))
            | (1, StoredValue::ComponentToken(_))
            | (
                2..,
                StoredValue::Authorizer(AuthorizerRecord {
                    refresh_token: Some(_),
                    ..
                })
            )
    )
}

/// FNV-1a of the value's JSON: printed instead of the value (which holds secrets).
fn digest(v: &StoredValue) -> u64 {
    let json = serde_json::to_vec(v).unwrap();
    json.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The worker: writes forever (until killed), printing `ACK <key> <version> <digest>` after
/// every acknowledged write. Store errors (Redis down) are retried.
async fn write_forever(store: &dyn TokenStore) {
    let keys = keys();
    let mut versions: Vec<Option<u64>> = vec![None; keys.len()];
    let mut known = vec![false; keys.len()];
    let seed = u64::from(std::process::id()) << 32;
    let mut n = 0u64;
    // On a line of its own (libtest may have printed `test … ... ` without a newline).
    println!("\nREADY");
    loop {
        n += 1;
        let k = (n as usize * 7 + (n as usize >> 3)) % keys.len();
        let key = &keys[k];
        if !known[k] {
            match store.get(key).await {
                Ok(cur) => {
                    versions[k] = cur.map(|c| c.version);
                    known[k] = true;
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            }
        }
        let value = value_for(k, seed | n);
        let d = digest(&value);
        match store.compare_and_set(key, versions[k], value, None).await {
            Ok(CasOutcome::Applied { version }) => {
                versions[k] = Some(version);
                println!("ACK {k} {version} {d}");
            }
            Ok(_) => known[k] = false,
            Err(_) => {
                // The write may or may not have applied: read the version again.
                known[k] = false;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// What the writers acknowledged so far.
#[derive(Default)]
struct Acked {
    /// (key, version) → digest.
    all: HashMap<(usize, u64), u64>,
    /// key → highest acknowledged version.
    latest: HashMap<usize, u64>,
    count: usize,
}

impl Acked {
    fn add_lines(&mut self, lines: &[String]) {
        for line in lines {
            let mut it = line.split(' ');
            if it.next() != Some("ACK") {
                continue;
            }
            let (Some(k), Some(v), Some(d)) = (it.next(), it.next(), it.next()) else {
                continue; // a line cut by the kill cannot be one: println writes whole lines
            };
            let (k, v, d): (usize, u64, u64) =
                (k.parse().unwrap(), v.parse().unwrap(), d.parse().unwrap());
            self.all.insert((k, v), d);
            let e = self.latest.entry(k).or_insert(0);
            *e = (*e).max(v);
            self.count += 1;
        }
    }

    /// Checks every acknowledged key in `store`; returns (lost, corrupt) with details printed.
    async fn check(&self, store: &dyn TokenStore) -> (usize, usize) {
        let keys = keys();
        let (mut lost, mut corrupt) = (0, 0);
        for (&k, &acked) in &self.latest {
            let mut tries = 0;
            let got = loop {
                match store.get(&keys[k]).await {
                    Err(e)
                        if e.kind() == wxopen_client::store::StoreErrorKind::Unavailable
                            && tries < 100 =>
                    {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => break other,
                }
            };
            match got {
                Ok(Some(v)) if v.version >= acked && kind_matches(k, &v.value) => {
                    if let Some(d) = self.all.get(&(k, v.version)) {
                        if *d != digest(&v.value) {
                            println!("corrupt: key {k} version {} digest differs", v.version);
                            corrupt += 1;
                        }
                    }
                }
                Ok(Some(v)) if v.version >= acked => {
                    println!("corrupt: key {k} version {} has the wrong kind", v.version);
                    corrupt += 1;
                }
                Ok(Some(v)) => {
                    println!(
                        "lost: key {k} acked version {acked}, store has {}",
                        v.version
                    );
                    lost += 1;
                }
                Ok(None) => {
                    println!("lost: key {k} acked version {acked}, store has nothing");
                    lost += 1;
                }
                Err(e) => {
                    println!("corrupt: key {k}: {e}");
                    corrupt += 1;
                }
            }
        }
        (lost, corrupt)
    }
}

/// Collects the child's stdout lines on a thread; the receiver gets each line.
fn read_lines(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, h)
}

/// Runs one writer until a random kill; returns its acknowledged lines. `before_kill` runs
/// just before the writer is killed (e.g. to kill redis-server first).
fn run_and_kill(
    test: &str,
    role: &str,
    envs: &[(&str, String)],
    rng: &mut impl Rng,
    before_kill: impl FnOnce(),
) -> Vec<String> {
    let mut child = worker_command(test, role, envs).spawn().unwrap();
    let (rx, reader) = read_lines(&mut child);
    let mut lines = Vec::new();
    // Four kills in five land while writing; the fifth anywhere, start-up included.
    if rng.random_range(0..5) != 0 {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.ends_with("READY") => break,
                Ok(l) => lines.push(l),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("worker did not get ready: {e}");
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(rng.random_range(5..60)));
    before_kill();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    lines
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_acknowledged_writes_survive_sigkill_of_the_writer() {
    const NAME: &str = "sqlite_acknowledged_writes_survive_sigkill_of_the_writer";
    match worker_role().as_deref() {
        Some("sqlite-writer") => {
            let path = std::env::var("WXOPEN_CRASH_DB").unwrap();
            runtime().block_on(async {
                let store = wxopen_store::SqliteStore::open(path).unwrap();
                write_forever(&store).await;
            });
            return;
        }
        Some(_) => return,
        None => {}
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let envs = [("WXOPEN_CRASH_DB", db.display().to_string())];
    let mut rng = rand::rng();
    let mut acked = Acked::default();
    let rt = runtime();
    let (mut lost, mut corrupt) = (0, 0);
    for _ in 0..KILLS {
        let lines = run_and_kill(NAME, "sqlite-writer", &envs, &mut rng, || {});
        acked.add_lines(&lines);
        // A fresh store (new connection, this process) after every kill.
        let (l, c) = rt.block_on(async {
            let store = wxopen_store::SqliteStore::open(&db).unwrap();
            acked.check(&store).await
        });
        lost += l;
        corrupt += c;
    }
    println!(
        "sqlite crash: kills={KILLS} acknowledged={} keys={} lost={lost} corrupt={corrupt}",
        acked.count,
        acked.latest.len()
    );
    assert_eq!((lost, corrupt), (0, 0));
    assert!(
        acked.count > KILLS,
        "too few acknowledged writes: {}",
        acked.count
    );
}

#[cfg(feature = "redis")]
#[test]
#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
fn redis_acknowledged_writes_survive_sigkill_of_the_writer_and_the_server() {
    const NAME: &str = "redis_acknowledged_writes_survive_sigkill_of_the_writer_and_the_server";
    match worker_role().as_deref() {
        Some("redis-writer") => {
            let url = std::env::var("WXOPEN_CRASH_REDIS").unwrap();
            runtime().block_on(async {
                let store = wxopen_store::RedisStore::connect(
                    &url,
                    wxopen_store::RedisOptions::default().op_timeout(Duration::from_millis(500)),
                )
                .await
                .unwrap();
                write_forever(&store).await;
            });
            return;
        }
        Some(_) => return,
        None => {}
    }
    let Some(mut server) = support::RedisServer::start() else {
        return;
    };
    let envs = [("WXOPEN_CRASH_REDIS", server.url())];
    let mut rng = rand::rng();
    let mut acked = Acked::default();
    let rt = runtime();
    let (mut lost, mut corrupt, mut server_kills) = (0, 0, 0);
    for i in 0..KILLS {
        let kill_server = i % 10 == 5;
        let lines = run_and_kill(NAME, "redis-writer", &envs, &mut rng, || {
            if kill_server {
                server.kill(); // SIGKILL redis-server while the writer is writing
            }
        });
        if kill_server {
            server.restart(); // same port, same directory: replays the AOF
            server_kills += 1;
        }
        acked.add_lines(&lines);
        let (l, c) = rt.block_on(async {
            let store = wxopen_store::RedisStore::connect(&server.url(), Default::default())
                .await
                .unwrap();
            acked.check(&store).await
        });
        lost += l;
        corrupt += c;
    }
    println!(
        "redis crash: writer kills={KILLS} redis-server kills={server_kills} acknowledged={} \
         keys={} lost={lost} corrupt={corrupt}",
        acked.count,
        acked.latest.len()
    );
    assert_eq!((lost, corrupt), (0, 0));
    assert!(
        acked.count > KILLS,
        "too few acknowledged writes: {}",
        acked.count
    );
}
