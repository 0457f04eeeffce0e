//! [`ComponentClient`]: the async face of the client. Each file holds one idea:
//!
//! | file | holds |
//! |---|---|
//! | `builder` | [`ComponentClientBuilder`] and what it validates |
//! | `push` | the authorization-event URL: tickets, authorization events, their order |
//! | `messages` | messages of authorized accounts and passive replies |
//! | `tokens` | the component and authorizer access tokens (over the token engine) |
//! | `authorization` | pre-auth codes, authorization links, `query_auth`, imports |
//! | `endpoints` | the other component APIs and generic calls |

mod authorization;
mod builder;
mod endpoints;
mod exchange;
mod messages;
mod push;
mod tokens;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;
use wxopen_core::MsgCrypt;

use crate::api::AuthorizerListResponse;
use crate::clock::Clock;
use crate::config::ComponentConfig;
use crate::engine::authorizer_token::AuthorizerKind;
use crate::engine::component_token::ComponentKind;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::hooks::ClientEvent;
use crate::store::{StoreError, StoreKey, StoredValue, TicketRecord, TokenStore, Versioned};
use crate::transport::Transport;

pub use crate::engine::recovery::{AUTHORIZER_LIST_MAX_PAGES, AUTHORIZER_LIST_PAGE};
pub use builder::{ComponentClientBuilder, MAX_LEASE_HOLDER_LEN};
pub use messages::KeyUsed;
pub use push::TICKET_MAX_AHEAD_SECS;
pub use tokens::{AuthorizerState, AuthorizerSummary, IssuedToken, MAX_LIST_PAGE};

/// The longest appid accepted (WeChat appids are 18 characters).
pub const MAX_APPID_LEN: usize = 32;

/// `true` for a well-formed appid: 1 to [`MAX_APPID_LEN`] ASCII letters, digits or `_`.
pub fn valid_appid(appid: &str) -> bool {
    !appid.is_empty()
        && appid.len() <= MAX_APPID_LEN
        && appid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What every part of the client shares.
pub(crate) struct Inner {
    pub(crate) config: ComponentConfig,
    pub(crate) crypt: MsgCrypt,
    pub(crate) previous_crypt: Option<MsgCrypt>,
    pub(crate) replay: Option<Arc<dyn crate::replay::ReplayCache>>,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) jitter: Arc<dyn crate::jitter::JitterSource>,
    pub(crate) transport: Transport,
    pub(crate) events: broadcast::Sender<ClientEvent>,
    pub(crate) holder: String,
    pub(crate) ticket_key: StoreKey,
    pub(crate) component_key: StoreKey,
    pub(crate) component_tokens: Engine<ComponentKind>,
    pub(crate) authorizer_tokens: Engine<AuthorizerKind>,
    ticket_generation: AtomicU64,
    pub(crate) exchanges: exchange::Exchanges,
}

impl Inner {
    pub(crate) fn component_appid(&self) -> &str {
        &self.config.component_appid
    }

    pub(crate) fn emit(&self, event: ClientEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    /// Bumped whenever this process stores a newer ticket (ends ticket cool-downs).
    pub(crate) fn ticket_generation(&self) -> u64 {
        self.ticket_generation.load(Ordering::SeqCst)
    }

    pub(crate) async fn stored_ticket(&self) -> Result<Option<TicketRecord>> {
        Ok(match self.store.get(&self.ticket_key).await? {
            Some(Versioned {
                value: StoredValue::Ticket(t),
                ..
            }) => Some(t),
            Some(_) => {
                return Err(Error::Store(StoreError::corrupt(format!(
                    "record at {} has an unexpected kind",
                    self.ticket_key
                ))))
            }
            None => None,
        })
    }

    pub(crate) async fn authorizer_list(
        self: &Arc<Self>,
        offset: u32,
        count: u32,
    ) -> Result<AuthorizerListResponse> {
        ComponentClient {
            inner: self.clone(),
        }
        .authorizer_list(offset, count)
        .await
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
    /// A client with an in-process [`MemoryStore`](crate::MemoryStore) and the
    /// [`SystemClock`](crate::SystemClock). **The memory store loses the ticket and every
    /// refresh token when the process exits** (a warning is logged); deploy with a durable
    /// store through [`builder`](Self::builder).
    pub fn new(config: ComponentConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder for a client with a custom store, clock or HTTP client.
    pub fn builder(config: ComponentConfig) -> ComponentClientBuilder {
        ComponentClientBuilder::new(config)
    }

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
        self.inner.events.subscribe()
    }

    fn now(&self) -> u64 {
        self.inner.clock.unix_seconds()
    }

    fn component_appid(&self) -> &str {
        &self.inner.config.component_appid
    }

    fn authorizer_key(&self, authorizer_appid: &str) -> Result<StoreKey> {
        check_appid(authorizer_appid)?;
        Ok(StoreKey::authorizer(
            self.component_appid(),
            authorizer_appid,
        ))
    }
}

/// [`valid_appid`] as a typed error.
pub(crate) fn check_appid(appid: &str) -> Result<()> {
    if valid_appid(appid) {
        Ok(())
    } else {
        Err(Error::invalid(
            "authorizer_appid",
            format!("must be 1 to {MAX_APPID_LEN} ASCII letters, digits or '_'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appids_are_validated() {
        assert!(valid_appid("wx570bc396a51b8ff8"));
        assert!(valid_appid("wx_not_listed"));
        assert!(!valid_appid(""));
        assert!(!valid_appid(&"a".repeat(33)));
        assert!(valid_appid(&"a".repeat(32)));
        for bad in ["wx 1", "wx\n1", "wx:1", "wx{1}", "ｗｘ", "wx/../1"] {
            assert!(!valid_appid(bad), "{bad}");
        }
    }
}
