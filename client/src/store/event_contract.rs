//! [`check_event_log_contract`]: what every [`EventLog`] must do for the event plane to lose
//! nothing and deliver in order.

use std::collections::HashSet;
use std::sync::Arc;

use wxopen_proto::delivery::{self, Attempt, DeliveryPolicy};
use wxopen_proto::records::{StoreError, StoreErrorKind};

use super::event_log::{
    Appended, EventFilter, EventLog, NewEvent, MAX_DELIVERY_ID_LEN, MAX_EVENT_FIELDS,
};

/// Concurrent appenders in the race check, and events each.
const APPENDERS: usize = 8;
const EACH: usize = 25;
const T0: u64 = 1_700_000_000_000;

fn err(e: StoreError) -> String {
    format!("event log error: {e}")
}

/// An event of `account` with delivery id `id`.
pub fn sample_event(component: &str, account: &str, id: &str, at_ms: u64) -> NewEvent {
    NewEvent {
        component: component.to_owned(),
        authorizer: account.to_owned(),
        delivery_id: id.to_owned(),
        kind: "text".to_owned(),
        create_time: at_ms / 1000,
        received_at_ms: at_ms,
        fields: vec![
            ("ToUserName".to_owned(), "gh_contract".to_owned()),
            ("MsgType".to_owned(), "text".to_owned()),
            ("Content".to_owned(), format!("hello {id}")),
            // Repeated siblings keep their order.
            ("Item".to_owned(), "1".to_owned()),
            ("Item".to_owned(), "2".to_owned()),
        ],
        meta: vec![("authorizer_verified".to_owned(), "true".to_owned())],
    }
}

async fn append_new(log: &dyn EventLog, e: &NewEvent) -> Result<(u64, u64), String> {
    match log.append(e).await.map_err(err)? {
        Appended::New { id, sequence } => Ok((id, sequence)),
        other => Err(format!("{} must be new, got {other:?}", e.delivery_id)),
    }
}

/// Checks that `log` behaves as the event plane needs, on a component id nobody else uses
/// (`component` must have no events before the check):
///
/// - an append is readable at once, with its fields in order (repeated names kept), state
///   pending and due at its receipt;
/// - a second append with the same delivery id is a duplicate carrying the stored event (and
///   its reply, stored once: the first one stays);
/// - ids increase in append order; each account's sequence counts 1, 2, … and is never reused,
///   even after its events are pruned;
/// - [`EventLog::transition`] is a compare-and-set on the state;
/// - [`EventLog::heads`] gives each account's oldest open event only;
/// - listings filter and page; prune removes settled events only;
/// - limits and bad input are [`StoreErrorKind::InvalidInput`];
/// - concurrent appends of distinct ids all land, concurrent appends of one id land once.
pub async fn check_event_log_contract(
    log: Arc<dyn EventLog>,
    component: &str,
) -> Result<(), String> {
    let l = log.as_ref();
    let empty = l
        .list(component, &EventFilter::default(), None, 10)
        .await
        .map_err(err)?;
    if !empty.is_empty() {
        return Err(format!("{component} must have no events before the check"));
    }

    // Append, read, duplicate.
    let a1 = sample_event(component, "wxaccount_a", "m-1", T0);
    let (id1, seq1) = append_new(l, &a1).await?;
    let got = l
        .get(component, id1)
        .await
        .map_err(err)?
        .ok_or("an appended event must be readable")?;
    if got.event != a1 || got.sequence != 1 || seq1 != 1 || got.reply.is_some() {
        return Err(format!("read back differs: {got:?}"));
    }
    if got.state != delivery::received(T0) {
        return Err(format!("a new event is pending and due: {:?}", got.state));
    }
    l.set_reply(component, id1, "<xml>reply-1</xml>")
        .await
        .map_err(err)?;
    l.set_reply(component, id1, "<xml>reply-2</xml>")
        .await
        .map_err(err)?;
    match l.append(&a1).await.map_err(err)? {
        Appended::Duplicate(e)
            if e.id == id1 && e.reply.as_deref() == Some("<xml>reply-1</xml>") => {}
        other => {
            return Err(format!(
                "a repeated delivery id is a duplicate with the first reply: {other:?}"
            ))
        }
    }

    // Ids and sequences.
    let (id2, seq2) = append_new(l, &sample_event(component, "wxaccount_a", "m-2", T0 + 1)).await?;
    let (id3, seq3) = append_new(l, &sample_event(component, "wxaccount_b", "m-3", T0 + 2)).await?;
    let (id4, seq4) = append_new(l, &sample_event(component, "", "c-4", T0 + 3)).await?;
    if !(id1 < id2 && id2 < id3 && id3 < id4) || (seq2, seq3, seq4) != (2, 1, 1) {
        return Err(format!(
            "ids increase and sequences count per account: {id1} {id2} {id3} {id4} / {seq2} {seq3} {seq4}"
        ));
    }

    // Heads: each account's oldest open event.
    let heads: Vec<u64> = l
        .heads(component, 10)
        .await
        .map_err(err)?
        .iter()
        .map(|e| e.id)
        .collect();
    if heads != vec![id1, id3, id4] {
        return Err(format!(
            "heads are each account's oldest open event: {heads:?}"
        ));
    }

    // Transition is a compare-and-set.
    let policy = DeliveryPolicy::default();
    let pending = delivery::received(T0);
    let claimed = delivery::claim(&pending, T0, &policy).ok_or("claim")?;
    if !l
        .transition(component, id1, &pending, &claimed)
        .await
        .map_err(err)?
    {
        return Err("a transition from the stored state applies".into());
    }
    if l.transition(component, id1, &pending, &claimed)
        .await
        .map_err(err)?
    {
        return Err("a transition from a state no longer stored must not apply".into());
    }
    let done = delivery::settle(&claimed, Attempt::Delivered, T0, T0 + 5, &policy, 0.5);
    if !l
        .transition(component, id1, &claimed, &done)
        .await
        .map_err(err)?
    {
        return Err("settling the claimed event applies".into());
    }
    let heads: Vec<u64> = l
        .heads(component, 10)
        .await
        .map_err(err)?
        .iter()
        .map(|e| e.id)
        .collect();
    if heads != vec![id2, id3, id4] {
        return Err(format!(
            "a delivered event lets its account's next go: {heads:?}"
        ));
    }
    if l.transition(component, 999_999, &pending, &claimed)
        .await
        .map_err(err)?
    {
        return Err("a transition of a missing event must not apply".into());
    }

    // Listing.
    let filter = EventFilter {
        authorizer: Some("wxaccount_a".into()),
        ..EventFilter::default()
    };
    let page: Vec<u64> = l
        .list(component, &filter, None, 10)
        .await
        .map_err(err)?
        .iter()
        .map(|e| e.id)
        .collect();
    if page != vec![id1, id2] {
        return Err(format!("list by account: {page:?}"));
    }
    let delivered = EventFilter {
        state: Some("delivered".into()),
        ..EventFilter::default()
    };
    let page = l.list(component, &delivered, None, 10).await.map_err(err)?;
    if page.len() != 1 || page[0].id != id1 {
        return Err(format!("list by state: {page:?}"));
    }
    let after: Vec<u64> = l
        .list(component, &EventFilter::default(), Some(id2), 1)
        .await
        .map_err(err)?
        .iter()
        .map(|e| e.id)
        .collect();
    if after != vec![id3] {
        return Err(format!("list pages by id: {after:?}"));
    }

    // Prune removes settled events only; sequences are not reused.
    let removed = l.prune(component, T0 + 6, 100).await.map_err(err)?;
    if removed != 1 || l.get(component, id1).await.map_err(err)?.is_some() {
        return Err(format!("prune removes the delivered event: {removed}"));
    }
    if l.prune(component, u64::MAX, 100).await.map_err(err)? != 0 {
        return Err("prune never removes open events".into());
    }
    let (_, seq5) = append_new(l, &sample_event(component, "wxaccount_a", "m-5", T0 + 7)).await?;
    if seq5 != 3 {
        return Err(format!("a sequence is never reused after a prune: {seq5}"));
    }

    // Bad input.
    let mut long = sample_event(component, "wxaccount_a", "x", T0);
    long.delivery_id = "x".repeat(MAX_DELIVERY_ID_LEN + 1);
    let mut many = sample_event(component, "wxaccount_a", "y", T0);
    many.fields = (0..=MAX_EVENT_FIELDS)
        .map(|i| (format!("F{i}"), String::new()))
        .collect();
    let mut nameless = sample_event(component, "wxaccount_a", "", T0);
    nameless.delivery_id.clear();
    for bad in [long, many, nameless] {
        match l.append(&bad).await {
            Err(e) if e.kind() == StoreErrorKind::InvalidInput => {}
            other => return Err(format!("bad input is InvalidInput: {other:?}")),
        }
    }

    // Concurrency: distinct ids all land, one id lands once.
    let mut tasks = Vec::new();
    for w in 0..APPENDERS {
        let log = log.clone();
        let component = component.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..EACH {
                let account = format!("wxrace{}", i % 3);
                let e = sample_event(&component, &account, &format!("race-{w}-{i}"), T0 + 100);
                out.push(log.append(&e).await);
                let same = sample_event(&component, "wxsame", "same-id", T0 + 100);
                out.push(log.append(&same).await);
            }
            out
        }));
    }
    let mut new_ids = HashSet::new();
    let mut same_new = 0;
    for t in tasks {
        for r in t.await.map_err(|e| format!("appender panicked: {e}"))? {
            match r.map_err(err)? {
                Appended::New { id, .. } => {
                    if !new_ids.insert(id) {
                        return Err(format!("id {id} given twice"));
                    }
                    let e = l.get(component, id).await.map_err(err)?.ok_or("lost")?;
                    if e.event.delivery_id == "same-id" {
                        same_new += 1;
                    }
                }
                Appended::Duplicate(e) if e.event.delivery_id == "same-id" => {}
                Appended::Duplicate(e) => {
                    return Err(format!("a distinct id was taken for a duplicate: {e:?}"))
                }
            }
        }
    }
    if same_new != 1 || new_ids.len() != APPENDERS * EACH + 1 {
        return Err(format!(
            "concurrent appends: {} new ({same_new} of the shared id)",
            new_ids.len()
        ));
    }
    let mut seqs: Vec<u64> = l
        .list(
            component,
            &EventFilter {
                authorizer: Some("wxrace0".into()),
                ..EventFilter::default()
            },
            None,
            1_000,
        )
        .await
        .map_err(err)?
        .iter()
        .map(|e| e.sequence)
        .collect();
    seqs.sort_unstable();
    let want: Vec<u64> = (1..=seqs.len() as u64).collect();
    if seqs != want {
        return Err(format!(
            "an account's sequences are 1..n without gaps: {seqs:?}"
        ));
    }
    Ok(())
}
