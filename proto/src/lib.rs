//! `wxopen-proto`: the WeChat Open Platform third-party platform ("component") protocol, sans-IO.
//!
//! Everything here is a pure function or plain data: API request and response types, errcode
//! classes, push events, authorized-account messages and passive replies, the 全网发布 release
//! check, authorization links and the typed redirect, retry and failover schedules, expiry and
//! refresh-ahead rules, secret newtypes, store keys and records, and the two state machines the
//! async driver (`wxopen-client`) executes: the **token machine** (when to use, refresh, wait or
//! fail) and the **record machine** (how every event changes an authorizer's record). No async,
//! no clock, no randomness, no network: the caller passes the time and any random draw in.
//!
//! ```
//! use wxopen_proto::record_machine::{apply, RecordEvent, Update};
//! use wxopen_proto::{parse_component_event, ComponentEvent};
//!
//! // A decrypted push from the authorization-event URL…
//! let xml = b"<xml><AppId>wx_component</AppId><CreateTime>1700000000</CreateTime>\
//!     <InfoType>unauthorized</InfoType><AuthorizerAppid>wx_account</AuthorizerAppid></xml>";
//! let event = parse_component_event(xml)?;
//! let ComponentEvent::Unauthorized { create_time, .. } = event else { unreachable!() };
//!
//! // …and what it does to the account's stored record (nothing stored yet: a tombstone).
//! let update = apply(None, &RecordEvent::UnauthorizedPush { create_time }, 1_700_000_001);
//! assert!(matches!(update, Update::Write(_)));
//! # Ok::<(), wxopen_proto::PushError>(())
//! ```
//!
//! | module | holds |
//! |---|---|
//! | [`secret`] | redacting newtypes for secrets, tokens and codes (the one `Secret` family) |
//! | [`tokens`], [`cooldown`] | expiry and refresh-ahead rules, [`Jitter`], [`CooldownPolicy`] |
//! | [`retry`] | bounded backoff and the failover schedule |
//! | [`errcode`], [`error`] | errcode classes, [`Error`], [`PushError`] |
//! | [`api`], [`api_call`], [`api_body`] | endpoints, URL building, typed bodies, [`api::parse_response`], generic calls, JSON or binary answers |
//! | [`proxy_rules`] | the token-injecting proxy's path rules, known reads and metric families |
//! | [`auth_url`], [`authorization`] | authorization links, [`AuthCallback`] (the typed redirect) |
//! | [`handoff`], [`state_binding`] | the signed hand-off to the host ([`handoff::Handoff::verify`]), `state` bound to the pre-auth code |
//! | [`xml`], [`event`], [`notice`], [`push`] | push parsing: [`parse_component_event`] (typed notices too), [`PushQuery`] |
//! | [`message`], [`passive`], [`wxa_event`] | messages of authorized accounts, passive replies, typed mini-program events |
//! | [`release_check`] | the 全网发布 check as a pure decision |
//! | [`records`], [`health`] | store keys and records, [`ComponentHealth`] |
//! | [`token_machine`] | `(now, stored record, cell) → decision` for every token kind |
//! | [`js_ticket`], [`jssdk_sign`] | JS-SDK tickets per account (record, rules) and the `wx.config` signature |
//! | [`code_exchange`] | one exchange per authorization code across instances |
//! | [`record_machine`] | `apply(current, event, now) → update` for authorizer records |
//! | [`user_oauth`], [`user_answers`] | web authorization and mini-program login on behalf of an account |
//! | [`delivery`] | the event plane's delivery rules: backoff, dead letters, per-account order |
//! | [`wxa`] | mini-program code management: calls, request and response types, errcodes |
//! | [`rollout`], [`rollout_machine`] | a release pipeline's per-account states, budget, pre-check; `decide` / `apply` with intent-before-call and reconcile |
//!
//! The crate needs `std` for XML (`quick-xml`) and URLs (`url`); the crypto below it
//! (`wxopen-core`) is `no_std`.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod api_body;
pub mod api_call;
pub mod appid;
pub mod auth_url;
pub mod authorization;
pub mod code_exchange;
pub mod cooldown;
pub mod delivery;
pub mod errcode;
pub mod error;
pub mod event;
pub mod handoff;
pub mod health;
pub mod js_ticket;
pub mod jssdk_sign;
pub mod message;
pub mod notice;
pub mod passive;
pub mod proxy_rules;
pub mod push;
pub mod record_machine;
pub mod records;
pub mod release_check;
pub mod retry;
pub mod rollout;
pub mod rollout_machine;
pub mod secret;
pub mod state_binding;
pub mod token_machine;
pub mod tokens;
pub mod user_answers;
pub mod user_oauth;
pub mod wxa;
pub mod wxa_event;
pub mod xml;

pub use api_call::ApiCall;
pub use auth_url::{AuthPage, AuthType, AuthUrlOptions};
pub use authorization::{valid_auth_code, AuthCallback, AuthCallbackError, AuthorizationRequest};
pub use cooldown::CooldownPolicy;
pub use errcode::ErrorClass;
pub use error::{Error, PushError, Result, TransportKind};
pub use event::{parse_component_event, AuthorizationGrant, ComponentEvent};
pub use health::ComponentHealth;
pub use message::{parse_authorizer_message, AuthorizerMessage, MsgType};
pub use push::{PushAck, PushQuery, SUCCESS_REPLY};
pub use records::{
    AuthorizerRecord, CasOutcome, ComponentTokenRecord, JsTicketRecord, RevokeReason,
    RevokedRecord, ScanRecord, StoreError, StoreErrorKind, StoreKey, StoredValue, TicketRecord,
    Versioned,
};
pub use retry::{FailoverPolicy, RetryPolicy};
pub use secret::{
    AuthorizationCode, AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken,
    ComponentAppSecret, ComponentVerifyTicket, EncodingAesKey, JsCode, JsTicket, MessageToken,
    OAuthCode, PreAuthCode, SessionKey, UserAccessToken, UserRefreshToken,
};
pub use tokens::{Jitter, TokenState};
/// The crypto core, re-exported (e.g. for [`wxopen_core::Reply`]).
pub use wxopen_core;
pub use wxopen_core::Reply;
