//! The component-token calls an authorizer refresh makes ([`AuthorizerCalls`]:
//! `api_authorizer_token`, `api_get_authorizer_list`), and the [`Scope`] a fetch and a recovery
//! scan share.

use std::sync::Arc;

use crate::api::{
    AuthorizerListRequest, AuthorizerListResponse, AuthorizerTokenRequest, AuthorizerTokenResponse,
    Endpoint,
};
use crate::error::Error;
use crate::secret::AuthorizerRefreshToken;
use crate::transport::Transport;

use super::component_token::ComponentKind;
use super::{call, Ports, TokenCache};

/// The component appid, the transport and the component-token cache an authorizer refresh
/// calls `api_authorizer_token` and `api_get_authorizer_list` with.
#[derive(Debug)]
pub(crate) struct AuthorizerCalls {
    pub component_appid: String,
    pub transport: Arc<Transport>,
    pub component: Arc<TokenCache<ComponentKind>>,
}

/// What an authorizer fetch and a recovery scan work with: the calls and the shared ports.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub calls: &'a AuthorizerCalls,
    pub ports: &'a Ports,
}

impl AuthorizerCalls {
    /// `api_authorizer_token` with the component token.
    pub(crate) async fn exchange(
        &self,
        appid: &str,
        refresh_token: &AuthorizerRefreshToken,
    ) -> Result<AuthorizerTokenResponse, Error> {
        call::with_token::<ComponentKind, _, _>(
            &self.component,
            &self.transport,
            &(),
            Endpoint::AuthorizerToken,
            &AuthorizerTokenRequest {
                component_appid: &self.component_appid,
                authorizer_appid: appid,
                authorizer_refresh_token: refresh_token.expose_secret(),
            },
        )
        .await
    }

    /// One page of `api_get_authorizer_list` with the component token.
    pub(crate) async fn authorizer_list(
        &self,
        offset: u32,
        count: u32,
    ) -> Result<AuthorizerListResponse, Error> {
        call::with_token::<ComponentKind, _, _>(
            &self.component,
            &self.transport,
            &(),
            Endpoint::GetAuthorizerList,
            &AuthorizerListRequest {
                component_appid: &self.component_appid,
                offset,
                count,
            },
        )
        .await
    }
}
