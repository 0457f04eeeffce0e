//! The users of authorized accounts as the fake's web authorization (代公众号网页授权) and
//! mini-program login (代小程序登录) see them: consent, one-time codes, users' tokens, and the
//! five `GET` endpoints of [`crate::endpoints::USER_AUTH_SERVED`].
//!
//! The model: a code (web `code` or `js_code`) lives [`CODE_LIFETIME`] seconds on the fake's
//! clock and is exchanged once — 40029 unknown, expired or another account's, 40163 used, 41008
//! absent. The exchanges take the **component** token: the account's own token is 40001, a
//! superseded or expired component token 40001/42001, and a call refused for its token does not
//! spend the code. A high-risk user's `js_code` is 40226 (and spent).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use url::Url;

use crate::endpoints::{Endpoint, JSCODE2SESSION, OAUTH_AUTHORIZE, OAUTH_EXCHANGE, OAUTH_REFRESH};
use crate::error::FakeError;
use crate::state::{ApiError, Platform};

/// Seconds a user code lives.
pub(crate) const CODE_LIFETIME: u64 = 300;
/// Seconds a user's web token lives.
const USER_TOKEN_TTL: u64 = 7200;
/// Codes, tokens and risk marks remembered at most (older codes are dropped first).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Debug)]
struct IssuedCode {
    appid: String,
    openid: String,
    scope: String,
    expires_at: u64,
    used: bool,
}

#[derive(Clone, Debug)]
struct Grant {
    appid: String,
    openid: String,
    scope: String,
}

/// Users' codes and tokens.
#[derive(Debug, Default)]
pub(crate) struct Users {
    oauth_codes: HashMap<String, IssuedCode>,
    js_codes: HashMap<String, IssuedCode>,
    tokens: HashMap<String, (Grant, u64)>,
    refresh_tokens: HashMap<String, Grant>,
    high_risk: HashSet<(String, String)>,
}

/// The openid of `user` for `appid` (stable, so a test can predict it).
pub(crate) fn openid_of(appid: &str, user: &str) -> String {
    format!("o_{appid}_{user}")
}

fn random(prefix: &str) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

fn valid_user(user: &str) -> bool {
    !user.is_empty() && user.len() <= 64 && user.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

impl Users {
    fn insert_code(map: &mut HashMap<String, IssuedCode>, code: IssuedCode, now: u64) -> String {
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, c| c.expires_at > now);
        }
        let value = random("code");
        map.insert(value.clone(), code);
        value
    }

    /// Mints a `js_code` of `user` for the mini program `appid`.
    pub(crate) fn mint_js_code(
        &mut self,
        platform: &Platform,
        appid: &str,
        user: &str,
        now: u64,
    ) -> Result<String, FakeError> {
        if !platform.is_authorized(appid) {
            return Err(FakeError::UnknownAuthorizer(appid.to_owned()));
        }
        if !valid_user(user) {
            return Err(FakeError::UserAuth(
                "user: 1 to 64 ASCII letters or digits".into(),
            ));
        }
        let code = IssuedCode {
            appid: appid.to_owned(),
            openid: openid_of(appid, user),
            scope: String::new(),
            expires_at: now.saturating_add(CODE_LIFETIME),
            used: false,
        };
        Ok(Self::insert_code(&mut self.js_codes, code, now))
    }

    /// Marks `user` of `appid` high-risk (their logins answer 40226).
    pub(crate) fn mark_high_risk(&mut self, appid: &str, user: &str) {
        if self.high_risk.len() < MAX_ENTRIES {
            self.high_risk
                .insert((appid.to_owned(), openid_of(appid, user)));
        }
    }

    /// The consent page: checks the link like WeChat's page does, and with `user` agreeing
    /// returns the redirect (`redirect_uri` + `code`, `state`, `appid`); with `None` (the user
    /// refuses) the redirect without `code`.
    pub(crate) fn consent(
        &mut self,
        platform: &Platform,
        link: &Url,
        user: Option<&str>,
        now: u64,
    ) -> Result<String, FakeError> {
        let refuse = |why: &str| FakeError::UserAuth(why.to_owned());
        if link.path() != OAUTH_AUTHORIZE.path() {
            return Err(refuse("not the authorize page"));
        }
        let appid = param(link, "appid").ok_or_else(|| refuse("appid missing"))?;
        if param(link, "component_appid").as_deref() != Some(platform.cfg.component_appid.as_str())
        {
            return Err(refuse("component_appid is not this platform's"));
        }
        if !platform.is_authorized(&appid) {
            return Err(refuse("the account has not authorized this platform"));
        }
        if param(link, "response_type").as_deref() != Some("code") {
            return Err(refuse("response_type must be code"));
        }
        let scope = param(link, "scope").unwrap_or_default();
        if scope != "snsapi_base" && scope != "snsapi_userinfo" {
            return Err(refuse("scope must be snsapi_base or snsapi_userinfo"));
        }
        let redirect = param(link, "redirect_uri").ok_or_else(|| refuse("redirect_uri missing"))?;
        let mut redirect =
            Url::parse(&redirect).map_err(|_| refuse("redirect_uri is not an absolute URL"))?;
        if !matches!(redirect.scheme(), "http" | "https") {
            return Err(refuse("redirect_uri must be http(s)"));
        }
        let state = link
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if state.len() > 128 {
            return Err(refuse("state longer than 128 bytes"));
        }
        {
            let mut q = redirect.query_pairs_mut();
            if let Some(user) = user {
                if !valid_user(user) {
                    return Err(refuse("user: 1 to 64 ASCII letters or digits"));
                }
                let code = IssuedCode {
                    appid: appid.clone(),
                    openid: openid_of(&appid, user),
                    scope,
                    expires_at: now.saturating_add(CODE_LIFETIME),
                    used: false,
                };
                q.append_pair("code", &Self::insert_code(&mut self.oauth_codes, code, now));
            }
            q.append_pair("state", &state).append_pair("appid", &appid);
        }
        Ok(redirect.into())
    }

    fn issue_token(&mut self, grant: Grant, now: u64) -> Value {
        if self.tokens.len() >= MAX_ENTRIES {
            self.tokens.clear();
        }
        if self.refresh_tokens.len() >= MAX_ENTRIES {
            self.refresh_tokens.clear();
        }
        let (access, refresh) = (random("usertoken."), random("userrefresh."));
        let answer = json!({
            "access_token": &access,
            "expires_in": USER_TOKEN_TTL,
            "refresh_token": refresh,
            "openid": grant.openid,
            "scope": grant.scope,
        });
        self.refresh_tokens.insert(refresh, grant.clone());
        self.tokens
            .insert(access, (grant, now.saturating_add(USER_TOKEN_TTL)));
        answer
    }
}

/// The component token check of the exchanges: the account's own token (or any authorizer
/// token) is 40001, as is an unknown one; an expired one 42001.
fn check_component(platform: &Platform, url: &Url, now: u64) -> Result<(), ApiError> {
    let token = param(url, "component_access_token").ok_or_else(|| ApiError::new(41001))?;
    if platform.check_authorizer_token(&token, now).is_ok() {
        return Err(ApiError::hint(
            40001,
            "an authorizer's access_token, not the component_access_token",
        ));
    }
    platform
        .component_token_status(&token, now)
        .map_err(ApiError::new)?;
    if param(url, "component_appid").as_deref() != Some(platform.cfg.component_appid.as_str()) {
        return Err(ApiError::new(61011));
    }
    Ok(())
}

/// Spends `code` of `appid` from `codes`, or refuses it.
fn spend(
    codes: &mut HashMap<String, IssuedCode>,
    url: &Url,
    field: &str,
    appid: &str,
    now: u64,
) -> Result<IssuedCode, ApiError> {
    let code = param(url, field).ok_or_else(|| ApiError::new(41008))?;
    let issued = codes
        .get_mut(&code)
        .filter(|c| c.appid == appid && now < c.expires_at)
        .ok_or_else(|| ApiError::new(40029))?;
    if issued.used {
        return Err(ApiError::new(40163));
    }
    issued.used = true;
    Ok(issued.clone())
}

/// Serves one call to a path of [`crate::endpoints::USER_AUTH_SERVED`]. The authorize page
/// answers `{"redirect": <url>}`, which the responder turns into a 302.
pub(crate) fn serve(
    users: &mut Users,
    platform: &Platform,
    endpoint: Endpoint,
    url: &Url,
    now: u64,
) -> Result<Value, ApiError> {
    if endpoint == OAUTH_AUTHORIZE {
        let user = param(url, "fake_user").unwrap_or_else(|| "user".to_owned());
        return users
            .consent(platform, url, Some(&user), now)
            .map(|redirect| json!({ "redirect": redirect }))
            .map_err(|e| ApiError::hint(40013, &e.to_string()));
    }
    if endpoint == OAUTH_EXCHANGE || endpoint == JSCODE2SESSION || endpoint == OAUTH_REFRESH {
        check_component(platform, url, now)?;
        let appid = param(url, "appid").ok_or_else(|| ApiError::new(41002))?;
        if !platform.is_authorized(&appid) {
            return Err(ApiError::new(61003));
        }
        let grant_type = if endpoint == OAUTH_REFRESH {
            "refresh_token"
        } else {
            "authorization_code"
        };
        if param(url, "grant_type").as_deref() != Some(grant_type) {
            return Err(ApiError::hint(40002, "invalid grant_type"));
        }
        if endpoint == OAUTH_EXCHANGE {
            let c = spend(&mut users.oauth_codes, url, "code", &appid, now)?;
            let grant = Grant {
                appid: c.appid,
                openid: c.openid,
                scope: c.scope,
            };
            return Ok(users.issue_token(grant, now));
        }
        if endpoint == OAUTH_REFRESH {
            let refresh = param(url, "refresh_token").ok_or_else(|| ApiError::new(41003))?;
            let grant = users
                .refresh_tokens
                .get(&refresh)
                .filter(|g| g.appid == appid)
                .cloned()
                .ok_or_else(|| ApiError::new(40030))?;
            users.refresh_tokens.remove(&refresh);
            return Ok(users.issue_token(grant, now));
        }
        let c = spend(&mut users.js_codes, url, "js_code", &appid, now)?;
        if users
            .high_risk
            .contains(&(c.appid.clone(), c.openid.clone()))
        {
            return Err(ApiError::new(40226));
        }
        return Ok(json!({
            "openid": c.openid,
            "session_key": random("sessionkey+"),
            "unionid": format!("u_{}", c.openid),
        }));
    }
    // USERINFO: the user's own token.
    let token = param(url, "access_token").ok_or_else(|| ApiError::new(41001))?;
    let (grant, expires_at) = users
        .tokens
        .get(&token)
        .cloned()
        .ok_or_else(|| ApiError::new(40001))?;
    if now >= expires_at {
        return Err(ApiError::new(42001));
    }
    if param(url, "openid").as_deref() != Some(grant.openid.as_str()) {
        return Err(ApiError::new(40003));
    }
    if grant.scope != "snsapi_userinfo" {
        return Err(ApiError::hint(
            48001,
            "scope snsapi_base does not read the profile",
        ));
    }
    Ok(json!({
        "openid": grant.openid,
        "nickname": format!("user of {}", grant.appid),
        "sex": 0,
        "province": "",
        "city": "",
        "country": "",
        "headimgurl": "",
        "privilege": [],
    }))
}
