//! [`SqliteStore`]: records, leases and versions in one SQLite file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use wxopen_client::store::{claim_key, StoreErrorKind};
use wxopen_client::{
    BoxFuture, CasOutcome, Clock, StoreError, StoreKey, StoredValue, SystemClock, TokenStore,
    Versioned,
};

use crate::codec;

/// The schema version this code creates and the newest it opens.
pub const SCHEMA_VERSION: i64 = 3;

/// Forward migrations: `MIGRATIONS[n]` takes a database from schema version `n` to `n + 1`.
/// Each runs inside the `BEGIN IMMEDIATE` transaction that records the new version.
const MIGRATIONS: &[&str] = &[
    // v0 → v1
    "CREATE TABLE wxopen_records (
         key        TEXT PRIMARY KEY NOT NULL,
         version    INTEGER NOT NULL CHECK (version > 0),
         value      TEXT NOT NULL,
         expires_at INTEGER
     ) WITHOUT ROWID;
     CREATE TABLE wxopen_leases (
         name          TEXT PRIMARY KEY NOT NULL,
         holder        TEXT NOT NULL,
         expires_at_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE wxopen_version_counter (
         id   INTEGER PRIMARY KEY CHECK (id = 1),
         last INTEGER NOT NULL
     );
     INSERT INTO wxopen_version_counter (id, last) VALUES (1, 0);",
    // v1 → v2: claims (message deduplication), swept by expiry.
    "CREATE TABLE wxopen_claims (
         name          TEXT PRIMARY KEY NOT NULL,
         expires_at_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX wxopen_claims_by_expiry ON wxopen_claims (expires_at_ms);",
    // v2 → v3: the event log (`SqliteEventLog`): events with their delivery state, and the
    // counters of log ids and per-account sequences (never reused after a prune).
    "CREATE TABLE wxopen_events (
         component      TEXT NOT NULL,
         id             INTEGER NOT NULL,
         sequence       INTEGER NOT NULL,
         authorizer     TEXT NOT NULL,
         delivery_id    TEXT NOT NULL,
         kind           TEXT NOT NULL,
         create_time    INTEGER NOT NULL,
         received_at_ms INTEGER NOT NULL,
         fields         TEXT NOT NULL,
         meta           TEXT NOT NULL,
         state          TEXT NOT NULL,
         attempts       INTEGER NOT NULL,
         at_ms          INTEGER NOT NULL,
         reason         TEXT,
         reply          TEXT,
         PRIMARY KEY (component, id)
     ) WITHOUT ROWID;
     CREATE UNIQUE INDEX wxopen_events_by_delivery_id ON wxopen_events (component, delivery_id);
     CREATE INDEX wxopen_events_open ON wxopen_events (component, authorizer, id)
         WHERE state IN ('pending', 'in_flight');
     CREATE INDEX wxopen_events_settled ON wxopen_events (component, at_ms)
         WHERE state IN ('delivered', 'dead');
     CREATE TABLE wxopen_event_counters (
         component  TEXT NOT NULL,
         authorizer TEXT NOT NULL,
         last       INTEGER NOT NULL,
         PRIMARY KEY (component, authorizer)
     ) WITHOUT ROWID;",
];

/// How many expired claims one `claim_once` removes (more than it adds, so the table stays
/// at the live claims plus a bounded tail).
const CLAIM_SWEEP: i64 = 32;

/// Settings of a [`SqliteStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long a statement waits for another process's write lock before the operation fails
    /// with [`StoreErrorKind::Unavailable`] (SQLite's `busy_timeout`). Default 5 s.
    pub busy_timeout: Duration,
    /// The clock leases and claims are timed by (default: the system clock). Give the client's
    /// clock (e.g. a `ManualClock` in a test) so a lease expires on the same time as the
    /// client's wait for it. Processes sharing a file should share a time source.
    pub clock: Arc<dyn Clock>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
        }
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::busy_timeout`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteOptions::clock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A [`TokenStore`] in one SQLite file, shared by every process on the host that opens it.
///
/// - The file is in WAL mode with `synchronous=FULL`: a write acknowledged by
///   [`TokenStore::compare_and_set`] has been fsynced, so it survives a crash of the process
///   (SIGKILL) and of the machine (power loss).
/// - Every write runs in a `BEGIN IMMEDIATE` transaction: compare-and-set compares the version
///   and, when fenced, the lease row in the same transaction that writes. Versions come from a
///   one-row counter incremented in that transaction, so they are unique and non-zero across
///   every process sharing the file.
/// - Leases live in their own table (`name`, `holder`, `expires_at_ms`: milliseconds on the
///   store's clock, [`SqliteOptions::clock`], the system clock unless one is given; processes
///   sharing a file share it).
/// - Records are never dropped by the store itself: SQLite keeps whatever the client wrote until
///   it is overwritten or deleted ([`StoredValue::expires_at_hint`] is recorded in the
///   `expires_at` column for inspection only).
/// - Each store holds two connections. Writes, leases and claims run on the first, on tokio's
///   blocking pool ([`tokio::task::spawn_blocking`]), one at a time per store. Point reads run
///   on the second: inline on the calling task when it is free (a page-cache read is quicker
///   than the hand-off), on the blocking pool when it is busy; listings on the blocking pool.
///
/// `Debug` shows the path only.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Every write, lease and claim.
    conn: Mutex<Connection>,
    /// Point reads and listings (WAL: readers see every committed write and never wait for
    /// the writer), so a cached token read does not queue behind a write's fsync.
    reader: Mutex<Connection>,
    /// Times leases and claims.
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Creates the database file readable and writable by its owner only (0600 on Unix): tokens and
/// refresh tokens are stored in clear. SQLite creates the `-wal` and `-shm` files with the same
/// mode as the database file.
fn create_private(path: &Path, shown: &str) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it meanwhile: fine, it is opened below.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::config(format!(
            "sqlite store {shown}: cannot create the file ({})",
            e.kind()
        ))),
    }
}

/// A warning when group or others may read an existing database file (it holds tokens in clear).
fn warn_if_others_can_read(shown: &str, meta: &std::fs::Metadata) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = shown,
                mode = format!("{mode:o}").as_str(),
                "the token store file is readable by group or others; tokens are stored in clear (chmod 600 it)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (shown, meta);
}

impl Inner {
    /// The store's clock, in the milliseconds the lease and claim tables hold.
    fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.unix_millis()).unwrap_or(i64::MAX)
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Maps a SQLite error met while using an open store.
pub(crate) fn op_err(what: &str, e: rusqlite::Error) -> StoreError {
    let kind = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreErrorKind::Unavailable,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreErrorKind::Corrupt,
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
            StoreErrorKind::Config
        }
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    };
    StoreError::with_kind(
        kind,
        format!("sqlite store: {what}: {}", sqlite_message(&e)),
    )
}

/// The SQLite error text; never contains a bound value (statements use parameters).
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) => format!("{msg} ({:?})", f.code),
        rusqlite::Error::SqliteFailure(f, None) => format!("{:?}", f.code),
        other => other.to_string(),
    }
}

/// Maps a SQLite error met while opening `path`.
pub(crate) fn open_err(path: &Path, e: rusqlite::Error) -> StoreError {
    let shown = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::corrupt(format!(
            "sqlite store {shown}: the file is not a SQLite database or is corrupt ({})",
            sqlite_message(&e)
        )),
        Some(ErrorCode::ReadOnly) => StoreError::config(format!(
            "sqlite store {shown}: the database is read-only; the store must be writable ({})",
            sqlite_message(&e)
        )),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => StoreError::config(format!(
            "sqlite store {shown}: cannot open the file or create its -wal/-shm files beside it \
             ({})",
            sqlite_message(&e)
        )),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::unavailable(format!(
                "sqlite store {shown}: locked by another process while opening ({})",
                sqlite_message(&e)
            ))
        }
        _ => StoreError::config(format!(
            "sqlite store {shown}: cannot open: {}",
            sqlite_message(&e)
        )),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with default [`SqliteOptions`].
    ///
    /// This does blocking file I/O: in async code call it through
    /// [`tokio::task::spawn_blocking`] or use [`SqliteStore::open_async`].
    ///
    /// # Errors
    /// [`StoreErrorKind::Config`] when the directory does not exist, the path is a directory, the
    /// file (or its directory) is read-only, or the file's schema is newer than this code;
    /// [`StoreErrorKind::Corrupt`] when the file is not a SQLite database or its wxopen tables
    /// are damaged. A missing file in an existing directory is created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] on tokio's blocking pool.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_async(
        path: impl Into<PathBuf>,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_with(path, options))
            .await
            .map_err(|e| StoreError::new(format!("sqlite store: open task failed: {e}")))?
    }

    /// Opens (creating if needed) the store at `path`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if path.as_os_str().is_empty() {
            return Err(StoreError::config("sqlite store: empty path"));
        }
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(StoreError::config(format!(
                    "sqlite store {shown}: {} is not a directory",
                    dir.display()
                )))
            }
            Err(e) => {
                return Err(StoreError::config(format!(
                    "sqlite store {shown}: directory {} does not exist or cannot be read ({}); \
                     create it first",
                    dir.display(),
                    e.kind()
                )))
            }
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err(StoreError::config(format!(
                    "sqlite store {shown}: the path is a directory, not a database file"
                )))
            }
            Ok(m) if m.permissions().readonly() => {
                return Err(StoreError::config(format!(
                    "sqlite store {shown}: the file is read-only; the store must be writable"
                )))
            }
            Ok(m) => warn_if_others_can_read(&shown, &m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_private(&path, &shown)?,
            Err(e) => {
                return Err(StoreError::config(format!(
                    "sqlite store {shown}: cannot inspect the file ({})",
                    e.kind()
                )))
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| open_err(&path, e))?;
        if conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| open_err(&path, e))?
        {
            return Err(StoreError::config(format!(
                "sqlite store {shown}: SQLite opened the file read-only; the store must be \
                 writable"
            )));
        }
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| open_err(&path, e))?;
        // The first statement reads the header: a file that is not a database fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| open_err(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::config(format!(
                "sqlite store {shown}: cannot switch to WAL mode (journal mode is {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_err(&path, e))?;
        migrate(&conn, &path)?;
        // Opened after the migration, so it never sees a file without the wxopen tables.
        let reader = Connection::open_with_flags(&path, flags).map_err(|e| open_err(&path, e))?;
        reader
            .busy_timeout(options.busy_timeout)
            .map_err(|e| open_err(&path, e))?;
        reader
            .pragma_update(None, "query_only", "ON")
            .map_err(|e| open_err(&path, e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
                clock: options.clock.clone(),
                reader: Mutex::new(reader),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.lock();
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::new(format!("sqlite store: worker task failed: {e}")))?
    }

    /// Runs the read `f` with the reader connection: inline when that connection is free (a
    /// point read from the page cache takes microseconds, less than the hand-off to the
    /// blocking pool and back), else on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match self.try_inline(f) {
            Ok(done) => done,
            Err(busy) => self.read_blocking(busy).await,
        }
    }

    /// Runs `f` on the reader connection now if it is free; hands `f` back if it is not.
    fn try_inline<T, F>(&self, f: F) -> Result<Result<T, StoreError>, F>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError>,
    {
        let mut conn = match self.inner.reader.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(f),
        };
        Ok(f(&mut conn))
    }

    /// Runs the read `f` with the reader connection on the blocking pool (long reads).
    async fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::new(format!("sqlite store: worker task failed: {e}")))?
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside `f` drops its transaction (rolled back), so the connection is
        // consistent and a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let shown = path.display();
    // Take the write lock first, so two processes opening a new file do not both migrate it.
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| open_err(path, e))?;
    let result = (|| -> Result<(), StoreError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS wxopen_schema (
                 id      INTEGER PRIMARY KEY CHECK (id = 1),
                 version INTEGER NOT NULL
             )",
        )
        .map_err(|e| open_err(path, e))?;
        let current: Option<i64> = conn
            .query_row("SELECT version FROM wxopen_schema WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| {
                StoreError::corrupt(format!(
                    "sqlite store {shown}: unreadable schema version ({})",
                    sqlite_message(&e)
                ))
            })?;
        let current = current.unwrap_or(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::config(format!(
                "sqlite store {shown}: schema version {current} is newer than the version \
                 {SCHEMA_VERSION} this wxopen-store knows; upgrade wxopen-store (the file was \
                 not changed)"
            )));
        }
        if current < 0 {
            return Err(StoreError::corrupt(format!(
                "sqlite store {shown}: invalid schema version {current}"
            )));
        }
        for (from, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            conn.execute_batch(sql).map_err(|e| {
                StoreError::corrupt(format!(
                    "sqlite store {shown}: migration from schema {from} to {} failed ({}); the \
                     wxopen tables are not what schema {from} expects",
                    from + 1,
                    sqlite_message(&e)
                ))
            })?;
        }
        conn.execute(
            "INSERT INTO wxopen_schema (id, version) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            params![SCHEMA_VERSION],
        )
        .map_err(|e| open_err(path, e))?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| open_err(path, e)),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Reads the record at `key` inside the current transaction (or autocommit).
fn read(conn: &Connection, key: &str) -> Result<Option<Versioned>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT version, CAST(value AS BLOB) FROM wxopen_records WHERE key = ?1")
        .and_then(|mut st| {
            st.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(|e| op_err("read", e))?;
    let Some((version, text)) = row else {
        return Ok(None);
    };
    let version = u64::try_from(version)
        .ok()
        .filter(|v| *v != 0)
        .ok_or_else(|| StoreError::corrupt(format!("record {key}: invalid version {version}")))?;
    let value = codec::decode(key, &text)?;
    Ok(Some(Versioned { value, version }))
}

fn current_version(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT version FROM wxopen_records WHERE key = ?1")
        .and_then(|mut st| st.query_row(params![key], |r| r.get(0)).optional())
        .map_err(|e| op_err("read version", e))
}

fn holds_lease(conn: &Connection, name: &str, holder: &str, now: i64) -> Result<bool, StoreError> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT holder, expires_at_ms FROM wxopen_leases WHERE name = ?1")
        .and_then(|mut st| {
            st.query_row(params![name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(|e| op_err("read lease", e))?;
    Ok(row.is_some_and(|(h, until)| h == holder && until > now))
}

fn next_version(conn: &Connection) -> Result<i64, StoreError> {
    let v: i64 = conn
        .prepare_cached(
            "UPDATE wxopen_version_counter SET last = last + 1 WHERE id = 1 RETURNING last",
        )
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(|e| op_err("next version", e))?;
    if v <= 0 {
        return Err(StoreError::corrupt(format!(
            "sqlite store: version counter is invalid ({v})"
        )));
    }
    Ok(v)
}

fn cas(
    conn: &mut Connection,
    key: &str,
    lease: &str,
    expected: Option<u64>,
    value: &StoredValue,
    fence: Option<&str>,
    now: i64,
) -> Result<CasOutcome, StoreError> {
    let text = codec::encode(value)?;
    let hint = value
        .expires_at_hint()
        .map(|h| i64::try_from(h).unwrap_or(i64::MAX));
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    if let Some(holder) = fence {
        if !holds_lease(&tx, lease, holder, now)? {
            return Ok(CasOutcome::LeaseLost);
        }
    }
    let current = current_version(&tx, key)?;
    let matches = match (current, expected) {
        (None, None) => true,
        (Some(c), Some(e)) => u64::try_from(c).ok() == Some(e),
        _ => false,
    };
    if !matches {
        let current = read(&tx, key)?;
        return Ok(CasOutcome::Conflict { current });
    }
    let version = next_version(&tx)?;
    tx.prepare_cached(
        "INSERT INTO wxopen_records (key, version, value, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value,
             expires_at = excluded.expires_at",
    )
    .and_then(|mut st| st.execute(params![key, version, text, hint]))
    .map_err(|e| op_err("write", e))?;
    tx.commit().map_err(|e| op_err("commit", e))?;
    // `next_version` checked `version > 0`.
    Ok(CasOutcome::Applied {
        version: version.unsigned_abs(),
    })
}

fn cad(conn: &mut Connection, key: &str, expected: u64) -> Result<bool, StoreError> {
    let Ok(expected) = i64::try_from(expected) else {
        return Ok(false);
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    let n = tx
        .prepare_cached("DELETE FROM wxopen_records WHERE key = ?1 AND version = ?2")
        .and_then(|mut st| st.execute(params![key, expected]))
        .map_err(|e| op_err("delete", e))?;
    tx.commit().map_err(|e| op_err("commit", e))?;
    Ok(n == 1)
}

fn lease(
    conn: &mut Connection,
    name: &str,
    holder: &str,
    ttl: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    let row: Option<(String, i64)> = tx
        .prepare_cached("SELECT holder, expires_at_ms FROM wxopen_leases WHERE name = ?1")
        .and_then(|mut st| {
            st.query_row(params![name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(|e| op_err("read lease", e))?;
    let free = match &row {
        None => true,
        Some((h, until)) => h == holder || *until <= now,
    };
    if free {
        tx.prepare_cached(
            "INSERT INTO wxopen_leases (name, holder, expires_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at_ms = excluded.expires_at_ms",
        )
        .and_then(|mut st| st.execute(params![name, holder, now.saturating_add(ttl)]))
        .map_err(|e| op_err("write lease", e))?;
        tx.commit().map_err(|e| op_err("commit", e))?;
    }
    Ok(free)
}

fn extend(
    conn: &mut Connection,
    name: &str,
    holder: &str,
    ttl: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    let n = tx
        .prepare_cached(
            "UPDATE wxopen_leases SET expires_at_ms = ?3
             WHERE name = ?1 AND holder = ?2 AND expires_at_ms > ?4",
        )
        .and_then(|mut st| st.execute(params![name, holder, now.saturating_add(ttl), now]))
        .map_err(|e| op_err("extend lease", e))?;
    tx.commit().map_err(|e| op_err("commit", e))?;
    Ok(n == 1)
}

fn release(conn: &mut Connection, name: &str, holder: &str) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    tx.prepare_cached("DELETE FROM wxopen_leases WHERE name = ?1 AND holder = ?2")
        .and_then(|mut st| st.execute(params![name, holder]))
        .map_err(|e| op_err("release lease", e))?;
    tx.commit().map_err(|e| op_err("commit", e))
}

/// Up to `limit` authorizer appids of `component` after `after`, in byte order: a range scan
/// of the primary key (`wxopen:{C}:authorizer:` … `wxopen:{C}:authorizer;`), never a table scan.
fn list(
    conn: &Connection,
    component: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let prefix = format!("wxopen:{{{component}}}:authorizer:");
    let end = format!("wxopen:{{{component}}}:authorizer;");
    let start = format!("{prefix}{}", after.unwrap_or(""));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut st = conn
        .prepare_cached(
            "SELECT key FROM wxopen_records WHERE key > ?1 AND key < ?2 ORDER BY key LIMIT ?3",
        )
        .map_err(|e| op_err("list_authorizers", e))?;
    let rows = st
        .query_map(params![start, end, limit], |r| r.get::<_, String>(0))
        .map_err(|e| op_err("list_authorizers", e))?;
    let mut out = Vec::new();
    for row in rows {
        let key = row.map_err(|e| op_err("list_authorizers", e))?;
        if let Some(appid) = key.strip_prefix(&prefix) {
            out.push(appid.to_owned());
        }
    }
    Ok(out)
}

fn claim(conn: &mut Connection, name: &str, ttl: i64, now: i64) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| op_err("begin", e))?;
    tx.prepare_cached(
        "DELETE FROM wxopen_claims WHERE name IN (
             SELECT name FROM wxopen_claims WHERE expires_at_ms <= ?1
             ORDER BY expires_at_ms LIMIT ?2)",
    )
    .and_then(|mut st| st.execute(params![now, CLAIM_SWEEP]))
    .map_err(|e| op_err("sweep claims", e))?;
    let n = tx
        .prepare_cached(
            "INSERT INTO wxopen_claims (name, expires_at_ms) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
             WHERE wxopen_claims.expires_at_ms <= ?3",
        )
        .and_then(|mut st| st.execute(params![name, now.saturating_add(ttl), now]))
        .map_err(|e| op_err("claim", e))?;
    tx.commit().map_err(|e| op_err("commit", e))?;
    Ok(n == 1)
}

impl TokenStore for SqliteStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        let k = key.to_string();
        Box::pin(self.read(move |c| read(c, &k)))
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        let (k, l) = (key.to_string(), key.lease_name());
        let fence = fence.map(str::to_owned);
        let now = self.inner.now_ms();
        Box::pin(self.run(move |c| cas(c, &k, &l, expected, &value, fence.as_deref(), now)))
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let k = key.to_string();
        Box::pin(self.run(move |c| cad(c, &k, expected)))
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (l, h) = (key.lease_name(), holder.to_owned());
        let now = self.inner.now_ms();
        Box::pin(self.run(move |c| lease(c, &l, &h, ttl_ms(ttl), now)))
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (l, h) = (key.lease_name(), holder.to_owned());
        let now = self.inner.now_ms();
        Box::pin(self.run(move |c| extend(c, &l, &h, ttl_ms(ttl), now)))
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let (l, h) = (key.lease_name(), holder.to_owned());
        Box::pin(self.run(move |c| release(c, &l, &h)))
    }

    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let (c, a) = (component_appid.to_owned(), after.map(str::to_owned));
        Box::pin(self.read_blocking(move |conn| list(conn, &c, a.as_deref(), limit)))
    }

    fn claim_once<'a>(
        &'a self,
        component_appid: &'a str,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let name = claim_key(component_appid, id);
        Box::pin(async move {
            let name = name?;
            let now = self.inner.now_ms();
            self.run(move |conn| claim(conn, &name, ttl_ms(ttl).max(1), now))
                .await
        })
    }
}
