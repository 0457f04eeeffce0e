//! `wxopen-client`: the WeChat Open Platform third-party platform ("component") client.
//!
//! It keeps the component and authorizer tokens alive without the host application thinking
//! about it: tickets from pushes are stored (newest wins), tokens are cached in a
//! [`TokenStore`] and refreshed ahead of expiry by exactly one caller (in process and, through a
//! store lease, across instances), rejected tokens are compare-and-expired and retried once, a
//! lost refresh token is recovered from the authorizer list, and transient failures get bounded
//! backoff and then the fallback API domain.
//!
//! ```no_run
//! use wxopen_client::{
//!     AuthPage, AuthUrlOptions, ComponentClient, ComponentConfig, ComponentEvent, PushQuery,
//! };
//!
//! # async fn run() -> Result<(), wxopen_client::Error> {
//! let config = ComponentConfig::new(
//!     "wx_component_appid",
//!     "component_appsecret",
//!     "message_token",
//!     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", // EncodingAESKey
//! );
//! let client = ComponentClient::new(config)?;
//!
//! // 1. WeChat POSTs a ticket every 10 minutes to the authorization event URL. The handler
//! //    verifies msg_signature, decrypts, stores the ticket and never touches the network.
//! # let (raw_query, body) = ("timestamp=1&nonce=n&msg_signature=s", b"<xml/>".to_vec());
//! let query = PushQuery::parse(raw_query)?;
//! let ack = client.handle_component_push(&query, &body).await?;
//! // ...answer the HTTP request with `ack.reply` ("success").
//!
//! // 2. Send an admin to the authorization page (a fresh pre_auth_code is fetched).
//! let request = client
//!     .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/wx/callback"))
//!     .await?;
//! // Put `request.url` in a link on a page of your registered domain; keep
//! // `request.pre_auth_code` to recognise the `authorized` push it leads to.
//! println!("{}", request.url);
//! // The redirect comes back as `?auth_code=…&expires_in=600`.
//! # let redirect_query = "auth_code=queryauthcode@@@x&expires_in=600";
//! let callback = wxopen_client::AuthCallback::from_query(redirect_query)?;
//! let _ = client.query_auth(&callback.auth_code).await?;
//!
//! // 3. The redirect (or the `authorized` push) carries an authorization code.
//! if let ComponentEvent::Authorized(grant) = &ack.event {
//!     let info = client.query_auth(&grant.authorization_code).await?; // tokens stored here
//!
//!     // 4. From now on, ask for the token whenever you call an API for that account.
//!     let token = client.authorizer_access_token(&info.authorizer_appid).await?;
//!     let _ = token.expose_secret(); // Debug/Display of `token` print "[redacted]"
//! }
//! # Ok(())
//! # }
//! ```
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | [`ComponentConfig`] |
//! | [`secret`] | redacting newtypes for secrets, tokens and codes |
//! | [`clock`] | [`Clock`], [`SystemClock`], [`ManualClock`] |
//! | [`tokens`] | pure expiry and refresh-ahead decisions, [`Jitter`] |
//! | [`retry`] | pure bounded backoff and failover schedule |
//! | [`errcode`] | pure `errcode` classification |
//! | [`api`] | endpoints, URL building, typed bodies, [`api::parse_response`] |
//! | [`auth_url`] | authorization page URLs |
//! | [`authorization`] | [`AuthorizationRequest`], [`AuthCallback`] (the typed redirect) |
//! | [`xml`], [`event`], [`push`] | push parsing: [`parse_component_event`], [`PushQuery`] |
//! | [`message`] | messages of authorized accounts: [`parse_authorizer_message`], passive replies |
//! | [`store`], [`memory_store`] | [`TokenStore`] and [`MemoryStore`] |
//! | [`delivery`] | the delivery worker: an account's events to the host at least once, in order |
//! | [`store::event_log`], [`memory_event_log`] | [`EventLog`](store::EventLog) and [`MemoryEventLog`] |
//! | [`hooks`] | [`ClientEvent`] notifications |
//! | [`health`] | [`ComponentHealth`]: is a fresh ticket stored? |
//! | [`error`] | [`Error`] |
//! | `engine` | the token engine: a pure machine (`(now, record, cell) → decision`), leases, fenced writes, recovery |
//! | `component` | the async face, [`ComponentClient`], one file per idea |
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `avx512` | no | `wxopen-core`'s AVX-512 VBMI base64 decoder for pushes (x86-64, runtime-detected; the only `unsafe` code in wxopen, see the `wxopen-core` README) |
//!
//! Without it the whole client is safe Rust (`wxopen-core` is then `forbid(unsafe_code)`).
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod clock;
mod component;
pub mod config;
pub mod delivery;
mod engine;
pub mod hooks;
pub mod jitter;
pub mod memory_event_log;
pub mod memory_store;
pub mod message;
pub mod multipart;
mod payload;
pub mod replay;
pub mod store;
mod transport;

// The sans-IO protocol lives in `wxopen-proto`; its modules keep their old paths here.
/// The sans-IO protocol crate, re-exported.
pub use wxopen_proto;
pub use wxopen_proto::{
    appid, auth_url, authorization, code_exchange, errcode, error, event, health, js_ticket,
    jssdk_sign, passive, push, record_machine, release_check, retry, secret, token_machine, tokens,
    user_oauth, wxa, xml,
};

pub use api::ApiCall;
pub use auth_url::{AuthPage, AuthType, AuthUrlOptions};
pub use authorization::{AuthCallback, AuthCallbackError, AuthorizationRequest};
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use component::{
    valid_appid, AuthorizerState, AuthorizerSummary, ComponentClient, ComponentClientBuilder,
    ForwardOutcome, ForwardRequest, IssuedToken, KeyUsed, AUTHORIZER_LIST_MAX_PAGES,
    AUTHORIZER_LIST_PAGE, JSSDK_NONCE_LEN, MAX_APPID_LEN, MAX_LEASE_HOLDER_LEN, MAX_LIST_PAGE,
    TICKET_MAX_AHEAD_SECS,
};
pub use config::{ComponentConfig, CooldownPolicy, DEFAULT_MAX_RESPONSE_BYTES};
pub use errcode::ErrorClass;
pub use error::{Error, PushError, Result, TransportKind};
pub use event::{parse_component_event, AuthorizationGrant, ComponentEvent};
pub use health::ComponentHealth;
pub use hooks::{ApiObserver, ClientEvent};
pub use jitter::{FixedJitter, JitterSource, RandomJitter};
pub use js_ticket::{JsTicketRecord, JsTicketType};
pub use jssdk_sign::{JsSdkConfig, PageUrlError};
pub use memory_event_log::MemoryEventLog;
pub use memory_store::MemoryStore;
pub use message::{parse_authorizer_message, AuthorizerMessage, MsgType};
pub use multipart::{Multipart, DEFAULT_MAX_UPLOAD_BYTES};
pub use push::{PushAck, PushQuery, SUCCESS_REPLY};
pub use replay::{MemoryReplayCache, ReplayCache};
pub use retry::{FailoverPolicy, RetryPolicy};
pub use secret::{
    AuthorizationCode, AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken,
    ComponentAppSecret, ComponentVerifyTicket, EncodingAesKey, JsCode, JsTicket, MessageToken,
    OAuthCode, PreAuthCode, SessionKey, UserAccessToken, UserRefreshToken,
};
pub use store::{
    AuthorizerRecord, BoxFuture, CasOutcome, ComponentTokenRecord, RevokeReason, RevokedRecord,
    ScanRecord, StoreError, StoreErrorKind, StoreKey, StoredValue, TicketRecord, TokenStore,
    Versioned,
};
pub use tokens::{Jitter, TokenState};
pub use transport::Forwarded;
/// The crypto core, re-exported (e.g. for [`wxopen_core::Reply`]).
pub use wxopen_core;
pub use wxopen_core::Reply;
pub use wxopen_proto::api_body::ApiBody;
