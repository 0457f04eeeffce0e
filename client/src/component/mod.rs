//! [`ComponentClient`]: the async face of the client. Each file holds one idea:
//!
//! | file | holds |
//! |---|---|
//! | `client` | [`ComponentClient`] itself and what every part shares (`Inner`) |
//! | `builder` | [`ComponentClientBuilder`] and what it validates |
//! | `push` | the authorization-event URL: tickets, authorization events, their order |
//! | `messages` | messages of authorized accounts and passive replies |
//! | `jssdk` | the JS-SDK tickets of authorized accounts and `wx.config` signing |
//! | `tokens` | the component and authorizer access tokens (over the token engine) |
//! | `authorization` | pre-auth codes, authorization links, `query_auth`, imports |
//! | `endpoints` | the other component APIs and generic calls |
//! | `binary` | generic calls with binary answers, multipart uploads, forwarding (the proxy) |
//! | `exchange`, `exchange_cells` | one `api_query_auth` per authorization code, across instances |
//! | `wxa_send` | how a mini-program call is sent (which token, idempotency) |
//! | `wxa_code`, `wxa_audit`, `wxa_release` | code, review and release on behalf of a mini program |
//! | `wxa_templates`, `wxa_domains`, `wxa_privacy`, `wxa_testers` | templates, domains, privacy settings, testers |
//! | `user_oauth` | web authorization and mini-program login on behalf of an account |
//! | `user_codes` | one exchange per user code (OAuth `code`, `js_code`), across instances |

mod authorization;
mod binary;
mod builder;
mod client;
mod endpoints;
mod exchange;
mod exchange_cells;
mod jssdk;
mod messages;
mod push;
mod tokens;
mod user_codes;
mod user_oauth;
mod wxa_audit;
mod wxa_code;
mod wxa_domains;
mod wxa_privacy;
mod wxa_release;
mod wxa_send;
mod wxa_templates;
mod wxa_testers;

pub use crate::engine::recovery::{AUTHORIZER_LIST_MAX_PAGES, AUTHORIZER_LIST_PAGE};
pub use binary::{ForwardOutcome, ForwardRequest};
pub use builder::{ComponentClientBuilder, MAX_LEASE_HOLDER_LEN};
pub use client::ComponentClient;
pub use jssdk::JSSDK_NONCE_LEN;
pub use messages::KeyUsed;
pub use push::TICKET_MAX_AHEAD_SECS;
pub use tokens::{AuthorizerState, AuthorizerSummary, IssuedToken, MAX_LIST_PAGE};

pub use crate::appid::{valid_appid, MAX_APPID_LEN};
