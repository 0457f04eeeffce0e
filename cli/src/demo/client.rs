//! The demo's side of the wire: the HTTP client as an admin's browser, WeChat and the host's
//! services (the harness's loopback client), the token API's answers, and why a step failed.

use std::fmt::Display;

use serde_json::{json, Value};
use wxopen_fake::harness::{self, Answer, AuthorizeLink, Routes};

use crate::failure::Failure;

/// A desktop browser (the authorize page links to the PC `componentloginpage`).
const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) wxopen-demo";

/// Why a step failed; the driver puts the step's name in front.
#[derive(Debug)]
pub(super) struct Why(pub(super) String);

impl<E: Display> From<E> for Why {
    fn from(e: E) -> Self {
        Why(e.to_string())
    }
}

/// Fails the step with `what` unless `ok`.
pub(super) fn ensure(ok: bool, what: impl Display) -> Result<(), Why> {
    if ok {
        Ok(())
    } else {
        Err(Why::from(what))
    }
}

/// The demo's HTTP side: a browser, WeChat and the host's services, all on loopback.
pub(super) struct Http {
    /// The client, for requests without the bearer key.
    pub(super) client: reqwest::Client,
    key: String,
}

/// Sends a request; a request that got no answer fails the step.
pub(super) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Why> {
    Ok(harness::send(request).await?)
}

/// The body as JSON when the status is 200; otherwise a failure naming the status and the
/// server's `error`.
pub(super) fn ok_json(a: &Answer, what: &str) -> Result<Value, Why> {
    let j = a.json();
    if a.status == 200 {
        return Ok(j);
    }
    let error = j["error"].as_str().unwrap_or(&a.body);
    Err(format!("{what}: HTTP {}: {error}", a.status))?
}

impl Http {
    pub(super) fn new(key: String) -> Result<Self, Failure> {
        let client = harness::client_builder()
            .user_agent(DESKTOP_UA)
            .build()
            .map_err(|e| Failure::Demo(format!("building the HTTP client: {e}")))?;
        Ok(Self { client, key })
    }

    pub(super) async fn get(&self, url: &str) -> Result<Answer, Why> {
        send(self.client.get(url)).await
    }

    /// A token-API GET with the bearer key.
    pub(super) fn api_get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url).bearer_auth(&self.key)
    }

    /// A compare-and-refresh POST with the bearer key.
    pub(super) fn api_refresh(&self, url: &str, stale: &str) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .bearer_auth(&self.key)
            .json(&json!({ "stale": stale }))
    }

    /// A token from a token route: the value of `field` and its `expires_at`.
    pub(super) async fn token(&self, url: &str, field: &str) -> Result<Issued, Why> {
        let a = send(self.api_get(url)).await?;
        Issued::from_json(&ok_json(&a, url)?, field)
    }

    /// Sends every request at once and returns the token each got.
    pub(super) async fn tokens_at_once(
        requests: Vec<reqwest::RequestBuilder>,
        field: &str,
    ) -> Result<Vec<Issued>, Why> {
        let mut out = Vec::with_capacity(requests.len());
        for answer in harness::send_all_at_once(requests).await {
            let json = ok_json(&answer?, "a concurrent caller")?;
            out.push(Issued::from_json(&json, field)?);
        }
        Ok(out)
    }
}

/// A token as the token API answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Issued {
    pub(super) token: String,
    pub(super) expires_in: u64,
    pub(super) expires_at: u64,
}

impl Issued {
    pub(super) fn from_json(j: &Value, field: &str) -> Result<Self, Why> {
        match (
            j[field].as_str(),
            j["expires_in"].as_u64(),
            j["expires_at"].as_u64(),
        ) {
            (Some(t), Some(expires_in), Some(expires_at)) => Ok(Self {
                token: t.to_owned(),
                expires_in,
                expires_at,
            }),
            _ => Err(format!(
                "the answer has no {field}, expires_in and expires_at"
            ))?,
        }
    }
}

/// Whether every caller got the same token; that token.
pub(super) fn one_token(got: &[Issued]) -> Result<Issued, Why> {
    let first = got.first().ok_or("no caller answered")?;
    ensure(
        got.iter().all(|g| g.token == first.token),
        "the callers got different tokens",
    )?;
    Ok(first.clone())
}

/// The authorize page's link, checked to be for `component`.
pub(super) fn auth_link(html: &str, component: &str) -> Result<AuthorizeLink, Why> {
    let link = AuthorizeLink::find(html)?;
    ensure(
        link.component_appid == component,
        "the link is not for this component",
    )?;
    Ok(link)
}

/// The authorizer's entry as the internal API shows it: from the list, or, while the store
/// cannot list (the list answers 501), from `GET /v1/{component}/authorizers/{appid}`. Returns
/// the entry and how it was found.
pub(super) async fn listed(
    http: &Http,
    routes: &Routes,
    authorizer: &str,
) -> Result<(Value, String), Why> {
    let list = send(http.api_get(&routes.authorizers())).await?;
    if list.status == 501 {
        let one = send(http.api_get(&routes.authorizer(authorizer))).await?;
        let entry = ok_json(&one, "GET /v1/{component}/authorizers/{appid}")?;
        return Ok((
            entry,
            "by appid (this store cannot list yet: the list answers 501)".to_owned(),
        ));
    }
    let j = ok_json(&list, "GET /v1/{component}/authorizers")?;
    let items = j["authorizers"]
        .as_array()
        .ok_or("the list has no `authorizers`")?;
    let entry = items
        .iter()
        .find(|a| a["authorizer_appid"] == authorizer)
        .cloned()
        .ok_or("the authorizer is not listed")?;
    Ok((entry, format!("in the list ({} account(s))", items.len())))
}

/// The entry shows `authorizer` authorized, with a refresh token.
pub(super) fn check_entry(entry: &Value, authorizer: &str) -> Result<(), Why> {
    ensure(
        entry["authorizer_appid"] == authorizer
            && entry["status"] == "authorized"
            && entry["has_refresh_token"] == true,
        "the authorizer is not shown as authorized with a refresh token",
    )
}
