//! Domains: an account's server and web-view domains (its token, permission set 18) and the
//! platform's own lists (component token).

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    DomainAction, DomainConfirmFile, DomainsResponse, EffectiveDomains, EmptyBody,
    ModifyDomainRequest, PlatformDomains, PlatformJumpDomainRequest, PlatformServerDomainRequest,
    ServerDomains, WebviewDomainRequest, WxaApi,
};

use super::client::ComponentClient;
use crate::error::{Error, Result};

impl ComponentClient {
    /// `modify_domain`: adds, deletes, sets or reads the account's server domains (which must
    /// be on the platform's list). The domains are checked first ([`ServerDomains::validate`]).
    pub async fn modify_domain(
        &self,
        authorizer_appid: &str,
        action: DomainAction,
        domains: &ServerDomains,
    ) -> Result<DomainsResponse> {
        domains.validate()?;
        let body = ModifyDomainRequest {
            action,
            domains: domains.clone(),
        };
        self.wxa_authorizer(authorizer_appid, WxaApi::ModifyDomain, Some(&body))
            .await
    }

    /// `modify_domain_directly`: like [`modify_domain`](Self::modify_domain) without the
    /// platform's list; takes effect at the next commit or release.
    pub async fn modify_domain_directly(
        &self,
        authorizer_appid: &str,
        action: DomainAction,
        domains: &ServerDomains,
    ) -> Result<DomainsResponse> {
        domains.validate()?;
        let body = ModifyDomainRequest {
            action,
            domains: domains.clone(),
        };
        self.wxa_authorizer(authorizer_appid, WxaApi::ModifyDomainDirectly, Some(&body))
            .await
    }

    /// `get_effective_domain`: where each domain comes from and what is in effect.
    pub async fn effective_domains(&self, authorizer_appid: &str) -> Result<EffectiveDomains> {
        self.wxa_authorizer(
            authorizer_appid,
            WxaApi::GetEffectiveDomain,
            Some(&EmptyBody {}),
        )
        .await
    }

    /// `setwebviewdomain`: the account's web-view (business) domains.
    pub async fn set_webview_domain(
        &self,
        authorizer_appid: &str,
        action: DomainAction,
        webviewdomain: &[String],
    ) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(
                authorizer_appid,
                WxaApi::SetWebviewDomain,
                Some(&WebviewDomainRequest {
                    action,
                    webviewdomain: webviewdomain.to_vec(),
                }),
            )
            .await?;
        Ok(())
    }

    /// `modify_wxa_server_domain`: the platform's server-domain list (domains joined by `;`).
    pub async fn modify_platform_server_domain(
        &self,
        action: DomainAction,
        domains: &[&str],
        published_too: bool,
    ) -> Result<PlatformDomains> {
        let body = PlatformServerDomainRequest {
            action,
            wxa_server_domain: join_domains(domains)?,
            is_modify_published_together: published_too,
        };
        self.wxa_component(WxaApi::ModifyWxaServerDomain, Some(&body))
            .await
    }

    /// `modify_wxa_jump_domain`: the platform's web-view domain list.
    pub async fn modify_platform_jump_domain(
        &self,
        action: DomainAction,
        domains: &[&str],
        published_too: bool,
    ) -> Result<PlatformDomains> {
        let body = PlatformJumpDomainRequest {
            action,
            wxa_jump_h5_domain: join_domains(domains)?,
            is_modify_published_together: published_too,
        };
        self.wxa_component(WxaApi::ModifyWxaJumpDomain, Some(&body))
            .await
    }

    /// `get_domain_confirmfile`: the file to serve at a web-view domain's root.
    pub async fn domain_confirm_file(&self) -> Result<DomainConfirmFile> {
        self.wxa_component(WxaApi::GetDomainConfirmFile, Some(&EmptyBody {}))
            .await
    }
}

fn join_domains(domains: &[&str]) -> Result<String> {
    if domains.iter().any(|d| d.contains(';')) {
        return Err(Error::invalid("domains", "a domain must not contain `;`"));
    }
    Ok(domains.join(";"))
}
