//! Notifications for the host application (`ComponentClient::subscribe`).
//!
//! Events go out on a `tokio::sync::broadcast` channel; a slow subscriber loses the oldest
//! events (it sees `RecvError::Lagged`), the client never blocks on it. No event carries a
//! secret.

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
    /// An `unauthorized` push arrived; the authorizer's tokens were dropped.
    AuthorizerUnauthorized {
        /// The authorizer.
        authorizer_appid: String,
    },
    /// A lost or superseded refresh token was recovered from `api_get_authorizer_list`.
    RefreshTokenRecovered {
        /// The authorizer.
        authorizer_appid: String,
    },
    /// WeChat rejected a token (40001/40014/42001); it was expired in the store.
    TokenRejected {
        /// `None` for the component token, else the authorizer.
        authorizer_appid: Option<String>,
        /// The errcode.
        errcode: i64,
    },
}
