//! The fake's mini-program state and rules: per-account code (committed, experience, audit,
//! released, gray), the platform's monthly review quota, templates, domains, privacy settings
//! and testers — each call of [`WxaApi`] as a function of that state.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use wxopen_proto::wxa::{AuditState, WxaApi};

use crate::state::ApiError;
use crate::wxa_settings::{day_key, month_key, WxaSettings};

/// The pages every fake template has.
pub(crate) const FAKE_PAGES: &[&str] = &["pages/index/index", "pages/order/order"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Code {
    pub(crate) template_id: u64,
    pub(crate) ext_json: String,
    pub(crate) user_version: String,
    pub(crate) user_desc: String,
    pub(crate) at: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Audit {
    pub(crate) auditid: u64,
    pub(crate) code: Code,
    pub(crate) status: AuditState,
    pub(crate) reason: Option<String>,
    pub(crate) screenshot: Option<String>,
    pub(crate) released: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Account {
    pub(crate) permission_denied: bool,
    pub(crate) commit: Option<Code>,
    pub(crate) privacy_ready_at: u64,
    pub(crate) audits: Vec<Audit>,
    pub(crate) released: Option<Code>,
    pub(crate) prev_released: Option<Code>,
    pub(crate) gray: Option<u8>,
    pub(crate) domains: BTreeMap<String, Vec<String>>,
    pub(crate) webview: Vec<String>,
    pub(crate) privacy: BTreeMap<u64, Value>,
    pub(crate) testers: Vec<(String, String)>,
    pub(crate) undos: Vec<u64>,
    pub(crate) closed: bool,
}

impl Account {
    pub(crate) fn current_audit(&self) -> Option<&Audit> {
        self.audits.last()
    }

    fn running(&self) -> bool {
        self.current_audit()
            .is_some_and(|a| matches!(a.status, AuditState::InReview | AuditState::Delayed))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub(crate) draft_id: u64,
    pub(crate) user_version: String,
    pub(crate) user_desc: String,
    pub(crate) at: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) template_id: u64,
    pub(crate) draft: Draft,
    pub(crate) template_type: u64,
}

/// Everything mini-program the fake platform knows.
#[derive(Debug, Default)]
pub(crate) struct WxaState {
    pub(crate) settings: WxaSettings,
    month: u64,
    used: u64,
    speedup_used: u64,
    next_id: u64,
    pub(crate) drafts: Vec<Draft>,
    pub(crate) templates: Vec<Template>,
    server_domains: Vec<String>,
    jump_domains: Vec<String>,
    pub(crate) accounts: BTreeMap<String, Account>,
}

fn err(errcode: i64, errmsg: &str) -> ApiError {
    ApiError {
        errcode,
        errmsg: errmsg.to_owned(),
    }
}

fn bad(what: &str) -> ApiError {
    err(47001, &format!("data format error hint: [{what}]"))
}

fn ok() -> Value {
    json!({"errcode": 0, "errmsg": "ok"})
}

fn ok_with(fields: Value) -> Value {
    let mut v = ok();
    if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
        m.extend(f);
    }
    v
}

fn u64_field(body: &Map<String, Value>, name: &str) -> Result<u64, ApiError> {
    match body.get(name) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(name)),
        Some(Value::String(s)) => s.parse().map_err(|_| bad(name)),
        _ => Err(bad(&format!("`{name}` missing or not a number"))),
    }
}

fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(&format!("`{name}` missing or not a string")))
}

fn only_keys(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(&format!("unexpected field `{k}`"))),
        None => Ok(()),
    }
}

const DOMAIN_KEYS: [&str; 6] = [
    "requestdomain",
    "wsrequestdomain",
    "uploaddomain",
    "downloaddomain",
    "udpdomain",
    "tcpdomain",
];

fn host_of(d: &str) -> String {
    let h = d.split_once("://").map_or(d, |(_, h)| h);
    h.split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn string_list(v: Option<&Value>, name: &str) -> Result<Vec<String>, ApiError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| bad(name)))
            .collect(),
        Some(_) => Err(bad(name)),
    }
}

impl WxaState {
    fn roll_month(&mut self, now: u64) {
        let m = month_key(now);
        if m != self.month {
            self.month = m;
            self.used = 0;
            self.speedup_used = 0;
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Reviews submitted this month (as of `now`).
    pub(crate) fn quota_used(&mut self, now: u64) -> u64 {
        self.roll_month(now);
        self.used
    }

    pub(crate) fn account(&mut self, appid: &str) -> &mut Account {
        self.accounts.entry(appid.to_owned()).or_default()
    }

    pub(crate) fn add_draft(&mut self, user_version: &str, user_desc: &str, now: u64) -> u64 {
        let draft_id = self.next_id();
        self.drafts.push(Draft {
            draft_id,
            user_version: user_version.to_owned(),
            user_desc: user_desc.to_owned(),
            at: now,
        });
        draft_id
    }

    /// Adds a draft and makes it a template at once; returns the template id.
    pub(crate) fn add_template(&mut self, user_version: &str, now: u64) -> u64 {
        let draft_id = self.add_draft(user_version, "", now);
        let template_id = self.next_id();
        let draft = self.drafts.iter().find(|d| d.draft_id == draft_id).cloned();
        if let Some(draft) = draft {
            self.templates.push(Template {
                template_id,
                draft,
                template_type: 0,
            });
        }
        template_id
    }

    /// Serves one call. `appid` is the account for authorizer-token calls; `body` is the parsed
    /// JSON object of a POST (None for a GET).
    pub(crate) fn call(
        &mut self,
        api: WxaApi,
        appid: Option<&str>,
        body: &Map<String, Value>,
        now: u64,
    ) -> Result<Value, ApiError> {
        self.roll_month(now);
        if let Some(a) = appid {
            if self.account(a).permission_denied {
                return Err(err(61007, "api is unauthorized to component"));
            }
        }
        let a = appid.unwrap_or_default().to_owned();
        match api {
            WxaApi::Commit => self.commit(&a, body, now),
            WxaApi::GetPage => {
                let acc = self.account(&a);
                if acc.commit.is_none() {
                    return Err(err(85086, "no code committed"));
                }
                Ok(ok_with(json!({"page_list": FAKE_PAGES})))
            }
            WxaApi::GetCategory => Ok(ok_with(json!({"category_list": [
                {"first_class": "工具", "second_class": "预约", "first_id": 287, "second_id": 612}
            ]}))),
            WxaApi::GetCodePrivacyInfo => {
                let acc = self.account(&a);
                if acc.commit.is_none() {
                    return Err(err(85086, "no code committed"));
                }
                if now < acc.privacy_ready_at {
                    return Err(err(
                        61039,
                        "privacy api check task is not finished, please retry later",
                    ));
                }
                Ok(ok_with(
                    json!({"without_auth_list": [], "without_conf_list": []}),
                ))
            }
            WxaApi::SubmitAudit => self.submit(&a, body, now),
            WxaApi::GetAuditStatus => {
                let id = u64_field(body, "auditid")?;
                let acc = self.account(&a);
                let audit = acc
                    .audits
                    .iter()
                    .find(|x| x.auditid == id)
                    .ok_or_else(|| err(85012, "invalid audit id"))?;
                Ok(audit_json(audit, false))
            }
            WxaApi::GetLatestAuditStatus => {
                let acc = self.account(&a);
                let audit = acc
                    .current_audit()
                    .ok_or_else(|| err(85058, "no audit exists"))?;
                Ok(audit_json(audit, true))
            }
            WxaApi::UndoCodeAudit => self.undo(&a, now),
            WxaApi::SpeedupAudit => {
                let id = u64_field(body, "auditid")?;
                let running = {
                    let acc = self.account(&a);
                    let audit = acc
                        .audits
                        .iter()
                        .find(|x| x.auditid == id)
                        .ok_or_else(|| err(85012, "invalid audit id"))?;
                    matches!(audit.status, AuditState::InReview | AuditState::Delayed)
                };
                if !running {
                    return Err(err(85020, "status not allowed"));
                }
                if self.speedup_used >= self.settings.speedup_quota {
                    return Err(err(85085, "speed-up quota reached"));
                }
                self.speedup_used += 1;
                Ok(ok())
            }
            WxaApi::Release => self.release(&a, body, now),
            WxaApi::RevertCodeRelease => {
                let acc = self.account(&a);
                let prev = acc
                    .prev_released
                    .take()
                    .ok_or_else(|| err(87011, "no earlier release to revert to"))?;
                acc.released = Some(prev);
                acc.gray = None;
                Ok(ok())
            }
            WxaApi::GrayRelease => {
                let pct = u64_field(body, "gray_percentage")?;
                if !(1..=100).contains(&pct) {
                    return Err(bad("gray_percentage must be 1 to 100"));
                }
                let acc = self.account(&a);
                match acc.current_audit() {
                    Some(x) if x.status == AuditState::Approved && !x.released => {}
                    Some(_) => return Err(err(85020, "status not allowed")),
                    None => return Err(err(85019, "no approved version")),
                }
                acc.gray = u8::try_from(pct).ok();
                Ok(ok())
            }
            WxaApi::RevertGrayRelease => {
                self.account(&a).gray = None;
                Ok(ok())
            }
            WxaApi::GetGrayReleasePlan => {
                let g = self.account(&a).gray;
                Ok(ok_with(json!({"gray_release_plan": {
                    "status": if g.is_some() { 1 } else { 0 },
                    "create_timestamp": 0,
                    "gray_percentage": g.unwrap_or(0),
                }})))
            }
            WxaApi::GetVersionInfo => {
                let acc = self.account(&a);
                let mut out = ok();
                if let Value::Object(m) = &mut out {
                    if let Some(c) = &acc.commit {
                        m.insert("exp_info".into(), json!({"exp_time": c.at, "exp_version": c.user_version, "exp_desc": c.user_desc}));
                    }
                    if let Some(c) = &acc.released {
                        m.insert("release_info".into(), json!({"release_time": c.at, "release_version": c.user_version, "release_desc": c.user_desc}));
                    }
                }
                Ok(out)
            }
            WxaApi::ChangeVisitStatus => {
                let closed = match str_field(body, "action")? {
                    "open" => false,
                    "close" => true,
                    _ => return Err(bad("action must be open or close")),
                };
                self.account(&a).closed = closed;
                Ok(ok())
            }
            WxaApi::QueryQuota => Ok(ok_with(json!({
                "rest": self.settings.audit_quota.saturating_sub(self.used),
                "limit": self.settings.audit_quota,
                "speedup_rest": self.settings.speedup_quota.saturating_sub(self.speedup_used),
                "speedup_limit": self.settings.speedup_quota,
            }))),
            WxaApi::GetTemplateDraftList => Ok(ok_with(
                json!({"draft_list": self.drafts.iter().map(|d| json!({
                "draft_id": d.draft_id, "user_version": d.user_version, "user_desc": d.user_desc, "create_time": d.at
            })).collect::<Vec<_>>()}),
            )),
            WxaApi::AddToTemplate => {
                only_keys(body, &["draft_id", "template_type"])?;
                let draft_id = u64_field(body, "draft_id")?;
                let template_type = match body.get("template_type") {
                    None => 0,
                    Some(_) => u64_field(body, "template_type")?,
                };
                let draft = self
                    .drafts
                    .iter()
                    .find(|d| d.draft_id == draft_id)
                    .cloned()
                    .ok_or_else(|| err(85064, "draft not found"))?;
                if self.templates.len() >= self.settings.template_library_limit {
                    return Err(err(85065, "template library is full"));
                }
                let template_id = self.next_id();
                self.templates.push(Template {
                    template_id,
                    draft,
                    template_type,
                });
                Ok(ok())
            }
            WxaApi::GetTemplateList => Ok(ok_with(
                json!({"template_list": self.templates.iter().map(|t| json!({
                "template_id": t.template_id, "draft_id": t.draft.draft_id, "user_version": t.draft.user_version,
                "user_desc": t.draft.user_desc, "create_time": t.draft.at, "template_type": t.template_type
            })).collect::<Vec<_>>()}),
            )),
            WxaApi::DeleteTemplate => {
                only_keys(body, &["template_id"])?;
                let id = u64_field(body, "template_id")?;
                let before = self.templates.len();
                self.templates.retain(|t| t.template_id != id);
                if self.templates.len() == before {
                    return Err(err(85064, "template not found"));
                }
                Ok(ok())
            }
            WxaApi::ModifyDomain | WxaApi::ModifyDomainDirectly => {
                self.modify_domain(&a, body, api == WxaApi::ModifyDomain)
            }
            WxaApi::GetEffectiveDomain => {
                let acc = self.account(&a);
                let lists: Map<String, Value> = DOMAIN_KEYS
                    .iter()
                    .map(|k| {
                        (
                            (*k).to_owned(),
                            json!(acc.domains.get(*k).cloned().unwrap_or_default()),
                        )
                    })
                    .collect();
                Ok(ok_with(
                    json!({"mp_domain": lists, "effective_domain": lists}),
                ))
            }
            WxaApi::SetWebviewDomain => {
                let action = str_field(body, "action")?.to_owned();
                let list = string_list(body.get("webviewdomain"), "webviewdomain")?;
                let platform = self.jump_domains.clone();
                if matches!(action.as_str(), "add" | "set")
                    && list.iter().any(|d| !platform.contains(&host_of(d)))
                {
                    return Err(err(89021, "web-view domain is not on the platform's list"));
                }
                let acc = self.account(&a);
                apply_list(&mut acc.webview, &action, list)?;
                Ok(ok())
            }
            WxaApi::ModifyWxaServerDomain | WxaApi::ModifyWxaJumpDomain => {
                let key = if api == WxaApi::ModifyWxaServerDomain {
                    "wxa_server_domain"
                } else {
                    "wxa_jump_h5_domain"
                };
                let action = str_field(body, "action")?.to_owned();
                let given: Vec<String> = body
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(host_of)
                    .collect();
                let list = if api == WxaApi::ModifyWxaServerDomain {
                    &mut self.server_domains
                } else {
                    &mut self.jump_domains
                };
                apply_list(list, &action, given)?;
                let joined = list.join(";");
                Ok(ok_with(json!({
                    format!("published_{key}"): joined,
                    format!("testing_{key}"): joined,
                    format!("invalid_{key}"): "",
                })))
            }
            WxaApi::GetDomainConfirmFile => Ok(ok_with(json!({
                "file_name": "fake_confirm.txt", "file_content": "fake-confirm-content"
            }))),
            WxaApi::SetPrivacySetting => {
                let ver = match body.get("privacy_ver") {
                    None => 1,
                    Some(_) => u64_field(body, "privacy_ver")?,
                };
                if !(1..=2).contains(&ver) || !body.contains_key("owner_setting") {
                    return Err(bad("privacy_ver 1 or 2 and owner_setting required"));
                }
                self.account(&a)
                    .privacy
                    .insert(ver, Value::Object(body.clone()));
                Ok(ok())
            }
            WxaApi::GetPrivacySetting => {
                let ver = match body.get("privacy_ver") {
                    None => 1,
                    Some(_) => u64_field(body, "privacy_ver")?,
                };
                let acc = self.account(&a);
                let stored = acc.privacy.get(&ver).cloned().unwrap_or(json!({}));
                Ok(ok_with(json!({
                    "code_exist": u8::from(acc.commit.is_some()),
                    "privacy_list": [],
                    "setting_list": stored.get("setting_list").cloned().unwrap_or(json!([])),
                    "owner_setting": stored.get("owner_setting").cloned().unwrap_or(json!({})),
                })))
            }
            WxaApi::BindTester => {
                only_keys(body, &["wechatid"])?;
                let w = str_field(body, "wechatid")?.to_owned();
                if w.is_empty() {
                    return Err(bad("wechatid"));
                }
                let acc = self.account(&a);
                if acc.testers.iter().any(|(x, _)| *x == w) {
                    return Err(err(85004, "this WeChat id is already a tester"));
                }
                let userstr = format!("userstr_{}", acc.testers.len() + 1);
                acc.testers.push((w, userstr.clone()));
                Ok(ok_with(json!({"userstr": userstr})))
            }
            WxaApi::UnbindTester => {
                only_keys(body, &["wechatid", "userstr"])?;
                let acc = self.account(&a);
                let before = acc.testers.len();
                let w = body.get("wechatid").and_then(Value::as_str);
                let u = body.get("userstr").and_then(Value::as_str);
                acc.testers
                    .retain(|(x, y)| Some(x.as_str()) != w && Some(y.as_str()) != u);
                if acc.testers.len() == before {
                    return Err(err(85003, "not a tester"));
                }
                Ok(ok())
            }
            WxaApi::MemberAuth => {
                if str_field(body, "action")? != "get_experiencer" {
                    return Err(bad("action must be get_experiencer"));
                }
                let acc = self.account(&a);
                Ok(ok_with(
                    json!({"members": acc.testers.iter().map(|(_, u)| json!({"userstr": u})).collect::<Vec<_>>()}),
                ))
            }
            // Served elsewhere (binary) or not modelled.
            _ => Err(err(-1, "not modelled by the fake")),
        }
    }

    fn commit(&mut self, a: &str, body: &Map<String, Value>, now: u64) -> Result<Value, ApiError> {
        only_keys(
            body,
            &["template_id", "ext_json", "user_version", "user_desc"],
        )?;
        let template_id = u64_field(body, "template_id")?;
        let ext_json = match body.get("ext_json") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(bad("ext_json must be a JSON string, not an object")),
            None => return Err(bad("`ext_json` missing")),
        };
        if serde_json::from_str::<Map<String, Value>>(&ext_json).is_err() {
            return Err(bad("ext_json is not a JSON object"));
        }
        let user_version = str_field(body, "user_version")?.to_owned();
        if user_version.is_empty() || user_version.chars().count() > 64 {
            return Err(bad("user_version must be 1 to 64 characters"));
        }
        let user_desc = str_field(body, "user_desc")?.to_owned();
        if !self.templates.iter().any(|t| t.template_id == template_id) {
            return Err(err(85014, "template not exist"));
        }
        let detection = self.settings.privacy_detection_secs;
        let acc = self.account(a);
        acc.commit = Some(Code {
            template_id,
            ext_json,
            user_version,
            user_desc,
            at: now,
        });
        acc.privacy_ready_at = now + detection;
        Ok(ok())
    }

    fn submit(&mut self, a: &str, body: &Map<String, Value>, now: u64) -> Result<Value, ApiError> {
        let items = match body.get("item_list") {
            Some(Value::Array(items)) if (1..=5).contains(&items.len()) => items,
            _ => return Err(bad("item_list must hold 1 to 5 items")),
        };
        for item in items {
            let Value::Object(item) = item else {
                return Err(bad("item_list items are objects"));
            };
            for k in ["first_class", "second_class"] {
                if item
                    .get(k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(bad(&format!("item_list: `{k}` required")));
                }
            }
            for k in ["first_id", "second_id"] {
                u64_field(item, k)?;
            }
        }
        let quota = self.settings.audit_quota;
        let used = self.used;
        let acc = self.account(a);
        let Some(code) = acc.commit.clone() else {
            return Err(err(85086, "must commit code first"));
        };
        if acc.running() {
            return Err(err(85009, "already has an audit in progress"));
        }
        if now < acc.privacy_ready_at {
            return Err(err(
                61039,
                "privacy api check task is not finished, please retry later",
            ));
        }
        if used >= quota {
            return Err(err(
                85085,
                "submit audit reach limit (monthly quota of the platform)",
            ));
        }
        self.used += 1;
        let auditid = self.next_id();
        self.account(a).audits.push(Audit {
            auditid,
            code,
            status: AuditState::InReview,
            reason: None,
            screenshot: None,
            released: false,
        });
        Ok(ok_with(json!({"auditid": auditid})))
    }

    fn undo(&mut self, a: &str, now: u64) -> Result<Value, ApiError> {
        let (daily, monthly) = (
            self.settings.undo_daily_limit,
            self.settings.undo_monthly_limit,
        );
        let acc = self.account(a);
        match acc.current_audit().map(|x| x.status) {
            Some(AuditState::InReview | AuditState::Delayed) => {}
            Some(AuditState::Rejected) => return Err(err(87012, "audit already rejected")),
            _ => return Err(err(85058, "no audit in progress")),
        }
        let today = acc
            .undos
            .iter()
            .filter(|t| day_key(**t) == day_key(now))
            .count();
        let month = acc
            .undos
            .iter()
            .filter(|t| month_key(**t) == month_key(now))
            .count();
        if today >= daily || month >= monthly {
            return Err(err(87013, "undo limit reached (5 a day, 10 a month)"));
        }
        acc.undos.push(now);
        if let Some(x) = acc.audits.last_mut() {
            x.status = AuditState::Withdrawn;
        }
        Ok(ok())
    }

    fn release(&mut self, a: &str, body: &Map<String, Value>, now: u64) -> Result<Value, ApiError> {
        only_keys(body, &[])?;
        let acc = self.account(a);
        let Some(audit) = acc.audits.last_mut() else {
            return Err(err(85019, "no approved version"));
        };
        match (audit.status, audit.released) {
            (AuditState::Approved, true) => return Err(err(85052, "version already released")),
            (AuditState::Approved, false) => {}
            _ => return Err(err(85020, "status not allowed")),
        }
        audit.released = true;
        let mut code = audit.code.clone();
        code.at = now;
        acc.prev_released = acc.released.replace(code);
        acc.gray = None;
        Ok(ok())
    }

    fn modify_domain(
        &mut self,
        a: &str,
        body: &Map<String, Value>,
        via_platform_list: bool,
    ) -> Result<Value, ApiError> {
        let action = str_field(body, "action")?.to_owned();
        let mut allowed = vec!["action"];
        allowed.extend(DOMAIN_KEYS);
        only_keys(body, &allowed)?;
        let platform = self.server_domains.clone();
        let acc = self.account(a);
        if action != "get" {
            for key in DOMAIN_KEYS {
                let given = string_list(body.get(key), key)?;
                if given.len() > 200 {
                    return Err(bad("at most 200 domains per type"));
                }
                if given
                    .iter()
                    .any(|d| host_of(d).parse::<std::net::Ipv4Addr>().is_ok())
                {
                    return Err(bad("IP addresses are not domains"));
                }
                if via_platform_list
                    && matches!(action.as_str(), "add" | "set")
                    && given.iter().any(|d| !platform.contains(&host_of(d)))
                {
                    return Err(err(
                        85017,
                        "domain is not on the platform's server-domain list",
                    ));
                }
                let list = acc.domains.entry(key.to_owned()).or_default();
                if action == "set" || !given.is_empty() {
                    apply_list(list, &action, given)?;
                }
            }
        }
        let lists: Map<String, Value> = DOMAIN_KEYS
            .iter()
            .map(|k| {
                (
                    (*k).to_owned(),
                    json!(acc.domains.get(*k).cloned().unwrap_or_default()),
                )
            })
            .collect();
        Ok(ok_with(Value::Object(lists)))
    }
}

fn apply_list(list: &mut Vec<String>, action: &str, given: Vec<String>) -> Result<(), ApiError> {
    match action {
        "add" => {
            for d in given {
                if !list.contains(&d) {
                    list.push(d);
                }
            }
        }
        "delete" => list.retain(|d| !given.contains(d)),
        "set" => *list = given,
        "get" => {}
        _ => return Err(bad("action must be add, delete, set or get")),
    }
    Ok(())
}

fn audit_json(audit: &Audit, with_id: bool) -> Value {
    let mut v = ok_with(json!({
        "status": i64::from(audit.status),
        "user_version": audit.code.user_version,
        "user_desc": audit.code.user_desc,
        "submit_audit_time": audit.code.at,
    }));
    if let Value::Object(m) = &mut v {
        if with_id {
            m.insert("auditid".into(), json!(audit.auditid));
        }
        if let Some(r) = &audit.reason {
            m.insert("reason".into(), json!(r));
        }
        if let Some(s) = &audit.screenshot {
            m.insert("ScreenShot".into(), json!(s));
        }
    }
    v
}
