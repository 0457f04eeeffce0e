//! [`SqliteEventLog`]: the event log in the store's SQLite file, with group commit — one writer
//! thread per log takes every append and state change queued while the previous transaction
//! was being fsynced and commits them together, so N concurrent appends cost one fsync, not N.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use tokio::sync::oneshot;
use wxopen_client::store::event_log::{
    state_from_parts, state_parts, Appended, DeliveryState, EventFilter, EventLog, LoggedEvent,
    NewEvent, MAX_EVENT_PAGE,
};
use wxopen_client::wxopen_proto::delivery;
use wxopen_client::{BoxFuture, StoreError};

use crate::sqlite::{op_err, open_err, SqliteStore};

/// Most jobs one transaction commits (the default of [`EventLogOptions::max_group`]).
pub const MAX_GROUP: usize = 512;

/// Settings of a [`SqliteEventLog`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventLogOptions {
    /// After the first queued job, wait this long for more before committing (default 0: only
    /// what queued during the previous commit's fsync is grouped — under load that is the
    /// whole group, and an idle log adds no latency).
    pub group_window: Duration,
    /// SQLite's busy timeout for the log's connections (default 5 s).
    pub busy_timeout: Duration,
    /// Most jobs one transaction commits (default [`MAX_GROUP`]); a group waiting out
    /// `group_window` commits as soon as it is this large.
    pub max_group: usize,
}

impl Default for EventLogOptions {
    fn default() -> Self {
        Self {
            group_window: Duration::ZERO,
            busy_timeout: Duration::from_secs(5),
            max_group: MAX_GROUP,
        }
    }
}

impl EventLogOptions {
    /// Sets [`EventLogOptions::group_window`].
    pub fn group_window(mut self, window: Duration) -> Self {
        self.group_window = window;
        self
    }

    /// Sets [`EventLogOptions::max_group`] (at least 1).
    pub fn max_group(mut self, n: usize) -> Self {
        self.max_group = n.max(1);
        self
    }
}

/// What the writer has committed so far (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventLogStats {
    /// Transactions committed (one fsync each).
    pub transactions: u64,
    /// Jobs (appends, state changes, replies, prunes) they held.
    pub jobs: u64,
}

#[derive(Debug, Default)]
struct Counters {
    transactions: AtomicU64,
    jobs: AtomicU64,
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write the writer thread commits.
enum Job {
    Append(Box<NewEvent>, Reply<Appended>),
    Transition {
        component: String,
        id: u64,
        expected: DeliveryState,
        next: DeliveryState,
        reply: Reply<bool>,
    },
    SetReply {
        component: String,
        id: u64,
        text: String,
        reply: Reply<()>,
    },
    Prune {
        component: String,
        before_ms: u64,
        limit: usize,
        reply: Reply<usize>,
    },
}

/// What a job did, held until its transaction commits.
enum Done {
    Append(Reply<Appended>, Result<Appended, StoreError>),
    Transition(Reply<bool>, Result<bool, StoreError>),
    SetReply(Reply<()>, Result<(), StoreError>),
    Prune(Reply<usize>, Result<usize, StoreError>),
}

impl Done {
    /// Sends the outcome; a failed commit turns every outcome into its error.
    fn send(self, commit: &Result<(), StoreError>) {
        fn pick<T>(r: Result<T, StoreError>, c: &Result<(), StoreError>) -> Result<T, StoreError> {
            match c {
                Ok(()) => r,
                Err(e) => Err(e.clone()),
            }
        }
        match self {
            Done::Append(tx, r) => drop(tx.send(pick(r, commit))),
            Done::Transition(tx, r) => drop(tx.send(pick(r, commit))),
            Done::SetReply(tx, r) => drop(tx.send(pick(r, commit))),
            Done::Prune(tx, r) => drop(tx.send(pick(r, commit))),
        }
    }
}

/// An [`EventLog`] in the SQLite file of a [`SqliteStore`] (the same file, its own tables), for
/// one host: several processes may open it; each has one writer thread.
///
/// Durability: an append returns after the transaction holding it was committed with
/// `synchronous=FULL` (fsynced). Duplicates are recognised by `(component, delivery_id)` in the
/// same transaction. `Debug` shows the path only.
#[derive(Clone)]
pub struct SqliteEventLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: Mutex<mpsc::Sender<Job>>,
    reader: Mutex<Connection>,
    counters: Arc<Counters>,
}

impl fmt::Debug for SqliteEventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteEventLog")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn connect(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
    conn.busy_timeout(busy).map_err(|e| open_err(path, e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| open_err(path, e))?;
    Ok(conn)
}

impl SqliteEventLog {
    /// The event log in `store`'s file (whose schema the store has brought up to date).
    ///
    /// # Errors
    /// When the file cannot be opened again (see [`SqliteStore::open`]).
    pub fn open(store: &SqliteStore, options: EventLogOptions) -> Result<Self, StoreError> {
        let path = store.path().to_path_buf();
        let writer = connect(&path, options.busy_timeout)?;
        let reader = connect(&path, options.busy_timeout)?;
        reader
            .pragma_update(None, "query_only", "ON")
            .map_err(|e| open_err(&path, e))?;
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let group = Group {
            window: options.group_window,
            max: options.max_group.max(1),
            counters: counters.clone(),
        };
        std::thread::Builder::new()
            .name("wxopen-event-log".into())
            .spawn(move || write_loop(writer, rx, &group))
            .map_err(|e| StoreError::new(format!("event log: cannot start its writer: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                jobs: Mutex::new(tx),
                reader: Mutex::new(reader),
                counters,
            }),
        })
    }

    /// What the writer has committed so far.
    pub fn stats(&self) -> EventLogStats {
        EventLogStats {
            transactions: self.inner.counters.transactions.load(Ordering::Relaxed),
            jobs: self.inner.counters.jobs.load(Ordering::Relaxed),
        }
    }

    async fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .inner
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(make(tx));
        if sent.is_err() {
            return Err(StoreError::unavailable("event log: the writer has stopped"));
        }
        rx.await
            .map_err(|_| StoreError::unavailable("event log: the writer dropped the request"))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::new(format!("event log: read task failed: {e}")))?
    }
}

/// The writer thread: one transaction per group of queued jobs; outcomes are sent after the
/// commit (nothing is reported stored before it is durable).
fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, g: &Group) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        if !g.window.is_zero() {
            let deadline = std::time::Instant::now() + g.window;
            while group.len() < g.max {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Ok(j) => group.push(j),
                    Err(_) => break,
                }
            }
        }
        while group.len() < g.max {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let n = group.len() as u64;
        if commit_group(&mut conn, group) {
            g.counters.transactions.fetch_add(1, Ordering::Relaxed);
            g.counters.jobs.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// How the writer groups jobs.
struct Group {
    window: Duration,
    max: usize,
    counters: Arc<Counters>,
}

/// Runs `group` in one transaction; `true` if it committed.
fn commit_group(conn: &mut Connection, group: Vec<Job>) -> bool {
    let mut done = Vec::with_capacity(group.len());
    let begun = conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| op_err("event log: begin", e));
    if let Err(e) = begun {
        for job in group {
            fail(job, &e);
        }
        return false;
    }
    for job in group {
        // Each job in its own savepoint: one failing job does not undo the others.
        let _ = conn.execute_batch("SAVEPOINT job");
        let d = run_job(conn, job);
        let failed = match &d {
            Done::Append(_, r) => r.is_err(),
            Done::Transition(_, r) => r.is_err(),
            Done::SetReply(_, r) => r.is_err(),
            Done::Prune(_, r) => r.is_err(),
        };
        if failed {
            let _ = conn.execute_batch("ROLLBACK TO job");
        }
        let _ = conn.execute_batch("RELEASE job");
        done.push(d);
    }
    let commit = conn
        .execute_batch("COMMIT")
        .map_err(|e| op_err("event log: commit", e));
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let ok = commit.is_ok();
    for d in done {
        d.send(&commit);
    }
    ok
}

fn fail(job: Job, e: &StoreError) {
    match job {
        Job::Append(_, tx) => drop(tx.send(Err(e.clone()))),
        Job::Transition { reply, .. } => drop(reply.send(Err(e.clone()))),
        Job::SetReply { reply, .. } => drop(reply.send(Err(e.clone()))),
        Job::Prune { reply, .. } => drop(reply.send(Err(e.clone()))),
    }
}

fn run_job(conn: &Connection, job: Job) -> Done {
    match job {
        Job::Append(event, tx) => Done::Append(tx, append(conn, &event)),
        Job::Transition {
            component,
            id,
            expected,
            next,
            reply,
        } => Done::Transition(reply, transition(conn, &component, id, &expected, &next)),
        Job::SetReply {
            component,
            id,
            text,
            reply,
        } => Done::SetReply(
            reply,
            conn.execute(
                "UPDATE wxopen_events SET reply = ?3
                 WHERE component = ?1 AND id = ?2 AND reply IS NULL",
                params![component, to_i64(id), text],
            )
            .map(drop)
            .map_err(|e| op_err("event log: set reply", e)),
        ),
        Job::Prune {
            component,
            before_ms,
            limit,
            reply,
        } => Done::Prune(
            reply,
            conn.execute(
                "DELETE FROM wxopen_events WHERE component = ?1 AND id IN (
                     SELECT id FROM wxopen_events
                     WHERE component = ?1 AND state IN ('delivered', 'dead') AND at_ms < ?2
                     ORDER BY id LIMIT ?3)",
                params![component, to_i64(before_ms), to_i64(limit as u64)],
            )
            .map_err(|e| op_err("event log: prune", e)),
        ),
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The columns a state is stored in: name, attempts, time, dead reason.
fn state_columns(s: &DeliveryState) -> (&'static str, i64, i64, Option<&'static str>) {
    let (name, attempts, at, reason) = state_parts(s);
    (name, attempts.into(), to_i64(at), reason)
}

fn state_from(name: &str, attempts: i64, at: i64, reason: Option<&str>) -> Option<DeliveryState> {
    state_from_parts(name, u32::try_from(attempts).ok()?, to_u64(at), reason)
}

const COLUMNS: &str = "id, sequence, component, authorizer, delivery_id, kind, create_time, \
                       received_at_ms, fields, state, attempts, at_ms, reason, reply, meta";

fn row_event(r: &Row<'_>) -> rusqlite::Result<Result<LoggedEvent, StoreError>> {
    let fields: String = r.get(8)?;
    let state: String = r.get(9)?;
    let reason: Option<String> = r.get(12)?;
    let id = to_u64(r.get(0)?);
    let Some(state) = state_from(&state, r.get(10)?, r.get(11)?, reason.as_deref()) else {
        return Ok(Err(StoreError::corrupt(format!(
            "event log: event {id} has an unknown state"
        ))));
    };
    let meta: String = r.get(14)?;
    let (Ok(fields), Ok(meta)) = (
        serde_json::from_str::<Vec<(String, String)>>(&fields),
        serde_json::from_str::<Vec<(String, String)>>(&meta),
    ) else {
        return Ok(Err(StoreError::corrupt(format!(
            "event log: event {id} has unreadable fields"
        ))));
    };
    Ok(Ok(LoggedEvent {
        id,
        sequence: to_u64(r.get(1)?),
        event: NewEvent {
            component: r.get(2)?,
            authorizer: r.get(3)?,
            delivery_id: r.get(4)?,
            kind: r.get(5)?,
            create_time: to_u64(r.get(6)?),
            received_at_ms: to_u64(r.get(7)?),
            fields,
            meta,
        },
        state,
        reply: r.get(13)?,
    }))
}

fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| op_err("event log: read", e))?;
    let rows = stmt
        .query_map(params, row_event)
        .map_err(|e| op_err("event log: read", e))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(|e| op_err("event log: read", e))??);
    }
    Ok(out)
}

fn get(conn: &Connection, component: &str, id: u64) -> Result<Option<LoggedEvent>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM wxopen_events WHERE component = ?1 AND id = ?2");
    Ok(query_events(conn, &sql, params![component, to_i64(id)])?
        .into_iter()
        .next())
}

/// Takes the next value of a counter row (created at 1).
fn next_counter(
    conn: &Connection,
    table: &str,
    component: &str,
    authorizer: &str,
) -> Result<u64, StoreError> {
    let sql = format!(
        "INSERT INTO {table} (component, authorizer, last) VALUES (?1, ?2, 1)
         ON CONFLICT (component, authorizer) DO UPDATE SET last = last + 1
         RETURNING last"
    );
    conn.query_row(&sql, params![component, authorizer], |r| r.get::<_, i64>(0))
        .map(to_u64)
        .map_err(|e| op_err("event log: counter", e))
}

fn append(conn: &Connection, e: &NewEvent) -> Result<Appended, StoreError> {
    e.check()?;
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM wxopen_events WHERE component = ?1 AND delivery_id = ?2",
            params![e.component, e.delivery_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(|err| op_err("event log: append", err))?;
    if let Some(id) = existing {
        if let Some(stored) = get(conn, &e.component, to_u64(id))? {
            return Ok(Appended::Duplicate(Box::new(stored)));
        }
    }
    // The log's ids under the reserved account name "\u{0}log" (no appid holds a NUL).
    let id = next_counter(conn, "wxopen_event_counters", &e.component, "\u{0}log")?;
    let sequence = next_counter(conn, "wxopen_event_counters", &e.component, &e.authorizer)?;
    let fields = serde_json::to_string(&e.fields)
        .map_err(|err| StoreError::new(format!("event log: fields: {err}")))?;
    let meta = serde_json::to_string(&e.meta)
        .map_err(|err| StoreError::new(format!("event log: meta: {err}")))?;
    let (state, attempts, at, reason) = state_columns(&delivery::received(e.received_at_ms));
    conn.execute(
        "INSERT INTO wxopen_events (component, id, sequence, authorizer, delivery_id, kind,
             create_time, received_at_ms, fields, state, attempts, at_ms, reason, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            e.component,
            to_i64(id),
            to_i64(sequence),
            e.authorizer,
            e.delivery_id,
            e.kind,
            to_i64(e.create_time),
            to_i64(e.received_at_ms),
            fields,
            state,
            attempts,
            at,
            reason,
            meta
        ],
    )
    .map_err(|err| op_err("event log: append", err))?;
    Ok(Appended::New { id, sequence })
}

fn transition(
    conn: &Connection,
    component: &str,
    id: u64,
    expected: &DeliveryState,
    next: &DeliveryState,
) -> Result<bool, StoreError> {
    let (s0, a0, t0, r0) = state_columns(expected);
    let (s1, a1, t1, r1) = state_columns(next);
    let n = conn
        .execute(
            "UPDATE wxopen_events SET state = ?3, attempts = ?4, at_ms = ?5, reason = ?6
             WHERE component = ?1 AND id = ?2
               AND state = ?7 AND attempts = ?8 AND at_ms = ?9 AND reason IS ?10",
            params![component, to_i64(id), s1, a1, t1, r1, s0, a0, t0, r0],
        )
        .map_err(|e| op_err("event log: transition", e))?;
    Ok(n == 1)
}

impl EventLog for SqliteEventLog {
    fn append<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<Appended, StoreError>> {
        Box::pin(async move {
            event.check()?;
            self.submit(|tx| Job::Append(Box::new(event.clone()), tx))
                .await
        })
    }

    fn get<'a>(
        &'a self,
        component: &'a str,
        id: u64,
    ) -> BoxFuture<'a, Result<Option<LoggedEvent>, StoreError>> {
        let component = component.to_owned();
        Box::pin(self.read(move |c| get(c, &component, id)))
    }

    fn transition<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        expected: &'a DeliveryState,
        next: &'a DeliveryState,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.submit(move |reply| Job::Transition {
            component: component.to_owned(),
            id,
            expected: expected.clone(),
            next: next.clone(),
            reply,
        }))
    }

    fn set_reply<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        reply: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.submit(move |tx| Job::SetReply {
            component: component.to_owned(),
            id,
            text: reply.to_owned(),
            reply: tx,
        }))
    }

    fn heads<'a>(
        &'a self,
        component: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        let component = component.to_owned();
        let limit = to_i64(limit.min(MAX_EVENT_PAGE) as u64);
        Box::pin(self.read(move |c| {
            // One index seek per account with open events (a loose scan of the partial index
            // `wxopen_events_open`), never a pass over the backlog: the worker asks after
            // every append and settle, while a backlog may hold millions.
            let sql = format!(
                "WITH RECURSIVE a(auth) AS (
                     SELECT min(authorizer) FROM wxopen_events
                      WHERE component = ?1 AND state IN ('pending', 'in_flight')
                     UNION ALL
                     SELECT (SELECT min(authorizer) FROM wxopen_events
                              WHERE component = ?1 AND state IN ('pending', 'in_flight')
                                AND authorizer > a.auth)
                       FROM a WHERE a.auth IS NOT NULL
                 ), h(id) AS (
                     SELECT (SELECT min(id) FROM wxopen_events
                              WHERE component = ?1 AND authorizer = a.auth
                                AND state IN ('pending', 'in_flight'))
                       FROM a WHERE a.auth IS NOT NULL
                 )
                 SELECT {COLUMNS} FROM wxopen_events
                  WHERE component = ?1 AND id IN (SELECT id FROM h)
                  ORDER BY id LIMIT ?2"
            );
            query_events(c, &sql, params![component, limit])
        }))
    }

    fn list<'a>(
        &'a self,
        component: &'a str,
        filter: &'a EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        let component = component.to_owned();
        let f = filter.clone();
        let limit = to_i64(limit.min(MAX_EVENT_PAGE) as u64);
        let after = to_i64(after.unwrap_or(0));
        Box::pin(self.read(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM wxopen_events
                 WHERE component = ?1 AND id > ?2
                   AND (?3 IS NULL OR authorizer = ?3)
                   AND (?4 IS NULL OR kind = ?4)
                   AND (?5 IS NULL OR state = ?5)
                   AND (?6 IS NULL OR received_at_ms >= ?6)
                   AND (?7 IS NULL OR received_at_ms < ?7)
                 ORDER BY id LIMIT ?8"
            );
            query_events(
                c,
                &sql,
                params![
                    component,
                    after,
                    f.authorizer,
                    f.kind,
                    f.state,
                    f.since_ms.map(to_i64),
                    f.until_ms.map(to_i64),
                    limit
                ],
            )
        }))
    }

    fn prune<'a>(
        &'a self,
        component: &'a str,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(self.submit(move |reply| Job::Prune {
            component: component.to_owned(),
            before_ms,
            limit,
            reply,
        }))
    }
}
