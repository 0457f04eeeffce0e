//! [`RedisStore`]: records and leases in Redis, written by Lua scripts.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use redis::{ErrorKind, RedisError, Script, ServerErrorKind, Value};
use wxopen_client::store::claim_key;
use wxopen_client::{
    BoxFuture, CasOutcome, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

use crate::codec;
use crate::open_error::OpenError;

/// The default key prefix (what [`StoreKey`]'s `Display` starts with).
pub const DEFAULT_PREFIX: &str = "wxopen";

/// Settings of a [`RedisStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Replaces the leading `wxopen` of every key, so two deployments can share one Redis
    /// (`acme` → `acme:{<component_appid>}:ticket`). Letters, digits and `_-.:/` only, no braces
    /// (the `{component}` hash tag must stay the only one). Default `wxopen`.
    pub prefix: String,
    /// How long one store call may take, reconnecting included, before it fails with
    /// [`StoreErrorKind::Unavailable`](wxopen_client::store::StoreErrorKind::Unavailable).
    /// Default 2 s.
    pub op_timeout: Duration,
    /// How long a TCP (and TLS) connect may take. Default 1 s.
    pub connect_timeout: Duration,
    /// The shortest time a record with an expiry hint is kept after a write (see
    /// [`RedisStore`]'s TTL rule). Default 60 s.
    pub min_ttl: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            op_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            min_ttl: Duration::from_secs(60),
        }
    }
}

impl RedisOptions {
    /// Sets [`RedisOptions::prefix`].
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`RedisOptions::op_timeout`].
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// Sets [`RedisOptions::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`RedisOptions::min_ttl`].
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// A [`TokenStore`] in Redis, shared by every instance of a deployment.
///
/// **Keys.** With prefix `P` (default `wxopen`), component `C`:
/// `P:{C}:ticket`, `P:{C}:component_token`, `P:{C}:authorizer:<appid>`, `P:{C}:authorizer_scan`
/// (hashes: `v` version, `d` value), their leases `P:{C}:lease:<name>` (strings holding the
/// holder), the version counter `P:{C}:version` and the index of authorizers
/// `P:{C}:authorizers` (a sorted set, every score 0, so `ZRANGEBYLEX` pages it in byte order;
/// the scripts that write and delete authorizer records keep it, and a listing drops members
/// whose record has expired), and message claims `P:{C}:claim:<id>` (`SET NX PX`, gone with
/// their TTL). Every key of a component carries the same
/// `{C}` hash tag, so every script touches one Redis Cluster slot.
///
/// **Writes.** Compare-and-set, compare-and-delete and the lease operations are Lua scripts:
/// the version check, the fence check (`GET` of the lease equals the holder) and the write are
/// one atomic step. Versions come from `INCR` of the component's counter inside the script
/// (never 0, and never at or below the version being replaced; a missing counter — deleted, or
/// lost in a failover — is seeded from the server's clock in microseconds, so a record deleted
/// and written again never gets a version issued before). Values are JSON with a format
/// version. Leases are `SET lease holder NX PX ttl`, extended and released by
/// compare-then-`PEXPIRE`/`DEL` scripts.
///
/// **TTLs** follow [`StoredValue::expires_at_hint`]: a record holding a refresh token (or a
/// tombstone) gets no TTL at all (`PERSIST`, also when it replaces a record that had one); any
/// other record expires `max(hint − now, min_ttl)` after the write (`PEXPIRE`, relative, so the
/// Redis server's clock does not matter; `now` is this host's `SystemTime`). A hint already in
/// the past does not delete the record at once: the write was acknowledged with a version, the
/// caller may read it back or compare-and-set on that version next (a compare-and-expire writes
/// `expires_at = 0` on purpose, for the other instances to see), and the hint comes from the
/// client's clock, which may differ from this host's; so such a record lives `min_ttl` (default
/// 60 s) and then goes.
///
/// **Durability** is the server's: run it with `appendonly yes` and `appendfsync always` (an
/// acknowledged write is then on disk before the reply) and a `maxmemory-policy` that never
/// evicts keys without a TTL (`noeviction` or a `volatile-*` policy).
///
/// **Failures.** The connection reconnects by itself ([`ConnectionManager`], or the cluster
/// connection); while the server is unreachable every call fails within
/// [`RedisOptions::op_timeout`] with
/// [`StoreErrorKind::Unavailable`](wxopen_client::store::StoreErrorKind::Unavailable).
///
/// `Debug` shows the host, port, database and prefix, never a password.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: Arc<str>,
    endpoint: Arc<str>,
    /// Strings to scrub from error messages (the password, raw and decoded).
    secrets: Arc<[String]>,
    op_timeout: Duration,
    min_ttl_ms: u64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// `scheme://host:port/db` of a Redis URL, without user or password, or a placeholder.
fn endpoint_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().unwrap_or(6379),
            u.path()
        ),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

fn secrets_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(u) = url::Url::parse(url) {
        if let Some(p) = u.password().filter(|p| !p.is_empty()) {
            out.push(p.to_owned());
            let decoded: String = url::form_urlencoded::parse(format!("p={p}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default();
            if decoded != p && !decoded.is_empty() {
                out.push(decoded);
            }
        }
        for (k, v) in u.query_pairs() {
            if (k == "pass" || k == "password") && !v.is_empty() {
                out.push(v.into_owned());
            }
        }
    }
    out
}

fn validate_prefix(prefix: &str) -> Result<(), StoreError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::config(
            "redis store: the key prefix must be 1 to 64 characters of letters, digits and \
             _-.:/ (no braces: the {component} hash tag must stay the only one)",
        ))
    }
}

impl RedisStore {
    /// Connects to one Redis server (`redis://[user:password@]host[:port][/db]`, or
    /// `rediss://…` with the `redis-tls` feature) and checks that it answers.
    ///
    /// # Errors
    /// [`StoreErrorKind::Config`](wxopen_client::store::StoreErrorKind::Config) for a bad URL or
    /// prefix, or rejected credentials;
    /// [`StoreErrorKind::Unavailable`](wxopen_client::store::StoreErrorKind::Unavailable) when
    /// the server cannot be reached. No message contains the password.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        validate_prefix(&options.prefix)?;
        let secrets: Arc<[String]> = secrets_of(url).into();
        let endpoint = endpoint_of(url);
        let client = redis::Client::open(url).map_err(|e| {
            StoreError::config(scrub(
                &secrets,
                format!("redis store {endpoint}: bad URL: {}", e.kind_name()),
            ))
        })?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.op_timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let connecting = ConnectionManager::new_with_config(client, config);
        let manager = match tokio::time::timeout(options.op_timeout, connecting).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(map_err(&secrets, &format!("connect to {endpoint}"), &e)),
            Err(_) => {
                return Err(StoreError::unavailable(format!(
                    "redis store: connect to {endpoint}: timed out"
                )))
            }
        };
        let store = Self::from_conn(Conn::Single(manager), endpoint, secrets, &options);
        store.ping().await?;
        Ok(store)
    }

    /// Connects to a Redis Cluster through its seed nodes (`redis://host:port` each).
    ///
    /// # Errors
    /// As [`RedisStore::connect`].
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster(
        nodes: &[&str],
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        validate_prefix(&options.prefix)?;
        let secrets: Vec<String> = nodes.iter().flat_map(|n| secrets_of(n)).collect();
        let secrets: Arc<[String]> = secrets.into();
        let endpoint = format!(
            "cluster[{}]",
            nodes
                .iter()
                .map(|n| endpoint_of(n))
                .collect::<Vec<_>>()
                .join(",")
        );
        let client = redis::cluster::ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.op_timeout)
            .build()
            .map_err(|e| {
                StoreError::config(scrub(
                    &secrets,
                    format!("redis store {endpoint}: bad cluster URL: {}", e.kind_name()),
                ))
            })?;
        let conn =
            match tokio::time::timeout(options.op_timeout, client.get_async_connection()).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(map_err(&secrets, &format!("connect to {endpoint}"), &e)),
                Err(_) => {
                    return Err(StoreError::unavailable(format!(
                        "redis store: connect to {endpoint}: timed out"
                    )))
                }
            };
        let store = Self::from_conn(Conn::Cluster(conn), endpoint, secrets, &options);
        store.ping().await?;
        Ok(store)
    }

    fn from_conn(conn: Conn, endpoint: String, secrets: Arc<[String]>, o: &RedisOptions) -> Self {
        Self {
            conn,
            prefix: o.prefix.as_str().into(),
            endpoint: endpoint.into(),
            secrets,
            op_timeout: o.op_timeout,
            min_ttl_ms: u64::try_from(o.min_ttl.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key of a record.
    pub fn record_key(&self, key: &StoreKey) -> String {
        self.rename(key.to_string())
    }

    /// The Redis key of a record's lease.
    pub fn lease_key(&self, key: &StoreKey) -> String {
        self.rename(key.lease_name())
    }

    fn counter_key(&self, key: &StoreKey) -> String {
        format!("{}:{{{}}}:version", self.prefix, key.component_appid())
    }

    fn index_key(&self, component_appid: &str) -> String {
        format!("{}:{{{component_appid}}}:authorizers", self.prefix)
    }

    fn rename(&self, s: String) -> String {
        match s.strip_prefix(DEFAULT_PREFIX) {
            Some(rest) if &*self.prefix != DEFAULT_PREFIX => format!("{}{rest}", self.prefix),
            Some(_) => s,
            None => format!("{}:{s}", self.prefix),
        }
    }

    /// Checks that the server answers.
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`](wxopen_client::store::StoreErrorKind::Unavailable) when
    /// it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let cmd = redis::cmd("PING");
        self.query(&cmd, "ping").await.map(|_| ())
    }

    /// Whether the server writes an append-only file (`aof_enabled` of `INFO persistence`):
    /// without one, a restart of the server loses every write since the last snapshot,
    /// refresh tokens included. `None` on Redis Cluster (each node answers for itself).
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`](wxopen_client::store::StoreErrorKind::Unavailable) when
    /// the server does not answer; `Corrupt` when the answer has no `aof_enabled` line.
    pub async fn append_only(&self) -> Result<Option<bool>, StoreError> {
        if !matches!(self.conn, Conn::Single(_)) {
            return Ok(None);
        }
        let mut cmd = redis::cmd("INFO");
        cmd.arg("persistence");
        let info = match self.query(&cmd, "info").await? {
            Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            Value::VerbatimString { text, .. } => text,
            Value::SimpleString(s) => s,
            _ => String::new(),
        };
        info.lines()
            .find_map(|l| l.trim().strip_prefix("aof_enabled:"))
            .map(|v| Some(v.trim() == "1"))
            .ok_or_else(|| StoreError::corrupt("INFO persistence: no aof_enabled line"))
    }

    pub(crate) async fn query(&self, cmd: &redis::Cmd, op: &str) -> Result<Value, StoreError> {
        let fut = async {
            match &self.conn {
                Conn::Single(c) => cmd.query_async::<Value>(&mut c.clone()).await,
                #[cfg(feature = "cluster")]
                Conn::Cluster(c) => cmd.query_async::<Value>(&mut c.clone()).await,
            }
        };
        self.bounded(fut, op).await
    }

    pub(crate) async fn invoke(
        &self,
        inv: &redis::ScriptInvocation<'_>,
        op: &str,
    ) -> Result<Value, StoreError> {
        let fut = async {
            match &self.conn {
                Conn::Single(c) => inv.invoke_async::<Value>(&mut c.clone()).await,
                #[cfg(feature = "cluster")]
                Conn::Cluster(c) => inv.invoke_async::<Value>(&mut c.clone()).await,
            }
        };
        self.bounded(fut, op).await
    }

    async fn bounded(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<Value>>,
        op: &str,
    ) -> Result<Value, StoreError> {
        match tokio::time::timeout(self.op_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(&self.secrets, op, &e)),
            Err(_) => Err(StoreError::unavailable(format!(
                "redis store {}: {op}: timed out after {} ms",
                self.endpoint,
                self.op_timeout.as_millis()
            ))),
        }
    }

    /// Relative TTL in ms for a value, or `None` for no TTL.
    fn ttl_ms_for(&self, value: &StoredValue) -> Option<u64> {
        let hint = value.expires_at_hint()?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = hint.saturating_mul(1000).saturating_sub(now_ms);
        // Redis accepts expiries up to about 2^63 ms from now; cap far below.
        Some(left.max(self.min_ttl_ms).clamp(1, 1 << 46))
    }

    async fn get_now(&self, key: &StoreKey) -> Result<Option<Versioned>, StoreError> {
        let rkey = self.record_key(key);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&rkey).arg("v").arg("d");
        let v = self.query(&cmd, "get").await?;
        let Value::Array(items) = v else {
            return Err(StoreError::corrupt(format!(
                "record {rkey}: unexpected reply to HMGET"
            )));
        };
        decode_record(&rkey, items.first(), items.get(1))
    }

    async fn cas_now(
        &self,
        key: &StoreKey,
        expected: Option<u64>,
        value: &StoredValue,
        fence: Option<&str>,
    ) -> Result<CasOutcome, StoreError> {
        let rkey = self.record_key(key);
        let text = codec::encode(value)?;
        let ttl = self.ttl_ms_for(value);
        let mut inv = CAS.prepare_invoke();
        inv.key(&rkey)
            .key(self.lease_key(key))
            .key(self.counter_key(key))
            .key(self.index_key(key.component_appid()))
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(text)
            .arg(if fence.is_some() { "1" } else { "0" })
            .arg(fence.unwrap_or(""))
            .arg(ttl.map(|t| t.to_string()).unwrap_or_default())
            .arg(index_member(key));
        let reply = self.invoke(&inv, "compare_and_set").await?;
        let bad = || StoreError::corrupt(format!("record {rkey}: unexpected script reply"));
        let Value::Array(items) = reply else {
            return Err(bad());
        };
        match items.first() {
            Some(Value::Int(1)) => {
                let version = items.get(1).and_then(as_u64).filter(|v| *v != 0);
                Ok(CasOutcome::Applied {
                    version: version.ok_or_else(bad)?,
                })
            }
            Some(Value::Int(0)) => Ok(CasOutcome::Conflict {
                current: decode_record(&rkey, items.get(1), items.get(2))?,
            }),
            Some(Value::Int(2)) => Ok(CasOutcome::LeaseLost),
            Some(Value::Int(3)) => Err(StoreError::corrupt(format!(
                "record {rkey}: hash without a version or a value"
            ))),
            _ => Err(bad()),
        }
    }

    async fn flag(
        &self,
        script: &Script,
        key: String,
        args: &[&str],
        op: &str,
    ) -> Result<bool, StoreError> {
        let mut inv = script.prepare_invoke();
        inv.key(key);
        for a in args {
            inv.arg(*a);
        }
        match self.invoke(&inv, op).await? {
            Value::Int(n) => Ok(n == 1),
            _ => Err(StoreError::new(format!(
                "redis store {}: {op}: unexpected script reply",
                self.endpoint
            ))),
        }
    }
}

fn scrub(secrets: &[String], mut msg: String) -> String {
    for s in secrets {
        if !s.is_empty() {
            msg = msg.replace(s.as_str(), "[redacted]");
        }
    }
    msg
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for RedisError {
    fn kind_name(&self) -> String {
        format!("{:?}", self.kind())
    }
}

fn map_err(secrets: &[String], op: &str, e: &RedisError) -> StoreError {
    let unavailable = e.is_io_error()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            ErrorKind::Io
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    let msg = scrub(secrets, format!("redis store: {op}: {e}"));
    if unavailable {
        return StoreError::unavailable(msg);
    }
    match e.kind() {
        ErrorKind::AuthenticationFailed
        | ErrorKind::InvalidClientConfig
        | ErrorKind::Server(ServerErrorKind::NoPerm) => StoreError::config(msg),
        _ if e.code() == Some("WRONGTYPE") => StoreError::corrupt(msg),
        _ => StoreError::new(msg),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn decode_record(
    rkey: &str,
    version: Option<&Value>,
    data: Option<&Value>,
) -> Result<Option<Versioned>, StoreError> {
    match (version, data) {
        (None | Some(Value::Nil), None | Some(Value::Nil)) => Ok(None),
        (Some(v), Some(Value::BulkString(d))) => {
            let version = as_u64(v).filter(|v| *v != 0).ok_or_else(|| {
                StoreError::corrupt(format!("record {rkey}: invalid version field"))
            })?;
            let value = codec::decode(rkey, d)?;
            Ok(Some(Versioned { value, version }))
        }
        _ => Err(StoreError::corrupt(format!(
            "record {rkey}: hash without a version or a value"
        ))),
    }
}

/// The authorizer-index member a record's writes keep (`''` for records of other kinds).
fn index_member(key: &StoreKey) -> &str {
    match key {
        StoreKey::Authorizer {
            authorizer_appid, ..
        } => authorizer_appid,
        _ => "",
    }
}

/// KEYS: record, lease, counter, authorizer index. ARGV: expected version ('' = must be
/// absent), value, fenced ('1'/'0'), holder, ttl in ms ('' = no TTL), index member ('' =
/// not an authorizer record).
/// Reply: {1, version} applied · {0, version, value} conflict (nils when absent) · {2} lease
/// lost · {3} a hash without both fields.
static CAS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if ARGV[3] == '1' and redis.call('GET', KEYS[2]) ~= ARGV[4] then
  return {2}
end
local cur = redis.call('HMGET', KEYS[1], 'v', 'd')
local ver = cur[1]
if (ver == false) ~= (cur[2] == false) then
  return {3}
end
local ok
if ARGV[1] == '' then ok = (ver == false) else ok = (ver == ARGV[1]) end
if not ok then
  return {0, ver, cur[2]}
end
local n = redis.call('INCR', KEYS[3])
if n == 1 then
  -- The counter was missing (deleted, or lost in a failover): seed it from the server's clock
  -- in microseconds, above any version increments reached, so no version is issued twice.
  local t = redis.call('TIME')
  redis.call('SET', KEYS[3], t[1] .. string.format('%06d', tonumber(t[2])))
  n = tonumber(redis.call('GET', KEYS[3]))
end
if ver ~= false then
  local c = tonumber(ver)
  if c ~= nil and n <= c then
    redis.call('SET', KEYS[3], ver)
    redis.call('INCR', KEYS[3])
  end
end
-- The counter's text, not a Lua number (which prints lossily above 1e14).
local nextv = redis.call('GET', KEYS[3])
redis.call('HSET', KEYS[1], 'v', nextv, 'd', ARGV[2])
if ARGV[5] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[4], 0, ARGV[6])
end
return {1, nextv}
",
    )
});

/// KEYS: record, authorizer index. ARGV: expected version, index member ('' = none).
/// Reply 1 if deleted.
static CAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ARGV[2] ~= '' then
    redis.call('ZREM', KEYS[2], ARGV[2])
  end
  return 1
end
return 0
",
    )
});

/// KEYS: authorizer index. ARGV: start (`(appid` or `-`), limit, record-key prefix, most
/// members to look at. Reply: up to `limit` members after `start` whose record exists; members
/// whose record has gone (expired) are removed on the way. Looks at no more than the last
/// argument's members, so one call's work is bounded whatever the index holds.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local limit = tonumber(ARGV[2])
local budget = tonumber(ARGV[4])
local out = {}
local start = ARGV[1]
while #out < limit and budget > 0 do
  local batch = math.min(budget, limit - #out)
  local ms = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, batch)
  if #ms == 0 then break end
  budget = budget - #ms
  for _, m in ipairs(ms) do
    if redis.call('EXISTS', ARGV[3] .. m) == 1 then
      out[#out + 1] = m
    else
      redis.call('ZREM', KEYS[1], m)
    end
  end
  start = '(' .. ms[#ms]
end
return out
",
    )
});

/// KEYS: lease. ARGV: holder, ttl ms. Reply 1 if taken (or re-taken by its holder).
static LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ttl = tonumber(ARGV[2])
if ttl <= 0 then
  local h = redis.call('GET', KEYS[1])
  if h == false or h == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
",
    )
});

/// KEYS: lease. ARGV: holder, ttl ms. Reply 1 if extended.
static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if tonumber(ARGV[2]) <= 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
return 0
",
    )
});

/// KEYS: lease. ARGV: holder. Reply 1 if released.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

fn lease_ttl_ms(ttl: Duration) -> String {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .min(1 << 46)
        .to_string()
}

impl TokenStore for RedisStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(self.get_now(key))
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        Box::pin(async move { self.cas_now(key, expected, &value, fence).await })
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut inv = CAD.prepare_invoke();
            inv.key(self.record_key(key))
                .key(self.index_key(key.component_appid()))
                .arg(expected.to_string())
                .arg(index_member(key));
            match self.invoke(&inv, "compare_and_delete").await? {
                Value::Int(n) => Ok(n == 1),
                _ => Err(StoreError::new(format!(
                    "redis store {}: compare_and_delete: unexpected script reply",
                    self.endpoint
                ))),
            }
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.flag(
                &LEASE,
                self.lease_key(key),
                &[holder, &lease_ttl_ms(ttl)],
                "try_lease",
            )
            .await
        })
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.flag(
                &EXTEND,
                self.lease_key(key),
                &[holder, &lease_ttl_ms(ttl)],
                "extend_lease",
            )
            .await
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.flag(&RELEASE, self.lease_key(key), &[holder], "release_lease")
                .await
                .map(|_| ())
        })
    }

    fn claim_once<'a>(
        &'a self,
        component_appid: &'a str,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = self.rename(claim_key(component_appid, id)?);
            let mut cmd = redis::cmd("SET");
            cmd.arg(key)
                .arg("1")
                .arg("NX")
                .arg("PX")
                .arg(lease_ttl_ms(ttl.max(Duration::from_millis(1))));
            Ok(matches!(
                self.query(&cmd, "claim_once").await?,
                Value::Okay | Value::SimpleString(_)
            ))
        })
    }

    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let limit = limit.min(10_000);
            let prefix = self.record_key(&StoreKey::authorizer(component_appid, ""));
            let mut inv = LIST.prepare_invoke();
            inv.key(self.index_key(component_appid))
                .arg(after.map_or_else(|| "-".to_owned(), |a| format!("({a}")))
                .arg(limit)
                .arg(prefix)
                .arg(limit.saturating_mul(4));
            let bad = || {
                StoreError::corrupt(format!(
                    "redis store {}: list_authorizers: unexpected script reply",
                    self.endpoint
                ))
            };
            let Value::Array(items) = self.invoke(&inv, "list_authorizers").await? else {
                return Err(bad());
            };
            items
                .into_iter()
                .map(|v| match v {
                    Value::BulkString(b) => String::from_utf8(b).map_err(|_| bad()),
                    _ => Err(bad()),
                })
                .collect()
        })
    }
}

/// [`crate::open_store`] for `redis://`, `rediss://` and `redis+cluster://` URLs.
pub(crate) async fn open_url(scheme: &str, url: &str) -> Result<Arc<dyn TokenStore>, OpenError> {
    Ok(Arc::new(open_redis(scheme, url).await?))
}

/// The [`RedisStore`] of a `redis://`, `rediss://` or `redis+cluster://` URL.
pub(crate) async fn open_redis(scheme: &str, url: &str) -> Result<RedisStore, OpenError> {
    let (rebuilt, options) = parse_url(url)?;
    match scheme {
        "redis+cluster" => open_cluster(&rebuilt, options).await,
        _ => connect_single(scheme, &rebuilt, options).await,
    }
}

/// [`crate::redis_append_only`]: whether the server of a `redis://` or `rediss://` URL writes
/// an append-only file; `None` for `redis+cluster://`.
pub(crate) async fn append_only_url(scheme: &str, url: &str) -> Result<Option<bool>, OpenError> {
    if scheme == "redis+cluster" {
        return Ok(None);
    }
    let (rebuilt, options) = parse_url(url)?;
    let store = connect_single(scheme, &rebuilt, options).await?;
    Ok(store.append_only().await?)
}

/// The URL without wxopen's own query keys (`prefix`), and the options they set.
fn parse_url(url: &str) -> Result<(String, RedisOptions), OpenError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut options = RedisOptions::default();
    let mut kept = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k == "prefix" {
            validate_prefix(&v).map_err(|e| OpenError::BadUrl {
                reason: e.message().to_owned(),
            })?;
            options.prefix = v.into_owned();
        } else {
            kept.push((k.into_owned(), v.into_owned()));
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        format!("{base}?{q}")
    };
    Ok((rebuilt, options))
}

/// A single-server store at `rebuilt` (a `redis://` or `rediss://` URL).
async fn connect_single(
    scheme: &str,
    rebuilt: &str,
    options: RedisOptions,
) -> Result<RedisStore, OpenError> {
    if scheme == "rediss" && !cfg!(feature = "redis-tls") {
        return Err(OpenError::FeatureDisabled {
            scheme: scheme.to_owned(),
            feature: "redis-tls",
        });
    }
    if url::Url::parse(rebuilt).map_or(true, |u| u.host_str().is_none_or(str::is_empty)) {
        return Err(OpenError::BadUrl {
            reason: format!("{scheme}:// URL without a host"),
        });
    }
    Ok(RedisStore::connect(rebuilt, options).await?)
}

#[cfg(feature = "cluster")]
async fn open_cluster(url: &str, options: RedisOptions) -> Result<RedisStore, OpenError> {
    let rest = url
        .strip_prefix("redis+cluster://")
        .ok_or_else(|| OpenError::BadUrl {
            reason: "expected redis+cluster://host:port[,host:port…]".into(),
        })?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, format!("?{q}")),
        None => (rest, String::new()),
    };
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((a, h)) => (format!("{a}@"), h),
        None => (String::new(), rest),
    };
    let hosts = hosts.trim_end_matches('/');
    let nodes: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{auth}{h}{query}"))
        .collect();
    if nodes.is_empty() {
        return Err(OpenError::BadUrl {
            reason: "redis+cluster:// URL without a node".into(),
        });
    }
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    Ok(RedisStore::connect_cluster(&refs, options).await?)
}

#[cfg(not(feature = "cluster"))]
async fn open_cluster(_url: &str, _o: RedisOptions) -> Result<RedisStore, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: "redis+cluster".into(),
        feature: "cluster",
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn endpoints_and_secrets_never_show_the_password() {
        let url = "redis://user:hunter%402@127.0.0.1:6390/2?pass=other";
        let ep = endpoint_of(url);
        assert_eq!(ep, "redis://127.0.0.1:6390/2");
        let s = secrets_of(url);
        assert!(s.contains(&"hunter%402".to_owned()) && s.contains(&"hunter@2".to_owned()));
        assert!(s.contains(&"other".to_owned()));
        assert_eq!(scrub(&s, "x hunter@2 y".into()), "x [redacted] y");
        assert_eq!(endpoint_of("::nope::"), "(unparsable URL)");
    }

    #[test]
    fn prefixes_are_validated() {
        for ok in ["wxopen", "acme-prod", "a.b:c/d_e"] {
            assert!(validate_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a{b", "a}b", "has space", "ümlaut"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }
}
