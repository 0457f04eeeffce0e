//! Generic calls whose answer may be binary ([`ApiBody`]: `wxa/get_qrcode`,
//! `wxa/getwxacodeunlimit`, media downloads), multipart uploads ([`Multipart`]), and forwarding a
//! request as it is (the proxy, [`ForwardRequest`]). A JSON error on a binary endpoint goes
//! through the same compare-and-expire and one retry as every call.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wxopen_proto::api_body::ApiBody;

use super::ComponentClient;
use crate::api::{ApiCall, TokenParam};
use crate::appid::check_appid;
use crate::engine::authorizer_token::AuthorizerKind;
use crate::engine::call::{forward_with_token, with_token_do};
use crate::engine::component_token::ComponentKind;
use crate::engine::TokenKind;
use crate::error::{Error, Result};
use crate::multipart::{Multipart, DEFAULT_MAX_UPLOAD_BYTES};
use crate::payload::Payload;
use crate::transport::Forwarded;

/// A request to forward as it is: method, path and idempotency (an [`ApiCall`]), the caller's
/// query string (its credential parameters are dropped), and the body with its content type.
#[derive(Clone)]
pub struct ForwardRequest {
    call: ApiCall,
    query: String,
    payload: Option<Payload>,
}

impl std::fmt::Debug for ForwardRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardRequest")
            .field("call", &self.call)
            .field("body_len", &self.payload.as_ref().map(Payload::len))
            .finish_non_exhaustive()
    }
}

impl ForwardRequest {
    /// A request for `call`, without query or body.
    pub fn new(call: ApiCall) -> Self {
        Self {
            call,
            query: String::new(),
            payload: None,
        }
    }

    /// The caller's query string (without `?`); `access_token`, `component_access_token` and
    /// `authorizer_access_token` in it are dropped.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// The body and its content type (POST only).
    pub fn body(mut self, content_type: Option<String>, body: Bytes) -> Self {
        self.payload = Some(Payload {
            content_type,
            parts: vec![body],
        });
        self
    }

    /// The call.
    pub fn call(&self) -> &ApiCall {
        &self.call
    }
}

/// What forwarding did: WeChat's (last) answer, and whether the token was rejected and the
/// request sent again with a new one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ForwardOutcome {
    /// WeChat's answer, as it is.
    pub answer: Forwarded,
    /// The token was rejected (40001, 40014, 42001) and expired (compare-and-expire).
    pub token_rejected: bool,
    /// The request was sent a second time with a new token (idempotent requests only).
    pub retried: bool,
}

impl ComponentClient {
    /// Calls any API on behalf of an account whose answer may be binary: an image (or any
    /// non-JSON body) comes back as [`ApiBody::Binary`] with its content type; a JSON answer
    /// is checked for `errcode` (40001/40014/42001: the token is expired, refreshed once and
    /// the call retried once) and comes back as [`ApiBody::Json`].
    ///
    /// `query` holds the call's parameters (e.g. `[("path", "pages/index")]` for
    /// `wxa/get_qrcode`); a credential among them is dropped.
    pub async fn call_authorizer_api_body<Req: Serialize + ?Sized>(
        &self,
        authorizer_appid: &str,
        call: &ApiCall,
        query: &[(&str, &str)],
        body: Option<&Req>,
    ) -> Result<ApiBody> {
        check_appid(authorizer_appid)?;
        let call = call.clone().token(TokenParam::AccessToken);
        let payload = json_payload(&call, body)?;
        let id = authorizer_appid.to_owned();
        self.send_body::<AuthorizerKind>(&id, &call, query, payload.as_ref())
            .await
    }

    /// [`call_authorizer_api_body`](Self::call_authorizer_api_body) with the component token.
    pub async fn call_component_api_body<Req: Serialize + ?Sized>(
        &self,
        call: &ApiCall,
        query: &[(&str, &str)],
        body: Option<&Req>,
    ) -> Result<ApiBody> {
        let call = call.clone().token(TokenParam::ComponentAccessToken);
        let payload = json_payload(&call, body)?;
        self.send_body::<ComponentKind>(&(), &call, query, payload.as_ref())
            .await
    }

    /// Uploads `form` to a POST `call` (e.g. `cgi-bin/media/upload` with
    /// `[("type", "image")]` as `query`) on behalf of an account and decodes the JSON answer;
    /// refused without a request over [`DEFAULT_MAX_UPLOAD_BYTES`]. The file is streamed from
    /// its buffer, never copied (a retry after a rejected token resends the same buffer).
    pub async fn upload_authorizer_api<Resp: DeserializeOwned>(
        &self,
        authorizer_appid: &str,
        call: &ApiCall,
        query: &[(&str, &str)],
        form: &Multipart,
    ) -> Result<Resp> {
        check_appid(authorizer_appid)?;
        let call = call.clone().token(TokenParam::AccessToken);
        let payload = upload_payload(&call, form)?;
        let id = authorizer_appid.to_owned();
        let body = self
            .send_body::<AuthorizerKind>(&id, &call, query, Some(&payload))
            .await?;
        decode_json(&call, body)
    }

    /// [`upload_authorizer_api`](Self::upload_authorizer_api) with the component token.
    pub async fn upload_component_api<Resp: DeserializeOwned>(
        &self,
        call: &ApiCall,
        query: &[(&str, &str)],
        form: &Multipart,
    ) -> Result<Resp> {
        let call = call.clone().token(TokenParam::ComponentAccessToken);
        let payload = upload_payload(&call, form)?;
        let body = self
            .send_body::<ComponentKind>(&(), &call, query, Some(&payload))
            .await?;
        decode_json(&call, body)
    }

    /// Forwards `request` with the account's access token (`access_token=`): WeChat's answer
    /// comes back as it is. On 40001/40014/42001 the token is expired (compare-and-expire:
    /// N rejections of one token, one refresh); an idempotent request is then sent once more
    /// with the new token, any other is not (WeChat may have acted on it).
    pub async fn forward_authorizer(
        &self,
        authorizer_appid: &str,
        request: &ForwardRequest,
    ) -> Result<ForwardOutcome> {
        check_appid(authorizer_appid)?;
        let call = request.call.clone().token(TokenParam::AccessToken);
        self.forward::<AuthorizerKind>(&authorizer_appid.to_owned(), &call, request)
            .await
    }

    /// [`forward_authorizer`](Self::forward_authorizer) with the component token
    /// (`component_access_token=`).
    pub async fn forward_component(&self, request: &ForwardRequest) -> Result<ForwardOutcome> {
        let call = request.call.clone().token(TokenParam::ComponentAccessToken);
        self.forward::<ComponentKind>(&(), &call, request).await
    }

    async fn forward<K: TokenKind>(
        &self,
        id: &K::Id,
        call: &ApiCall,
        request: &ForwardRequest,
    ) -> Result<ForwardOutcome>
    where
        Self: CacheOf<K>,
    {
        let (answer, token_rejected, retried) = forward_with_token::<K>(
            self.cache(),
            &self.inner.transport,
            id,
            call,
            &request.query,
            request.payload.as_ref(),
        )
        .await?;
        Ok(ForwardOutcome {
            answer,
            token_rejected,
            retried,
        })
    }

    async fn send_body<K: TokenKind>(
        &self,
        id: &K::Id,
        call: &ApiCall,
        query: &[(&str, &str)],
        payload: Option<&Payload>,
    ) -> Result<ApiBody>
    where
        Self: CacheOf<K>,
    {
        let transport = &self.inner.transport;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let query = query.as_str();
        with_token_do::<K, _, _, _>(self.cache(), id, call.name(), |token| async move {
            transport
                .call_api_body(call, query, Some(K::expose(&token)), payload)
                .await
        })
        .await
    }
}

/// The token cache of kind `K`.
pub(crate) trait CacheOf<K: TokenKind> {
    fn cache(&self) -> &std::sync::Arc<crate::engine::TokenCache<K>>;
}

impl CacheOf<AuthorizerKind> for ComponentClient {
    fn cache(&self) -> &std::sync::Arc<crate::engine::TokenCache<AuthorizerKind>> {
        &self.inner.authorizer_tokens
    }
}

impl CacheOf<ComponentKind> for ComponentClient {
    fn cache(&self) -> &std::sync::Arc<crate::engine::TokenCache<ComponentKind>> {
        &self.inner.component_tokens
    }
}

fn json_payload<Req: Serialize + ?Sized>(
    call: &ApiCall,
    body: Option<&Req>,
) -> Result<Option<Payload>> {
    body.map(|b| {
        serde_json::to_vec(b)
            .map(Payload::json)
            .map_err(|e| Error::Decode {
                endpoint: call.name(),
                message: format!("request encoding: {e}"),
            })
    })
    .transpose()
}

fn upload_payload(call: &ApiCall, form: &Multipart) -> Result<Payload> {
    let payload = form.payload();
    if payload.len() > DEFAULT_MAX_UPLOAD_BYTES {
        return Err(Error::invalid(
            "upload",
            format!(
                "{} bytes for {} is more than the cap of {DEFAULT_MAX_UPLOAD_BYTES}",
                payload.len(),
                call.name()
            ),
        ));
    }
    Ok(payload)
}

fn decode_json<Resp: DeserializeOwned>(call: &ApiCall, body: ApiBody) -> Result<Resp> {
    match body {
        ApiBody::Json(v) => serde_json::from_value(v).map_err(|e| Error::Decode {
            endpoint: call.name(),
            message: e.to_string(),
        }),
        _ => Err(Error::Decode {
            endpoint: call.name(),
            message: "expected a JSON answer, got bytes".into(),
        }),
    }
}
