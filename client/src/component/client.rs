//! [`ComponentClient`] and what every part of the façade shares ([`Inner`]).

use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;
use wxopen_core::MsgCrypt;

use super::exchange_cells::Exchanges;
use crate::appid::check_appid;
use crate::clock::Clock;
use crate::config::ComponentConfig;
use crate::engine::authorizer_token::AuthorizerKind;
use crate::engine::component_token::{read_ticket, ComponentKind};
use crate::engine::js_ticket::JsTicketKind;
use crate::engine::{Ports, TokenCache};
use crate::error::Result;
use crate::hooks::ClientEvent;
use crate::store::{StoreKey, TicketRecord, TokenStore};
use crate::transport::Transport;

/// What every part of the façade shares. The token engine does not see it: its caches work
/// over the shared [`Ports`] and their kinds.
pub(crate) struct Inner {
    pub(crate) config: ComponentConfig,
    pub(crate) crypt: MsgCrypt,
    pub(crate) previous_crypt: Option<MsgCrypt>,
    pub(crate) replay: Option<Arc<dyn crate::replay::ReplayCache>>,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) transport: Arc<Transport>,
    pub(crate) ticket_key: StoreKey,
    pub(crate) component_key: StoreKey,
    pub(crate) ports: Arc<Ports>,
    pub(crate) component_tokens: Arc<TokenCache<ComponentKind>>,
    pub(crate) authorizer_tokens: Arc<TokenCache<AuthorizerKind>>,
    pub(crate) js_tickets: Arc<TokenCache<JsTicketKind>>,
    pub(crate) exchanges: Exchanges,
    /// Users' one-time codes (web authorization, `js_code`) being exchanged in this process.
    pub(crate) user_codes: Exchanges<crate::code_exchange::ExchangeOutcome>,
}

impl Inner {
    pub(crate) fn emit(&self, event: ClientEvent) {
        self.ports.emit(event);
    }

    pub(crate) async fn stored_ticket(&self) -> Result<Option<TicketRecord>> {
        read_ticket(self.store.as_ref(), &self.ticket_key).await
    }
}

/// A component (third-party platform) client: handles pushes, keeps the component and
/// authorizer tokens alive in a [`TokenStore`], and calls the component API.
///
/// Cheap to clone (an `Arc` inside); share one per component across the application.
#[derive(Clone)]
pub struct ComponentClient {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for ComponentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentClient")
            .field("component_appid", &self.inner.config.component_appid)
            .field("store", &self.inner.store)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl ComponentClient {
    /// The configuration.
    pub fn config(&self) -> &ComponentConfig {
        &self.inner.config
    }

    /// The token store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Subscribes to [`ClientEvent`]s emitted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ClientEvent> {
        self.inner.ports.events.subscribe()
    }

    pub(super) fn now(&self) -> u64 {
        self.inner.clock.unix_seconds()
    }

    pub(super) fn component_appid(&self) -> &str {
        &self.inner.config.component_appid
    }

    pub(super) fn authorizer_key(&self, authorizer_appid: &str) -> Result<StoreKey> {
        check_appid(authorizer_appid)?;
        Ok(StoreKey::authorizer(
            self.component_appid(),
            authorizer_appid,
        ))
    }
}
