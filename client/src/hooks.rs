//! Notifications for the host application (`ComponentClient::subscribe`).
//!
//! Events go out on a `tokio::sync::broadcast` channel; a slow subscriber loses the oldest
//! events (it sees `RecvError::Lagged`), the client never blocks on it. No event carries a
//! secret.

/// Sees every attempt of every WeChat API call (for metrics: calls by endpoint and errcode,
/// latency). Called inline, so keep it cheap; it never sees a token or a body.
pub trait ApiObserver: Send + Sync + std::fmt::Debug {
    /// One attempt at `endpoint` (e.g. `api_component_token`) finished after `latency`,
    /// with `error` (`None`: success). A call with retries reports each attempt.
    fn on_attempt(
        &self,
        endpoint: &'static str,
        error: Option<&crate::Error>,
        latency: std::time::Duration,
    );
}

/// Something the client did or learned that a host application may want to react to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A `component_verify_ticket` push was handled.
    TicketReceived {
        /// Its `CreateTime`.
        create_time: u64,
        /// `false` when it was a duplicate or older than the stored ticket.
        stored: bool,
    },
    /// A new component access token was fetched and stored.
    ComponentTokenRefreshed {
        /// Its expiry (unix seconds).
        expires_at: u64,
    },
    /// A new authorizer access token was fetched and stored.
    AuthorizerTokenRefreshed {
        /// The authorizer.
        authorizer_appid: String,
        /// Its expiry (unix seconds).
        expires_at: u64,
    },
    /// `query_auth` stored an authorizer's tokens.
    AuthorizerAuthorized {
        /// The authorizer.
        authorizer_appid: String,
    },
    /// An `authorized` / `updateauthorized` push arrived; call `query_auth` with its code.
    AuthorizationCodeReceived {
        /// The authorizer.
        authorizer_appid: String,
        /// `true` for `updateauthorized`.
        update: bool,
    },
    /// An `unauthorized` push revoked an authorizer (its tokens were replaced by a tombstone).
    AuthorizerUnauthorized {
        /// The authorizer.
        authorizer_appid: String,
    },
    /// The refresh token of the account asked for was recovered from `api_get_authorizer_list`
    /// (others restored by the same scan are counted in `AuthorizerListScanned`).
    RefreshTokenRecovered {
        /// The authorizer.
        authorizer_appid: String,
    },
    /// One full scan of `api_get_authorizer_list` finished.
    AuthorizerListScanned {
        /// Accounts listed with a usable refresh token.
        listed: u64,
        /// Accounts whose refresh token the scan restored in the store.
        restored: u64,
        /// Entries skipped (empty refresh token or malformed appid).
        skipped: u64,
    },
    /// An authorizer got a tombstone: it must authorize the component again.
    AuthorizerRevoked {
        /// The authorizer.
        authorizer_appid: String,
        /// The WeChat code that led here (61023, 61003), if any.
        errcode: Option<i64>,
    },
    /// A refresh failed; its error is remembered for a cool-down (see `CooldownPolicy`).
    RefreshFailed {
        /// `None` for the component token, else the authorizer.
        authorizer_appid: Option<String>,
        /// The WeChat code, if any.
        errcode: Option<i64>,
    },
    /// WeChat rejected a token (40001/40014/42001); it was expired in the store.
    TokenRejected {
        /// `None` for the component token, else the authorizer.
        authorizer_appid: Option<String>,
        /// The errcode.
        errcode: i64,
    },
    /// A new JS-SDK ticket of an authorizer was fetched and stored.
    JsTicketRefreshed {
        /// The authorizer.
        authorizer_appid: String,
        /// Which ticket.
        ticket_type: crate::js_ticket::JsTicketType,
        /// Its expiry (unix seconds).
        expires_at: u64,
    },
    /// Fetching a JS-SDK ticket failed (remembered for a cool-down), or a ticket was rejected.
    JsTicketFailed {
        /// The authorizer.
        authorizer_appid: String,
        /// Which ticket.
        ticket_type: crate::js_ticket::JsTicketType,
        /// The WeChat code, if any.
        errcode: Option<i64>,
    },
}
