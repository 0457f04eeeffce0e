//! The other component APIs, and generic calls to any API path with either token.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::client::ComponentClient;
use crate::api::{
    Ack, ApiCall, AuthorizerInfoRequest, AuthorizerInfoResponse, AuthorizerListRequest,
    AuthorizerListResponse, AuthorizerOption, ClearQuotaRequest, ClearQuotaV2Request, Endpoint,
    LegacyOptionRequest, OptionRequest, StartPushTicketRequest, TokenParam,
};
use crate::appid::check_appid;
use crate::engine::call::{api_with_token, with_token};
use crate::error::{Error, Result};
use crate::record_machine::RecordEvent;

impl ComponentClient {
    async fn component_call<Req, Resp>(&self, endpoint: Endpoint, body: &Req) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        let inner = &self.inner;
        with_token(
            &inner.component_tokens,
            &inner.transport,
            &(),
            endpoint,
            body,
        )
        .await
    }

    async fn authorizer_call<Req, Resp>(
        &self,
        authorizer_appid: &str,
        endpoint: Endpoint,
        body: &Req,
    ) -> Result<Resp>
    where
        Req: Serialize + Sync,
        Resp: DeserializeOwned,
    {
        check_appid(authorizer_appid)?;
        with_token(
            &self.inner.authorizer_tokens,
            &self.inner.transport,
            &authorizer_appid.to_owned(),
            endpoint,
            body,
        )
        .await
    }

    /// `api_get_authorizer_info`: an authorized account's details and granted permissions.
    /// The permission sets it reports are noted on the account's stored record (see
    /// [`AuthorizerSummary::func_info`](crate::AuthorizerSummary::func_info)); a failure to
    /// note them is logged, not returned.
    pub async fn authorizer_info(&self, authorizer_appid: &str) -> Result<AuthorizerInfoResponse> {
        check_appid(authorizer_appid)?;
        let info: AuthorizerInfoResponse = self
            .component_call(
                Endpoint::GetAuthorizerInfo,
                &AuthorizerInfoRequest {
                    component_appid: self.component_appid(),
                    authorizer_appid,
                },
            )
            .await?;
        let func_info = info
            .authorization_info
            .func_info
            .iter()
            .map(|f| f.funcscope_category.id)
            .collect();
        if let Err(e) = self
            .apply_record(
                authorizer_appid,
                &RecordEvent::PermissionsSeen { func_info },
            )
            .await
        {
            tracing::warn!(%authorizer_appid, error = %e, "could not note the permission sets api_get_authorizer_info reported");
        }
        Ok(info)
    }

    /// `api_get_authorizer_list`: one page of authorized accounts with their current refresh
    /// tokens (field `refresh_token`).
    pub async fn authorizer_list(&self, offset: u32, count: u32) -> Result<AuthorizerListResponse> {
        if count == 0 {
            return Err(Error::invalid("count", "must be at least 1"));
        }
        self.component_call(
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
        check_appid(authorizer_appid)?;
        self.component_call(
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
        check_appid(authorizer_appid)?;
        let _: Ack = self
            .component_call(
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
        self.authorizer_call(
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
            .authorizer_call(
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
            .component_call(
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
            .authorizer_call(
                authorizer_appid,
                Endpoint::ClearQuota,
                &ClearQuotaRequest {
                    appid: authorizer_appid,
                },
            )
            .await?;
        Ok(())
    }

    /// Calls any API with the component access token (`component_access_token=`; a call
    /// built with [`TokenParam::AccessToken`], the default, is sent with that name too),
    /// with the same errcode checking and one-refresh-one-retry rule as the built-in calls.
    /// Retries follow the call's idempotency: see [`ApiCall`]. `body` is serialized as JSON
    /// (a POST without one sends `{}`; a GET takes none). Decode into `serde_json::Value`
    /// when there is no typed response.
    pub async fn call_component_api<Req, Resp>(
        &self,
        call: &ApiCall,
        body: Option<&Req>,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let call = match call.token_param() {
            TokenParam::AccessToken => call.clone().token(TokenParam::ComponentAccessToken),
            _ => call.clone(),
        };
        let bytes = encode(&call, body)?;
        let inner = &self.inner;
        api_with_token(
            &inner.component_tokens,
            &inner.transport,
            &(),
            &call,
            bytes.as_deref(),
        )
        .await
    }

    /// Calls any API on behalf of an authorized account (`access_token=` its authorizer
    /// access token), with the same rules as [`call_component_api`](Self::call_component_api).
    pub async fn call_authorizer_api<Req, Resp>(
        &self,
        authorizer_appid: &str,
        call: &ApiCall,
        body: Option<&Req>,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        check_appid(authorizer_appid)?;
        let call = call.clone().token(TokenParam::AccessToken);
        let bytes = encode(&call, body)?;
        api_with_token(
            &self.inner.authorizer_tokens,
            &self.inner.transport,
            &authorizer_appid.to_owned(),
            &call,
            bytes.as_deref(),
        )
        .await
    }

    /// `clear_quota/v2`: resets a quota with the appsecret instead of a token (works when the
    /// token quota itself is exhausted). `None` resets the component's own quota.
    pub async fn clear_quota_v2(&self, authorizer_appid: Option<&str>) -> Result<()> {
        if let Some(a) = authorizer_appid {
            check_appid(a)?;
        }
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

fn encode<Req: Serialize + ?Sized>(call: &ApiCall, body: Option<&Req>) -> Result<Option<Vec<u8>>> {
    body.map(|b| {
        serde_json::to_vec(b).map_err(|e| Error::Decode {
            endpoint: call.name(),
            message: format!("request encoding: {e}"),
        })
    })
    .transpose()
}
