//! The async driver: [`ComponentClient`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::broadcast;
use wxopen_core::{MsgCrypt, Reply};

use crate::api::{
    Ack, AuthorizationInfo, AuthorizerInfoRequest, AuthorizerInfoResponse, AuthorizerListRequest,
    AuthorizerListResponse, AuthorizerOption, AuthorizerTokenRequest, AuthorizerTokenResponse,
    ClearQuotaRequest, ClearQuotaV2Request, ComponentTokenRequest, ComponentTokenResponse,
    Endpoint, LegacyOptionRequest, OptionRequest, PreAuthCodeRequest, PreAuthCodeResponse,
    QueryAuthRequest, QueryAuthResponse, StartPushTicketRequest, TokenParam,
};
use crate::auth_url::{self, AuthPage, AuthUrlOptions};
use crate::clock::{Clock, SystemClock};
use crate::config::ComponentConfig;
use crate::errcode::ErrorClass;
use crate::error::{Error, PushError, Result};
use crate::event::{parse_component_event, ComponentEvent};
use crate::health::{self, ComponentHealth};
use crate::hooks::ClientEvent;
use crate::memory_store::MemoryStore;
use crate::push::{PushAck, PushQuery, SUCCESS_REPLY};
use crate::secret::{
    AuthorizationCode, AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken,
    ComponentVerifyTicket, PreAuthCode,
};
use crate::single_flight::SingleFlight;
use crate::store::{
    AuthorizerRecord, CasOutcome, ComponentTokenRecord, StoreError, StoreKey, StoredValue,
    TicketRecord, TokenStore, Versioned,
};
use crate::tokens::{expiry, refresh_deadline, ticket_is_stale, token_state, TokenState};
use crate::transport::Transport;

/// Page size used when paging `api_get_authorizer_list` to recover a refresh token.
pub const AUTHORIZER_LIST_PAGE: u32 = 500;
/// At most this many pages are read during one recovery (bounded work).
pub const AUTHORIZER_LIST_MAX_PAGES: u32 = 200;
/// Bound on compare-and-set retries of one store update.
const CAS_ATTEMPTS: usize = 8;
/// Poll interval while another instance holds a refresh lease.
const LEASE_POLL: Duration = Duration::from_millis(50);

/// Builds a [`ComponentClient`] with a custom store, clock or HTTP client.
pub struct ComponentClientBuilder {
    config: ComponentConfig,
    store: Option<Arc<dyn TokenStore>>,
    clock: Option<Arc<dyn Clock>>,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ComponentClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentClientBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ComponentClientBuilder {
    /// Uses `store` instead of a fresh [`MemoryStore`].
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `clock` instead of [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses a preconfigured `reqwest::Client` (its own timeouts then apply).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<ComponentClient> {
        let config = self.config;
        config.validate()?;
        let crypt = MsgCrypt::new(
            config.message_token.expose_secret(),
            config.encoding_aes_key.expose_secret(),
            &config.component_appid,
        )?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(config.connect_timeout)
                .build()
                .map_err(|e| Error::invalid("HTTP client", e.to_string()))?,
        };
        let transport = Transport::new(http, config.base_urls.clone(), config.retry);
        let (events, _) = broadcast::channel(256);
        Ok(ComponentClient {
            inner: Arc::new(Inner {
                ticket_key: StoreKey::ticket(&config.component_appid),
                component_key: StoreKey::component_token(&config.component_appid),
                config,
                crypt,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                transport,
                flights: SingleFlight::default(),
                events,
                holder: format!("wxopen-{:016x}", rand::random::<u64>()),
            }),
        })
    }
}

struct Inner {
    config: ComponentConfig,
    crypt: MsgCrypt,
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    transport: Transport,
    flights: SingleFlight,
    events: broadcast::Sender<ClientEvent>,
    holder: String,
    ticket_key: StoreKey,
    component_key: StoreKey,
}

/// A component (third-party platform) client: handles pushes, keeps the component and
/// authorizer tokens alive in a [`TokenStore`], and calls the component API.
///
/// Cheap to clone (an `Arc` inside); share one per component across the application.
#[derive(Clone)]
pub struct ComponentClient {
    inner: Arc<Inner>,
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

enum Lease {
    Held,
    NotHeld,
    Superseded(Versioned),
}

fn component_record(v: &StoredValue) -> Option<&ComponentTokenRecord> {
    match v {
        StoredValue::ComponentToken(r) => Some(r),
        _ => None,
    }
}

fn authorizer_record(v: &StoredValue) -> Option<&AuthorizerRecord> {
    match v {
        StoredValue::Authorizer(r) => Some(r),
        _ => None,
    }
}

fn wrong_kind(key: &StoreKey) -> Error {
    Error::Store(StoreError::new(format!(
        "record at {key} has an unexpected kind"
    )))
}

impl ComponentClient {
    /// A client with a [`MemoryStore`] and the [`SystemClock`].
    pub fn new(config: ComponentConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder for a client with a custom store, clock or HTTP client.
    pub fn builder(config: ComponentConfig) -> ComponentClientBuilder {
        ComponentClientBuilder {
            config,
            store: None,
            clock: None,
            http: None,
        }
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

    fn emit(&self, event: ClientEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(event);
    }

    fn now(&self) -> u64 {
        self.inner.clock.unix_seconds()
    }

    fn component_appid(&self) -> &str {
        &self.inner.config.component_appid
    }

    fn authorizer_key(&self, authorizer_appid: &str) -> Result<StoreKey> {
        if authorizer_appid.is_empty() || authorizer_appid.chars().any(char::is_control) {
            return Err(Error::invalid(
                "authorizer_appid",
                "empty or contains control characters",
            ));
        }
        Ok(StoreKey::authorizer(
            self.component_appid(),
            authorizer_appid,
        ))
    }

    // -----------------------------------------------------------------------------------------
    // Push handling (no network on this path)

    fn check_timestamp(&self, query: &PushQuery) -> Result<()> {
        if let Some(window) = self.inner.config.push_timestamp_window {
            wxopen_core::timestamp::check_window(&query.timestamp, self.now(), window.as_secs())?;
        }
        Ok(())
    }

    /// Handles a POST to the component's "authorization event receive URL".
    ///
    /// Verifies `msg_signature` (constant time, in `wxopen-core`), decrypts, parses, and acts
    /// on the event using the store only: a ticket is recorded if it is newer than the stored
    /// one, `unauthorized` drops that authorizer's tokens. It never makes a network call, so it
    /// answers well within WeChat's 5 seconds. Answer WeChat with [`PushAck::reply`]
    /// (`"success"`); on `Err`, answer an error status so WeChat pushes again.
    pub async fn handle_component_push(&self, query: &PushQuery, body: &[u8]) -> Result<PushAck> {
        self.check_timestamp(query)?;
        let plain = self.inner.crypt.decrypt_message(
            body,
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
        )?;
        let event = parse_component_event(&plain)?;
        if let Some(app_id) = event.app_id() {
            if app_id != self.component_appid() {
                return Err(PushError::AppIdMismatch {
                    expected: self.component_appid().to_owned(),
                    found: app_id.to_owned(),
                }
                .into());
            }
        }
        let mut ticket_stored = false;
        match &event {
            ComponentEvent::ComponentVerifyTicket {
                create_time,
                ticket,
                ..
            } => {
                ticket_stored = self.record_ticket(ticket.clone(), *create_time).await?;
                self.emit(ClientEvent::TicketReceived {
                    create_time: *create_time,
                    stored: ticket_stored,
                });
            }
            ComponentEvent::Unauthorized {
                authorizer_appid, ..
            } => {
                self.forget_authorizer(authorizer_appid).await?;
                self.emit(ClientEvent::AuthorizerUnauthorized {
                    authorizer_appid: authorizer_appid.clone(),
                });
            }
            ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => {
                self.emit(ClientEvent::AuthorizationCodeReceived {
                    authorizer_appid: g.authorizer_appid.clone(),
                    update: matches!(event, ComponentEvent::UpdateAuthorized(_)),
                });
            }
            _ => {}
        }
        tracing::info!(
            info_type = event.info_type(),
            ticket_stored,
            "component push handled"
        );
        Ok(PushAck {
            event,
            ticket_stored,
            reply: SUCCESS_REPLY,
        })
    }

    /// Records a ticket unless the stored one has the same or a newer `CreateTime`.
    /// Returns `true` if it was stored. (The push handler calls this; it is public for hosts
    /// that receive pushes elsewhere.)
    pub async fn record_ticket(
        &self,
        ticket: ComponentVerifyTicket,
        create_time: u64,
    ) -> Result<bool> {
        if ticket.is_empty() {
            return Err(Error::invalid("component_verify_ticket", "empty"));
        }
        let received_at = self.now();
        let written = self
            .update_record(&self.inner.ticket_key, |current| {
                if let Some(StoredValue::Ticket(t)) = current {
                    if t.create_time >= create_time {
                        return None;
                    }
                }
                Some(StoredValue::Ticket(TicketRecord {
                    ticket: ticket.clone(),
                    create_time,
                    received_at,
                }))
            })
            .await?;
        Ok(written.is_some())
    }

    /// What the store holds for this component right now (ticket age, component token state),
    /// for health checks: alert when [`ComponentHealth::is_healthy`] is `false`.
    pub async fn health(&self) -> Result<ComponentHealth> {
        let ticket = self.stored_ticket().await?;
        let token = self.load_component().await?.map(|(r, _)| r);
        Ok(health::assess(self.now(), ticket.as_ref(), token.as_ref()))
    }

    /// The stored ticket, if any.
    pub async fn stored_ticket(&self) -> Result<Option<TicketRecord>> {
        Ok(match self.inner.store.get(&self.inner.ticket_key).await? {
            Some(Versioned {
                value: StoredValue::Ticket(t),
                ..
            }) => Some(t),
            Some(_) => return Err(wrong_kind(&self.inner.ticket_key)),
            None => None,
        })
    }

    /// Drops everything stored for an authorizer (the `unauthorized` push does this).
    pub async fn forget_authorizer(&self, authorizer_appid: &str) -> Result<()> {
        let key = self.authorizer_key(authorizer_appid)?;
        for _ in 0..CAS_ATTEMPTS {
            match self.inner.store.get(&key).await? {
                None => return Ok(()),
                Some(v) => {
                    if self.inner.store.compare_and_delete(&key, v.version).await? {
                        return Ok(());
                    }
                }
            }
        }
        Err(StoreError::new(format!("could not delete {key}: kept conflicting")).into())
    }

    // -----------------------------------------------------------------------------------------
    // Authorized-account messages

    /// Verifies and decrypts a message pushed for an authorized account (to the component's
    /// "message and event receive URL"). The trailing id inside is the component appid.
    /// Returns the plaintext XML; [`crate::xml::parse_flat`] reads its fields.
    pub fn decrypt_authorizer_message(&self, query: &PushQuery, body: &[u8]) -> Result<Vec<u8>> {
        self.check_timestamp(query)?;
        Ok(self.inner.crypt.decrypt_message(
            body,
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
        )?)
    }

    /// Encrypts a passive reply for an authorized account, with the timestamp from the clock
    /// and a random nonce and IV prefix. Send [`Reply::to_xml`] as the response body.
    pub fn encrypt_authorizer_reply(&self, message: &[u8]) -> Result<Reply> {
        let timestamp = self.now().to_string();
        let nonce = rand::random_range(1_000_000_000u64..10_000_000_000).to_string();
        let random16: [u8; 16] = rand::random();
        self.encrypt_authorizer_reply_with(message, &timestamp, &nonce, &random16)
    }

    /// Encrypts a passive reply with caller-chosen timestamp, nonce and 16 random bytes
    /// (deterministic; for tests and reproducible vectors).
    pub fn encrypt_authorizer_reply_with(
        &self,
        message: &[u8],
        timestamp: &str,
        nonce: &str,
        random16: &[u8; 16],
    ) -> Result<Reply> {
        Ok(self
            .inner
            .crypt
            .encrypt_reply(message, timestamp, nonce, random16)?)
    }

    // -----------------------------------------------------------------------------------------
    // Store helpers

    /// Bounded compare-and-set loop: `f` maps the current value to the new one (`None`: leave
    /// it). Returns the new version, or `None` if `f` declined.
    async fn update_record<F>(&self, key: &StoreKey, mut f: F) -> Result<Option<u64>>
    where
        F: FnMut(Option<&StoredValue>) -> Option<StoredValue> + Send,
    {
        for _ in 0..CAS_ATTEMPTS {
            let current = self.inner.store.get(key).await?;
            let Some(next) = f(current.as_ref().map(|v| &v.value)) else {
                return Ok(None);
            };
            let expected = current.as_ref().map(|v| v.version);
            match self
                .inner
                .store
                .compare_and_set(key, expected, next, None)
                .await?
            {
                CasOutcome::Applied { version } => return Ok(Some(version)),
                CasOutcome::Conflict { .. } | CasOutcome::LeaseLost => continue,
            }
        }
        Err(StoreError::new(format!("could not update {key}: kept conflicting")).into())
    }

    /// Compare-and-expire: rewrites the record at `version` through `f` (which marks it
    /// expired). A record that changed since is left alone: only the failed token is dropped.
    async fn expire_if_version<F>(&self, key: &StoreKey, version: u64, f: F) -> Result<bool>
    where
        F: FnOnce(&StoredValue) -> Option<StoredValue> + Send,
    {
        let Some(current) = self.inner.store.get(key).await? else {
            return Ok(false);
        };
        if current.version != version {
            return Ok(false);
        }
        let Some(next) = f(&current.value) else {
            return Ok(false);
        };
        Ok(matches!(
            self.inner
                .store
                .compare_and_set(key, Some(version), next, None)
                .await?,
            CasOutcome::Applied { .. }
        ))
    }

    /// Takes the cross-instance lease for `key`, or learns that another instance refreshed
    /// the record meanwhile; after `lease_wait` proceeds without the lease.
    async fn acquire_lease(
        &self,
        key: &StoreKey,
        observed: Option<u64>,
        usable: impl Fn(&StoredValue) -> bool + Send,
    ) -> Result<Lease> {
        let deadline = Instant::now() + self.inner.config.lease_wait;
        loop {
            if self
                .inner
                .store
                .try_lease(key, &self.inner.holder, self.inner.config.lease_ttl)
                .await?
            {
                // Another instance may have finished just before we got the lease.
                if let Some(v) = self.inner.store.get(key).await? {
                    if Some(v.version) != observed && usable(&v.value) {
                        self.release_lease(key).await;
                        return Ok(Lease::Superseded(v));
                    }
                }
                return Ok(Lease::Held);
            }
            if let Some(v) = self.inner.store.get(key).await? {
                if Some(v.version) != observed && usable(&v.value) {
                    return Ok(Lease::Superseded(v));
                }
            }
            if Instant::now() >= deadline {
                tracing::warn!(key = %key, "refresh lease still held elsewhere; refreshing anyway");
                return Ok(Lease::NotHeld);
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    async fn release_lease(&self, key: &StoreKey) {
        if let Err(e) = self
            .inner
            .store
            .release_lease(key, &self.inner.holder)
            .await
        {
            tracing::warn!(key = %key, error = %e, "could not release refresh lease");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Component access token

    /// The component access token: from the store while fresh, refreshed ahead of expiry
    /// (margin + jitter), fetched with the newest stored ticket when missing or expired.
    /// Concurrent callers share one upstream call.
    pub async fn component_access_token(&self) -> Result<ComponentAccessToken> {
        Ok(self.component_token_versioned().await?.0)
    }

    /// Drops the current component token (compare-and-expire) and fetches a new one.
    pub async fn refresh_component_access_token(&self) -> Result<ComponentAccessToken> {
        if let Some(v) = self.inner.store.get(&self.inner.component_key).await? {
            self.expire_component_token(v.version, None).await?;
        }
        self.component_access_token().await
    }

    /// The stored component token record, if any.
    pub async fn component_token_record(&self) -> Result<Option<ComponentTokenRecord>> {
        Ok(self.load_component().await?.map(|(r, _)| r))
    }

    async fn load_component(&self) -> Result<Option<(ComponentTokenRecord, u64)>> {
        let key = &self.inner.component_key;
        match self.inner.store.get(key).await? {
            None => Ok(None),
            Some(v) => match v.value {
                StoredValue::ComponentToken(r) => Ok(Some((r, v.version))),
                _ => Err(wrong_kind(key)),
            },
        }
    }

    async fn component_token_versioned(&self) -> Result<(ComponentAccessToken, u64)> {
        let key = self.inner.component_key.clone();
        if let Some((rec, ver)) = self.load_component().await? {
            match token_state(self.now(), rec.refresh_at, rec.expires_at) {
                TokenState::Fresh => return Ok((rec.token, ver)),
                TokenState::RefreshAhead => {
                    let slot = self.inner.flights.slot(&key);
                    let Ok(_guard) = slot.try_lock_owned() else {
                        // Someone in this process is refreshing; this token is still valid.
                        return Ok((rec.token, ver));
                    };
                    return match self.refresh_component_locked(Some(ver)).await {
                        Ok(v) => Ok(v),
                        Err(e) => {
                            tracing::warn!(error = %e, "refresh ahead of expiry failed; using the current component token");
                            Ok((rec.token, ver))
                        }
                    };
                }
                TokenState::Expired => {}
            }
        }
        let slot = self.inner.flights.slot(&key);
        let _guard = slot.lock().await;
        let current = self.load_component().await?;
        if let Some((rec, ver)) = &current {
            if token_state(self.now(), rec.refresh_at, rec.expires_at) != TokenState::Expired {
                return Ok((rec.token.clone(), *ver));
            }
        }
        self.refresh_component_locked(current.map(|(_, v)| v)).await
    }

    async fn refresh_component_locked(
        &self,
        observed: Option<u64>,
    ) -> Result<(ComponentAccessToken, u64)> {
        let key = self.inner.component_key.clone();
        let now = self.now();
        let usable = move |v: &StoredValue| {
            component_record(v).is_some_and(|r| {
                token_state(now, r.refresh_at, r.expires_at) != TokenState::Expired
            })
        };
        let held = match self.acquire_lease(&key, observed, usable).await? {
            Lease::Superseded(v) => {
                let rec = component_record(&v.value).ok_or_else(|| wrong_kind(&key))?;
                return Ok((rec.token.clone(), v.version));
            }
            Lease::Held => true,
            Lease::NotHeld => false,
        };
        let result = self.fetch_component_token().await;
        if held {
            self.release_lease(&key).await;
        }
        result
    }

    async fn fetch_component_token(&self) -> Result<(ComponentAccessToken, u64)> {
        let ticket = self.stored_ticket().await?.ok_or(Error::TicketMissing)?;
        let now = self.now();
        let stale = ticket_is_stale(now, ticket.create_time);
        if stale {
            tracing::warn!(
                ticket_create_time = ticket.create_time,
                "stored ticket is older than 12 h; trying it anyway"
            );
        }
        let request = ComponentTokenRequest {
            component_appid: self.component_appid(),
            component_appsecret: self.inner.config.component_appsecret.expose_secret(),
            component_verify_ticket: ticket.ticket.expose_secret(),
        };
        let response: ComponentTokenResponse = self
            .inner
            .transport
            .call(Endpoint::ComponentToken, None, &request)
            .await
            .map_err(|e| match e {
                Error::TicketRejected {
                    errcode, errmsg, ..
                } => Error::TicketRejected {
                    errcode,
                    errmsg,
                    stale,
                },
                other => other,
            })?;
        let now = self.now();
        let cfg = &self.inner.config;
        let record = ComponentTokenRecord {
            token: response.component_access_token.clone(),
            obtained_at: now,
            refresh_at: refresh_deadline(
                now,
                response.expires_in,
                cfg.refresh_margin,
                cfg.refresh_jitter.sample(),
            ),
            expires_at: expiry(now, response.expires_in),
        };
        let expires_at = record.expires_at;
        let value = StoredValue::ComponentToken(record);
        let version = self
            .update_record(&self.inner.component_key, |_| Some(value.clone()))
            .await?
            .ok_or_else(|| StoreError::new("component token write declined"))?;
        tracing::info!(expires_at, "component access token refreshed");
        self.emit(ClientEvent::ComponentTokenRefreshed { expires_at });
        Ok((response.component_access_token, version))
    }

    async fn expire_component_token(&self, version: u64, errcode: Option<i64>) -> Result<()> {
        let expired = self
            .expire_if_version(&self.inner.component_key, version, |v| {
                component_record(v).map(|r| {
                    StoredValue::ComponentToken(ComponentTokenRecord {
                        refresh_at: 0,
                        expires_at: 0,
                        ..r.clone()
                    })
                })
            })
            .await?;
        if let (true, Some(errcode)) = (expired, errcode) {
            self.emit(ClientEvent::TokenRejected {
                authorizer_appid: None,
                errcode,
            });
        }
        Ok(())
    }

    /// Calls a component-token endpoint; on 40001/40014/42001 expires only the token that
    /// failed, refreshes once and retries once.
    async fn call_component<Req, Resp>(&self, endpoint: Endpoint, body: &Req) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        let (token, version) = self.component_token_versioned().await?;
        match self
            .inner
            .transport
            .call(endpoint, Some(token.expose_secret()), body)
            .await
        {
            Err(e) if e.is_token_invalid() => {
                tracing::warn!(
                    endpoint = endpoint.name(),
                    errcode = e.code(),
                    "component token rejected; refreshing once"
                );
                self.expire_component_token(version, e.code()).await?;
                let (token, _) = self.component_token_versioned().await?;
                self.inner
                    .transport
                    .call(endpoint, Some(token.expose_secret()), body)
                    .await
            }
            other => other,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Authorization

    /// A new `pre_auth_code` (single use).
    pub async fn pre_auth_code(&self) -> Result<PreAuthCode> {
        let response: PreAuthCodeResponse = self
            .call_component(
                Endpoint::CreatePreAuthCode,
                &PreAuthCodeRequest {
                    component_appid: self.component_appid(),
                },
            )
            .await?;
        Ok(response.pre_auth_code)
    }

    /// Fetches a fresh `pre_auth_code` and builds the authorization page URL.
    pub async fn authorization_url(
        &self,
        page: AuthPage,
        options: &AuthUrlOptions,
    ) -> Result<String> {
        // Validate before spending a pre-auth code.
        auth_url::authorization_url(
            page,
            self.component_appid(),
            &PreAuthCode::new("x"),
            options,
        )?;
        let code = self.pre_auth_code().await?;
        auth_url::authorization_url(page, self.component_appid(), &code, options)
    }

    /// Builds the authorization page URL with a `pre_auth_code` the caller already has.
    pub fn authorization_url_with_code(
        &self,
        page: AuthPage,
        pre_auth_code: &PreAuthCode,
        options: &AuthUrlOptions,
    ) -> Result<String> {
        auth_url::authorization_url(page, self.component_appid(), pre_auth_code, options)
    }

    /// Exchanges an authorization code (from the redirect or the `authorized` push). The
    /// authorizer's access token, expiry and refresh token are stored before this returns.
    ///
    /// The code is single-use, so this call is not retried once the request may have reached
    /// WeChat (timeout, lost body, HTTP 5xx; see [`Endpoint::is_single_use`]): the error is
    /// returned as is, and a caller should not simply call again with the same code. If the
    /// exchange did happen, the refresh token can be recovered with
    /// [`authorizer_list`](Self::authorizer_list), as `authorizer_access_token` does on 61023.
    pub async fn query_auth(&self, code: &AuthorizationCode) -> Result<AuthorizationInfo> {
        if code.is_empty() {
            return Err(Error::invalid("authorization_code", "empty"));
        }
        let response: QueryAuthResponse = self
            .call_component(
                Endpoint::QueryAuth,
                &QueryAuthRequest {
                    component_appid: self.component_appid(),
                    authorization_code: code.expose_secret(),
                },
            )
            .await?;
        let info = response.authorization_info;
        let key = self
            .authorizer_key(&info.authorizer_appid)
            .map_err(|_| Error::Decode {
                endpoint: Endpoint::QueryAuth.name(),
                message: "empty authorizer_appid".into(),
            })?;
        if let Some(refresh_token) = info
            .authorizer_refresh_token
            .clone()
            .filter(|t| !t.is_empty())
        {
            let now = self.now();
            let cfg = &self.inner.config;
            let expires_in = info.expires_in.unwrap_or(7200);
            let access = info.authorizer_access_token.clone();
            let (refresh_at, expires_at) = if access.is_some() {
                (
                    refresh_deadline(
                        now,
                        expires_in,
                        cfg.refresh_margin,
                        cfg.refresh_jitter.sample(),
                    ),
                    expiry(now, expires_in),
                )
            } else {
                (0, 0)
            };
            let value = StoredValue::Authorizer(AuthorizerRecord {
                access_token: access,
                refresh_token: Some(refresh_token),
                obtained_at: now,
                refresh_at,
                expires_at,
                authorized_at: now,
            });
            self.update_record(&key, |_| Some(value.clone())).await?;
            self.emit(ClientEvent::AuthorizerAuthorized {
                authorizer_appid: info.authorizer_appid.clone(),
            });
        } else {
            tracing::warn!(authorizer_appid = %info.authorizer_appid, "query_auth returned no refresh token (no API permission granted); nothing stored");
        }
        Ok(info)
    }

    // -----------------------------------------------------------------------------------------
    // Authorizer access token

    /// An authorizer's access token: from the store while fresh, refreshed ahead of expiry
    /// with `api_authorizer_token` (the returned refresh token is stored atomically with the
    /// new access token). A lost or superseded refresh token (61023) is recovered from the
    /// authorizer list once; if that fails the error is [`Error::MustReauthorize`].
    /// Concurrent callers share one upstream call.
    pub async fn authorizer_access_token(
        &self,
        authorizer_appid: &str,
    ) -> Result<AuthorizerAccessToken> {
        Ok(self.authorizer_token_versioned(authorizer_appid).await?.0)
    }

    /// Drops an authorizer's current access token (compare-and-expire, the refresh token is
    /// kept) and fetches a new one.
    pub async fn refresh_authorizer_access_token(
        &self,
        authorizer_appid: &str,
    ) -> Result<AuthorizerAccessToken> {
        let key = self.authorizer_key(authorizer_appid)?;
        if let Some(v) = self.inner.store.get(&key).await? {
            self.expire_authorizer_token(&key, authorizer_appid, v.version, None)
                .await?;
        }
        self.authorizer_access_token(authorizer_appid).await
    }

    /// The stored record of an authorizer, if any.
    pub async fn authorizer_record(
        &self,
        authorizer_appid: &str,
    ) -> Result<Option<AuthorizerRecord>> {
        let key = self.authorizer_key(authorizer_appid)?;
        Ok(self.load_authorizer(&key).await?.map(|(r, _)| r))
    }

    async fn load_authorizer(&self, key: &StoreKey) -> Result<Option<(AuthorizerRecord, u64)>> {
        match self.inner.store.get(key).await? {
            None => Ok(None),
            Some(v) => match v.value {
                StoredValue::Authorizer(r) => Ok(Some((r, v.version))),
                _ => Err(wrong_kind(key)),
            },
        }
    }

    fn usable_authorizer(
        now: u64,
        r: &AuthorizerRecord,
    ) -> Option<(AuthorizerAccessToken, TokenState)> {
        let token = r.access_token.clone()?;
        Some((token, token_state(now, r.refresh_at, r.expires_at)))
    }

    async fn authorizer_token_versioned(
        &self,
        authorizer_appid: &str,
    ) -> Result<(AuthorizerAccessToken, u64)> {
        let key = self.authorizer_key(authorizer_appid)?;
        if let Some((rec, ver)) = self.load_authorizer(&key).await? {
            match Self::usable_authorizer(self.now(), &rec) {
                Some((token, TokenState::Fresh)) => return Ok((token, ver)),
                Some((token, TokenState::RefreshAhead)) => {
                    let slot = self.inner.flights.slot(&key);
                    let Ok(_guard) = slot.try_lock_owned() else {
                        return Ok((token, ver));
                    };
                    return match self
                        .refresh_authorizer_locked(&key, authorizer_appid, Some(ver))
                        .await
                    {
                        Ok(v) => Ok(v),
                        Err(e) => {
                            tracing::warn!(authorizer_appid, error = %e, "refresh ahead of expiry failed; using the current authorizer token");
                            Ok((token, ver))
                        }
                    };
                }
                _ => {}
            }
        }
        let slot = self.inner.flights.slot(&key);
        let _guard = slot.lock().await;
        let current = self.load_authorizer(&key).await?;
        if let Some((rec, ver)) = &current {
            if let Some((token, state)) = Self::usable_authorizer(self.now(), rec) {
                if state != TokenState::Expired {
                    return Ok((token, *ver));
                }
            }
        }
        self.refresh_authorizer_locked(&key, authorizer_appid, current.map(|(_, v)| v))
            .await
    }

    async fn refresh_authorizer_locked(
        &self,
        key: &StoreKey,
        authorizer_appid: &str,
        observed: Option<u64>,
    ) -> Result<(AuthorizerAccessToken, u64)> {
        let now = self.now();
        let usable = move |v: &StoredValue| {
            authorizer_record(v)
                .and_then(|r| Self::usable_authorizer(now, r))
                .is_some_and(|(_, s)| s != TokenState::Expired)
        };
        let held = match self.acquire_lease(key, observed, usable).await? {
            Lease::Superseded(v) => {
                let token = authorizer_record(&v.value)
                    .and_then(|r| r.access_token.clone())
                    .ok_or_else(|| wrong_kind(key))?;
                return Ok((token, v.version));
            }
            Lease::Held => true,
            Lease::NotHeld => false,
        };
        let result = self.fetch_authorizer_token(key, authorizer_appid).await;
        if held {
            self.release_lease(key).await;
        }
        result
    }

    async fn fetch_authorizer_token(
        &self,
        key: &StoreKey,
        authorizer_appid: &str,
    ) -> Result<(AuthorizerAccessToken, u64)> {
        let refresh_token =
            match self.load_authorizer(key).await? {
                Some((
                    AuthorizerRecord {
                        refresh_token: Some(rt),
                        ..
                    },
                    _,
                )) => rt,
                _ => match self.recover_refresh_token(authorizer_appid).await? {
                    Some(rt) => {
                        self.store_recovered_refresh_token(key, authorizer_appid, &rt)
                            .await?;
                        rt
                    }
                    None => return Err(Error::MustReauthorize {
                        authorizer_appid: authorizer_appid.to_owned(),
                        errcode: None,
                        reason:
                            "no refresh token stored and the account is not in the authorizer list"
                                .into(),
                    }),
                },
            };
        match self
            .exchange_refresh_token(key, authorizer_appid, &refresh_token)
            .await
        {
            Err(e) if e.class() == Some(ErrorClass::RefreshTokenInvalid) => {
                tracing::warn!(
                    authorizer_appid,
                    "refresh token rejected (61023); recovering it from the authorizer list"
                );
                match self.recover_refresh_token(authorizer_appid).await? {
                    Some(rt) if rt != refresh_token => {
                        self.store_recovered_refresh_token(key, authorizer_appid, &rt)
                            .await?;
                        self.exchange_refresh_token(key, authorizer_appid, &rt)
                            .await
                            .map_err(|e| match e.class() {
                                Some(ErrorClass::RefreshTokenInvalid) => Error::MustReauthorize {
                                    authorizer_appid: authorizer_appid.to_owned(),
                                    errcode: e.code(),
                                    reason: "the refresh token from the authorizer list was rejected too".into(),
                                },
                                _ => e,
                            })
                    }
                    Some(_) => Err(Error::MustReauthorize {
                        authorizer_appid: authorizer_appid.to_owned(),
                        errcode: e.code(),
                        reason: "the authorizer list holds the same rejected refresh token".into(),
                    }),
                    None => Err(Error::MustReauthorize {
                        authorizer_appid: authorizer_appid.to_owned(),
                        errcode: e.code(),
                        reason: "the account is not in the authorizer list".into(),
                    }),
                }
            }
            Err(e) if e.class() == Some(ErrorClass::NotAuthorized) => Err(Error::MustReauthorize {
                authorizer_appid: authorizer_appid.to_owned(),
                errcode: e.code(),
                reason: "the account no longer authorizes this component".into(),
            }),
            other => other,
        }
    }

    async fn exchange_refresh_token(
        &self,
        key: &StoreKey,
        authorizer_appid: &str,
        refresh_token: &AuthorizerRefreshToken,
    ) -> Result<(AuthorizerAccessToken, u64)> {
        let response: AuthorizerTokenResponse = self
            .call_component(
                Endpoint::AuthorizerToken,
                &AuthorizerTokenRequest {
                    component_appid: self.component_appid(),
                    authorizer_appid,
                    authorizer_refresh_token: refresh_token.expose_secret(),
                },
            )
            .await?;
        let now = self.now();
        let cfg = &self.inner.config;
        let new_refresh = response
            .authorizer_refresh_token
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| refresh_token.clone());
        let expires_at = expiry(now, response.expires_in);
        let refresh_at = refresh_deadline(
            now,
            response.expires_in,
            cfg.refresh_margin,
            cfg.refresh_jitter.sample(),
        );
        let access = response.authorizer_access_token.clone();
        let written = self
            .update_record(key, |current| {
                // Only replace the record this refresh started from: if the refresh token
                // changed meanwhile (re-authorization through query_auth) or the record was
                // dropped (unauthorized push), the store holds newer truth; keep it.
                let current = current.and_then(authorizer_record)?;
                if current.refresh_token.as_ref() != Some(refresh_token)
                    && current.refresh_token.as_ref() != Some(&new_refresh)
                {
                    return None;
                }
                Some(StoredValue::Authorizer(AuthorizerRecord {
                    access_token: Some(access.clone()),
                    refresh_token: Some(new_refresh.clone()),
                    obtained_at: now,
                    refresh_at,
                    expires_at,
                    authorized_at: current.authorized_at,
                }))
            })
            .await?;
        let Some(version) = written else {
            tracing::warn!(
                authorizer_appid,
                "authorizer record changed during refresh (re-authorized or revoked); not overwriting it"
            );
            // The token is valid; version 0 never matches, so a later compare-and-expire with
            // it cannot touch the newer record.
            return Ok((response.authorizer_access_token, 0));
        };
        tracing::info!(
            authorizer_appid,
            expires_at,
            "authorizer access token refreshed"
        );
        self.emit(ClientEvent::AuthorizerTokenRefreshed {
            authorizer_appid: authorizer_appid.to_owned(),
            expires_at,
        });
        Ok((response.authorizer_access_token, version))
    }

    async fn store_recovered_refresh_token(
        &self,
        key: &StoreKey,
        authorizer_appid: &str,
        refresh_token: &AuthorizerRefreshToken,
    ) -> Result<()> {
        let now = self.now();
        self.update_record(key, |current| {
            let authorized_at = current
                .and_then(authorizer_record)
                .map_or(now, |r| r.authorized_at);
            Some(StoredValue::Authorizer(AuthorizerRecord {
                access_token: None,
                refresh_token: Some(refresh_token.clone()),
                obtained_at: now,
                refresh_at: 0,
                expires_at: 0,
                authorized_at,
            }))
        })
        .await?;
        self.emit(ClientEvent::RefreshTokenRecovered {
            authorizer_appid: authorizer_appid.to_owned(),
        });
        Ok(())
    }

    /// Pages `api_get_authorizer_list` (bounded) for the current refresh token of one account.
    async fn recover_refresh_token(
        &self,
        authorizer_appid: &str,
    ) -> Result<Option<AuthorizerRefreshToken>> {
        let mut offset: u32 = 0;
        for _ in 0..AUTHORIZER_LIST_MAX_PAGES {
            let page = self.authorizer_list(offset, AUTHORIZER_LIST_PAGE).await?;
            if let Some(item) = page
                .list
                .iter()
                .find(|i| i.authorizer_appid == authorizer_appid)
            {
                return Ok(Some(item.refresh_token.clone()));
            }
            let got = u32::try_from(page.list.len()).unwrap_or(u32::MAX);
            offset = offset.saturating_add(got);
            if got == 0 || u64::from(offset) >= page.total_count {
                return Ok(None);
            }
        }
        Ok(None)
    }

    async fn expire_authorizer_token(
        &self,
        key: &StoreKey,
        authorizer_appid: &str,
        version: u64,
        errcode: Option<i64>,
    ) -> Result<()> {
        let expired = self
            .expire_if_version(key, version, |v| {
                authorizer_record(v).map(|r| {
                    StoredValue::Authorizer(AuthorizerRecord {
                        access_token: None,
                        refresh_at: 0,
                        expires_at: 0,
                        ..r.clone()
                    })
                })
            })
            .await?;
        if let (true, Some(errcode)) = (expired, errcode) {
            self.emit(ClientEvent::TokenRejected {
                authorizer_appid: Some(authorizer_appid.to_owned()),
                errcode,
            });
        }
        Ok(())
    }

    /// Calls an authorizer-token endpoint with the same one-refresh-one-retry rule.
    async fn call_authorizer<Req, Resp>(
        &self,
        authorizer_appid: &str,
        endpoint: Endpoint,
        body: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        let key = self.authorizer_key(authorizer_appid)?;
        let (token, version) = self.authorizer_token_versioned(authorizer_appid).await?;
        match self
            .inner
            .transport
            .call(endpoint, Some(token.expose_secret()), body)
            .await
        {
            Err(e) if e.is_token_invalid() => {
                tracing::warn!(
                    endpoint = endpoint.name(),
                    authorizer_appid,
                    errcode = e.code(),
                    "authorizer token rejected; refreshing once"
                );
                self.expire_authorizer_token(&key, authorizer_appid, version, e.code())
                    .await?;
                let (token, _) = self.authorizer_token_versioned(authorizer_appid).await?;
                self.inner
                    .transport
                    .call(endpoint, Some(token.expose_secret()), body)
                    .await
            }
            other => other,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Component API

    /// `api_get_authorizer_info`: an authorized account's details and granted permissions.
    pub async fn authorizer_info(&self, authorizer_appid: &str) -> Result<AuthorizerInfoResponse> {
        self.authorizer_key(authorizer_appid)?;
        self.call_component(
            Endpoint::GetAuthorizerInfo,
            &AuthorizerInfoRequest {
                component_appid: self.component_appid(),
                authorizer_appid,
            },
        )
        .await
    }

    /// `api_get_authorizer_list`: one page of authorized accounts with their current refresh
    /// tokens (field `refresh_token`).
    pub async fn authorizer_list(&self, offset: u32, count: u32) -> Result<AuthorizerListResponse> {
        if count == 0 {
            return Err(Error::invalid("count", "must be at least 1"));
        }
        self.call_component(
            Endpoint::GetAuthorizerList,
            &AuthorizerListRequest {
                component_appid: self.component_appid(),
                offset,
                count,
            },
        )
        .await
    }

    /// `api_get_authorizer_option` (first generation, component token). Option names:
    /// `location_report`, `voice_recognize`, `customer_service`.
    pub async fn authorizer_option_legacy(
        &self,
        authorizer_appid: &str,
        option_name: &str,
    ) -> Result<AuthorizerOption> {
        self.authorizer_key(authorizer_appid)?;
        self.call_component(
            Endpoint::GetAuthorizerOptionLegacy,
            &LegacyOptionRequest {
                component_appid: self.component_appid(),
                authorizer_appid,
                option_name,
                option_value: None,
            },
        )
        .await
    }

    /// `api_set_authorizer_option` (first generation, component token).
    pub async fn set_authorizer_option_legacy(
        &self,
        authorizer_appid: &str,
        option_name: &str,
        option_value: &str,
    ) -> Result<()> {
        self.authorizer_key(authorizer_appid)?;
        let _: Ack = self
            .call_component(
                Endpoint::SetAuthorizerOptionLegacy,
                &LegacyOptionRequest {
                    component_appid: self.component_appid(),
                    authorizer_appid,
                    option_name,
                    option_value: Some(option_value),
                },
            )
            .await?;
        Ok(())
    }

    /// `get_authorizer_option` (second generation, the authorizer's own token).
    pub async fn authorizer_option(
        &self,
        authorizer_appid: &str,
        option_name: &str,
    ) -> Result<AuthorizerOption> {
        self.call_authorizer(
            authorizer_appid,
            Endpoint::GetAuthorizerOption,
            &OptionRequest {
                option_name,
                option_value: None,
            },
        )
        .await
    }

    /// `set_authorizer_option` (second generation, the authorizer's own token).
    pub async fn set_authorizer_option(
        &self,
        authorizer_appid: &str,
        option_name: &str,
        option_value: &str,
    ) -> Result<()> {
        let _: Ack = self
            .call_authorizer(
                authorizer_appid,
                Endpoint::SetAuthorizerOption,
                &OptionRequest {
                    option_name,
                    option_value: Some(option_value),
                },
            )
            .await?;
        Ok(())
    }

    /// `api_start_push_ticket`: asks WeChat to (re)start pushing tickets. Needs no token, so
    /// it works when no ticket is stored. Returns WeChat's message.
    pub async fn start_push_ticket(&self) -> Result<String> {
        let ack: Ack = self
            .inner
            .transport
            .call(
                Endpoint::StartPushTicket,
                None,
                &StartPushTicketRequest {
                    component_appid: self.component_appid(),
                    component_secret: self.inner.config.component_appsecret.expose_secret(),
                },
            )
            .await?;
        Ok(ack.errmsg)
    }

    /// `clear_quota` for the component itself (component access token).
    pub async fn clear_component_quota(&self) -> Result<()> {
        let _: Ack = self
            .call_component(
                Endpoint::ClearQuota,
                &ClearQuotaRequest {
                    appid: self.component_appid(),
                },
            )
            .await?;
        Ok(())
    }

    /// `clear_quota` on behalf of an authorized account (its access token).
    pub async fn clear_authorizer_quota(&self, authorizer_appid: &str) -> Result<()> {
        let _: Ack = self
            .call_authorizer(
                authorizer_appid,
                Endpoint::ClearQuota,
                &ClearQuotaRequest {
                    appid: authorizer_appid,
                },
            )
            .await?;
        Ok(())
    }

    /// POSTs `body` to any API `path` with the component access token
    /// (`component_access_token=`), with the same retry, failover, errcode checking and
    /// one-refresh-one-retry rules as the built-in calls. Decode into `serde_json::Value` when
    /// there is no typed response.
    pub async fn call_component_api<Req, Resp>(
        &self,
        path: &'static str,
        body: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        let endpoint = Endpoint::Other {
            path,
            token: TokenParam::ComponentAccessToken,
        };
        self.call_component(endpoint, body).await
    }

    /// POSTs `body` to any API `path` on behalf of an authorized account (`access_token=` its
    /// authorizer access token), with the same rules as [`call_component_api`](Self::call_component_api).
    pub async fn call_authorizer_api<Req, Resp>(
        &self,
        authorizer_appid: &str,
        path: &'static str,
        body: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        let endpoint = Endpoint::Other {
            path,
            token: TokenParam::AccessToken,
        };
        self.call_authorizer(authorizer_appid, endpoint, body).await
    }

    /// `clear_quota/v2`: resets a quota with the appsecret instead of a token (works when the
    /// token quota itself is exhausted). `None` resets the component's own quota.
    pub async fn clear_quota_v2(&self, authorizer_appid: Option<&str>) -> Result<()> {
        let _: Ack = self
            .inner
            .transport
            .call(
                Endpoint::ClearQuotaV2,
                None,
                &ClearQuotaV2Request {
                    component_appid: self.component_appid(),
                    appsecret: self.inner.config.component_appsecret.expose_secret(),
                    appid: authorizer_appid,
                },
            )
            .await?;
        Ok(())
    }
}
