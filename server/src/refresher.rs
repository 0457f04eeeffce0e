//! The background refresher: keeps the component token and every authorizer's token fresh
//! ahead of expiry even when nobody asks, paced so thousands of accounts never burst upstream,
//! and asks WeChat to push a ticket again when none arrived for a while. Across instances the
//! engine's leases make one instance refresh each key; every wait is on the client's clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wxopen_client::Clock;

use crate::state::{AppState, Component};

/// One page of the authorizer walk.
const PAGE: usize = 500;

/// Runs until `stop` turns true.
pub(crate) async fn run(comp: Arc<Component>, app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let cfg = app.config.refresher.clone();
    let clock = comp.client.clock().clone();
    let mut last_start_push = 0u64;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = clock.sleep(cfg.interval) => {}
        }
        let stopping = || *stop.borrow();
        round(
            &comp,
            &app,
            &cfg,
            clock.as_ref(),
            &mut last_start_push,
            &stopping,
        )
        .await;
    }
}

/// One walk over the component's tokens.
pub(crate) async fn round(
    comp: &Component,
    app: &AppState,
    cfg: &crate::config::RefresherConfig,
    clock: &dyn Clock,
    last_start_push: &mut u64,
    stopping: &(dyn Fn() -> bool + Sync),
) {
    let appid = comp.section.appid.as_str();
    let client = &comp.client;
    let now = clock.unix_seconds();
    // The ticket: WeChat pushes every 10 minutes; ask again when none came for a while.
    match client.stored_ticket().await {
        Ok(t) => {
            let age = t
                .as_ref()
                .map_or(u64::MAX, |t| now.saturating_sub(t.received_at));
            let due = now.saturating_sub(*last_start_push) >= cfg.start_push_ticket_after.as_secs();
            if age >= cfg.start_push_ticket_after.as_secs() && due {
                *last_start_push = now;
                match client.start_push_ticket().await {
                    Ok(msg) => {
                        tracing::info!(component = appid, message = %msg, "asked WeChat to push a ticket")
                    }
                    Err(e) => {
                        tracing::warn!(component = appid, error = %e, "api_start_push_ticket failed")
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(component = appid, error = %e, "store unavailable; refresher skips this round")
        }
    }
    // The component token: asking is enough (past its refresh deadline the engine refreshes
    // in the background; once expired the call waits for the one refresh).
    if let Ok(Some(_)) = client.stored_ticket().await {
        if let Err(e) = client.component_access_token().await {
            tracing::warn!(component = appid, error = %e, "component token not refreshed");
        }
    }
    // Authorizers, a page at a time, pacing the ones that are due.
    let margin = cfg.ahead.as_secs() + 120; // the client's margin plus its jitter
                                            // Rounded up: 1 s / 60 truncated to whole nanoseconds would fit 61 starts in a second.
    let pause = Duration::from_nanos(
        1_000_000_000u64.div_ceil(u64::from(cfg.max_refreshes_per_second.max(1))),
    );
    let mut after: Option<String> = None;
    loop {
        if stopping() {
            return;
        }
        let page = match client.list_authorizers(after.as_deref(), PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(component = appid, error = %e, "cannot list authorizers");
                return;
            }
        };
        let last = page.last().map(|s| s.authorizer_appid.clone());
        for s in page {
            if stopping() {
                return;
            }
            if !s.authorized {
                continue;
            }
            let now = clock.unix_seconds();
            let due = s
                .access_token_expires_at
                .is_none_or(|exp| exp <= now + margin);
            if !due {
                continue;
            }
            app.metrics.refresher_due(appid);
            if let Err(e) = client.authorizer_access_token(&s.authorizer_appid).await {
                tracing::warn!(component = appid, authorizer_appid = %s.authorizer_appid, error = %e, "authorizer token not refreshed");
            }
            clock.sleep(pause).await;
        }
        match last {
            Some(l) => after = Some(l),
            None => return,
        }
    }
}
