//! The authorization flow: pre-auth codes, authorization links, `query_auth`, and importing
//! refresh tokens from another system.

use super::client::ComponentClient;
use crate::api::{
    AuthorizationInfo, Endpoint, PreAuthCodeRequest, PreAuthCodeResponse, QueryAuthRequest,
    QueryAuthResponse,
};
use crate::appid::check_appid;
use crate::auth_url::{self, AuthPage, AuthUrlOptions};
use crate::authorization::AuthorizationRequest;
use crate::engine::call::with_token;
use crate::engine::component_token::ComponentKind;
use crate::error::{Error, Result};
use crate::hooks::ClientEvent;
use crate::record_machine::{Grant, RecordEvent};
use crate::secret::{AuthorizationCode, AuthorizerRefreshToken, PreAuthCode};
use crate::tokens::expiry;

/// Lifetime assumed for an access token when WeChat omits `expires_in`.
const DEFAULT_EXPIRES_IN: u64 = 7200;
/// Lifetime assumed for a pre-auth code when WeChat omits `expires_in` (the documented 10 min).
const DEFAULT_PRE_AUTH_CODE_SECS: u64 = 600;

impl ComponentClient {
    /// A new `pre_auth_code` (single use).
    pub async fn pre_auth_code(&self) -> Result<PreAuthCode> {
        Ok(self.pre_auth_code_response().await?.pre_auth_code)
    }

    async fn pre_auth_code_response(&self) -> Result<PreAuthCodeResponse> {
        with_token::<ComponentKind, _, PreAuthCodeResponse>(
            &self.inner.component_tokens,
            &self.inner.transport,
            &(),
            Endpoint::CreatePreAuthCode,
            &PreAuthCodeRequest {
                component_appid: self.component_appid(),
            },
        )
        .await
    }

    /// Fetches a fresh `pre_auth_code` and builds the authorization page URL. The
    /// [`AuthorizationRequest`] keeps the code and its expiry, so the `authorized` push (its
    /// `PreAuthCode`) can be tied to the browser visit that started it. Serve the URL as a
    /// link on a page of the registered domain; WeChat refuses a bare redirect.
    pub async fn authorization_url(
        &self,
        page: AuthPage,
        options: &AuthUrlOptions,
    ) -> Result<AuthorizationRequest> {
        // Validate before spending a pre-auth code.
        auth_url::authorization_url(
            page,
            self.component_appid(),
            &PreAuthCode::new("x"),
            options,
        )?;
        let response = self.pre_auth_code_response().await?;
        let expires_at = self
            .now()
            .saturating_add(response.expires_in.unwrap_or(DEFAULT_PRE_AUTH_CODE_SECS));
        AuthorizationRequest::build(
            page,
            self.component_appid(),
            response.pre_auth_code,
            expires_at,
            options,
        )
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
    /// authorizer's access token, expiry and refresh token are stored before this returns,
    /// replacing any tombstone.
    ///
    /// The code is single-use, so this call is not retried once the request may have reached
    /// WeChat — after a timeout, a lost body, a 5xx or errcode -1 (see
    /// [`Endpoint::is_single_use`]). If the exchange succeeded but the store
    /// failed, the error is [`Error::NotStored`] and carries the result: nothing is lost.
    /// An empty `authorizer_refresh_token` in the answer is treated as absent (the access
    /// token is still stored and the refresh token is recovered from the authorizer list
    /// when it is needed).
    pub async fn query_auth(&self, code: &AuthorizationCode) -> Result<AuthorizationInfo> {
        if code.is_empty() {
            return Err(Error::invalid("authorization_code", "empty"));
        }
        let response: QueryAuthResponse = with_token::<ComponentKind, _, _>(
            &self.inner.component_tokens,
            &self.inner.transport,
            &(),
            Endpoint::QueryAuth,
            &QueryAuthRequest {
                component_appid: self.component_appid(),
                authorization_code: code.expose_secret(),
            },
        )
        .await?;
        let info = response.authorization_info;
        if check_appid(&info.authorizer_appid).is_err() {
            return Err(Error::Decode {
                endpoint: Endpoint::QueryAuth.name(),
                message: "authorizer_appid is not a valid appid".into(),
            });
        }
        match self.store_authorization(&info).await {
            Ok(()) => Ok(info),
            Err(Error::Store(source)) => Err(Error::NotStored {
                info: Box::new(info),
                source,
            }),
            Err(e) => Err(e),
        }
    }

    /// Stores what `query_auth` answered (its tokens, authorized now), replacing whatever the
    /// store holds for the account, tombstones included. `query_auth` calls this; call it
    /// yourself with the `info` of an [`Error::NotStored`].
    pub async fn store_authorization(&self, info: &AuthorizationInfo) -> Result<()> {
        self.authorizer_key(&info.authorizer_appid)?;
        let now = self.now();
        let refresh_token = info
            .authorizer_refresh_token
            .clone()
            .filter(|t| !t.is_empty());
        if refresh_token.is_none() {
            tracing::warn!(authorizer_appid = %info.authorizer_appid, "query_auth returned no refresh token; it will be recovered from the authorizer list when needed");
        }
        let access = info
            .authorizer_access_token
            .clone()
            .filter(|t| !t.is_empty());
        let expires_in = info.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        let (refresh_at, expires_at) = match access {
            Some(_) => (
                self.inner.ports.refresh_at(now, expires_in),
                expiry(now, expires_in),
            ),
            None => (0, 0),
        };
        self.apply_record(
            &info.authorizer_appid,
            &RecordEvent::Granted(Grant {
                access_token: access,
                refresh_token,
                refresh_at,
                expires_at,
                func_info: Some(
                    info.func_info
                        .iter()
                        .map(|f| f.funcscope_category.id)
                        .collect(),
                ),
            }),
        )
        .await?;
        self.inner.emit(ClientEvent::AuthorizerAuthorized {
            authorizer_appid: info.authorizer_appid.clone(),
        });
        Ok(())
    }

    /// Imports an authorizer from another system (e.g. WxJava or EasyWeChat) with the refresh
    /// token it holds: one `api_authorizer_token` call verifies the token, and the access
    /// token and the (possibly rotated) refresh token are stored, replacing whatever was
    /// stored for the account. Returns the access token's expiry (unix seconds).
    pub async fn import_authorizer(
        &self,
        authorizer_appid: &str,
        refresh_token: AuthorizerRefreshToken,
    ) -> Result<u64> {
        self.authorizer_key(authorizer_appid)?;
        if refresh_token.is_empty() {
            return Err(Error::invalid("authorizer_refresh_token", "empty"));
        }
        let response = self
            .inner
            .authorizer_tokens
            .kind()
            .calls
            .exchange(authorizer_appid, &refresh_token)
            .await?;
        let now = self.now();
        let expires_at = expiry(now, response.expires_in);
        let refresh_at = self.inner.ports.refresh_at(now, response.expires_in);
        let refresh_token = response
            .authorizer_refresh_token
            .filter(|t| !t.is_empty())
            .unwrap_or(refresh_token);
        self.apply_record(
            authorizer_appid,
            &RecordEvent::Imported(Grant {
                access_token: Some(response.authorizer_access_token),
                refresh_token: Some(refresh_token),
                refresh_at,
                expires_at,
                func_info: None,
            }),
        )
        .await?;
        self.inner.emit(ClientEvent::AuthorizerAuthorized {
            authorizer_appid: authorizer_appid.to_owned(),
        });
        Ok(expires_at)
    }

    /// [`import_authorizer`](Self::import_authorizer) for many accounts, one after another;
    /// one result per account, in order.
    pub async fn import_authorizers<I>(&self, accounts: I) -> Vec<(String, Result<u64>)>
    where
        I: IntoIterator<Item = (String, AuthorizerRefreshToken)>,
    {
        let mut out = Vec::new();
        for (appid, token) in accounts {
            let result = self.import_authorizer(&appid, token).await;
            out.push((appid, result));
        }
        out
    }
}
