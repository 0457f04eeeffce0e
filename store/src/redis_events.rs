//! [`RedisEventLog`]: the event log in Redis, for many instances — each append is one Lua
//! script (dedupe, ids, sequence, the event, its indexes and a stream entry in one atomic
//! step), each state change a compare-and-set script; the component's events also go to a
//! Redis Stream a host may consume with its own consumer group.

use std::fmt;
use std::sync::LazyLock;

use redis::{Script, Value};
use serde::{Deserialize, Serialize};
use wxopen_client::store::event_log::{
    state_from_parts, state_parts, Appended, DeliveryState, EventFilter, EventLog, LoggedEvent,
    NewEvent, MAX_EVENT_PAGE,
};
use wxopen_client::wxopen_proto::delivery;
use wxopen_client::{BoxFuture, StoreError};

use crate::redis_store::RedisStore;

/// Ids a listing reads per round trip, and at most in one call (a filter that matches little
/// costs at most this many reads).
const LIST_BATCH: usize = 500;
const LIST_SCAN_MAX: usize = 50_000;

/// An [`EventLog`] in the Redis of a [`RedisStore`] (same connection, same prefix).
///
/// **Keys**, with prefix `P` and component `C` (one `{C}` hash tag, so Redis Cluster keeps
/// every script on one slot): `P:{C}:event:<id>` (a hash: `j` the event as JSON, `st` its
/// state, `r` the passive reply, `a` its account, `d` its delivery id), `P:{C}:event_ids`
/// (delivery id → id), `P:{C}:event_counter` (ids), `P:{C}:event_seq` (account → last
/// sequence), `P:{C}:events_all` (every id, a sorted set scored by id), `P:{C}:events_open:<account>`
/// (the account's open ids), `P:{C}:events_heads` (account → its oldest open id),
/// `P:{C}:events_settled` (settled ids scored by when).
///
/// **The stream sink**: `P:{C}:events` is a Redis Stream with one entry per event, entry id
/// `0-<id>`, fields `id`, `sequence`, `authorizer`, `delivery_id`, `kind`, `create_time`,
/// `received_at_ms` and `fields` (a JSON array of `[name, value]` pairs in document order). A
/// host reads it with its own consumer group (`XGROUP CREATE P:{C}:events host 0`, then
/// `XREADGROUP GROUP host <consumer> STREAMS P:{C}:events >` and `XACK`); entries are trimmed
/// (`XTRIM MINID`) only below the oldest event the log still keeps, never by length.
#[derive(Clone)]
pub struct RedisEventLog {
    store: RedisStore,
}

impl fmt::Debug for RedisEventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEventLog")
            .field("store", &self.store)
            .finish()
    }
}

/// The stored JSON of an event (its id and sequence are hash fields of their own).
#[derive(Serialize, Deserialize)]
struct Stored {
    component: String,
    authorizer: String,
    delivery_id: String,
    kind: String,
    create_time: u64,
    received_at_ms: u64,
    fields: Vec<(String, String)>,
    #[serde(default)]
    meta: Vec<(String, String)>,
}

/// `name|attempts|at|reason`.
fn encode_state(s: &DeliveryState) -> String {
    let (name, attempts, at, reason) = state_parts(s);
    format!("{name}|{attempts}|{at}|{}", reason.unwrap_or(""))
}

fn decode_state(s: &str) -> Option<DeliveryState> {
    let mut parts = s.split('|');
    let name = parts.next()?;
    let attempts: u32 = parts.next()?.parse().ok()?;
    let at: u64 = parts.next()?.parse().ok()?;
    let reason = parts.next().filter(|r| !r.is_empty());
    state_from_parts(name, attempts, at, reason)
}

fn is_open_state(s: &DeliveryState) -> bool {
    wxopen_client::store::event_log::is_open(s)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => text(other)?.parse().ok(),
    }
}

fn bad(what: &str) -> StoreError {
    StoreError::corrupt(format!("redis event log: {what}"))
}

/// `[j, st, r, i, s]` of one event → the event (`None` when the hash is gone).
fn decode_event(items: &[Value]) -> Result<Option<LoggedEvent>, StoreError> {
    let (Some(j), Some(st)) = (items.first(), items.get(1)) else {
        return Err(bad("short reply"));
    };
    if matches!(j, Value::Nil) {
        return Ok(None);
    }
    let j = text(j).ok_or_else(|| bad("event is not text"))?;
    let s: Stored = serde_json::from_str(&j).map_err(|_| bad("unreadable event"))?;
    let state = text(st)
        .and_then(|t| decode_state(&t))
        .ok_or_else(|| bad("unreadable state"))?;
    let reply = items.get(2).and_then(text);
    let id = items
        .get(3)
        .and_then(int)
        .ok_or_else(|| bad("event without an id"))?;
    let sequence = items
        .get(4)
        .and_then(int)
        .ok_or_else(|| bad("event without a sequence"))?;
    Ok(Some(LoggedEvent {
        id,
        sequence,
        event: NewEvent {
            component: s.component,
            authorizer: s.authorizer,
            delivery_id: s.delivery_id,
            kind: s.kind,
            create_time: s.create_time,
            received_at_ms: s.received_at_ms,
            fields: s.fields,
            meta: s.meta,
        },
        state,
        reply,
    }))
}

// KEYS: 1 event_ids, 2 event_counter, 3 event_seq, 4 events_all, 5 events (stream),
//       6 events_heads
// ARGV: 1 delivery id, 2 account, 3 event JSON (its id and sequence are kept apart, as `i` and
//       `s`: Lua's JSON would round large integers), 4 state,
//       5 event key prefix, 6 open key prefix, 7 kind, 8 create_time, 9 received_at_ms,
//       10 fields JSON
// → {1, id, seq} when new; {0, j, st, r, i, s} for a duplicate.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local h = redis.call('HMGET', ARGV[5] .. existing, 'j', 'st', 'r', 'i', 's')
  return {0, h[1], h[2], h[3], h[4], h[5]}
end
local id = redis.call('INCR', KEYS[2])
local seq = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('HSET', ARGV[5] .. id, 'j', ARGV[3], 'st', ARGV[4], 'a', ARGV[2], 'd', ARGV[1],
  'i', id, 's', seq)
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('ZADD', KEYS[4], id, id)
redis.call('ZADD', ARGV[6] .. ARGV[2], id, id)
if not redis.call('ZSCORE', KEYS[6], ARGV[2]) then
  redis.call('ZADD', KEYS[6], id, ARGV[2])
end
redis.call('XADD', KEYS[5], '0-' .. id, 'id', id, 'sequence', seq, 'authorizer', ARGV[2],
  'delivery_id', ARGV[1], 'kind', ARGV[7], 'create_time', ARGV[8],
  'received_at_ms', ARGV[9], 'fields', ARGV[10])
return {1, id, seq}
"#,
    )
});

// KEYS: 1 event hash, 2 events_heads, 3 events_settled
// ARGV: 1 expected state, 2 next state, 3 next is open (1/0), 4 id, 5 open key prefix,
//       6 settled at (ms)
static TRANSITION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local st = redis.call('HGET', KEYS[1], 'st')
if st ~= ARGV[1] then return 0 end
local account = redis.call('HGET', KEYS[1], 'a')
local open = ARGV[5] .. account
redis.call('HSET', KEYS[1], 'st', ARGV[2])
if ARGV[3] == '1' then
  redis.call('ZADD', open, ARGV[4], ARGV[4])
  redis.call('ZREM', KEYS[3], ARGV[4])
else
  redis.call('ZREM', open, ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
end
local first = redis.call('ZRANGE', open, 0, 0)
if first[1] then
  redis.call('ZADD', KEYS[2], first[1], account)
else
  redis.call('ZREM', KEYS[2], account)
end
return 1
",
    )
});

// KEYS: 1 event hash. ARGV: 1 reply. The first reply stays.
static SET_REPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSETNX', KEYS[1], 'r', ARGV[1])
end
return 1
",
    )
});

// KEYS: 1 events_heads. ARGV: 1 limit → the head ids (each account's oldest open event).
static HEADS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local r = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local out = {}
for i = 2, #r, 2 do out[#out + 1] = r[i] end
return out
",
    )
});

// ARGV: 1 event key prefix, 2.. ids → {j, st, r, i, s} per id.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('HMGET', ARGV[1] .. ARGV[i], 'j', 'st', 'r', 'i', 's')
end
return out
",
    )
});

// KEYS: 1 events_settled, 2 events_all, 3 event_ids, 4 events (stream)
// ARGV: 1 before (ms, exclusive), 2 limit, 3 event key prefix
static PRUNE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  local d = redis.call('HGET', ARGV[3] .. id, 'd')
  if d then redis.call('HDEL', KEYS[3], d) end
  redis.call('DEL', ARGV[3] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
-- The stream keeps every entry the log keeps: trimmed below the oldest one left (all of
-- it when nothing is left, every event then being settled and pruned).
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
if first[1] then
  redis.call('XTRIM', KEYS[4], 'MINID', '0-' .. first[1])
elseif #ids > 0 then
  redis.call('XTRIM', KEYS[4], 'MAXLEN', 0)
end
return #ids
",
    )
});

impl RedisEventLog {
    /// The event log beside `store`'s records.
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }

    fn key(&self, component: &str, name: &str) -> String {
        format!("{}:{{{component}}}:{name}", self.store.prefix())
    }

    /// The Redis Stream of `component`'s events (the stream sink).
    pub fn stream_key(&self, component: &str) -> String {
        self.key(component, "events")
    }

    async fn read_ids(&self, component: &str, ids: &[u64]) -> Result<Vec<LoggedEvent>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = READ.prepare_invoke();
        inv.key(self.key(component, "events_all"));
        inv.arg(self.key(component, "event:"));
        for id in ids {
            inv.arg(*id);
        }
        let Value::Array(rows) = self.store.invoke(&inv, "event log read").await? else {
            return Err(bad("read reply"));
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Value::Array(items) = row else {
                return Err(bad("read row"));
            };
            if let Some(e) = decode_event(&items)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    async fn zrange_ids(
        &self,
        key: String,
        min: String,
        count: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(key)
            .arg(min)
            .arg("+inf")
            .arg("LIMIT")
            .arg(0)
            .arg(count);
        let Value::Array(items) = self.store.query(&cmd, "event log index").await? else {
            return Err(bad("index reply"));
        };
        Ok(items.iter().filter_map(int).collect())
    }
}

impl EventLog for RedisEventLog {
    fn append<'a>(&'a self, e: &'a NewEvent) -> BoxFuture<'a, Result<Appended, StoreError>> {
        Box::pin(async move {
            e.check()?;
            let c = &e.component;
            let template = Stored {
                component: c.clone(),
                authorizer: e.authorizer.clone(),
                delivery_id: e.delivery_id.clone(),
                kind: e.kind.clone(),
                create_time: e.create_time,
                received_at_ms: e.received_at_ms,
                fields: e.fields.clone(),
                meta: e.meta.clone(),
            };
            let json = serde_json::to_string(&template)
                .map_err(|err| StoreError::new(format!("redis event log: {err}")))?;
            let fields = serde_json::to_string(&e.fields)
                .map_err(|err| StoreError::new(format!("redis event log: {err}")))?;
            let mut inv = APPEND.prepare_invoke();
            inv.key(self.key(c, "event_ids"))
                .key(self.key(c, "event_counter"))
                .key(self.key(c, "event_seq"))
                .key(self.key(c, "events_all"))
                .key(self.key(c, "events"))
                .key(self.key(c, "events_heads"))
                .arg(&e.delivery_id)
                .arg(&e.authorizer)
                .arg(json)
                .arg(encode_state(&delivery::received(e.received_at_ms)))
                .arg(self.key(c, "event:"))
                .arg(self.key(c, "events_open:"))
                .arg(&e.kind)
                .arg(e.create_time)
                .arg(e.received_at_ms)
                .arg(fields);
            let Value::Array(items) = self.store.invoke(&inv, "event log append").await? else {
                return Err(bad("append reply"));
            };
            match items.first().and_then(int) {
                Some(1) => {
                    let id = items.get(1).and_then(int).ok_or_else(|| bad("append id"))?;
                    let sequence = items
                        .get(2)
                        .and_then(int)
                        .ok_or_else(|| bad("append seq"))?;
                    Ok(Appended::New { id, sequence })
                }
                Some(0) => {
                    let e = decode_event(&items[1..])?.ok_or_else(|| bad("duplicate vanished"))?;
                    Ok(Appended::Duplicate(Box::new(e)))
                }
                _ => Err(bad("append reply")),
            }
        })
    }

    fn get<'a>(
        &'a self,
        component: &'a str,
        id: u64,
    ) -> BoxFuture<'a, Result<Option<LoggedEvent>, StoreError>> {
        Box::pin(async move { Ok(self.read_ids(component, &[id]).await?.into_iter().next()) })
    }

    fn transition<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        expected: &'a DeliveryState,
        next: &'a DeliveryState,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let settled = wxopen_client::store::event_log::settled_at(next).unwrap_or(0);
            let mut inv = TRANSITION.prepare_invoke();
            inv.key(self.key(component, &format!("event:{id}")))
                .key(self.key(component, "events_heads"))
                .key(self.key(component, "events_settled"))
                .arg(encode_state(expected))
                .arg(encode_state(next))
                .arg(if is_open_state(next) { "1" } else { "0" })
                .arg(id)
                .arg(self.key(component, "events_open:"))
                .arg(settled);
            match self.store.invoke(&inv, "event log transition").await? {
                Value::Int(n) => Ok(n == 1),
                _ => Err(bad("transition reply")),
            }
        })
    }

    fn set_reply<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        reply: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut inv = SET_REPLY.prepare_invoke();
            inv.key(self.key(component, &format!("event:{id}")))
                .arg(reply);
            self.store.invoke(&inv, "event log reply").await.map(drop)
        })
    }

    fn heads<'a>(
        &'a self,
        component: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        Box::pin(async move {
            let limit = limit.min(MAX_EVENT_PAGE);
            if limit == 0 {
                return Ok(Vec::new());
            }
            let mut inv = HEADS.prepare_invoke();
            inv.key(self.key(component, "events_heads")).arg(limit);
            let Value::Array(items) = self.store.invoke(&inv, "event log heads").await? else {
                return Err(bad("heads reply"));
            };
            let ids: Vec<u64> = items.iter().filter_map(int).collect();
            let mut events = self.read_ids(component, &ids).await?;
            events.retain(|e| is_open_state(&e.state));
            events.sort_by_key(|e| e.id);
            Ok(events)
        })
    }

    fn list<'a>(
        &'a self,
        component: &'a str,
        filter: &'a EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        Box::pin(async move {
            let limit = limit.min(MAX_EVENT_PAGE);
            let mut out = Vec::new();
            let mut cursor = after.unwrap_or(0);
            let mut scanned = 0;
            while out.len() < limit && scanned < LIST_SCAN_MAX {
                let ids = self
                    .zrange_ids(
                        self.key(component, "events_all"),
                        format!("({cursor}"),
                        LIST_BATCH,
                    )
                    .await?;
                let Some(&last) = ids.last() else { break };
                scanned += ids.len();
                cursor = last;
                for e in self.read_ids(component, &ids).await? {
                    if out.len() < limit && filter.matches(&e) {
                        out.push(e);
                    }
                }
            }
            Ok(out)
        })
    }

    fn prune<'a>(
        &'a self,
        component: &'a str,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut inv = PRUNE.prepare_invoke();
            inv.key(self.key(component, "events_settled"))
                .key(self.key(component, "events_all"))
                .key(self.key(component, "event_ids"))
                .key(self.key(component, "events"))
                .arg(before_ms)
                .arg(limit)
                .arg(self.key(component, "event:"));
            match self.store.invoke(&inv, "event log prune").await? {
                Value::Int(n) => Ok(usize::try_from(n).unwrap_or(0)),
                _ => Err(bad("prune reply")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxopen_client::wxopen_proto::delivery::DeadReason;

    #[test]
    fn states_round_trip() {
        for s in [
            DeliveryState::Pending {
                attempts: 0,
                next_at_ms: 5,
            },
            DeliveryState::InFlight {
                attempts: 2,
                until_ms: 9,
            },
            DeliveryState::Delivered {
                attempts: 1,
                at_ms: 7,
            },
            DeliveryState::Dead {
                attempts: 3,
                at_ms: 8,
                reason: DeadReason::Discarded,
            },
            DeliveryState::Dead {
                attempts: 3,
                at_ms: 8,
                reason: DeadReason::MaxAge,
            },
        ] {
            assert_eq!(decode_state(&encode_state(&s)), Some(s));
        }
        assert_eq!(decode_state("weird|1|2|"), None);
        assert_eq!(decode_state("pending|x|2|"), None);
    }
}
