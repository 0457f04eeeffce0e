//! The engine's narrow ports ([`Ports`]): the store, the clock (sleep included), the jitter
//! source, the lease-holder name, the settings that shape refreshes, the ticket generation and
//! where client events go. Every token cache of one component shares one `Ports`; nothing in the
//! engine reaches for the client façade.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::config::{ComponentConfig, CooldownPolicy};
use crate::hooks::ClientEvent;
use crate::jitter::JitterSource;
use crate::store::TokenStore;
use crate::tokens::{refresh_deadline, Jitter};

/// The settings of [`ComponentConfig`] the engine reads.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub lease_ttl: Duration,
    pub lease_wait: Duration,
    pub lease_poll: Duration,
    pub token_wait: Duration,
    pub cooldowns: CooldownPolicy,
    pub refresh_margin: Duration,
    pub refresh_jitter: Jitter,
    pub authorizer_scan_interval: Duration,
}

impl Settings {
    pub(crate) fn from_config(config: &ComponentConfig) -> Self {
        Self {
            lease_ttl: config.lease_ttl,
            lease_wait: config.lease_wait,
            lease_poll: config.lease_poll,
            token_wait: config.token_wait,
            cooldowns: config.cooldowns,
            refresh_margin: config.refresh_margin,
            refresh_jitter: config.refresh_jitter,
            authorizer_scan_interval: config.authorizer_scan_interval,
        }
    }
}

/// What every token cache of one component shares.
#[derive(Debug)]
pub(crate) struct Ports {
    pub store: Arc<dyn TokenStore>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn JitterSource>,
    /// This instance's name in the store's leases.
    pub holder: String,
    pub settings: Settings,
    /// Bumped whenever this process stores a newer ticket (ends ticket cool-downs).
    pub ticket_generation: AtomicU64,
    pub events: broadcast::Sender<ClientEvent>,
}

impl Ports {
    /// The clock's time (unix seconds).
    pub(crate) fn now(&self) -> u64 {
        self.clock.unix_seconds()
    }

    /// Tells subscribers (none is fine).
    pub(crate) fn emit(&self, event: ClientEvent) {
        let _ = self.events.send(event);
    }

    pub(crate) fn ticket_generation(&self) -> u64 {
        self.ticket_generation.load(Ordering::SeqCst)
    }

    /// Notes that this process stored a newer ticket.
    pub(crate) fn ticket_stored(&self) {
        self.ticket_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// When a token obtained at `now`, valid `expires_in` seconds, is refreshed ahead: the
    /// margin, spread by one draw of the jitter source.
    pub(crate) fn refresh_at(&self, now: u64, expires_in: u64) -> u64 {
        let s = &self.settings;
        refresh_deadline(
            now,
            expires_in,
            s.refresh_margin,
            s.refresh_jitter.spread(self.jitter.unit()),
        )
    }
}

/// A shared handle.
pub(crate) type SharedPorts = Arc<Ports>;
