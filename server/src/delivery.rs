//! The delivery worker of each component with a webhook ([`run`], started by `app.rs`): its
//! events to the webhook at least once, in order per account (`wxopen_client::delivery`),
//! counted in the metrics; and the pruning of settled events past their retention.

use std::sync::Arc;
use std::time::Duration;

use wxopen_client::delivery::DeliveryWorker;

use crate::metrics::Metrics;
use crate::state::Component;

/// The delivery worker of one component (see [`DeliveryWorker`]), counting its passes.
pub(crate) fn worker(comp: &Component, metrics: Arc<Metrics>) -> Option<DeliveryWorker> {
    let outbox = comp.outbox.as_ref()?;
    let component = comp.section.appid.clone();
    let observer_component = component.clone();
    Some(
        DeliveryWorker::new(component, outbox.log.clone(), outbox.sink.clone())
            .policy(outbox.policy)
            .clock(comp.client.clock().clone())
            .reply_budget(outbox.hook().timeout())
            .waker_from(outbox.waker.clone())
            .on_pass(Arc::new(move |pass| {
                crate::observe::delivery_pass(&metrics, &observer_component, pass);
            })),
    )
}

/// How often settled events past their retention are pruned, and how many at most each time.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const PRUNE_BATCH: usize = 1_000;

/// Runs `comp`'s delivery worker until `stop` turns `true`, pruning settled events older than
/// the retention every 10 minutes.
pub(crate) async fn run(
    comp: Arc<Component>,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let (Some(outbox), Some(worker)) = (&comp.outbox, worker(&comp, metrics)) else {
        return;
    };
    let prune = {
        let (log, clock, component, retention) = (
            outbox.log.clone(),
            comp.client.clock().clone(),
            comp.section.appid.clone(),
            outbox.retention,
        );
        let mut stop = stop.clone();
        async move {
            loop {
                let before = clock
                    .unix_millis()
                    .saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
                match log.prune(&component, before, PRUNE_BATCH).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(component = %component, pruned = n, "settled events past their retention removed");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(component = %component, error = %e, "event log: prune failed; retried later");
                    }
                }
                tokio::select! {
                    () = clock.sleep(PRUNE_EVERY) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    };
    tokio::join!(worker.run(stop), prune);
}
