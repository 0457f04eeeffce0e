//! Web authorization (代公众号网页授权) and mini-program login (代小程序登录) on behalf of an
//! account: the link, and each call to WeChat once (the one-exchange-per-code rule is in
//! `user_codes`). Rules and facts live in [`crate::user_oauth`].

use serde::de::DeserializeOwned;

use super::client::ComponentClient;
use crate::api::{ApiCall, TokenParam};
use crate::appid::check_appid;
use crate::engine::call::with_token_do;
use crate::engine::component_token::ComponentKind;
use crate::engine::TokenKind;
use crate::error::{Error, Result};
use crate::secret::{JsCode, OAuthCode, UserAccessToken, UserRefreshToken};
use crate::user_oauth::{
    oauth_url, valid_user_code, JsSession, OAuthScope, UserInfo, UserToken, JSCODE2SESSION_PATH,
    OAUTH_EXCHANGE_PATH, OAUTH_REFRESH_PATH, USERINFO_PATH,
};

/// `lang` values `/sns/userinfo` takes.
const LANGS: [&str; 3] = ["zh_CN", "zh_TW", "en"];

/// A `GET` of `path`; `idempotent` marks the calls that may be repeated (not the one-time
/// code exchanges: those are sent again only when they cannot have been sent).
fn get(path: &str, token: TokenParam, idempotent: bool) -> Result<ApiCall> {
    Ok(ApiCall::get(path)?.token(token).idempotent(idempotent))
}

fn check_input(what: &'static str, value: &str) -> Result<()> {
    if valid_user_code(value) {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            "must be 1 to 512 printable ASCII characters",
        ))
    }
}

impl ComponentClient {
    /// The web-authorization link of `authorizer_appid` (an official account that authorized
    /// this component), on behalf of this component: see [`crate::user_oauth::oauth_url`].
    /// The user's browser comes back to `redirect_uri` with `code`, `state` and `appid`
    /// ([`crate::user_oauth::parse_oauth_callback`]); exchange the code with
    /// [`exchange_oauth_code`](Self::exchange_oauth_code).
    pub fn oauth_url(
        &self,
        authorizer_appid: &str,
        redirect_uri: &str,
        scope: OAuthScope,
        state: &str,
    ) -> Result<String> {
        check_appid(authorizer_appid)?;
        oauth_url(
            authorizer_appid,
            self.component_appid(),
            redirect_uri,
            scope,
            state,
        )
    }

    /// A `GET` with the component token in the query; a 40001/40014/42001 expires that token
    /// (compare-and-expire on its version), refreshes it once and sends once more — a call
    /// refused for its token has not consumed the code.
    async fn component_query<Resp: DeserializeOwned>(
        &self,
        call: &ApiCall,
        query: &[(&str, &str)],
    ) -> Result<Resp> {
        let transport = &self.inner.transport;
        with_token_do::<ComponentKind, _, _, _>(
            &self.inner.component_tokens,
            &(),
            call.name(),
            |token| async move {
                transport
                    .get_with_query(call, Some(ComponentKind::expose(&token)), query)
                    .await
            },
        )
        .await
    }

    /// One `/sns/oauth2/component/access_token` call (no sharing: see `user_codes`).
    pub(super) async fn oauth_exchange_once(
        &self,
        authorizer_appid: &str,
        code: &OAuthCode,
    ) -> Result<UserToken> {
        check_appid(authorizer_appid)?;
        check_input("code", code.expose_secret())?;
        let call = get(OAUTH_EXCHANGE_PATH, TokenParam::ComponentAccessToken, false)?;
        let query = [
            ("appid", authorizer_appid),
            ("code", code.expose_secret()),
            ("grant_type", "authorization_code"),
            ("component_appid", self.component_appid()),
        ];
        self.component_query(&call, &query).await
    }

    /// Refreshes a user's web-authorization token
    /// (`/sns/oauth2/component/refresh_token`, component token): a new `access_token`, same
    /// `openid`. Repeating it is harmless, so it is retried like any idempotent call.
    pub async fn refresh_oauth_token(
        &self,
        authorizer_appid: &str,
        refresh_token: &UserRefreshToken,
    ) -> Result<UserToken> {
        check_appid(authorizer_appid)?;
        check_input("refresh_token", refresh_token.expose_secret())?;
        let call = get(OAUTH_REFRESH_PATH, TokenParam::ComponentAccessToken, true)?;
        let query = [
            ("appid", authorizer_appid),
            ("grant_type", "refresh_token"),
            ("component_appid", self.component_appid()),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        self.component_query(&call, &query).await
    }

    /// A user's profile (`/sns/userinfo`) with that user's token (scope `snsapi_userinfo`);
    /// `lang` is `zh_CN` (default), `zh_TW` or `en`. No component or account token is involved.
    pub async fn oauth_userinfo(
        &self,
        access_token: &UserAccessToken,
        openid: &str,
        lang: Option<&str>,
    ) -> Result<UserInfo> {
        check_input("access_token", access_token.expose_secret())?;
        check_input("openid", openid)?;
        let lang = lang.unwrap_or("zh_CN");
        if !LANGS.contains(&lang) {
            return Err(Error::invalid("lang", "must be zh_CN, zh_TW or en"));
        }
        let call = get(USERINFO_PATH, TokenParam::AccessToken, true)?;
        self.inner
            .transport
            .get_with_query(
                &call,
                Some(access_token.expose_secret()),
                &[("openid", openid), ("lang", lang)],
            )
            .await
    }

    /// One `/sns/component/jscode2session` call (no sharing: see `user_codes`).
    pub(super) async fn jscode2session_once(
        &self,
        authorizer_appid: &str,
        js_code: &JsCode,
    ) -> Result<JsSession> {
        check_appid(authorizer_appid)?;
        check_input("js_code", js_code.expose_secret())?;
        let call = get(JSCODE2SESSION_PATH, TokenParam::ComponentAccessToken, false)?;
        let query = [
            ("appid", authorizer_appid),
            ("js_code", js_code.expose_secret()),
            ("grant_type", "authorization_code"),
            ("component_appid", self.component_appid()),
        ];
        self.component_query(&call, &query).await
    }
}
