//! Calling an API with a token of either kind: on 40001/40014/42001 only the token that failed
//! is expired (compare-and-expire on its version), then one refresh and one retry.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{ApiCall, Endpoint};
use crate::errcode::{classify, ErrorClass};
use crate::error::Result;
use crate::payload::Payload;
use crate::transport::{Forwarded, Transport};

use super::{TokenCache, TokenKind};

/// Runs `send` with the token of `id`; on a token error, expires that token, refreshes once
/// and runs `send` once more.
pub(crate) async fn with_token_do<K, R, F, Fut>(
    cache: &Arc<TokenCache<K>>,
    id: &K::Id,
    what: &str,
    send: F,
) -> Result<R>
where
    K: TokenKind,
    F: Fn(K::Token) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let token = cache.get(id).await?;
    match send(token.value.clone()).await {
        Err(e) if e.is_token_invalid() => {
            tracing::warn!(
                endpoint = what,
                token = K::NAME,
                errcode = e.code(),
                "token rejected; refreshing once"
            );
            cache.expire(id, token.version, e.code()).await?;
            let token = cache.get(id).await?;
            send(token.value).await
        }
        other => other,
    }
}

/// Calls a built-in `endpoint` with the token of `id`.
pub(crate) async fn with_token<K, Req, Resp>(
    cache: &Arc<TokenCache<K>>,
    transport: &Transport,
    id: &K::Id,
    endpoint: Endpoint,
    body: &Req,
) -> Result<Resp>
where
    K: TokenKind,
    Req: Serialize + Sync + ?Sized,
    Resp: DeserializeOwned,
{
    with_token_do::<K, _, _, _>(cache, id, endpoint.name(), |token| async move {
        transport
            .call(endpoint, Some(K::expose(&token)), body)
            .await
    })
    .await
}

/// Sends a generic call with the token of `id`.
pub(crate) async fn api_with_token<K, Resp>(
    cache: &Arc<TokenCache<K>>,
    transport: &Transport,
    id: &K::Id,
    call: &ApiCall,
    body: Option<&[u8]>,
) -> Result<Resp>
where
    K: TokenKind,
    Resp: DeserializeOwned,
{
    with_token_do::<K, _, _, _>(cache, id, call.name(), |token| async move {
        transport
            .call_api(call, Some(K::expose(&token)), body)
            .await
    })
    .await
}

/// Forwards a request with the token of `id` and returns WeChat's answer as it is, with
/// whether the token was rejected and whether the request was sent again. On
/// 40001/40014/42001 the token is expired (compare-and-expire on its version); the request is
/// sent once more with the new token only when it is idempotent.
pub(crate) async fn forward_with_token<K: TokenKind>(
    cache: &Arc<TokenCache<K>>,
    transport: &Transport,
    id: &K::Id,
    call: &ApiCall,
    query: &str,
    payload: Option<&Payload>,
) -> Result<(Forwarded, bool, bool)> {
    let token = cache.get(id).await?;
    let answer = transport
        .forward(call, query, Some(K::expose(&token.value)), payload)
        .await?;
    let Some(code) = answer
        .errcode
        .filter(|&c| classify(c) == ErrorClass::TokenInvalid)
    else {
        return Ok((answer, false, false));
    };
    tracing::warn!(
        endpoint = call.name(),
        token = K::NAME,
        errcode = code,
        retry = call.is_idempotent(),
        "token rejected on a forwarded call"
    );
    cache.expire(id, token.version, Some(code)).await?;
    if !call.is_idempotent() {
        return Ok((answer, true, false));
    }
    let token = cache.get(id).await?;
    let answer = transport
        .forward(call, query, Some(K::expose(&token.value)), payload)
        .await?;
    Ok((answer, true, true))
}
