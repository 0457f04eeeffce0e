//! Calling an API with a token of either kind: on 40001/40014/42001 only the token that failed
//! is expired (compare-and-expire on its version), then one refresh and one retry.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::Endpoint;
use crate::component::Inner;
use crate::error::Result;

use super::TokenKind;

/// Calls `endpoint` with the token of `id`.
pub(crate) async fn with_token<K, Req, Resp>(
    inner: &Arc<Inner>,
    id: &K::Id,
    endpoint: Endpoint,
    body: &Req,
) -> Result<Resp>
where
    K: TokenKind,
    Req: Serialize + Sync + ?Sized,
    Resp: DeserializeOwned,
{
    let engine = K::engine(inner);
    let token = engine.get(inner, id).await?;
    match inner
        .transport
        .call(endpoint, Some(K::expose(&token.value)), body)
        .await
    {
        Err(e) if e.is_token_invalid() => {
            tracing::warn!(
                endpoint = endpoint.name(),
                token = K::NAME,
                errcode = e.code(),
                "token rejected; refreshing once"
            );
            engine.expire(inner, id, token.version, e.code()).await?;
            let token = engine.get(inner, id).await?;
            inner
                .transport
                .call(endpoint, Some(K::expose(&token.value)), body)
                .await
        }
        other => other,
    }
}
