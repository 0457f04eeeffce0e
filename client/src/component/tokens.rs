//! The component and authorizer access tokens, over the token engine.

use super::client::ComponentClient;
use crate::appid::check_appid;
use crate::error::{Error, Result};
use crate::health::{self, ComponentHealth};
use crate::secret::{AuthorizerAccessToken, ComponentAccessToken};
use crate::store::{
    AuthorizerRecord, ComponentTokenRecord, RevokedRecord, StoreError, StoredValue, TicketRecord,
    Versioned,
};

/// What the store holds for one authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizerState {
    /// Its tokens.
    Authorized(AuthorizerRecord),
    /// A tombstone: it must authorize again.
    Revoked(RevokedRecord),
}

/// One authorizer as a listing shows it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizerSummary {
    /// The authorizer appid.
    pub authorizer_appid: String,
    /// `true` while it holds a refresh token or an access token; `false` for a tombstone.
    pub authorized: bool,
    /// When its access token expires (unix seconds), if it holds one.
    pub access_token_expires_at: Option<u64>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// When it was last authorized (or, for a tombstone, since when it is revoked).
    pub authorized_at: u64,
    /// For a tombstone: why, and the WeChat code.
    pub revoked: Option<RevokedRecord>,
    /// `true` when the stored record cannot be read (garbage, or a format of a newer wxopen
    /// during a rolling upgrade): listed so an operator sees it, never refreshed.
    pub unreadable: bool,
    /// The permission-set ids the account grants, sorted, as the last `api_query_auth` or
    /// `api_get_authorizer_info` reported them; `None` when none reported them yet.
    pub func_info: Option<Vec<i64>>,
    /// The permission sets the last change of the grant took away (an `updateauthorized`
    /// that narrowed it), sorted; empty when it took none away.
    pub func_info_removed: Vec<i64>,
}

impl AuthorizerSummary {
    fn of(authorizer_appid: String, state: AuthorizerState) -> Self {
        match state {
            AuthorizerState::Authorized(r) => Self {
                authorizer_appid,
                authorized: true,
                access_token_expires_at: r.access_token.as_ref().map(|_| r.expires_at),
                has_refresh_token: r.refresh_token.is_some(),
                authorized_at: r.authorized_at,
                revoked: None,
                unreadable: false,
                func_info: r.func_info,
                func_info_removed: r.func_info_removed,
            },
            AuthorizerState::Revoked(t) => Self {
                authorizer_appid,
                authorized: false,
                access_token_expires_at: None,
                has_refresh_token: false,
                authorized_at: t.since,
                revoked: Some(t),
                unreadable: false,
                func_info: None,
                func_info_removed: Vec::new(),
            },
        }
    }

    fn unreadable(authorizer_appid: String) -> Self {
        Self {
            authorizer_appid,
            authorized: false,
            access_token_expires_at: None,
            has_refresh_token: false,
            authorized_at: 0,
            revoked: None,
            unreadable: true,
            func_info: None,
            func_info_removed: Vec::new(),
        }
    }
}

/// The most authorizers one [`ComponentClient::list_authorizers`] page returns.
pub const MAX_LIST_PAGE: usize = 1000;

/// A token with its expiry, for a token service that hands tokens to other services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken<T> {
    /// The token.
    pub token: T,
    /// When it expires (unix seconds).
    pub expires_at: u64,
}

impl ComponentClient {
    /// The component access token: from the store while fresh; past its refresh deadline it
    /// is still returned at once while one background refresh runs; fetched with the newest
    /// stored ticket when missing or expired (concurrent callers share that one call and its
    /// outcome, error included). Failures are remembered by class (see
    /// [`CooldownPolicy`](crate::CooldownPolicy)).
    pub async fn component_access_token(&self) -> Result<ComponentAccessToken> {
        Ok(self.component_access_token_issued().await?.token)
    }

    /// [`component_access_token`](Self::component_access_token) with its expiry.
    pub async fn component_access_token_issued(&self) -> Result<IssuedToken<ComponentAccessToken>> {
        let t = self.inner.component_tokens.get(&()).await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// Compare-and-refresh of the component token: if `stale` (the token a caller saw
    /// rejected) is still the current one — or `stale` is `None` — it is expired and one
    /// refresh runs; otherwise the current token is returned. N callers reporting the same
    /// rejected token cause one refresh.
    pub async fn refresh_component_access_token_if(
        &self,
        stale: Option<&str>,
    ) -> Result<IssuedToken<ComponentAccessToken>> {
        let t = self
            .inner
            .component_tokens
            .refresh_if_current(&(), stale)
            .await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// Drops the current component token (compare-and-expire) and fetches a new one.
    pub async fn refresh_component_access_token(&self) -> Result<ComponentAccessToken> {
        Ok(self.refresh_component_access_token_if(None).await?.token)
    }

    /// The stored component token record, if any.
    pub async fn component_token_record(&self) -> Result<Option<ComponentTokenRecord>> {
        match self.inner.store.get(&self.inner.component_key).await? {
            None => Ok(None),
            Some(Versioned {
                value: StoredValue::ComponentToken(r),
                ..
            }) => Ok(Some(r)),
            Some(_) => Err(StoreError::corrupt("component token record of another kind").into()),
        }
    }

    /// An authorizer's access token: from the store while fresh, refreshed in the background
    /// ahead of expiry, exchanged from the stored refresh token when missing or expired (the
    /// returned refresh token is stored atomically with the new access token). A lost or
    /// rejected refresh token (61023) is recovered from the authorizer list (rate-limited);
    /// otherwise the account gets a tombstone and the error is
    /// [`Error::MustReauthorize`], at once and without a call to WeChat until it authorizes
    /// again. The appid must be 1 to 32 ASCII letters, digits or `_`.
    pub async fn authorizer_access_token(
        &self,
        authorizer_appid: &str,
    ) -> Result<AuthorizerAccessToken> {
        Ok(self
            .authorizer_access_token_issued(authorizer_appid)
            .await?
            .token)
    }

    /// [`authorizer_access_token`](Self::authorizer_access_token) with its expiry.
    pub async fn authorizer_access_token_issued(
        &self,
        authorizer_appid: &str,
    ) -> Result<IssuedToken<AuthorizerAccessToken>> {
        check_appid(authorizer_appid)?;
        let t = self
            .inner
            .authorizer_tokens
            .get(&authorizer_appid.to_owned())
            .await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// Compare-and-refresh of an authorizer token (see
    /// [`refresh_component_access_token_if`](Self::refresh_component_access_token_if)).
    pub async fn refresh_authorizer_access_token_if(
        &self,
        authorizer_appid: &str,
        stale: Option<&str>,
    ) -> Result<IssuedToken<AuthorizerAccessToken>> {
        check_appid(authorizer_appid)?;
        let t = self
            .inner
            .authorizer_tokens
            .refresh_if_current(&authorizer_appid.to_owned(), stale)
            .await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// Drops an authorizer's current access token (compare-and-expire, the refresh token is
    /// kept) and fetches a new one.
    pub async fn refresh_authorizer_access_token(
        &self,
        authorizer_appid: &str,
    ) -> Result<AuthorizerAccessToken> {
        Ok(self
            .refresh_authorizer_access_token_if(authorizer_appid, None)
            .await?
            .token)
    }

    /// The stored record of an authorizer, if it holds tokens.
    pub async fn authorizer_record(
        &self,
        authorizer_appid: &str,
    ) -> Result<Option<AuthorizerRecord>> {
        Ok(match self.authorizer_state(authorizer_appid).await? {
            Some(AuthorizerState::Authorized(r)) => Some(r),
            _ => None,
        })
    }

    /// What the store holds for an authorizer: its tokens, a tombstone, or nothing.
    pub async fn authorizer_state(
        &self,
        authorizer_appid: &str,
    ) -> Result<Option<AuthorizerState>> {
        let key = self.authorizer_key(authorizer_appid)?;
        match self.inner.store.get(&key).await? {
            None => Ok(None),
            Some(v) => match v.value {
                StoredValue::Authorizer(r) => Ok(Some(AuthorizerState::Authorized(r))),
                StoredValue::AuthorizerRevoked(t) => Ok(Some(AuthorizerState::Revoked(t))),
                _ => Err(Error::Store(StoreError::corrupt(
                    "authorizer record of another kind",
                ))),
            },
        }
    }

    /// One page of the stored authorizers (tokens or tombstones), in appid order after
    /// `after`, at most `limit` (capped at [`MAX_LIST_PAGE`]); no secrets. Needs a store that
    /// can list (every store of `wxopen-store` and [`MemoryStore`](crate::MemoryStore) can).
    pub async fn list_authorizers(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuthorizerSummary>> {
        if let Some(a) = after {
            check_appid(a)?;
        }
        let appids = self
            .inner
            .store
            .list_authorizers(self.component_appid(), after, limit.clamp(1, MAX_LIST_PAGE))
            .await?;
        let mut out = Vec::with_capacity(appids.len());
        for appid in appids {
            match self.authorizer_state(&appid).await {
                Ok(Some(state)) => out.push(AuthorizerSummary::of(appid, state)),
                Ok(None) => {}
                // One unreadable record does not hide the others (nor stop the refresher).
                Err(Error::Store(e)) if e.kind() == crate::store::StoreErrorKind::Corrupt => {
                    tracing::warn!(authorizer_appid = %appid, error = %e, "unreadable authorizer record; listed as unreadable, skipped by refreshes");
                    out.push(AuthorizerSummary::unreadable(appid));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// One authorizer as [`list_authorizers`](Self::list_authorizers) shows it.
    pub async fn authorizer_summary(
        &self,
        authorizer_appid: &str,
    ) -> Result<Option<AuthorizerSummary>> {
        Ok(self
            .authorizer_state(authorizer_appid)
            .await?
            .map(|s| AuthorizerSummary::of(authorizer_appid.to_owned(), s)))
    }

    /// What the store holds for this component right now (ticket age, component token state),
    /// for health checks: alert when [`ComponentHealth::is_healthy`] is `false`.
    pub async fn health(&self) -> Result<ComponentHealth> {
        let ticket = self.stored_ticket().await?;
        let token = self.component_token_record().await?;
        Ok(health::assess(self.now(), ticket.as_ref(), token.as_ref()))
    }

    /// The stored ticket, if any.
    pub async fn stored_ticket(&self) -> Result<Option<TicketRecord>> {
        self.inner.stored_ticket().await
    }

    /// Waits up to `timeout` for the refreshes running now to finish and release their
    /// leases (graceful shutdown); `false` if some were still running.
    pub async fn drain(&self, timeout: std::time::Duration) -> bool {
        let both = async {
            self.inner.js_tickets.drain().await;
            self.inner.component_tokens.drain().await;
            self.inner.authorizer_tokens.drain().await;
        };
        tokio::select! {
            () = both => true,
            () = self.inner.clock.sleep(timeout) => false,
        }
    }

    /// How many token cells the engine holds in memory (bounded: idle ones are dropped).
    pub fn token_cells(&self) -> usize {
        self.inner.component_tokens.cells()
            + self.inner.authorizer_tokens.cells()
            + self.inner.js_tickets.cells()
    }
}
