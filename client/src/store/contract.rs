//! [`check_store_contract`]: what every [`TokenStore`] must do for the token engine to be right.

use std::time::Duration;

use wxopen_proto::records::{
    AuthorizerRecord, CasOutcome, RevokeReason, RevokedRecord, ScanRecord, StoreError,
    StoreErrorKind, StoreKey, StoredValue, TicketRecord, MAX_CLAIM_ID_LEN,
};

use super::port::TokenStore;
use crate::secret::{AuthorizerAccessToken, AuthorizerRefreshToken, ComponentVerifyTicket};

/// How many writers race in the concurrent compare-and-set check.
const RACERS: usize = 16;
/// The short lease used to check expiry, and how long the check waits it out.
const SHORT_TTL: Duration = Duration::from_millis(300);
const SHORT_TTL_WAIT: Duration = Duration::from_millis(900);
const LONG_TTL: Duration = Duration::from_secs(60);

fn ticket(v: &str, t: u64) -> StoredValue {
    StoredValue::Ticket(TicketRecord {
        ticket: ComponentVerifyTicket::new(v),
        create_time: t,
        received_at: t,
    })
}

fn err(e: StoreError) -> String {
    format!("store error: {e}")
}

async fn expect_empty(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    match store.get(key).await.map_err(err)? {
        None => Ok(()),
        Some(_) => Err(format!("{key} must be empty before the check")),
    }
}

async fn insert(store: &dyn TokenStore, key: &StoreKey, value: StoredValue) -> Result<u64, String> {
    match store
        .compare_and_set(key, None, value, None)
        .await
        .map_err(err)?
    {
        CasOutcome::Applied { version } if version != 0 => Ok(version),
        other => Err(format!(
            "insert into an empty key must apply with a non-zero version: {other:?}"
        )),
    }
}

async fn delete(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    if let Some(v) = store.get(key).await.map_err(err)? {
        if !store
            .compare_and_delete(key, v.version)
            .await
            .map_err(err)?
        {
            return Err(format!("delete of {key} at its current version must apply"));
        }
    }
    Ok(())
}

/// Checks that a [`TokenStore`] implementation honours the contract the client relies on:
///
/// - versioned compare-and-set and compare-and-delete (non-zero, changing versions; stale
///   versions conflict; of `16` concurrent writers at one version exactly one wins);
/// - values round-trip exactly, secrets and every record kind included;
/// - leases are exclusive, taken again by their holder, extended and released only by it,
///   expire after their time-to-live (the check waits out a 300 ms lease), and live apart from
///   records (a lease on a key that holds a record leaves the record alone, before and after
///   the lease expires);
/// - a fenced write applies only while its holder holds the lease;
/// - when the store offers them: listing pages authorizers in byte order, one component only,
///   and `claim_once` answers `true` once per id until its time-to-live ends (the check waits
///   out a 50 ms claim), per component, refusing over-long ids.
///
/// Run it in the test suite of a custom backend against an empty namespace; it writes and
/// deletes records under the component appid `component_appid` and takes about one second.
/// Returns a description of the first violation.
pub async fn check_store_contract(
    store: &dyn TokenStore,
    component_appid: &str,
) -> Result<(), String> {
    let key = StoreKey::ticket(component_appid);
    let token_key = StoreKey::component_token(component_appid);
    let auth_key = StoreKey::authorizer(component_appid, "wxcontract0authorizer");
    let scan_key = StoreKey::authorizer_scan(component_appid);
    for k in [&key, &token_key, &auth_key, &scan_key] {
        expect_empty(store, k).await?;
    }
    let result = run(store, &key, &token_key, &auth_key, &scan_key).await;
    // Clean up whatever a failed step left, so the check can run again.
    for k in [&key, &token_key, &auth_key, &scan_key] {
        let _ = delete(store, k).await;
        for holder in ["holder-a", "holder-b"] {
            let _ = store.release_lease(k, holder).await;
        }
    }
    result
}

async fn run(
    store: &dyn TokenStore,
    key: &StoreKey,
    token_key: &StoreKey,
    auth_key: &StoreKey,
    scan_key: &StoreKey,
) -> Result<(), String> {
    versions(store, key).await?;
    concurrent_writers(store, key).await?;
    round_trips(store, auth_key, scan_key).await?;
    leases(store, token_key).await?;
    leases_apart_from_records(store, key).await?;
    fencing(store, token_key).await?;
    listing(store, auth_key).await?;
    claims(store, auth_key.component_appid()).await?;
    Ok(())
}

/// `claim_once`, when the store offers it.
async fn claims(store: &dyn TokenStore, component: &str) -> Result<(), String> {
    let nonce: u64 = rand::random();
    let id = format!("contract-{nonce:016x}");
    let ttl = Duration::from_millis(50);
    match store.claim_once(component, &id, ttl).await {
        Err(e) if e.kind() == StoreErrorKind::Unsupported => return Ok(()),
        Err(e) => return Err(err(e)),
        Ok(false) => return Err("the first claim of a new id must answer true".into()),
        Ok(true) => {}
    }
    if store.claim_once(component, &id, ttl).await.map_err(err)? {
        return Err(
            "a second claim of the same id inside its time-to-live must answer false".into(),
        );
    }
    let other = format!("{component}x");
    if !store.claim_once(&other, &id, ttl).await.map_err(err)? {
        return Err("claims of another component must not collide".into());
    }
    let long = "x".repeat(MAX_CLAIM_ID_LEN + 1);
    match store.claim_once(component, &long, ttl).await {
        Err(e) if e.kind() == StoreErrorKind::InvalidInput => {}
        other => {
            return Err(format!(
                "an over-long claim id must be InvalidInput: {other:?}"
            ))
        }
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    if !store.claim_once(component, &id, ttl).await.map_err(err)? {
        return Err("a claim must be free again once its time-to-live ended".into());
    }
    Ok(())
}

/// Listing, when the store offers it: pages in ascending order, bounded by `limit`, only
/// authorizers of the one component.
async fn listing(store: &dyn TokenStore, auth_key: &StoreKey) -> Result<(), String> {
    let component = auth_key.component_appid().to_owned();
    match store.list_authorizers(&component, None, 10).await {
        Err(e) if e.kind() == StoreErrorKind::Unsupported => return Ok(()),
        Err(e) => return Err(err(e)),
        Ok(v) if !v.is_empty() => return Err(format!("listing an empty component found {v:?}")),
        Ok(_) => {}
    }
    let names = ["wxcontract0b", "wxcontract0a", "wxcontract0c"];
    let keys: Vec<StoreKey> = names
        .iter()
        .map(|n| StoreKey::authorizer(&component, n))
        .collect();
    let other = StoreKey::authorizer(&format!("{component}x"), "wxcontract0z");
    for k in keys.iter().chain([&other]) {
        insert(store, k, ticket_like_authorizer()).await?;
    }
    let result = async {
        let first = store
            .list_authorizers(&component, None, 2)
            .await
            .map_err(err)?;
        if first != ["wxcontract0a", "wxcontract0b"] {
            return Err(format!(
                "first page of two must be a, b in order: {first:?}"
            ));
        }
        let rest = store
            .list_authorizers(&component, Some("wxcontract0b"), 10)
            .await
            .map_err(err)?;
        if rest != ["wxcontract0c"] {
            return Err(format!("the page after b must be c alone: {rest:?}"));
        }
        Ok(())
    }
    .await;
    for k in keys.iter().chain([&other]) {
        delete(store, k).await?;
    }
    result
}

fn ticket_like_authorizer() -> StoredValue {
    StoredValue::Authorizer(AuthorizerRecord {
        access_token: None,
        refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@listing")),
        obtained_at: 0,
        refresh_at: 0,
        expires_at: 0,
        authorized_at: 1,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    })
}

async fn versions(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    let v1 = insert(store, key, ticket("t1", 1)).await?;
    match store.get(key).await.map_err(err)? {
        Some(v) if v.version == v1 && v.value == ticket("t1", 1) => {}
        other => return Err(format!("read back mismatch: {other:?}")),
    }
    match store
        .compare_and_set(key, None, ticket("t2", 2), None)
        .await
        .map_err(err)?
    {
        CasOutcome::Conflict { current: Some(c) } if c.version == v1 => {}
        other => {
            return Err(format!(
                "insert over an existing record must conflict and report it: {other:?}"
            ))
        }
    }
    let v2 = match store
        .compare_and_set(key, Some(v1), ticket("t2", 2), None)
        .await
        .map_err(err)?
    {
        CasOutcome::Applied { version } if version != v1 && version != 0 => version,
        other => {
            return Err(format!(
                "update at the current version must apply with a new version: {other:?}"
            ))
        }
    };
    if !matches!(
        store
            .compare_and_set(key, Some(v1), ticket("t3", 3), None)
            .await
            .map_err(err)?,
        CasOutcome::Conflict { .. }
    ) {
        return Err("update at a stale version must conflict".into());
    }
    if store.compare_and_delete(key, v1).await.map_err(err)? {
        return Err("delete at a stale version must not apply".into());
    }
    if !store.compare_and_delete(key, v2).await.map_err(err)? {
        return Err("delete at the current version must apply".into());
    }
    if store.get(key).await.map_err(err)?.is_some() {
        return Err("record still present after delete".into());
    }
    if !matches!(
        store
            .compare_and_set(key, Some(v2), ticket("t4", 4), None)
            .await
            .map_err(err)?,
        CasOutcome::Conflict { current: None }
    ) {
        return Err("update of a deleted record must conflict".into());
    }
    Ok(())
}

async fn concurrent_writers(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    let v = insert(store, key, ticket("base", 10)).await?;
    let writes = (0..RACERS).map(|i| {
        let value = ticket(&format!("racer-{i}"), 11 + i as u64);
        store.compare_and_set(key, Some(v), value, None)
    });
    let outcomes = futures_util::future::join_all(writes).await;
    let mut applied = Vec::new();
    for (i, o) in outcomes.into_iter().enumerate() {
        match o.map_err(err)? {
            CasOutcome::Applied { version } => applied.push((i, version)),
            CasOutcome::Conflict { .. } => {}
            CasOutcome::LeaseLost => return Err("an unfenced write reported LeaseLost".into()),
            other => return Err(format!("unexpected outcome {other:?}")),
        }
    }
    let [(winner, version)] = applied[..] else {
        return Err(format!(
            "{RACERS} concurrent writers at one version: {} applied, exactly 1 must",
            applied.len()
        ));
    };
    match store.get(key).await.map_err(err)? {
        Some(cur)
            if cur.version == version
                && cur.value == ticket(&format!("racer-{winner}"), 11 + winner as u64) => {}
        other => {
            return Err(format!(
                "the winning write is not what is stored: {other:?}"
            ))
        }
    }
    delete(store, key).await
}

async fn round_trips(
    store: &dyn TokenStore,
    auth_key: &StoreKey,
    scan_key: &StoreKey,
) -> Result<(), String> {
    let odd = "refreshtoken@@@\"quoted\" \\back\\slash\n\t<xml>&amp; 雪 \u{1F600} \u{0}";
    let values = [
        StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(AuthorizerAccessToken::new(format!("at-{odd}"))),
            refresh_token: Some(AuthorizerRefreshToken::new(odd)),
            obtained_at: u64::MAX - 1,
            refresh_at: 1,
            expires_at: u64::MAX,
            authorized_at: 0,
            event_time: 0,
            token_serial: 0,
            func_info: None,
            func_info_removed: Vec::new(),
        }),
        StoredValue::Authorizer(AuthorizerRecord {
            access_token: None,
            refresh_token: None,
            obtained_at: 0,
            refresh_at: 0,
            expires_at: 0,
            authorized_at: 7,
            event_time: 0,
            token_serial: 0,
            func_info: None,
            func_info_removed: Vec::new(),
        }),
        StoredValue::AuthorizerRevoked(RevokedRecord {
            since: 1_700_000_000,
            reason: RevokeReason::RefreshTokenInvalid,
            errcode: Some(61023),
            event_time: 0,
            token_serial: 0,
        }),
    ];
    for value in values {
        let version = insert(store, auth_key, value.clone()).await?;
        match store.get(auth_key).await.map_err(err)? {
            Some(v) if v.version == version && v.value == value => {}
            other => return Err(format!("value did not round-trip exactly: {other:?}")),
        }
        delete(store, auth_key).await?;
    }
    let scan = StoredValue::AuthorizerScan(ScanRecord {
        started_at: 5,
        listed: 3,
    });
    insert(store, scan_key, scan.clone()).await?;
    match store.get(scan_key).await.map_err(err)? {
        Some(v) if v.value == scan => {}
        other => return Err(format!("scan record did not round-trip: {other:?}")),
    }
    delete(store, scan_key).await
}

async fn leases(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    let lease = |holder: &'static str, ttl| store.try_lease(key, holder, ttl);
    if !lease("holder-a", LONG_TTL).await.map_err(err)? {
        return Err("a free lease must be granted".into());
    }
    if !lease("holder-a", LONG_TTL).await.map_err(err)? {
        return Err("the holder must be able to take its own lease again".into());
    }
    if lease("holder-b", LONG_TTL).await.map_err(err)? {
        return Err("a held lease must not be granted to another holder".into());
    }
    if store
        .extend_lease(key, "holder-b", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("only the holder may extend a lease".into());
    }
    if !store
        .extend_lease(key, "holder-a", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("the holder must be able to extend its lease".into());
    }
    store.release_lease(key, "holder-b").await.map_err(err)?;
    if lease("holder-b", LONG_TTL).await.map_err(err)? {
        return Err("only the holder may release a lease".into());
    }
    store.release_lease(key, "holder-a").await.map_err(err)?;
    if store
        .extend_lease(key, "holder-a", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("a released lease must not be extendable".into());
    }
    if !lease("holder-b", SHORT_TTL).await.map_err(err)? {
        return Err("a released lease must be granted again".into());
    }
    tokio::time::sleep(SHORT_TTL_WAIT).await;
    if store
        .extend_lease(key, "holder-b", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("an expired lease must not be extendable".into());
    }
    if !lease("holder-a", LONG_TTL).await.map_err(err)? {
        return Err(format!(
            "a lease must expire after its time-to-live ({} ms)",
            SHORT_TTL.as_millis()
        ));
    }
    store.release_lease(key, "holder-a").await.map_err(err)?;
    Ok(())
}

async fn leases_apart_from_records(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    let version = insert(store, key, ticket("leased", 20)).await?;
    if !store
        .try_lease(key, "holder-a", SHORT_TTL)
        .await
        .map_err(err)?
    {
        return Err("a lease on a key that holds a record must be granted".into());
    }
    let intact = |what: &'static str| async move {
        match store.get(key).await.map_err(err)? {
            Some(v) if v.version == version && v.value == ticket("leased", 20) => Ok(()),
            other => Err(format!(
                "the lease collides with the record at the same key ({what}): {other:?}"
            )),
        }
    };
    intact("while leased").await?;
    tokio::time::sleep(SHORT_TTL_WAIT).await;
    intact("after the lease expired").await?;
    if !store
        .try_lease(key, "holder-b", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("a lease must expire although its key holds a record".into());
    }
    store.release_lease(key, "holder-b").await.map_err(err)?;
    intact("after the lease was released").await?;
    delete(store, key).await
}

async fn fencing(store: &dyn TokenStore, key: &StoreKey) -> Result<(), String> {
    let value = |n: u64| ticket(&format!("fenced-{n}"), n);
    if !store
        .try_lease(key, "holder-a", SHORT_TTL)
        .await
        .map_err(err)?
    {
        return Err("a free lease must be granted".into());
    }
    let v1 = match store
        .compare_and_set(key, None, value(1), Some("holder-a"))
        .await
        .map_err(err)?
    {
        CasOutcome::Applied { version } => version,
        other => {
            return Err(format!(
                "a fenced write by the holder must apply: {other:?}"
            ))
        }
    };
    if !matches!(
        store
            .compare_and_set(key, Some(v1), value(2), Some("holder-b"))
            .await
            .map_err(err)?,
        CasOutcome::LeaseLost
    ) {
        return Err("a fenced write by a non-holder must be refused with LeaseLost".into());
    }
    // The holder loses the lease (it expires) and another instance takes it.
    tokio::time::sleep(SHORT_TTL_WAIT).await;
    if !store
        .try_lease(key, "holder-b", LONG_TTL)
        .await
        .map_err(err)?
    {
        return Err("an expired lease must be granted to another holder".into());
    }
    if !matches!(
        store
            .compare_and_set(key, Some(v1), value(3), Some("holder-a"))
            .await
            .map_err(err)?,
        CasOutcome::LeaseLost
    ) {
        return Err("a fenced write after the lease was lost must be refused".into());
    }
    match store.get(key).await.map_err(err)? {
        Some(v) if v.version == v1 && v.value == value(1) => {}
        other => {
            return Err(format!(
                "a refused fenced write changed the record: {other:?}"
            ))
        }
    }
    if !matches!(
        store
            .compare_and_set(key, Some(v1 ^ 0x5555), value(4), Some("holder-b"))
            .await
            .map_err(err)?,
        CasOutcome::Conflict { .. }
    ) {
        return Err("a fenced write at a stale version must conflict".into());
    }
    if !matches!(
        store
            .compare_and_set(key, Some(v1), value(5), Some("holder-b"))
            .await
            .map_err(err)?,
        CasOutcome::Applied { .. }
    ) {
        return Err("a fenced write by the new holder must apply".into());
    }
    store.release_lease(key, "holder-b").await.map_err(err)?;
    delete(store, key).await
}
