//! The platform's state machine: tickets, tokens, codes, authorizers, quota.
//!
//! Pure logic over a `now` (Unix seconds) and the validated request; no HTTP, no crypto. The
//! handlers feed it, the admin methods of [`FakeWeChat`](crate::FakeWeChat) drive it directly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::config::FakeConfig;
use crate::endpoints::Endpoint;
use crate::error::FakeError;
use crate::sent::SentMessage;

/// A platform error object `{errcode, errmsg}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) errcode: i64,
    pub(crate) errmsg: String,
}

impl ApiError {
    pub(crate) fn new(errcode: i64) -> Self {
        Self {
            errcode,
            errmsg: errmsg_for(errcode).to_owned(),
        }
    }

    pub(crate) fn hint(errcode: i64, hint: &str) -> Self {
        Self {
            errcode,
            errmsg: format!("{} hint: [{hint}]", errmsg_for(errcode)),
        }
    }
}

/// The platform's English errmsg for a code (as the official pages and peers' logs spell them).
pub(crate) fn errmsg_for(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        0 => "ok",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40029 => "invalid code",
        40030 => "invalid refresh_token",
        40163 => "code been used",
        40226 => "high risk user",
        41008 => "missing code",
        40003 => "invalid openid",
        40008 => "invalid message type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40125 => "invalid appsecret",
        41001 => "access_token missing",
        41002 => "appid missing",
        41003 => "refresh_token missing",
        41004 => "appsecret missing",
        42001 => "access_token expired",
        43001 => "require GET method",
        43002 => "require POST method",
        44002 => "empty post data",
        44004 => "empty content",
        45009 => "reach max api daily quota limit",
        45015 => "response out of time limit or subscription is canceled",
        47001 => "data format error",
        48001 => "api unauthorized",
        48006 => "forbid to clear quota because of reaching the limit",
        61003 => "component is not authorized by this account",
        61004 => "access clientip is not registered",
        61005 => "component ticket is expired",
        61006 => "component ticket is invalid",
        61009 => "code is invalid",
        61010 => "code is expired",
        61011 => "invalid component",
        61023 => "refresh_token is invalid",
        _ => "system error",
    }
}

/// Who the query-string token says is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No token required (or none given where none is needed).
    Anonymous,
    /// A valid component access token.
    Component,
    /// A valid authorizer access token of this authorizer appid.
    Authorizer(String),
}

/// The kind of account that authorizes the component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthorizerKind {
    /// An official account (服务号/订阅号).
    #[default]
    OfficialAccount,
    /// A mini program (its info carries `MiniProgramInfo`).
    MiniProgram,
}

#[derive(Clone, Debug)]
struct Token {
    value: String,
    expires_at: u64,
    superseded_at: Option<u64>,
}

impl Token {
    fn status(&self, now: u64, grace: u64) -> Result<(), ApiError> {
        if now >= self.expires_at {
            return Err(ApiError::new(42001));
        }
        match self.superseded_at {
            Some(at) if now >= at.saturating_add(grace) => Err(ApiError::new(40001)),
            _ => Ok(()),
        }
    }
}

fn supersede(tokens: &mut Vec<Token>, now: u64) {
    // Forget tokens expired for more than a day (they would still answer 42001 until then);
    // mark the rest superseded.
    tokens.retain(|t| t.expires_at.saturating_add(86_400) > now);
    for t in tokens.iter_mut() {
        if t.superseded_at.is_none() {
            t.superseded_at = Some(now);
        }
    }
}

#[derive(Clone, Debug)]
struct Code {
    expires_at: u64,
    used: bool,
    authorizer_appid: Option<String>,
}

#[derive(Clone, Debug)]
struct Authorizer {
    appid: String,
    user_name: String,
    kind: AuthorizerKind,
    authorized: bool,
    auth_time: u64,
    refresh_token: String,
    access_tokens: Vec<Token>,
    func_info: Vec<u32>,
    options: BTreeMap<&'static str, String>,
}

/// What an admin consent produced.
#[derive(Clone, Debug)]
pub(crate) struct ConsentInfo {
    pub(crate) auth_code: String,
    pub(crate) expires_at: u64,
    pub(crate) info_type: &'static str,
    pub(crate) pre_auth_code: String,
}

const OPTIONS: [(&str, &[&str]); 3] = [
    ("location_report", &["0", "1", "2"]),
    ("voice_recognize", &["0", "1"]),
    ("customer_service", &["0", "1"]),
];

fn random_token(prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.push_str(&Alphanumeric.sample_string(&mut rand::rng(), len));
    s
}

fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> &'a str {
    body.get(name).and_then(Value::as_str).unwrap_or("")
}

fn uint_field(body: &Map<String, Value>, name: &str) -> u64 {
    body.get(name).and_then(Value::as_u64).unwrap_or(0)
}

fn ok_object() -> Value {
    json!({"errcode": 0, "errmsg": "ok"})
}

/// The fake platform's state.
#[derive(Debug)]
pub(crate) struct Platform {
    pub(crate) cfg: FakeConfig,
    tickets: Vec<(String, u64)>,
    component_tokens: Vec<Token>,
    pre_auth_codes: HashMap<String, Code>,
    auth_codes: HashMap<String, Code>,
    authorizers: BTreeMap<String, Authorizer>,
    quota_resets: HashMap<String, u32>,
    exhausted: HashSet<Endpoint>,
    pending_ticket_pushes: usize,
    start_push_requests: usize,
    /// Last time (fake clock) each user wrote to each account: `(authorizer, openid)`.
    users: HashMap<(String, String), u64>,
    /// Accepted `custom/send` messages, oldest first.
    sent: Vec<SentMessage>,
    /// Refused `custom/send` calls: when (real time) and the errcode.
    refused_sends: Vec<(Instant, i64)>,
    /// Accepted `media/upload` files: `(media_id, bytes)`.
    uploads: Vec<(String, Vec<u8>)>,
    /// The JS-SDK tickets issued by `getticket`.
    pub(crate) js_tickets: crate::js_tickets::JsTickets,
}

impl Platform {
    pub(crate) fn new(cfg: FakeConfig) -> Self {
        Self {
            cfg,
            tickets: Vec::new(),
            component_tokens: Vec::new(),
            pre_auth_codes: HashMap::new(),
            auth_codes: HashMap::new(),
            authorizers: BTreeMap::new(),
            quota_resets: HashMap::new(),
            exhausted: HashSet::new(),
            pending_ticket_pushes: 0,
            start_push_requests: 0,
            users: HashMap::new(),
            sent: Vec::new(),
            refused_sends: Vec::new(),
            uploads: Vec::new(),
            js_tickets: Default::default(),
        }
    }

    // ---------------------------------------------------------------- admin side

    /// Issues a fresh ticket (what a push carries).
    pub(crate) fn issue_ticket(&mut self, now: u64) -> String {
        let ticket = random_token("ticket@@@", 86);
        self.tickets.push((ticket.clone(), now));
        ticket
    }

    /// The newest ticket and its issue time.
    pub(crate) fn current_ticket(&self) -> Option<(String, u64)> {
        self.tickets.last().cloned()
    }

    pub(crate) fn take_pending_ticket_pushes(&mut self) -> usize {
        std::mem::take(&mut self.pending_ticket_pushes)
    }

    pub(crate) fn start_push_requests(&self) -> usize {
        self.start_push_requests
    }

    /// A pre-auth code created outside the API (for shortcuts); same rules as the API's.
    pub(crate) fn new_pre_auth_code(&mut self, now: u64) -> String {
        let code = random_token("preauthcode@@@", 43);
        self.pre_auth_codes.insert(
            code.clone(),
            Code {
                expires_at: now.saturating_add(self.cfg.pre_auth_code_ttl),
                used: false,
                authorizer_appid: None,
            },
        );
        code
    }

    /// The admin of `authorizer_appid` scans the page for `pre_auth_code` and agrees.
    pub(crate) fn consent(
        &mut self,
        pre_auth_code: &str,
        authorizer_appid: &str,
        kind: AuthorizerKind,
        now: u64,
    ) -> Result<ConsentInfo, FakeError> {
        let code = self
            .pre_auth_codes
            .get_mut(pre_auth_code)
            .ok_or(FakeError::UnknownPreAuthCode)?;
        if code.used {
            return Err(FakeError::PreAuthCodeUsed);
        }
        if now >= code.expires_at {
            return Err(FakeError::PreAuthCodeExpired);
        }
        code.used = true;
        code.authorizer_appid = Some(authorizer_appid.to_owned());
        let refresh_token = random_token("refreshtoken@@@", 43);
        let info_type = match self.authorizers.get_mut(authorizer_appid) {
            Some(a) => {
                let was = a.authorized;
                a.authorized = true;
                a.auth_time = now;
                a.refresh_token = refresh_token;
                a.kind = kind;
                if was {
                    "updateauthorized"
                } else {
                    "authorized"
                }
            }
            None => {
                let user_name = format!("gh_{:012x}", rand::rng().random::<u64>() >> 16);
                let mut options = BTreeMap::new();
                for (name, _) in OPTIONS {
                    options.insert(name, "0".to_owned());
                }
                self.authorizers.insert(
                    authorizer_appid.to_owned(),
                    Authorizer {
                        appid: authorizer_appid.to_owned(),
                        user_name,
                        kind,
                        authorized: true,
                        auth_time: now,
                        refresh_token,
                        access_tokens: Vec::new(),
                        func_info: default_func_info(kind),
                        options,
                    },
                );
                "authorized"
            }
        };
        let auth_code = random_token("queryauthcode@@@", 60);
        let expires_at = now.saturating_add(self.cfg.auth_code_ttl);
        self.auth_codes.insert(
            auth_code.clone(),
            Code {
                expires_at,
                used: false,
                authorizer_appid: Some(authorizer_appid.to_owned()),
            },
        );
        Ok(ConsentInfo {
            auth_code,
            expires_at,
            info_type,
            pre_auth_code: pre_auth_code.to_owned(),
        })
    }

    /// Makes `appid` (one of the release check's test accounts) an authorized account with the
    /// given original id, keeping its refresh token if it already was one, and issues a fresh
    /// authorization code for it (what the check's `QUERY_AUTH_CODE:` message carries).
    pub(crate) fn authorize_test_account(
        &mut self,
        appid: &str,
        user_name: &str,
        kind: AuthorizerKind,
        now: u64,
    ) {
        match self.authorizers.get_mut(appid) {
            Some(a) => {
                if !a.authorized {
                    a.authorized = true;
                    a.auth_time = now;
                    a.refresh_token = random_token("refreshtoken@@@", 43);
                }
                a.user_name = user_name.to_owned();
                a.kind = kind;
            }
            None => {
                let mut options = BTreeMap::new();
                for (name, _) in OPTIONS {
                    options.insert(name, "0".to_owned());
                }
                self.authorizers.insert(
                    appid.to_owned(),
                    Authorizer {
                        appid: appid.to_owned(),
                        user_name: user_name.to_owned(),
                        kind,
                        authorized: true,
                        auth_time: now,
                        refresh_token: random_token("refreshtoken@@@", 43),
                        access_tokens: Vec::new(),
                        func_info: default_func_info(kind),
                        options,
                    },
                );
            }
        }
    }

    /// A fresh single-use authorization code for an authorized `appid` (as a consent makes).
    pub(crate) fn issue_auth_code(&mut self, appid: &str, now: u64) -> String {
        let auth_code = random_token("queryauthcode@@@", 60);
        self.auth_codes.insert(
            auth_code.clone(),
            Code {
                expires_at: now.saturating_add(self.cfg.auth_code_ttl),
                used: false,
                authorizer_appid: Some(appid.to_owned()),
            },
        );
        auth_code
    }

    /// Whether `code` was exchanged by `api_query_auth` (`None`: never issued).
    pub(crate) fn auth_code_used(&self, code: &str) -> Option<bool> {
        self.auth_codes.get(code).map(|c| c.used)
    }

    /// User `openid` writes to account `appid` at `now` (opens the customer-service window).
    pub(crate) fn user_wrote(&mut self, appid: &str, openid: &str, now: u64) {
        self.users
            .insert((appid.to_owned(), openid.to_owned()), now);
    }

    /// When `openid` last wrote to `appid`, if ever.
    pub(crate) fn user_last_wrote(&self, appid: &str, openid: &str) -> Option<u64> {
        self.users
            .get(&(appid.to_owned(), openid.to_owned()))
            .copied()
    }

    pub(crate) fn record_sent(&mut self, message: SentMessage) {
        self.sent.push(message);
    }

    pub(crate) fn sent(&self) -> &[SentMessage] {
        &self.sent
    }

    pub(crate) fn record_refused_send(&mut self, at: Instant, errcode: i64) {
        self.refused_sends.push((at, errcode));
    }

    pub(crate) fn refused_sends(&self) -> &[(Instant, i64)] {
        &self.refused_sends
    }

    /// The admin cancels the authorization: tokens and refresh token die.
    pub(crate) fn unauthorize(&mut self, authorizer_appid: &str) -> Result<(), FakeError> {
        let a = self
            .authorizers
            .get_mut(authorizer_appid)
            .ok_or_else(|| FakeError::UnknownAuthorizer(authorizer_appid.to_owned()))?;
        a.authorized = false;
        a.access_tokens.clear();
        self.js_tickets.revoke(authorizer_appid);
        a.refresh_token = random_token("refreshtoken@@@", 43);
        Ok(())
    }

    /// Makes every access token of `appid` invalid now (40001), as a fetch elsewhere would.
    pub(crate) fn invalidate_authorizer_tokens(
        &mut self,
        appid: &str,
        now: u64,
    ) -> Result<(), FakeError> {
        let grace = self.cfg.superseded_grace;
        let a = self
            .authorizers
            .get_mut(appid)
            .ok_or_else(|| FakeError::UnknownAuthorizer(appid.to_owned()))?;
        for t in &mut a.access_tokens {
            t.superseded_at = Some(now.saturating_sub(grace));
        }
        Ok(())
    }

    /// Keeps an upload of `appid`; returns its media_id.
    pub(crate) fn record_upload(&mut self, appid: &str, bytes: Vec<u8>) -> String {
        let media_id = format!("MEDIA_{}_{}", appid, self.uploads.len() + 1);
        self.uploads.push((media_id.clone(), bytes));
        media_id
    }

    /// Every upload so far: `(media_id, bytes)`.
    pub(crate) fn uploads(&self) -> &[(String, Vec<u8>)] {
        &self.uploads
    }

    /// Replaces the refresh token without telling anyone (as a re-authorization elsewhere would);
    /// returns the new value.
    pub(crate) fn rotate_refresh_token(&mut self, appid: &str) -> Result<String, FakeError> {
        let a = self
            .authorizers
            .get_mut(appid)
            .ok_or_else(|| FakeError::UnknownAuthorizer(appid.to_owned()))?;
        a.refresh_token = random_token("refreshtoken@@@", 43);
        Ok(a.refresh_token.clone())
    }

    pub(crate) fn authorizer_user_name(&self, appid: &str) -> Option<String> {
        self.authorizers.get(appid).map(|a| a.user_name.clone())
    }

    pub(crate) fn authorizer_refresh_token(&self, appid: &str) -> Option<String> {
        self.authorizers
            .get(appid)
            .filter(|a| a.authorized)
            .map(|a| a.refresh_token.clone())
    }

    /// Takes permission set `id` away from `appid` (as `api_get_authorizer_info` reports it).
    pub(crate) fn revoke_permission_set(&mut self, appid: &str, id: u32) {
        if let Some(a) = self.authorizers.get_mut(appid) {
            a.func_info.retain(|x| *x != id);
        }
    }

    pub(crate) fn is_authorized(&self, appid: &str) -> bool {
        self.authorizers.get(appid).is_some_and(|a| a.authorized)
    }

    pub(crate) fn authorizer_option(&self, appid: &str, name: &str) -> Option<String> {
        self.authorizers
            .get(appid)
            .and_then(|a| a.options.get(name).cloned())
    }

    /// The newest component token still accepted at `now`.
    pub(crate) fn latest_component_token(&self, now: u64) -> Option<String> {
        let grace = self.cfg.superseded_grace;
        self.component_tokens
            .iter()
            .rev()
            .find(|t| t.status(now, grace).is_ok())
            .map(|t| t.value.clone())
    }

    /// Whether `token` would be accepted as a component access token at `now`.
    pub(crate) fn component_token_status(&self, token: &str, now: u64) -> Result<(), i64> {
        self.check_component_token(token, now)
            .map_err(|e| e.errcode)
    }

    /// Whether `token` would be accepted as this authorizer's access token at `now`.
    pub(crate) fn authorizer_token_status(
        &self,
        appid: &str,
        token: &str,
        now: u64,
    ) -> Result<(), i64> {
        match self.check_authorizer_token(token, now) {
            Ok(a) if a == appid => Ok(()),
            Ok(_) => Err(40001),
            Err(e) => Err(e.errcode),
        }
    }

    pub(crate) fn latest_authorizer_token(&self, appid: &str, now: u64) -> Option<String> {
        let grace = self.cfg.superseded_grace;
        self.authorizers.get(appid).and_then(|a| {
            a.access_tokens
                .iter()
                .rev()
                .find(|t| t.status(now, grace).is_ok())
                .map(|t| t.value.clone())
        })
    }

    pub(crate) fn exhaust_quota(&mut self, endpoint: Endpoint) {
        self.exhausted.insert(endpoint);
    }

    pub(crate) fn quota_exhausted(&self, endpoint: Endpoint) -> bool {
        self.exhausted.contains(&endpoint)
    }

    // ---------------------------------------------------------------- API side

    pub(crate) fn check_component_token(&self, token: &str, now: u64) -> Result<(), ApiError> {
        let grace = self.cfg.superseded_grace;
        self.component_tokens
            .iter()
            .find(|t| t.value == token)
            .ok_or_else(|| ApiError::new(40001))?
            .status(now, grace)
    }

    pub(crate) fn check_authorizer_token(&self, token: &str, now: u64) -> Result<String, ApiError> {
        let grace = self.cfg.superseded_grace;
        for a in self.authorizers.values() {
            if let Some(t) = a.access_tokens.iter().find(|t| t.value == token) {
                t.status(now, grace)?;
                return Ok(a.appid.clone());
            }
        }
        Err(ApiError::new(40001))
    }

    /// Resolves the query token of a request into a caller.
    pub(crate) fn caller(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
        now: u64,
    ) -> Result<Caller, ApiError> {
        use crate::endpoints::AcceptedToken;
        let accepted =
            crate::endpoints::contract(endpoint).map_or(AcceptedToken::None, |c| c.accepted_token);
        match (accepted, token) {
            (AcceptedToken::None, _) => Ok(Caller::Anonymous),
            (_, None) => Err(ApiError::new(41001)),
            (AcceptedToken::Component, Some(t)) => {
                self.check_component_token(t, now)?;
                Ok(Caller::Component)
            }
            (AcceptedToken::Authorizer, Some(t)) => {
                Ok(Caller::Authorizer(self.check_authorizer_token(t, now)?))
            }
            (AcceptedToken::ComponentOrAuthorizer, Some(t)) => {
                match self.check_component_token(t, now) {
                    Ok(()) => Ok(Caller::Component),
                    Err(ce) => match self.check_authorizer_token(t, now) {
                        Ok(appid) => Ok(Caller::Authorizer(appid)),
                        // Prefer the more specific failure (expired over unknown).
                        Err(ae) if ce.errcode == 40001 => Err(ae),
                        Err(_) => Err(ce),
                    },
                }
            }
        }
    }

    fn check_component_appid(&self, body: &Map<String, Value>) -> Result<(), ApiError> {
        if str_field(body, "component_appid") == self.cfg.component_appid {
            Ok(())
        } else {
            Err(ApiError::new(61011))
        }
    }

    fn authorized(&mut self, appid: &str) -> Result<&mut Authorizer, ApiError> {
        match self.authorizers.get_mut(appid) {
            Some(a) if a.authorized => Ok(a),
            _ => Err(ApiError::new(61003)),
        }
    }

    fn issue_authorizer_token(&mut self, appid: &str, now: u64) -> Result<String, ApiError> {
        let ttl = self.cfg.authorizer_token_ttl;
        let a = self.authorized(appid)?;
        supersede(&mut a.access_tokens, now);
        let value = random_token("authorizer_access_token.", 64);
        a.access_tokens.push(Token {
            value: value.clone(),
            expires_at: now.saturating_add(ttl),
            superseded_at: None,
        });
        Ok(value)
    }

    fn use_reset(&mut self, appid: &str) -> Result<(), ApiError> {
        let used = self.quota_resets.entry(appid.to_owned()).or_insert(0);
        if *used >= self.cfg.clear_quota_monthly_limit {
            return Err(ApiError::new(48006));
        }
        *used += 1;
        if appid == self.cfg.component_appid {
            self.exhausted.clear();
        }
        Ok(())
    }

    /// Serves one validated API call.
    pub(crate) fn call(
        &mut self,
        endpoint: Endpoint,
        caller: &Caller,
        body: &Map<String, Value>,
        now: u64,
    ) -> Result<Value, ApiError> {
        match endpoint {
            Endpoint::ComponentToken => {
                self.check_component_appid(body)?;
                if str_field(body, "component_appsecret") != self.cfg.component_appsecret {
                    return Err(ApiError::new(40125));
                }
                let ticket = str_field(body, "component_verify_ticket");
                let issued = self
                    .tickets
                    .iter()
                    .find(|(t, _)| t == ticket)
                    .map(|(_, at)| *at)
                    .ok_or_else(|| ApiError::new(61006))?;
                if now >= issued.saturating_add(self.cfg.ticket_ttl) {
                    return Err(ApiError::new(61005));
                }
                supersede(&mut self.component_tokens, now);
                let value = random_token("component_access_token.", 64);
                self.component_tokens.push(Token {
                    value: value.clone(),
                    expires_at: now.saturating_add(self.cfg.component_token_ttl),
                    superseded_at: None,
                });
                Ok(json!({
                    "component_access_token": value,
                    "expires_in": self.cfg.component_token_ttl,
                }))
            }
            Endpoint::CreatePreAuthCode => {
                self.check_component_appid(body)?;
                let code = self.new_pre_auth_code(now);
                Ok(json!({"pre_auth_code": code, "expires_in": self.cfg.pre_auth_code_ttl}))
            }
            Endpoint::QueryAuth => {
                self.check_component_appid(body)?;
                let code_value = str_field(body, "authorization_code");
                let code = self
                    .auth_codes
                    .get_mut(code_value)
                    .ok_or_else(|| ApiError::new(61009))?;
                if code.used {
                    return Err(ApiError::new(61009));
                }
                if now >= code.expires_at {
                    return Err(ApiError::new(61010));
                }
                code.used = true;
                let appid = code.authorizer_appid.clone().unwrap_or_default();
                let access = self.issue_authorizer_token(&appid, now)?;
                let ttl = self.cfg.authorizer_token_ttl;
                let a = self.authorized(&appid)?;
                Ok(json!({
                    "authorization_info": {
                        "authorizer_appid": a.appid,
                        "authorizer_access_token": access,
                        "expires_in": ttl,
                        "authorizer_refresh_token": a.refresh_token,
                        "func_info": func_info_json(&a.func_info),
                    }
                }))
            }
            Endpoint::AuthorizerToken => {
                self.check_component_appid(body)?;
                let appid = str_field(body, "authorizer_appid").to_owned();
                let presented = str_field(body, "authorizer_refresh_token");
                match self.authorizers.get(&appid) {
                    None => return Err(ApiError::new(61023)),
                    Some(a) if !a.authorized => return Err(ApiError::new(61003)),
                    Some(a) if a.refresh_token != presented => return Err(ApiError::new(61023)),
                    Some(_) => {}
                }
                let access = self.issue_authorizer_token(&appid, now)?;
                let rotate = self.cfg.rotate_refresh_tokens;
                let ttl = self.cfg.authorizer_token_ttl;
                let a = self.authorized(&appid)?;
                if rotate {
                    a.refresh_token = random_token("refreshtoken@@@", 43);
                }
                Ok(json!({
                    "authorizer_access_token": access,
                    "expires_in": ttl,
                    "authorizer_refresh_token": a.refresh_token,
                }))
            }
            Endpoint::GetAuthorizerInfo => {
                self.check_component_appid(body)?;
                let appid = str_field(body, "authorizer_appid").to_owned();
                let a = self.authorized(&appid)?;
                Ok(authorizer_info_json(a))
            }
            Endpoint::GetAuthorizerList => {
                self.check_component_appid(body)?;
                let offset = uint_field(body, "offset");
                let count = uint_field(body, "count");
                if count == 0 || count > 500 {
                    return Err(ApiError::hint(47001, "count must be 1..=500"));
                }
                let mut all: Vec<&Authorizer> =
                    self.authorizers.values().filter(|a| a.authorized).collect();
                all.sort_by(|a, b| (a.auth_time, &a.appid).cmp(&(b.auth_time, &b.appid)));
                let total = all.len();
                let list: Vec<Value> = all
                    .into_iter()
                    .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                    .take(usize::try_from(count).unwrap_or(usize::MAX))
                    .map(|a| {
                        json!({
                            "authorizer_appid": a.appid,
                            "refresh_token": a.refresh_token,
                            "auth_time": a.auth_time,
                        })
                    })
                    .collect();
                Ok(json!({"total_count": total, "list": list}))
            }
            Endpoint::GetAuthorizerOptionLegacy | Endpoint::GetAuthorizerOption => {
                let appid = match caller {
                    Caller::Authorizer(appid) => appid.clone(),
                    _ => {
                        self.check_component_appid(body)?;
                        str_field(body, "authorizer_appid").to_owned()
                    }
                };
                let name = str_field(body, "option_name");
                let a = self.authorized(&appid)?;
                let value = a
                    .options
                    .get(name)
                    .cloned()
                    .ok_or_else(|| ApiError::hint(47001, "unknown option_name"))?;
                if endpoint == Endpoint::GetAuthorizerOption {
                    Ok(json!({"option_name": name, "option_value": value}))
                } else {
                    Ok(json!({
                        "authorizer_appid": appid,
                        "option_name": name,
                        "option_value": value,
                    }))
                }
            }
            Endpoint::SetAuthorizerOptionLegacy | Endpoint::SetAuthorizerOption => {
                let appid = match caller {
                    Caller::Authorizer(appid) => appid.clone(),
                    _ => {
                        self.check_component_appid(body)?;
                        str_field(body, "authorizer_appid").to_owned()
                    }
                };
                let name = str_field(body, "option_name");
                let value = str_field(body, "option_value");
                let (key, allowed) = OPTIONS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| ApiError::hint(47001, "unknown option_name"))?;
                if !allowed.contains(&value) {
                    return Err(ApiError::hint(47001, "option_value out of range"));
                }
                let a = self.authorized(&appid)?;
                a.options.insert(key, value.to_owned());
                Ok(ok_object())
            }
            Endpoint::StartPushTicket => {
                if str_field(body, "component_appid") != self.cfg.component_appid {
                    return Err(ApiError::new(40013));
                }
                if str_field(body, "component_secret") != self.cfg.component_appsecret {
                    return Err(ApiError::new(40125));
                }
                self.start_push_requests += 1;
                self.pending_ticket_pushes += 1;
                Ok(ok_object())
            }
            Endpoint::ClearQuota => {
                let appid = str_field(body, "appid").to_owned();
                let allowed = match caller {
                    Caller::Component => appid == self.cfg.component_appid,
                    Caller::Authorizer(a) => *a == appid,
                    Caller::Anonymous => false,
                };
                if !allowed {
                    return Err(ApiError::new(40013));
                }
                self.use_reset(&appid)?;
                Ok(ok_object())
            }
            Endpoint::ClearQuotaV2 => {
                if str_field(body, "component_appid") != self.cfg.component_appid {
                    return Err(ApiError::new(40013));
                }
                if str_field(body, "appsecret") != self.cfg.component_appsecret {
                    return Err(ApiError::new(40125));
                }
                let target = match body.get("appid").and_then(Value::as_str) {
                    Some(a) if !a.is_empty() => {
                        if !self.is_authorized(a) {
                            return Err(ApiError::new(40013));
                        }
                        a.to_owned()
                    }
                    _ => self.cfg.component_appid.clone(),
                };
                self.use_reset(&target)?;
                Ok(ok_object())
            }
            // Paths outside the component API are answered 404 before they get here.
            _ => Err(ApiError::new(47001)),
        }
    }
}

/// The permission sets an account grants by default: the official-account sets, or for a mini
/// program its sets 17 (account), 18 (development: code, review, release) and 19 (customer
/// service).
fn default_func_info(kind: AuthorizerKind) -> Vec<u32> {
    match kind {
        AuthorizerKind::MiniProgram => vec![17, 18, 19],
        AuthorizerKind::OfficialAccount => vec![1, 15, 4, 7, 2, 3, 11, 6, 5, 8, 13, 9, 10, 12],
    }
}

fn func_info_json(ids: &[u32]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({"funcscope_category": {"id": id}}))
            .collect(),
    )
}

fn authorizer_info_json(a: &Authorizer) -> Value {
    let mut info = json!({
        "nick_name": format!("Fake account {}", a.appid),
        "head_img": "http://wx.qlogo.cn/mmopen/fake/0",
        "service_type_info": {"id": 2},
        "verify_type_info": {"id": 0},
        "user_name": a.user_name,
        "alias": "",
        "qrcode_url": "http://mmbiz.qpic.cn/mmbiz/fake/0",
        "business_info": {
            "open_pay": 0, "open_shake": 0, "open_scan": 0, "open_card": 0, "open_store": 0
        },
        "principal_name": "Fake Principal Co., Ltd.",
        "signature": "",
        "register_type": 0,
        "account_status": 1,
        "basic_config": {"is_phone_configured": true, "is_email_configured": true},
    });
    if a.kind == AuthorizerKind::MiniProgram {
        if let Some(obj) = info.as_object_mut() {
            obj.insert("service_type_info".into(), json!({"id": 0}));
            obj.insert(
                "MiniProgramInfo".into(),
                json!({
                    "network": {
                        "RequestDomain": [], "WsRequestDomain": [], "UploadDomain": [],
                        "DownloadDomain": [], "BizDomain": [], "UDPDomain": []
                    },
                    "categories": [{"first": "工具", "second": "效率"}],
                    "visit_status": 0
                }),
            );
        }
    }
    json!({
        "authorizer_info": info,
        "authorization_info": {
            "authorizer_appid": a.appid,
            "func_info": func_info_json(&a.func_info),
        }
    })
}
