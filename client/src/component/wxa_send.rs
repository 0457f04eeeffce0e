//! How every mini-program call ([`WxaApi`]) is sent: with the authorizer's or the component's
//! token (as `access_token=`), through the token engine's compare-and-expire-and-retry-once
//! rule, retried per the call's idempotency.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wxopen_proto::wxa::{WxaApi, WxaToken};

use super::client::ComponentClient;
use crate::appid::check_appid;
use crate::engine::call::api_with_token;
use crate::error::{Error, Result};

impl ComponentClient {
    /// Sends `api` with `body` already encoded (`None` for a GET). `authorizer` must be given
    /// for authorizer-token calls.
    pub(super) async fn wxa_send<Resp: DeserializeOwned>(
        &self,
        authorizer: Option<&str>,
        api: WxaApi,
        body: Option<Vec<u8>>,
    ) -> Result<Resp> {
        let call = api.api_call();
        let inner = &self.inner;
        match (api.token(), authorizer) {
            (WxaToken::Component, _) => {
                api_with_token(
                    &inner.component_tokens,
                    &inner.transport,
                    &(),
                    &call,
                    body.as_deref(),
                )
                .await
            }
            (_, Some(appid)) => {
                check_appid(appid)?;
                api_with_token(
                    &inner.authorizer_tokens,
                    &inner.transport,
                    &appid.to_owned(),
                    &call,
                    body.as_deref(),
                )
                .await
            }
            (_, None) => Err(Error::invalid(
                "authorizer_appid",
                format!("{} takes an authorizer's token", api.path()),
            )),
        }
    }

    /// Sends `api` for `authorizer` with `body` as JSON (`None` for a GET).
    pub(super) async fn wxa_authorizer<Req, Resp>(
        &self,
        authorizer: &str,
        api: WxaApi,
        body: Option<&Req>,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let bytes = body.map(|b| encode(api, b)).transpose()?;
        self.wxa_send(Some(authorizer), api, bytes).await
    }

    /// Sends a component-token `api` with `body` as JSON (`None` for a GET).
    pub(super) async fn wxa_component<Req, Resp>(
        &self,
        api: WxaApi,
        body: Option<&Req>,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let bytes = body.map(|b| encode(api, b)).transpose()?;
        self.wxa_send(None, api, bytes).await
    }
}

/// JSON-encodes a request body.
pub(super) fn encode<Req: Serialize + ?Sized>(api: WxaApi, body: &Req) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::Decode {
        endpoint: api.path(),
        message: format!("request encoding: {e}"),
    })
}

/// The body-less GET marker for [`ComponentClient::wxa_authorizer`].
pub(super) const NO_BODY: Option<&()> = None;
