//! [`MemoryEventLog`]: the [`EventLog`] in process memory (tests, the demo; loses everything on
//! exit, so a service acknowledging WeChat's pushes needs a durable one).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use wxopen_proto::delivery;
use wxopen_proto::records::StoreError;

use crate::store::event_log::{
    is_open, settled_at, Appended, DeliveryState, EventFilter, EventLog, LoggedEvent, NewEvent,
    MAX_EVENT_PAGE,
};
use crate::store::BoxFuture;

/// One component's log.
#[derive(Debug, Default)]
struct Log {
    next_id: u64,
    events: BTreeMap<u64, LoggedEvent>,
    by_delivery_id: HashMap<String, u64>,
    /// Last sequence given per account (kept when its events are pruned: never reused).
    sequences: HashMap<String, u64>,
}

/// An [`EventLog`] in process memory.
#[derive(Debug, Default)]
pub struct MemoryEventLog {
    logs: Mutex<HashMap<String, Log>>,
}

impl MemoryEventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Log>> {
        self.logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn append_now(&self, event: &NewEvent) -> Result<Appended, StoreError> {
        event.check()?;
        let mut logs = self.lock();
        let log = logs.entry(event.component.clone()).or_default();
        if let Some(id) = log.by_delivery_id.get(&event.delivery_id) {
            if let Some(e) = log.events.get(id) {
                return Ok(Appended::Duplicate(Box::new(e.clone())));
            }
        }
        log.next_id += 1;
        let id = log.next_id;
        let seq = log.sequences.entry(event.authorizer.clone()).or_default();
        *seq += 1;
        let sequence = *seq;
        log.by_delivery_id.insert(event.delivery_id.clone(), id);
        log.events.insert(
            id,
            LoggedEvent {
                id,
                sequence,
                event: event.clone(),
                state: delivery::received(event.received_at_ms),
                reply: None,
            },
        );
        Ok(Appended::New { id, sequence })
    }

    fn with_event<T>(
        &self,
        component: &str,
        id: u64,
        f: impl FnOnce(&mut LoggedEvent) -> T,
    ) -> Option<T> {
        let mut logs = self.lock();
        logs.get_mut(component)
            .and_then(|l| l.events.get_mut(&id))
            .map(f)
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl EventLog for MemoryEventLog {
    fn append<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<Appended, StoreError>> {
        ready(self.append_now(event))
    }

    fn get<'a>(
        &'a self,
        component: &'a str,
        id: u64,
    ) -> BoxFuture<'a, Result<Option<LoggedEvent>, StoreError>> {
        ready(Ok(self.with_event(component, id, |e| e.clone())))
    }

    fn transition<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        expected: &'a DeliveryState,
        next: &'a DeliveryState,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let done = self.with_event(component, id, |e| {
            if e.state == *expected {
                e.state = next.clone();
                true
            } else {
                false
            }
        });
        ready(Ok(done.unwrap_or(false)))
    }

    fn set_reply<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        reply: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with_event(component, id, |e| {
            if e.reply.is_none() {
                e.reply = Some(reply.to_owned());
            }
        });
        ready(Ok(()))
    }

    fn heads<'a>(
        &'a self,
        component: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        let logs = self.lock();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        if let Some(log) = logs.get(component) {
            for e in log.events.values() {
                if out.len() >= limit.min(MAX_EVENT_PAGE) {
                    break;
                }
                if is_open(&e.state) && seen.insert(e.event.authorizer.as_str()) {
                    out.push(e.clone());
                }
            }
        }
        ready(Ok(out))
    }

    fn list<'a>(
        &'a self,
        component: &'a str,
        filter: &'a EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        let logs = self.lock();
        let out = logs
            .get(component)
            .map(|log| {
                log.events
                    .range(after.map_or(0, |a| a.saturating_add(1))..)
                    .map(|(_, e)| e)
                    .filter(|e| filter.matches(e))
                    .take(limit.min(MAX_EVENT_PAGE))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        ready(Ok(out))
    }

    fn prune<'a>(
        &'a self,
        component: &'a str,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        let mut logs = self.lock();
        let mut removed = 0;
        if let Some(log) = logs.get_mut(component) {
            let old: Vec<(u64, String)> = log
                .events
                .values()
                .filter(|e| settled_at(&e.state).is_some_and(|t| t < before_ms))
                .take(limit)
                .map(|e| (e.id, e.event.delivery_id.clone()))
                .collect();
            for (id, delivery_id) in old {
                log.events.remove(&id);
                log.by_delivery_id.remove(&delivery_id);
                removed += 1;
            }
        }
        ready(Ok(removed))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::check_event_log_contract;

    #[tokio::test]
    async fn memory_event_log_meets_the_contract() {
        let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
        check_event_log_contract(log.clone(), "wxcontract")
            .await
            .unwrap();
        // Components do not share a log.
        check_event_log_contract(log, "wxcontract2").await.unwrap();
    }
}
