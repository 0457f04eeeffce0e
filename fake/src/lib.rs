//! [`FakeWeChat`]: a stateful fake of the WeChat Open Platform component API (the "third-party
//! platform" JSON API of `api.weixin.qq.com` and its pushes) on loopback, for testing
//! `wxopen-client` and services built on it. The wxopen conformance suite, `wxopen demo` and the
//! server's tests run against it.
//!
//! It is a test tool: it listens on 127.0.0.1 only, keeps everything in memory and never talks
//! to WeChat.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use wxopen_fake::{Endpoint, FakeWeChat, PushKind};
//!
//! // Two loopback hosts (primary and "api2" fallback) over one platform state.
//! let fake = FakeWeChat::start().await?;
//! assert!(fake.primary_url().starts_with("http://127.0.0.1:"));
//!
//! // WeChat pushes a component_verify_ticket: encrypted, signed envelope plus query string.
//! let push = fake.push_ticket()?;
//! assert!(push.body.starts_with("<xml><AppId><![CDATA["));
//! assert_eq!(push.query.encrypt_type, "aes");
//! let PushKind::ComponentVerifyTicket { ticket } = &push.kind else { unreachable!() };
//! assert_eq!(fake.current_ticket().as_deref(), Some(ticket.as_str()));
//!
//! // A wxopen-client pointed at both hosts, on the fake's clock, takes the push...
//! let client = fake.client_builder(fake.client_config()?).build()?;
//! let ack = push.deliver_to(&client).await?;
//! assert_eq!(ack.reply, "success");
//! // ...and the first token call is exactly one upstream call.
//! client.component_access_token().await?;
//! assert_eq!(fake.calls(Endpoint::ComponentToken), 1);
//! # Ok(()) }
//! ```
//!
//! # The model
//! - **Tickets**: [`FakeWeChat::push_ticket`] issues a ticket valid 12 hours on the fake clock
//!   and returns its push; `api_component_token` accepts any still-valid issued ticket
//!   (61005 once expired, 61006 unknown or null), the right appsecret (40125 wrong, 41004
//!   missing) and the component appid (61011 otherwise).
//! - **Component tokens** live 7200 s (then 42001); issuing a new one supersedes the old, which
//!   keeps working for 5 minutes and then answers 40001.
//! - **Pre-auth codes** are single use (1800 s by default); [`FakeWeChat::simulate_admin_consent`]
//!   consumes one and yields the redirect's `auth_code` plus the `authorized` push;
//!   `api_query_auth` exchanges the code once (61009 reused/unknown, 61010 expired) for an
//!   authorizer access token and refresh token. Re-authorization replaces the refresh token;
//!   `api_authorizer_token` with any other refresh token answers 61023; an unauthorized account
//!   answers 61003.
//! - **Strict contract**: POST only (43002), exact paths (404 otherwise), the token in
//!   `component_access_token` (or `access_token`; 41001 if absent), exactly the documented JSON
//!   keys and types: an unknown key, a wrong type or non-JSON is 47001, a missing appid 41002,
//!   a missing secret 41004, a missing refresh token 41003, a null refresh token 61023.
//! - **Faults** ([`FaultRule`]): errcodes, HTTP statuses, delays and dropped connections per
//!   endpoint and host for the next N calls; [`FakeWeChat::kill_primary`] closes the primary
//!   listener so the client must use the fallback.
//! - **Counters**: every call is recorded per endpoint, host and outcome.
//! - **Customer-service messages**: [`CUSTOM_SEND`] (`/cgi-bin/message/custom/send`) takes an
//!   authorizer access token and a `text` message to a user who wrote to the account within
//!   48 hours (40003 a stranger, 45015 too late, 44002 empty body, 40008 another type, 44004
//!   empty content); accepted ones are kept ([`FakeWeChat::sent_messages`]).
//! - **Users of accounts** (代公众号网页授权, 代小程序登录): [`FakeWeChat::oauth_consent`] (or
//!   `GET /connect/oauth2/authorize`, a 302) turns a web-authorization link into its redirect
//!   with a `code`; [`FakeWeChat::mint_js_code`] gives a mini program's `js_code`. Codes live
//!   5 minutes and are exchanged once ([`OAUTH_EXCHANGE`], [`JSCODE2SESSION`]: 40029 unknown
//!   or expired, 40163 used, 41008 absent) with the component token only (an account's token
//!   is 40001; a call refused for its token does not spend the code); [`OAUTH_REFRESH`],
//!   [`USERINFO`] (the user's token; 48001 for `snsapi_base`); a user marked with
//!   [`FakeWeChat::mark_high_risk`] gets 40226.
//! - **Binary answers and uploads**: [`GET_QRCODE`] and [`WXACODE_UNLIMIT`] answer image bytes
//!   (`image/jpeg`, `image/png`) and JSON errors with status 200, as WeChat does;
//!   [`MEDIA_UPLOAD`] checks a multipart body and answers a `media_id`
//!   ([`FakeWeChat::uploads`]); [`FakeWeChat::invalidate_authorizer_token`] makes an account's
//!   tokens answer 40001 at once.
//! - **Release check** ([`release_check`]): [`FakeWeChat::release_check`] does what the
//!   console's 全网发布 button makes WeChat do — the five test groups ([`TEST_GROUPS`]),
//!   encrypted test messages to the message URL (`$APPID$`), passive replies verified,
//!   `api_query_auth` + `custom/send` awaited within 5 s, silent endpoints retried — and
//!   reports pass or fail per check ([`ReleaseCheckReport`]).
//!
//! - **Mini programs** (the [`wxopen_proto::wxa`] calls, GET or POST as documented, `access_token=`
//!   the account's token, or the component's for templates and the platform's domain lists):
//!   templates and drafts ([`FakeWeChat::add_template`]; 85064 unknown, 85065 over
//!   [`WxaSettings::template_library_limit`], 85014 commit of an unknown template); `commit`
//!   takes `ext_json` only as a JSON string (47001 otherwise) and starts a privacy detection
//!   that answers 61039 for [`WxaSettings::privacy_detection_secs`]; `submit_audit` checks 1–5
//!   items, 85086 nothing committed, 85009 a review running, 61039, then the platform's
//!   monthly quota ([`WxaSettings::audit_quota`], Beijing calendar month; 85085); the test is
//!   the reviewer ([`FakeWeChat::review`] with an [`AuditVerdict`]) and gets the
//!   `weapp_audit_*` event to deliver (or lose); `release` needs a body (44002), an approved,
//!   unreleased review (85019 none, 85020 another status, 85052 released); `undocodeaudit`
//!   5 a day and 10 a month (87013; 87012 after a rejection); account domains must be on the
//!   platform's list (85017; web-view 89021); `setprivacysetting` refuses raw non-ASCII
//!   (47001: the doc asks for `\u` escapes); testers (85004 bound twice, 85003 unknown);
//!   [`FakeWeChat::deny_mini_program_permission`] makes every call 61007. Codes 85014, 85017,
//!   85003, 85004, 87011 and 89021 are the fake's reading of the official error tables,
//!   not yet each confirmed. Faults apply through [`wxa_endpoint`]; [`FakeWeChat::wxa_calls`]
//!   counts calls.
//!
//! Pushes ([`Push`]) are encrypted with `wxopen-core` under the component's token and
//! EncodingAESKey, receiver id = component appid, and carry both `msg_signature` and the
//! 3-field `signature` query parameters.
//!
//! # With wxopen-client
//! The fake measures time on the client's own [`Clock`](wxopen_client::Clock): by default a
//! [`ManualClock`](wxopen_client::ManualClock) of its own, or the one you give
//! [`FakeBuilder::clock`] (any other clock through [`FakeBuilder::shared_clock`]), so one
//! [`FakeWeChat::advance`] moves the fake, the client and anything else on that clock.
//! [`FakeWeChat::client_config`] gives the credentials and `[primary, fallback]` base URLs,
//! [`FakeWeChat::client_builder`] puts the fake's clock into the client, and
//! [`Push::deliver_to`] hands a push to the client's push handler ([`Push::client_query`] is
//! the client's [`PushQuery`](wxopen_client::PushQuery)). Endpoints are the client's own
//! [`Endpoint`] (re-exported); [`contract`] is the fake's request schema for each.
//!
//! # Driving a service
//! [`harness`] holds what `wxopen demo` and the CLI's and server's tests share to drive a
//! wxopen service over loopback HTTP: a proxy-free client, a temporary directory, a free port,
//! a task that runs until told to stop, the service's routes, its configuration for this fake
//! and the reading of its authorization pages.
//!
//! # Feature flags
//! None: the crate always needs `tokio` and `wiremock`.

#![warn(missing_docs)]

mod client_glue;
mod config;
mod counters;
mod endpoints;
mod error;
pub mod event_catalog;
mod fake;
mod faults;
mod handlers;
pub mod harness;
mod js_tickets;
mod push;
pub mod release_check;
mod sent;
mod state;
mod user_auth;
pub mod wechat_delivery;
mod wxa_admin;
mod wxa_settings;
mod wxa_state;

pub use config::FakeConfig;
pub use counters::{CallRecord, Host, Outcome};
pub use endpoints::{
    contract, endpoint_at, wxa_endpoint, AcceptedToken, Contract, Endpoint, FieldSpec, FieldType,
    CUSTOM_SEND, GETTICKET, GET_QRCODE, JSCODE2SESSION, MEDIA_UPLOAD, OAUTH_AUTHORIZE,
    OAUTH_EXCHANGE, OAUTH_REFRESH, SERVED, USERINFO, USER_AUTH_SERVED, WXACODE_UNLIMIT,
};
pub use error::FakeError;
pub use fake::{Consent, FakeBuilder, FakeWeChat};
pub use faults::{Fault, FaultRule};
pub use handlers::media::IMAGE_MAGIC;
pub use js_tickets::JsSdkSignature;
pub use push::{Push, PushKind, PushParams};
pub use release_check::{
    CheckKind, CheckResult, ReleaseCheck, ReleaseCheckReport, TestAccount, TestGroup, TEST_GROUPS,
};
pub use sent::SentMessage;
pub use state::AuthorizerKind;
pub use wechat_delivery::{deliver_like_wechat, Delivery, RetryPlan};
pub use wxa_admin::{AuditVerdict, WxaCodeView, AUDIT_EVENT_SENDER};
pub use wxa_settings::WxaSettings;
