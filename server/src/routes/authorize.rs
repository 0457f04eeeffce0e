//! The authorization pages: `GET /wechat/{component}/authorize`, the entry page whose link
//! leads the admin to WeChat's consent page, and `GET /wechat/{component}/authorized`, where
//! WeChat sends the admin back with the `auth_code` (exchanged once, shared with the push),
//! then the result page or the signed, one-time hand-off to `authorized_redirect`.

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use url::Url;
use wxopen_client::wxopen_proto::code_exchange::settles_the_code;
use wxopen_client::wxopen_proto::state_binding::{self, pre_auth_code_digest, PARAM_BIND};
use wxopen_client::{AuthCallback, AuthPage, AuthType, AuthUrlOptions, Error, PreAuthCode};

use crate::answer::{html, html_problem, request_id};
use crate::handoff::{self, PushBinding};
use crate::observe;
use crate::pages::entry::{self, Links};
use crate::pages::problem::Problem;
use crate::pages::{platform_name, result};
use crate::state::{AppState, Component};

/// Longest `state` passed through the authorization flow.
pub const MAX_STATE_LEN: usize = 128;

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeParams {
    auth_type: Option<u8>,
    biz_appid: Option<String>,
    category_id_list: Option<String>,
    state: Option<String>,
}

fn valid_state(s: &str) -> bool {
    s.len() <= MAX_STATE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// Where the admin's browser runs, which decides the consent links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Browser {
    Desktop,
    InWeChat,
    PhoneOutsideWeChat,
}

fn browser(headers: &HeaderMap) -> Browser {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ua.contains("MicroMessenger") {
        Browser::InWeChat
    } else if ["Mobile", "Android", "iPhone", "iPad"]
        .iter()
        .any(|m| ua.contains(m))
    {
        Browser::PhoneOutsideWeChat
    } else {
        Browser::Desktop
    }
}

/// The page for `problem`; its cause goes to the log with the request id.
fn problem(
    page: &'static str,
    component: &str,
    headers: &HeaderMap,
    problem: Problem,
    cause: &dyn std::fmt::Display,
) -> Response {
    let id = request_id(headers);
    observe::page_problem(page, component, id, &problem, cause);
    html_problem(problem, id)
}

/// What an error of the client means to the admin.
fn problem_of(e: &Error) -> Problem {
    match e {
        Error::InvalidInput { .. } => Problem::BadLink,
        Error::Config { .. } => Problem::NotReady,
        e if e.code().is_some_and(settles_the_code) => Problem::CodeRefused,
        _ => Problem::Unavailable,
    }
}

/// The authorize link's options for `redirect` from the page's parameters.
fn options(
    p: &AuthorizeParams,
    redirect: &Url,
    allow_http: bool,
) -> Result<AuthUrlOptions, &'static str> {
    let mut opts = AuthUrlOptions::new(redirect.as_str()).allow_http(allow_http);
    if let Some(code) = p.auth_type {
        opts = opts.auth_type(AuthType::from_code(code).ok_or("unknown auth_type")?);
    }
    if let Some(b) = &p.biz_appid {
        opts = opts.biz_appid(b.clone());
    }
    if let Some(list) = &p.category_id_list {
        let ids: Result<Vec<u32>, _> = list
            .split('|')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect();
        match ids {
            Ok(ids) if ids.len() <= 256 => opts = opts.category_ids(ids),
            _ => return Err("category_id_list is not ids joined with |"),
        }
    }
    Ok(opts)
}

/// `GET /wechat/{component}/authorize`: the page with the link to WeChat's consent page.
pub(crate) async fn authorize_page(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    headers: HeaderMap,
    params: Result<Query<AuthorizeParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    const PAGE: &str = "authorize";
    let fail =
        |p: Problem, cause: &dyn std::fmt::Display| problem(PAGE, &component, &headers, p, cause);
    let Some(comp) = app.component(&component) else {
        return fail(Problem::UnknownPlatform, &"no such component is configured");
    };
    let p = match params {
        Ok(Query(p)) => p,
        Err(e) => return fail(Problem::BadLink, &e),
    };
    let Some(base) = &app.config.public_base_url else {
        return fail(Problem::NotReady, &"server.public_base_url is not set");
    };
    let Ok(mut redirect) = base.join(&format!("wechat/{component}/authorized")) else {
        return fail(
            Problem::NotReady,
            &"server.public_base_url is not a base URL",
        );
    };
    if let Some(state) = &p.state {
        if !valid_state(state) {
            return fail(
                Problem::BadLink,
                &"state must be at most 128 letters, digits or -_.~",
            );
        }
        redirect.query_pairs_mut().append_pair("state", state);
    }
    let allow_http = app.config.allow_http_redirect;
    let browser = browser(&headers);
    let pages: &[AuthPage] = match browser {
        Browser::Desktop => &[AuthPage::Pc],
        Browser::InWeChat => &[AuthPage::H5],
        Browser::PhoneOutsideWeChat => &[AuthPage::H5, AuthPage::Pc],
    };
    // Check the link before spending a pre-auth code on it.
    let checked = options(&p, &redirect, allow_http).and_then(|o| {
        o.validate().map_err(|_| "invalid authorization options")?;
        comp.client
            .authorization_url_with_code(pages[0], &PreAuthCode::new("x"), &o)
            .map_err(|_| "invalid authorization options")
    });
    if let Err(why) = checked {
        return fail(Problem::BadLink, &why);
    }
    let pre_auth_code = match comp.client.pre_auth_code().await {
        Ok(c) => c,
        Err(e) => return fail(problem_of(&e), &e),
    };
    if let Some(key) = &comp.section.handoff_key {
        let digest = pre_auth_code_digest(pre_auth_code.expose_secret());
        let bound = state_binding::bind(
            key.expose_secret().as_bytes(),
            &component,
            &digest,
            p.state.as_deref(),
        );
        redirect.query_pairs_mut().append_pair(PARAM_BIND, &bound);
    }
    let mut urls = Vec::with_capacity(2);
    for page in pages {
        let url = options(&p, &redirect, allow_http).and_then(|o| {
            comp.client
                .authorization_url_with_code(*page, &pre_auth_code, &o)
                .map_err(|_| "invalid authorization options")
        });
        match url {
            Ok(u) => urls.push(u),
            Err(why) => return fail(Problem::BadLink, &why),
        }
    }
    let mut urls = urls.into_iter();
    let (Some(first), second) = (urls.next(), urls.next()) else {
        return fail(Problem::NotReady, &"no authorization link");
    };
    let links = match (browser, second) {
        (Browser::PhoneOutsideWeChat, Some(pc)) => Links::Both { h5: first, pc },
        (Browser::InWeChat, _) => Links::H5(first),
        _ => Links::Pc(first),
    };
    html(entry::page(name(comp), &links))
}

fn name(comp: &Component) -> &str {
    platform_name(comp.section.display_name.as_deref(), &comp.section.appid)
}

/// The one value of `name` in `raw`: `Ok(None)` when absent, `Err` when given twice.
fn single(raw: &str, name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()).take(64) {
        if k == name {
            if found.is_some() {
                return Err(());
            }
            found = Some(v.into_owned());
        }
    }
    Ok(found)
}

/// `GET /wechat/{component}/authorized`: exchanges the `auth_code` WeChat sends the admin
/// back with, then shows the result or hands off to `authorized_redirect` — signed, with the
/// `state` bound to the visit's pre-auth code, once per code.
pub(crate) async fn authorized(
    State(app): State<Arc<AppState>>,
    Path(component): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    const PAGE: &str = "authorized";
    let fail =
        |p: Problem, cause: &dyn std::fmt::Display| problem(PAGE, &component, &headers, p, cause);
    let Some(comp) = app.component(&component).cloned() else {
        return fail(Problem::UnknownPlatform, &"no such component is configured");
    };
    let raw = query.unwrap_or_default();
    let callback = match AuthCallback::from_query(&raw) {
        Ok(c) => c,
        Err(e) => return fail(Problem::BadRedirect, &e),
    };
    let (Ok(state), Ok(bound)) = (single(&raw, "state"), single(&raw, PARAM_BIND)) else {
        return fail(Problem::NotIssuedHere, &"state or wxopen_bind given twice");
    };
    let key = comp.section.handoff_key.as_ref();
    // With a key, the state must be the one issued with the visit's pre-auth code.
    let digest = match key {
        None => None,
        Some(key) => {
            let Some(bound) = bound else {
                return fail(
                    Problem::NotIssuedHere,
                    &"no wxopen_bind: the visit did not start at the authorize page",
                );
            };
            match state_binding::check(
                key.expose_secret().as_bytes(),
                &component,
                &bound,
                state.as_deref(),
            ) {
                Ok(d) => Some(d),
                Err(e) => return fail(Problem::NotIssuedHere, &e),
            }
        }
    };
    let state = state.filter(|s| valid_state(s));
    let info = match comp.exchange(&callback.auth_code).await {
        Ok(info) => info,
        Err(e) => return fail(problem_of(&e), &e),
    };
    if let Some(digest) = &digest {
        match handoff::push_binding(&comp, &callback.auth_code, digest).await {
            Ok(PushBinding::Different) => return fail(
                Problem::NotIssuedHere,
                &"the authorized push names another pre-auth code than the state was issued with",
            ),
            Ok(PushBinding::Same | PushBinding::NotSeen) => {}
            Err(e) => return fail(Problem::Unavailable, &e),
        }
    }
    if let (Some(target), Some(key)) = (&comp.section.authorized_redirect, key) {
        match handoff::claim(&comp, &callback.auth_code).await {
            Ok(true) => {}
            Ok(false) => return html(result::already_completed(name(&comp))),
            Err(e) => return fail(Problem::Unavailable, &e),
        }
        let to = handoff::signed_redirect(
            target,
            key.expose_secret().as_bytes(),
            &comp,
            &info.authorizer_appid,
            state.as_deref(),
        );
        return Redirect::to(to.as_str()).into_response();
    }
    let sets: Vec<i64> = info
        .func_info
        .iter()
        .map(|f| f.funcscope_category.id)
        .collect();
    html(result::authorized(
        name(&comp),
        &info.authorizer_appid,
        &sets,
    ))
}
