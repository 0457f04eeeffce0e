//! Scripting the upstream: the request a mock matches ([`post`] a path, narrowed by token and
//! body with [`Narrow`]), the answers WeChat gives, and mounting them on a server with exact
//! call counts ([`Upstream`]).

use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockGuard, MockServer, ResponseTemplate};

use super::P_COMPONENT_TOKEN;

/// A `POST` to path `p`.
pub fn post(p: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(p))
}

/// A `GET` of path `p`.
pub fn get(p: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(p))
}

/// Any `POST`, whatever its path.
pub fn any_post() -> MockBuilder {
    Mock::given(method("POST"))
}

/// Narrows a request by its token query parameter or its JSON body.
pub trait Narrow {
    /// Carries `component_access_token=token`.
    fn ctok(self, token: &str) -> Self;
    /// Carries `access_token=token`.
    fn atok(self, token: &str) -> Self;
    /// Has exactly this JSON body.
    fn body(self, body: Value) -> Self;
    /// Has a JSON body containing these fields.
    fn body_has(self, fields: Value) -> Self;
}

impl Narrow for MockBuilder {
    fn ctok(self, token: &str) -> Self {
        self.and(query_param("component_access_token", token))
    }
    fn atok(self, token: &str) -> Self {
        self.and(query_param("access_token", token))
    }
    fn body(self, body: Value) -> Self {
        self.and(body_json(body))
    }
    fn body_has(self, fields: Value) -> Self {
        self.and(body_partial_json(fields))
    }
}

/// HTTP 200 with a JSON body.
pub fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// HTTP 200 with WeChat's error body.
pub fn err_json(errcode: i64, errmsg: &str) -> ResponseTemplate {
    ok_json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

/// `api_component_token`'s answer: `token`, valid for 7200 s.
pub fn ctok_answer(token: &str) -> ResponseTemplate {
    ok_json(json!({"component_access_token": token, "expires_in": 7200}))
}

/// `api_authorizer_token`'s answer without a new refresh token: `access`, valid for 7200 s.
pub fn atok_answer(access: &str) -> ResponseTemplate {
    ok_json(json!({"authorizer_access_token": access, "expires_in": 7200}))
}

/// `api_authorizer_token`'s answer with a (possibly rotated) refresh token.
pub fn rotated_atok_answer(access: &str, refresh: &str) -> ResponseTemplate {
    ok_json(json!({
        "authorizer_access_token": access,
        "expires_in": 7200,
        "authorizer_refresh_token": refresh
    }))
}

/// `api_query_auth`'s answer: the account's tokens (7200 s) and one function category.
pub fn query_auth_answer(authorizer: &str, access: &str, refresh: &str) -> ResponseTemplate {
    ok_json(json!({"authorization_info": {
        "authorizer_appid": authorizer,
        "authorizer_access_token": access,
        "expires_in": 7200,
        "authorizer_refresh_token": refresh,
        "func_info": [{"funcscope_category": {"id": 1}}]
    }}))
}

/// A page of `api_get_authorizer_list`: `total` accounts in all, these (appid, refresh token)
/// on the page.
pub fn list_answer(total: usize, entries: &[(&str, &str)]) -> ResponseTemplate {
    let list: Vec<Value> = entries
        .iter()
        .map(|(appid, refresh)| {
            json!({"authorizer_appid": appid, "refresh_token": refresh, "auth_time": 1})
        })
        .collect();
    ok_json(json!({"total_count": total, "list": list}))
}

/// Mounting scripted requests on a mock server.
pub trait Upstream {
    /// Answers `req` with `answer`, expecting exactly `times` such requests.
    async fn expect(&self, times: u64, req: MockBuilder, answer: ResponseTemplate);
    /// Answers `req` with `answer`, any number of times.
    async fn allow(&self, req: MockBuilder, answer: ResponseTemplate);
    /// Like [`expect`](Self::expect), until the guard is dropped.
    async fn expect_scoped(
        &self,
        times: u64,
        req: MockBuilder,
        answer: ResponseTemplate,
    ) -> MockGuard;
    /// Like [`allow`](Self::allow), until the guard is dropped.
    async fn allow_scoped(&self, req: MockBuilder, answer: ResponseTemplate) -> MockGuard;
    /// Answers each request with its answer exactly once, in this order (each answer stands
    /// until it is used).
    async fn in_turn<I: IntoIterator<Item = (MockBuilder, ResponseTemplate)>>(&self, script: I);
    /// Expects exactly `times` component-token fetches, answered with `token`.
    async fn component_token(&self, token: &str, times: u64);
    /// Expects one component-token fetch per token, answered in this order.
    async fn component_tokens(&self, tokens: &[&str]);
    /// Requests to path `p` received so far.
    async fn hits(&self, p: &str) -> usize;
}

impl Upstream for MockServer {
    async fn expect(&self, times: u64, req: MockBuilder, answer: ResponseTemplate) {
        req.respond_with(answer).expect(times).mount(self).await;
    }
    async fn allow(&self, req: MockBuilder, answer: ResponseTemplate) {
        req.respond_with(answer).mount(self).await;
    }
    async fn expect_scoped(
        &self,
        times: u64,
        req: MockBuilder,
        answer: ResponseTemplate,
    ) -> MockGuard {
        req.respond_with(answer)
            .expect(times)
            .mount_as_scoped(self)
            .await
    }
    async fn allow_scoped(&self, req: MockBuilder, answer: ResponseTemplate) -> MockGuard {
        req.respond_with(answer).mount_as_scoped(self).await
    }
    async fn in_turn<I: IntoIterator<Item = (MockBuilder, ResponseTemplate)>>(&self, script: I) {
        let script: Vec<_> = script.into_iter().collect();
        let last = script.len();
        for (turn, (req, answer)) in (1..).zip(script) {
            let mock = req.respond_with(answer).expect(1).with_priority(turn);
            let mock = if usize::from(turn) < last {
                mock.up_to_n_times(1)
            } else {
                mock
            };
            mock.mount(self).await;
        }
    }
    async fn component_token(&self, token: &str, times: u64) {
        post(P_COMPONENT_TOKEN)
            .respond_with(ctok_answer(token))
            .expect(times)
            .named("api_component_token")
            .mount(self)
            .await;
    }
    async fn component_tokens(&self, tokens: &[&str]) {
        self.in_turn(
            tokens
                .iter()
                .map(|t| (post(P_COMPONENT_TOKEN), ctok_answer(t))),
        )
        .await;
    }
    async fn hits(&self, p: &str) -> usize {
        self.received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == p)
            .count()
    }
}
