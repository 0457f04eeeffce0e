//! [`FakeWeChat`]: the two loopback hosts, the admin controls and the push factory.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiremock::{Mock, MockServer};
use wxopen_client::{Clock, ManualClock};
use wxopen_core::MsgCrypt;

use crate::config::FakeConfig;
use crate::counters::{CallRecord, Host, Outcome};
use crate::endpoints::Endpoint;
use crate::error::FakeError;
use crate::faults::{Fault, FaultRule};
use crate::handlers::{ConnectionDropped, DropGate, Responder, Shared};
use crate::push::{cdata, seal, Push, PushKind};
use crate::sent::SentMessage;
use crate::state::{AuthorizerKind, Platform};

/// The result of [`FakeWeChat::simulate_admin_consent`]: what the redirect carries and the
/// authorization push sent alongside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The authorization code (`auth_code` on the redirect, `AuthorizationCode` in the push).
    pub auth_code: String,
    /// Its validity in seconds (`expires_in` on the redirect).
    pub expires_in: u64,
    /// The query string appended to the `redirect_uri`: `auth_code=…&expires_in=…`.
    pub redirect_query: String,
    /// The `authorized` / `updateauthorized` push.
    pub push: Push,
}

/// Builds a [`FakeWeChat`]: [`FakeWeChat::builder`], then [`FakeBuilder::start`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use wxopen_client::{Clock, ManualClock};
/// use wxopen_fake::{FakeConfig, FakeWeChat};
///
/// // One clock for the fake and everything under test.
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let fake = FakeWeChat::builder()
///     .config(FakeConfig::random())
///     .clock(clock.clone())
///     .start()
///     .await?;
/// fake.advance(Duration::from_secs(60));
/// assert_eq!(clock.unix_seconds(), 1_700_000_060);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct FakeBuilder {
    config: FakeConfig,
    clock: Option<ClockChoice>,
}

#[derive(Debug)]
enum ClockChoice {
    Manual(ManualClock),
    Shared(Arc<dyn Clock>),
}

impl FakeBuilder {
    /// Credentials and timings (default: [`FakeConfig::default`]).
    pub fn config(mut self, config: FakeConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs the fake on `clock` (clones share the time): [`FakeWeChat::advance`] moves it, and
    /// so does anyone else holding a clone. [`FakeConfig::start_unix`] is ignored.
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(ClockChoice::Manual(clock));
        self
    }

    /// Runs the fake on any [`Clock`] (e.g. a `TokioClock` under `tokio::time::pause`). The
    /// fake then cannot move time itself: [`FakeWeChat::advance`] panics, move the clock.
    /// [`FakeConfig::start_unix`] is ignored.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(ClockChoice::Shared(clock));
        self
    }

    /// Binds two loopback ports (primary and fallback) and starts serving.
    pub async fn start(self) -> Result<FakeWeChat, FakeError> {
        FakeWeChat::start_from(self).await
    }
}

/// A stateful fake of the WeChat component API on two loopback hosts sharing one state.
///
/// See the [crate documentation](crate) for the model. Dropping it shuts both hosts down.
pub struct FakeWeChat {
    shared: Arc<Shared>,
    manual: Option<ManualClock>,
    config: FakeConfig,
    crypt: MsgCrypt,
    primary: Mutex<Option<MockServer>>,
    primary_addr: SocketAddr,
    fallback: MockServer,
}

impl std::fmt::Debug for FakeWeChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWeChat")
            .field("primary", &self.primary_url())
            .field("fallback", &self.fallback_url())
            .field("component_appid", &self.config.component_appid)
            .finish_non_exhaustive()
    }
}

async fn serve(shared: &Arc<Shared>, host: Host, listener: std::net::TcpListener) -> MockServer {
    // The call log lives in the fake's counters; wiremock need not keep every request.
    let server = MockServer::builder()
        .listener(listener)
        .disable_request_recording()
        .start()
        .await;
    server
        .register(
            Mock::given(DropGate {
                shared: Arc::clone(shared),
                host,
            })
            .respond_with_err(|_: &wiremock::Request| ConnectionDropped)
            .with_priority(1),
        )
        .await;
    server
        .register(
            Mock::given(wiremock::matchers::any())
                .respond_with(Responder {
                    shared: Arc::clone(shared),
                    host,
                })
                .with_priority(10),
        )
        .await;
    server
}

impl FakeWeChat {
    /// Starts the fake with [`FakeConfig::default`] on two loopback ports.
    pub async fn start() -> Result<Self, FakeError> {
        Self::builder().start().await
    }

    /// Starts the fake with `config` on its own [`ManualClock`], which starts at
    /// `config.start_unix` or now.
    pub async fn start_with(config: FakeConfig) -> Result<Self, FakeError> {
        Self::builder().config(config).start().await
    }

    /// A builder: choose the configuration and the clock (to share one clock with the client,
    /// a server or a test), then [`FakeBuilder::start`].
    pub fn builder() -> FakeBuilder {
        FakeBuilder::default()
    }

    async fn start_from(builder: FakeBuilder) -> Result<Self, FakeError> {
        let FakeBuilder { config, clock } = builder;
        let crypt = MsgCrypt::new(
            &config.token,
            &config.encoding_aes_key,
            &config.component_appid,
        )?;
        let (clock, manual): (Arc<dyn Clock>, Option<ManualClock>) = match clock {
            Some(ClockChoice::Manual(m)) => (Arc::new(m.clone()), Some(m)),
            Some(ClockChoice::Shared(c)) => (c, None),
            None => {
                let m = match config.start_unix {
                    Some(s) => ManualClock::at_unix(s),
                    None => ManualClock::new(std::time::SystemTime::now()),
                };
                (Arc::new(m.clone()), Some(m))
            }
        };
        let shared = Arc::new(Shared::new(Platform::new(config.clone()), clock));
        let primary_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let primary_addr = primary_listener.local_addr()?;
        let fallback_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let primary = serve(&shared, Host::Primary, primary_listener).await;
        let fallback = serve(&shared, Host::Fallback, fallback_listener).await;
        Ok(Self {
            shared,
            manual,
            config,
            crypt,
            primary: Mutex::new(Some(primary)),
            primary_addr,
            fallback,
        })
    }

    // ------------------------------------------------------------ hosts

    /// Base URL of the primary host (stands for `https://api.weixin.qq.com`), no trailing slash.
    pub fn primary_url(&self) -> String {
        format!("http://{}", self.primary_addr)
    }

    /// Base URL of the fallback host (stands for `https://api2.weixin.qq.com`).
    pub fn fallback_url(&self) -> String {
        self.fallback.uri()
    }

    /// Makes the primary host unreachable: its listener is closed, so connections are refused
    /// (the closest loopback model of an unreachable domain). Calls that are refused never reach
    /// the fake and are therefore not counted; use [`FakeWeChat::inject`] with [`Fault::Drop`]
    /// or [`Fault::Http`] on [`Host::Primary`] for a counted outage instead.
    pub async fn kill_primary(&self) {
        let server = self
            .primary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(server);
        // The server thread closes its listener asynchronously; wait until it has.
        for _ in 0..100 {
            if std::net::TcpStream::connect_timeout(&self.primary_addr, Duration::from_millis(20))
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Brings a killed primary back on the same address.
    pub async fn revive_primary(&self) -> Result<(), FakeError> {
        if self.primary_alive() {
            return Ok(());
        }
        let listener = std::net::TcpListener::bind(self.primary_addr)?;
        let server = serve(&self.shared, Host::Primary, listener).await;
        *self.primary.lock().unwrap_or_else(|p| p.into_inner()) = Some(server);
        Ok(())
    }

    /// Whether the primary host is listening.
    pub fn primary_alive(&self) -> bool {
        self.primary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    // ------------------------------------------------------------ config and clock

    /// The configuration the fake runs with (credentials for the client under test).
    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    /// The component appid.
    pub fn component_appid(&self) -> &str {
        &self.config.component_appid
    }

    /// The component appsecret.
    pub fn component_appsecret(&self) -> &str {
        &self.config.component_appsecret
    }

    /// The message-verification token.
    pub fn token(&self) -> &str {
        &self.config.token
    }

    /// The EncodingAESKey.
    pub fn encoding_aes_key(&self) -> &str {
        &self.config.encoding_aes_key
    }

    /// The clock every expiry of the fake is measured on (hand it to a client or a server so
    /// both sides read the same time).
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }

    /// The fake's [`ManualClock`]: its own (the default) or the one given to
    /// [`FakeBuilder::clock`]; `None` when it runs on a [`FakeBuilder::shared_clock`].
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.manual.as_ref()
    }

    /// The fake clock, Unix seconds.
    pub fn now_unix(&self) -> u64 {
        self.shared.clock.unix_seconds()
    }

    /// Moves the fake's [`ManualClock`] forward (and with it every client sharing that clock).
    ///
    /// # Panics
    /// When the fake runs on a clock given to [`FakeBuilder::shared_clock`]: move that clock
    /// instead (e.g. `tokio::time::advance` for a `TokioClock`).
    pub fn advance(&self, by: Duration) {
        match &self.manual {
            Some(m) => m.advance(by),
            None => panic!(
                "FakeWeChat::advance: the fake runs on a shared clock that is not a ManualClock; move that clock"
            ),
        }
    }

    // ------------------------------------------------------------ pushes

    fn seal_for_component(
        &self,
        now: u64,
        plaintext: String,
        kind: PushKind,
    ) -> Result<Push, FakeError> {
        Ok(seal(
            &self.crypt,
            &self.config.token,
            now,
            ("AppId", &self.config.component_appid),
            plaintext,
            kind,
            None,
        )?)
    }

    fn ticket_push(&self, ticket: String, create_time: u64) -> Result<Push, FakeError> {
        let plaintext = format!(
            "<xml><AppId>{}</AppId><CreateTime>{create_time}</CreateTime><InfoType>{}</InfoType><ComponentVerifyTicket>{}</ComponentVerifyTicket></xml>",
            cdata(&self.config.component_appid),
            cdata("component_verify_ticket"),
            cdata(&ticket),
        );
        self.seal_for_component(
            self.now_unix(),
            plaintext,
            PushKind::ComponentVerifyTicket { ticket },
        )
    }

    /// Issues a new `component_verify_ticket` (valid [`FakeConfig::ticket_ttl`]) and returns its
    /// push, as WeChat does every 10 minutes.
    pub fn push_ticket(&self) -> Result<Push, FakeError> {
        let now = self.now_unix();
        let ticket = self.shared.lock().platform.issue_ticket(now);
        self.ticket_push(ticket, now)
    }

    /// Pushes the current ticket again with its original `CreateTime` (a duplicate delivery);
    /// `None` if no ticket was ever issued.
    pub fn push_ticket_again(&self) -> Result<Option<Push>, FakeError> {
        let current = self.shared.lock().platform.current_ticket();
        current
            .map(|(ticket, created)| self.ticket_push(ticket, created))
            .transpose()
    }

    /// The newest ticket issued, if any.
    pub fn current_ticket(&self) -> Option<String> {
        self.shared.lock().platform.current_ticket().map(|(t, _)| t)
    }

    /// Ticket pushes requested through `api_start_push_ticket` and not yet delivered: each call
    /// issues a fresh ticket and returns its push.
    pub fn drain_requested_pushes(&self) -> Result<Vec<Push>, FakeError> {
        let n = self.shared.lock().platform.take_pending_ticket_pushes();
        (0..n).map(|_| self.push_ticket()).collect()
    }

    /// How many successful `api_start_push_ticket` calls the fake has served.
    pub fn start_push_requests(&self) -> usize {
        self.shared.lock().platform.start_push_requests()
    }

    /// The admin of `authorizer_appid` opens the authorization page for `pre_auth_code` and
    /// agrees. The code is consumed (single use); a previous authorization's refresh token is
    /// replaced. Returns the redirect's `auth_code` and the `authorized` (or, for an account that
    /// was already authorized, `updateauthorized`) push.
    pub fn simulate_admin_consent(
        &self,
        pre_auth_code: &str,
        authorizer_appid: &str,
    ) -> Result<Consent, FakeError> {
        self.simulate_admin_consent_as(pre_auth_code, authorizer_appid, AuthorizerKind::default())
    }

    /// [`FakeWeChat::simulate_admin_consent`] for a chosen kind of account.
    pub fn simulate_admin_consent_as(
        &self,
        pre_auth_code: &str,
        authorizer_appid: &str,
        kind: AuthorizerKind,
    ) -> Result<Consent, FakeError> {
        let now = self.now_unix();
        let info =
            self.shared
                .lock()
                .platform
                .consent(pre_auth_code, authorizer_appid, kind, now)?;
        let plaintext = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType><AuthorizerAppid>{}</AuthorizerAppid><AuthorizationCode>{}</AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime><PreAuthCode>{}</PreAuthCode></xml>",
            cdata(&self.config.component_appid),
            cdata(info.info_type),
            cdata(authorizer_appid),
            cdata(&info.auth_code),
            info.expires_at,
            cdata(&info.pre_auth_code),
        );
        let push = self.seal_for_component(
            now,
            plaintext,
            PushKind::Authorized {
                update: info.info_type == "updateauthorized",
                authorizer_appid: authorizer_appid.to_owned(),
                authorization_code: info.auth_code.clone(),
                expires_at: info.expires_at,
                pre_auth_code: info.pre_auth_code,
            },
        )?;
        let expires_in = info.expires_at.saturating_sub(now);
        let redirect_query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("auth_code", &info.auth_code)
            .append_pair("expires_in", &expires_in.to_string())
            .finish();
        Ok(Consent {
            auth_code: info.auth_code,
            expires_in,
            redirect_query,
            push,
        })
    }

    /// Shortcut: an authorization of `authorizer_appid` through a pre-auth code the fake makes
    /// itself (no API call is counted). Returns the `authorized`/`updateauthorized` push.
    pub fn push_authorized(&self, authorizer_appid: &str) -> Result<Push, FakeError> {
        let now = self.now_unix();
        let code = self.shared.lock().platform.new_pre_auth_code(now);
        Ok(self.simulate_admin_consent(&code, authorizer_appid)?.push)
    }

    /// Like [`FakeWeChat::push_authorized`] for an account that is already authorized (the admin
    /// changed the permission sets): the push is `updateauthorized`, the refresh token is new.
    pub fn push_updateauthorized(&self, authorizer_appid: &str) -> Result<Push, FakeError> {
        if !self.is_authorized(authorizer_appid) {
            return Err(FakeError::UnknownAuthorizer(authorizer_appid.to_owned()));
        }
        self.push_authorized(authorizer_appid)
    }

    /// The admin cancels the authorization: the account's access and refresh tokens stop
    /// working; returns the `unauthorized` push.
    pub fn push_unauthorized(&self, authorizer_appid: &str) -> Result<Push, FakeError> {
        let now = self.now_unix();
        self.shared.lock().platform.unauthorize(authorizer_appid)?;
        let plaintext = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType><AuthorizerAppid>{}</AuthorizerAppid></xml>",
            cdata(&self.config.component_appid),
            cdata("unauthorized"),
            cdata(authorizer_appid),
        );
        self.seal_for_component(
            now,
            plaintext,
            PushKind::Unauthorized {
                authorizer_appid: authorizer_appid.to_owned(),
            },
        )
    }

    /// Any other authorization-event push (e.g. `notify_third_fasteregister`, or an `InfoType`
    /// the receiver does not know): `AppId`, `CreateTime` and `InfoType` followed by `fields`
    /// as `<name><![CDATA[value]]></name>`; a value starting with `<` is the element's raw XML
    /// content instead (for nested elements, e.g. `("info", "<name>…</name>")`). The fake's
    /// state is not changed.
    pub fn push_event(&self, info_type: &str, fields: &[(&str, &str)]) -> Result<Push, FakeError> {
        let now = self.now_unix();
        let mut plaintext = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType>",
            cdata(&self.config.component_appid),
            cdata(info_type),
        );
        close_with_fields(&mut plaintext, fields);
        self.seal_for_component(
            now,
            plaintext,
            PushKind::Other {
                info_type: info_type.to_owned(),
            },
        )
    }

    /// A text message from user `openid` to the authorized account, pushed to the component's
    /// message URL: envelope `ToUserName` is the account's `gh_` id, the trailing id inside the
    /// ciphertext is the **component** appid.
    pub fn push_text_message(
        &self,
        authorizer_appid: &str,
        openid: &str,
        content: &str,
    ) -> Result<Push, FakeError> {
        let now = self.now_unix();
        let user_name = {
            let mut inner = self.shared.lock();
            let user_name = inner
                .platform
                .authorizer_user_name(authorizer_appid)
                .ok_or_else(|| FakeError::UnknownAuthorizer(authorizer_appid.to_owned()))?;
            // The user wrote: the account may answer through custom/send for a while.
            inner.platform.user_wrote(authorizer_appid, openid, now);
            user_name
        };
        let msg_id: u64 = rand::random::<u64>() >> 1;
        let plaintext = text_message_xml(&user_name, openid, now, content, msg_id);
        self.seal_message(authorizer_appid, &user_name, openid, plaintext)
    }

    /// An event of an authorized account (`MsgType` `event`) pushed to the message URL, as
    /// `weapp_audit_success`, `wxa_nickname_audit` or an official-account event: `Event` then
    /// `fields` as `<name><![CDATA[value]]></name>` (a value starting with `<` is raw XML
    /// content); the sender is WeChat's system account `openid`.
    pub fn push_message_event(
        &self,
        authorizer_appid: &str,
        openid: &str,
        event: &str,
        fields: &[(&str, &str)],
    ) -> Result<Push, FakeError> {
        let now = self.now_unix();
        let user_name = self
            .shared
            .lock()
            .platform
            .authorizer_user_name(authorizer_appid)
            .ok_or_else(|| FakeError::UnknownAuthorizer(authorizer_appid.to_owned()))?;
        let mut plaintext = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime><MsgType>{}</MsgType><Event>{}</Event>",
            cdata(&user_name),
            cdata(openid),
            cdata("event"),
            cdata(event),
        );
        close_with_fields(&mut plaintext, fields);
        self.seal_message(authorizer_appid, &user_name, openid, plaintext)
    }

    /// Encrypts and signs a message of an authorized account as WeChat pushes it: envelope
    /// `ToUserName` = `user_name`, `openid` in the query, timestamp = the fake clock now.
    pub(crate) fn seal_message(
        &self,
        authorizer_appid: &str,
        user_name: &str,
        openid: &str,
        plaintext: String,
    ) -> Result<Push, FakeError> {
        Ok(seal(
            &self.crypt,
            &self.config.token,
            self.now_unix(),
            ("ToUserName", user_name),
            plaintext,
            PushKind::Message {
                authorizer_appid: authorizer_appid.to_owned(),
                to_user_name: user_name.to_owned(),
            },
            Some(openid.to_owned()),
        )?)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Every customer-service message the fake accepted on
    /// [`CUSTOM_SEND`](crate::CUSTOM_SEND), oldest first (refused calls are in
    /// [`FakeWeChat::call_log`] only).
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.shared.lock().platform.sent().to_vec()
    }

    /// Decrypts a passive reply envelope (`<Encrypt>`, `<MsgSignature>`, `<TimeStamp>`,
    /// `<Nonce>`) the way WeChat would: signature first, then the ciphertext, whose trailing id
    /// must be the component appid.
    pub fn open_reply(&self, reply_xml: &str) -> Result<String, FakeError> {
        let field = |tag: &str| -> Result<String, FakeError> {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            let start = reply_xml
                .find(&open)
                .ok_or_else(|| FakeError::Reply(format!("no <{tag}>")))?
                + open.len();
            let len = reply_xml
                .get(start..)
                .and_then(|rest| rest.find(&close))
                .ok_or_else(|| FakeError::Reply(format!("no </{tag}>")))?;
            let inner = reply_xml.get(start..start + len).unwrap_or("").trim();
            Ok(inner
                .strip_prefix("<![CDATA[")
                .and_then(|s| s.strip_suffix("]]>"))
                .unwrap_or(inner)
                .to_owned())
        };
        let plain = self.crypt.decrypt_encrypted(
            &field("Encrypt")?,
            &field("MsgSignature")?,
            &field("TimeStamp")?,
            &field("Nonce")?,
        )?;
        String::from_utf8(plain).map_err(|_| FakeError::Reply("reply is not UTF-8".to_owned()))
    }

    // ------------------------------------------------------------ platform state

    /// The newest component access token still accepted now.
    pub fn component_access_token(&self) -> Option<String> {
        let now = self.now_unix();
        self.shared.lock().platform.latest_component_token(now)
    }

    /// Whether the platform would accept `token` as a component access token now; `Err` holds the
    /// errcode it would answer (40001 unknown or superseded past the grace period, 42001 expired).
    pub fn check_component_access_token(&self, token: &str) -> Result<(), i64> {
        let now = self.now_unix();
        self.shared
            .lock()
            .platform
            .component_token_status(token, now)
    }

    /// The current JS-SDK ticket (`"jsapi"` or `"wx_card"`) of `authorizer_appid`, if one
    /// was issued and has not expired or been replaced.
    pub fn js_ticket(&self, authorizer_appid: &str, ticket_type: &str) -> Option<String> {
        let now = self.now_unix();
        self.shared
            .lock()
            .platform
            .js_tickets
            .current(authorizer_appid, ticket_type, now)
            .map(str::to_owned)
    }

    /// Whether `sig` is a valid `wx.config` signature for its `app_id` now: signed over that
    /// account's *current* jsapi ticket (what `POST /fake/jssdk/verify` answers).
    pub fn verify_jssdk_signature(&self, sig: &crate::JsSdkSignature) -> bool {
        let now = self.now_unix();
        self.shared.lock().platform.js_tickets.verify(sig, now)
    }

    /// The newest authorizer access token of `authorizer_appid` still accepted now.
    pub fn authorizer_access_token(&self, authorizer_appid: &str) -> Option<String> {
        let now = self.now_unix();
        self.shared
            .lock()
            .platform
            .latest_authorizer_token(authorizer_appid, now)
    }

    /// Invalidates every access token of `authorizer_appid` now: the next call with one is
    /// answered 40001 (as after a fetch by another service).
    pub fn invalidate_authorizer_token(&self, authorizer_appid: &str) -> Result<(), FakeError> {
        let now = self.now_unix();
        self.shared
            .lock()
            .platform
            .invalidate_authorizer_tokens(authorizer_appid, now)
    }

    /// Files accepted by `cgi-bin/media/upload`, oldest first: `(media_id, bytes)`.
    pub fn uploads(&self) -> Vec<(String, Vec<u8>)> {
        self.shared.lock().platform.uploads().to_vec()
    }

    /// Whether the platform would accept `token` as `authorizer_appid`'s access token now.
    pub fn check_authorizer_access_token(
        &self,
        authorizer_appid: &str,
        token: &str,
    ) -> Result<(), i64> {
        let now = self.now_unix();
        self.shared
            .lock()
            .platform
            .authorizer_token_status(authorizer_appid, token, now)
    }

    /// The refresh token the platform currently accepts for `authorizer_appid` (`None` if it is
    /// not authorized).
    pub fn authorizer_refresh_token(&self, authorizer_appid: &str) -> Option<String> {
        self.shared
            .lock()
            .platform
            .authorizer_refresh_token(authorizer_appid)
    }

    /// Replaces the refresh token of `authorizer_appid` behind the client's back (its copy now
    /// gets 61023; `api_get_authorizer_list` shows the new one). Returns the new value.
    pub fn rotate_refresh_token(&self, authorizer_appid: &str) -> Result<String, FakeError> {
        self.shared
            .lock()
            .platform
            .rotate_refresh_token(authorizer_appid)
    }

    /// Whether `authorizer_appid` currently authorizes the component.
    pub fn is_authorized(&self, authorizer_appid: &str) -> bool {
        self.shared.lock().platform.is_authorized(authorizer_appid)
    }

    /// The stored value of an authorizer option (`location_report`, `voice_recognize`,
    /// `customer_service`).
    pub fn authorizer_option(&self, authorizer_appid: &str, option_name: &str) -> Option<String> {
        self.shared
            .lock()
            .platform
            .authorizer_option(authorizer_appid, option_name)
    }

    /// Marks `endpoint`'s daily quota as used up: it answers 45009 until a `clear_quota` (with
    /// the component token) or `clear_quota/v2` for the component resets it.
    pub fn exhaust_quota(&self, endpoint: Endpoint) {
        self.shared.lock().platform.exhaust_quota(endpoint);
    }

    // ------------------------------------------------------------ faults

    /// Adds a fault rule (see [`FaultRule`]).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Shortcut: the next `n` calls to `endpoint` (either host) get `fault`.
    pub fn fail_next(&self, endpoint: Endpoint, n: usize, fault: Fault) {
        self.inject(FaultRule::new(fault).on(endpoint).times(n));
    }

    /// Removes every pending fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Number of fault rules not yet used up.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.pending()
    }

    // ------------------------------------------------------------ users

    /// `user` opens a web-authorization `link` (as built by
    /// `wxopen_client::ComponentClient::oauth_url`) in WeChat and agrees: the link is checked
    /// as WeChat's page checks it (`open.weixin.qq.com/connect/oauth2/authorize`, an authorized
    /// `appid`, this platform's `component_appid`, `response_type=code`, a known scope, an
    /// absolute http(s) `redirect_uri`, `state` ≤ 128 bytes, `#wechat_redirect`), a code valid
    /// 5 minutes is issued, and the redirect URL is returned (`redirect_uri` + `code`, `state`,
    /// `appid`). The same consent over HTTP: `GET {primary_url}/connect/oauth2/authorize?…`
    /// answers 302 to that URL (as user `fake_user`, default `user`). No call is counted here.
    pub fn oauth_consent(&self, link: &str, user: &str) -> Result<String, FakeError> {
        self.consent_to(link, Some(user))
    }

    /// The user refuses: the redirect carries `state` and `appid` but no `code`.
    pub fn oauth_refuse(&self, link: &str) -> Result<String, FakeError> {
        self.consent_to(link, None)
    }

    fn consent_to(&self, link: &str, user: Option<&str>) -> Result<String, FakeError> {
        let url = url::Url::parse(link)
            .map_err(|e| FakeError::UserAuth(format!("link is not a URL: {e}")))?;
        if url.host_str() != Some("open.weixin.qq.com") || url.fragment() != Some("wechat_redirect")
        {
            return Err(FakeError::UserAuth(
                "the link must be https://open.weixin.qq.com/connect/oauth2/authorize?…#wechat_redirect".into(),
            ));
        }
        let now = self.now_unix();
        let mut inner = self.shared.lock();
        let crate::handlers::Inner {
            users, platform, ..
        } = &mut *inner;
        users.consent(platform, &url, user, now)
    }

    /// A `js_code` (as `wx.login` gives it) of `user` in the mini program `authorizer_appid`,
    /// valid 5 minutes, single use.
    pub fn mint_js_code(&self, authorizer_appid: &str, user: &str) -> Result<String, FakeError> {
        let now = self.now_unix();
        let mut inner = self.shared.lock();
        let crate::handlers::Inner {
            users, platform, ..
        } = &mut *inner;
        users.mint_js_code(platform, authorizer_appid, user, now)
    }

    /// Marks `user` of `authorizer_appid` as a high-risk user: `jscode2session` answers 40226.
    pub fn mark_high_risk(&self, authorizer_appid: &str, user: &str) {
        self.shared
            .lock()
            .users
            .mark_high_risk(authorizer_appid, user);
    }

    /// The openid the fake gives `user` of `authorizer_appid`.
    pub fn openid_of(&self, authorizer_appid: &str, user: &str) -> String {
        crate::user_auth::openid_of(authorizer_appid, user)
    }

    // ------------------------------------------------------------ counters

    /// Calls received for `endpoint` on both hosts (faulted and rejected ones included).
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared
            .lock()
            .counters
            .count(|r| r.endpoint == Some(endpoint))
    }

    /// Calls for `endpoint` that the platform answered successfully.
    pub fn successes(&self, endpoint: Endpoint) -> usize {
        self.shared
            .lock()
            .counters
            .count(|r| r.endpoint == Some(endpoint) && r.outcome == Outcome::Ok)
    }

    /// Calls received for `endpoint` on `host`.
    pub fn calls_on(&self, host: Host, endpoint: Endpoint) -> usize {
        self.shared
            .lock()
            .counters
            .count(|r| r.host == host && r.endpoint == Some(endpoint))
    }

    /// Calls received by `host`, any path.
    pub fn host_calls(&self, host: Host) -> usize {
        self.shared.lock().counters.count(|r| r.host == host)
    }

    /// Calls received by both hosts, any path.
    pub fn total_calls(&self) -> usize {
        self.shared.lock().counters.count(|_| true)
    }

    /// Every call received so far, oldest first.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.shared.lock().counters.log().to_vec()
    }

    /// Forgets the call log (state and faults are kept).
    pub fn reset_counters(&self) {
        self.shared.lock().counters.clear();
    }
}

/// The plaintext of a text message from `openid` to account `user_name`.
/// Appends `fields` as `<name><![CDATA[value]]></name>` (a value starting with `<` is the
/// element's raw XML content) and closes the document.
fn close_with_fields(plaintext: &mut String, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let value = if value.starts_with('<') {
            (*value).to_owned()
        } else {
            cdata(value)
        };
        plaintext.push_str(&format!("<{name}>{value}</{name}>"));
    }
    plaintext.push_str("</xml>");
}

pub(crate) fn text_message_xml(
    user_name: &str,
    openid: &str,
    create_time: u64,
    content: &str,
    msg_id: u64,
) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Content>{}</Content><MsgId>{msg_id}</MsgId></xml>",
        cdata(user_name),
        cdata(openid),
        cdata("text"),
        cdata(content),
    )
}
