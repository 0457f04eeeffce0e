//! One builder for the state a test starts from, and the harness it returns.
//!
//! ```ignore
//! let h = Scenario::new()
//!     .ticket("ticket@@@t")
//!     .component_token("ctok", 1) // or Scenario::ready("ctok", 1) for these two steps
//!     .authorized("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
//!     .expect(1, post(P_AUTHORIZER_INFO).ctok("ctok"), err_json(48001, "api unauthorized"))
//!     .start()
//!     .await;
//! ```
//!
//! The steps run in the order they are given, after the client is built and the ticket stored,
//! so mocks are mounted in that order too (the first mounted wins among equals).

use std::sync::Arc;
use std::time::Duration;

use wiremock::{MockBuilder, MockServer, ResponseTemplate};
use wxopen_client::{
    AuthorizationCode, AuthorizerRecord, Clock, ComponentClient, ComponentClientBuilder,
    ComponentConfig, ComponentVerifyTicket, Error, ManualClock, MemoryStore, TokenStore,
};

use super::{
    client_on, config_for, dead_base_url, push, query_auth_answer, ticket_xml, Upstream,
    P_QUERY_AUTH, T0,
};

type ConfigFn = Box<dyn FnOnce(ComponentConfig) -> ComponentConfig>;
type BuilderFn = Box<dyn FnOnce(ComponentClientBuilder) -> ComponentClientBuilder>;

/// Which API domains the client is given.
#[derive(Debug, Clone, Copy)]
enum Domains {
    /// One mock server.
    One,
    /// A primary and a fallback mock server.
    WithFallback,
    /// A dead primary (connections refused), then the mock server.
    DeadPrimary,
    /// The one mock server as both primary and fallback.
    SameTwice,
}

/// How the scenario's ticket reaches the store.
#[derive(Debug)]
enum TicketBy {
    /// A signed push through the real handler.
    Push,
    /// `record_ticket`, as a host that receives pushes elsewhere would.
    Record,
}

/// One thing done to the upstream or the client before the test body runs.
enum Step {
    OnFallback,
    Expect(u64, MockBuilder, ResponseTemplate),
    InTurn(Vec<(MockBuilder, ResponseTemplate)>),
    ComponentToken(String, u64),
    ComponentTokens(Vec<String>),
    Authorize(String, String, String),
    Advance(Duration),
}

/// The upstream, store and client a test starts from; [`start`](Self::start) sets it up.
pub struct Scenario<S = MemoryStore> {
    store: Arc<S>,
    domains: Domains,
    config: Vec<ConfigFn>,
    builder: Vec<BuilderFn>,
    ticket: Option<(String, u64, TicketBy)>,
    steps: Vec<Step>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// One mock server as the only API domain, an empty [`MemoryStore`], a clock at `T0`, no
    /// ticket.
    pub fn new() -> Self {
        Scenario {
            store: Arc::new(MemoryStore::new()),
            domains: Domains::One,
            config: Vec::new(),
            builder: Vec::new(),
            ticket: None,
            steps: Vec::new(),
        }
    }

    /// A running component: the ticket "ticket@@@t" pushed at `T0`, and exactly `fetches`
    /// component-token fetches answered `token`.
    pub fn ready(token: &str, fetches: u64) -> Self {
        Scenario::new()
            .ticket("ticket@@@t")
            .component_token(token, fetches)
    }

    /// The account "wxauthorizer01" authorized ("atok-1", `refresh`) two hours ago: its
    /// access token has expired, and so has the component token ("ctok", `fetches` fetches in
    /// all).
    pub fn expired_authorizer(fetches: u64, refresh: &str) -> Self {
        Scenario::ready("ctok", fetches)
            .authorized("wxauthorizer01", "atok-1", refresh)
            .advance(Duration::from_secs(7200))
    }
}

impl<S: TokenStore + 'static> Scenario<S> {
    /// Runs the client on `store` instead of an empty [`MemoryStore`].
    pub fn store<T: TokenStore + 'static>(self, store: Arc<T>) -> Scenario<T> {
        Scenario {
            store,
            domains: self.domains,
            config: self.config,
            builder: self.builder,
            ticket: self.ticket,
            steps: self.steps,
        }
    }

    /// A second mock server as the fallback API domain ([`Harness::fallback`]).
    pub fn with_fallback(mut self) -> Self {
        self.domains = Domains::WithFallback;
        self
    }

    /// A primary API domain that refuses every connection, before the mock server (which is
    /// then the fallback domain).
    pub fn dead_primary(mut self) -> Self {
        self.domains = Domains::DeadPrimary;
        self
    }

    /// The mock server as both the primary and the fallback API domain.
    pub fn same_server_twice(mut self) -> Self {
        self.domains = Domains::SameTwice;
        self
    }

    /// Changes the configuration (after the domains are set).
    pub fn config(mut self, f: impl FnOnce(ComponentConfig) -> ComponentConfig + 'static) -> Self {
        self.config.push(Box::new(f));
        self
    }

    /// Sets client options beyond the store and the clock (lease holder, replay cache, ...).
    pub fn client(
        mut self,
        f: impl FnOnce(ComponentClientBuilder) -> ComponentClientBuilder + 'static,
    ) -> Self {
        self.builder.push(Box::new(f));
        self
    }

    /// `ticket` pushed at `T0` (its `CreateTime`) through the push handler.
    pub fn ticket(self, ticket: &str) -> Self {
        self.ticket_created(ticket, T0)
    }

    /// `ticket` with this `CreateTime`, pushed (signed at the clock's time) through the handler.
    pub fn ticket_created(mut self, ticket: &str, create_time: u64) -> Self {
        self.ticket = Some((ticket.to_owned(), create_time, TicketBy::Push));
        self
    }

    /// `ticket` stored with `record_ticket` (`CreateTime` `T0`), not pushed.
    pub fn recorded_ticket(mut self, ticket: &str) -> Self {
        self.ticket = Some((ticket.to_owned(), T0, TicketBy::Record));
        self
    }

    /// Exactly `times` component-token fetches, answered with `token`.
    pub fn component_token(mut self, token: &str, times: u64) -> Self {
        self.steps
            .push(Step::ComponentToken(token.to_owned(), times));
        self
    }

    /// One component-token fetch per token, answered in this order.
    pub fn component_tokens(mut self, tokens: &[&str]) -> Self {
        let tokens = tokens.iter().map(|t| (*t).to_owned()).collect();
        self.steps.push(Step::ComponentTokens(tokens));
        self
    }

    /// The account authorized through `query_auth` (answered by a mock on the primary that is
    /// gone after it), holding these tokens.
    pub fn authorized(mut self, authorizer: &str, access: &str, refresh: &str) -> Self {
        self.steps.push(Step::Authorize(
            authorizer.to_owned(),
            access.to_owned(),
            refresh.to_owned(),
        ));
        self
    }

    /// Moves the clock on by `by` (e.g. past the tokens' expiry).
    pub fn advance(mut self, by: Duration) -> Self {
        self.steps.push(Step::Advance(by));
        self
    }

    /// Mounts the mocks of the steps after this one on the fallback server (see
    /// [`with_fallback`](Self::with_fallback)) instead of the primary.
    pub fn on_fallback(mut self) -> Self {
        self.steps.push(Step::OnFallback);
        self
    }

    /// Exactly `times` requests matching `req`, answered `answer`.
    pub fn expect(mut self, times: u64, req: MockBuilder, answer: ResponseTemplate) -> Self {
        self.steps.push(Step::Expect(times, req, answer));
        self
    }

    /// Each request answered exactly once, in this order (see [`Upstream::in_turn`]).
    pub fn in_turn<I: IntoIterator<Item = (MockBuilder, ResponseTemplate)>>(
        mut self,
        script: I,
    ) -> Self {
        self.steps.push(Step::InTurn(script.into_iter().collect()));
        self
    }

    /// Starts the mock servers, builds the client, stores the ticket and runs the steps.
    pub async fn start(self) -> Harness<S> {
        let server = MockServer::start().await;
        let fallback = match self.domains {
            Domains::WithFallback => Some(MockServer::start().await),
            _ => None,
        };
        let urls = match (self.domains, &fallback) {
            (Domains::WithFallback, Some(f)) => vec![server.uri(), f.uri()],
            (Domains::DeadPrimary, _) => vec![dead_base_url(), server.uri()],
            (Domains::SameTwice, _) => vec![server.uri(), server.uri()],
            _ => vec![server.uri()],
        };
        let config = self
            .config
            .into_iter()
            .fold(config_for(urls), |config, f| f(config));
        let clock = ManualClock::at_unix(T0);
        let store: Arc<dyn TokenStore> = self.store.clone();
        let builder = ComponentClient::builder(config.clone())
            .store(store)
            .clock(Arc::new(clock.clone()));
        let client = self
            .builder
            .into_iter()
            .fold(builder, |b, f| f(b))
            .build()
            .unwrap();
        let h = Harness {
            client,
            clock,
            store: self.store,
            server,
            fallback,
            config,
        };
        match self.ticket {
            Some((ticket, create_time, TicketBy::Push)) => {
                h.push_ticket(&ticket, create_time).await;
            }
            Some((ticket, create_time, TicketBy::Record)) => {
                h.client
                    .record_ticket(ComponentVerifyTicket::new(ticket), create_time)
                    .await
                    .unwrap();
            }
            None => {}
        }
        let mut target = &h.server;
        for step in self.steps {
            match step {
                Step::OnFallback => target = h.fallback(),
                Step::Expect(times, req, answer) => target.expect(times, req, answer).await,
                Step::InTurn(script) => target.in_turn(script).await,
                Step::ComponentToken(token, times) => {
                    target.component_token(&token, times).await;
                }
                Step::ComponentTokens(tokens) => {
                    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
                    target.component_tokens(&tokens).await;
                }
                Step::Authorize(authorizer, access, refresh) => {
                    h.authorize(&authorizer, &access, &refresh).await;
                }
                Step::Advance(by) => h.clock.advance(by),
            }
        }
        h
    }
}

/// A started [`Scenario`]: the client, its clock and store, and the mock servers.
pub struct Harness<S = MemoryStore> {
    /// The client under test.
    pub client: ComponentClient,
    /// Its clock, at `T0` when the scenario started (then moved by `advance` steps).
    pub clock: ManualClock,
    /// Its store.
    pub store: Arc<S>,
    /// The mock server behind the first live API domain.
    pub server: MockServer,
    /// The mock server behind the fallback domain, with [`Scenario::with_fallback`].
    pub fallback: Option<MockServer>,
    /// The configuration the client was built with.
    pub config: ComponentConfig,
}

impl<S: TokenStore + 'static> Harness<S> {
    /// The fallback domain's mock server.
    pub fn fallback(&self) -> &MockServer {
        self.fallback.as_ref().expect("a scenario with_fallback")
    }

    /// Another client (another instance) on the same store and clock, with `config`.
    pub fn client_with(&self, config: ComponentConfig) -> ComponentClient {
        client_on(config, self.store.clone(), &self.clock)
    }

    /// Another client (another instance) on the same store, clock and configuration.
    pub fn second_client(&self) -> ComponentClient {
        self.client_with(self.config.clone())
    }

    /// Pushes a ticket through the real handler, signed at the clock's current time (the push
    /// timestamp window is on by default); `create_time` is the ticket's own `CreateTime`.
    pub async fn push_ticket(&self, ticket: &str, create_time: u64) {
        let (q, body) = push(
            &ticket_xml(ticket, create_time),
            &self.clock.unix_seconds().to_string(),
            "nonce1",
        );
        let ack = self.client.handle_component_push(&q, &body).await.unwrap();
        assert_eq!(ack.reply, "success");
    }

    /// Stores an authorizer via `query_auth`, answered once by a mock that is gone afterwards.
    pub async fn authorize(&self, authorizer: &str, access: &str, refresh: &str) {
        let answer = query_auth_answer(authorizer, access, refresh);
        let guard = self
            .server
            .expect_scoped(1, super::post(P_QUERY_AUTH), answer)
            .await;
        self.client
            .query_auth(&AuthorizationCode::new("queryauthcode@@@c"))
            .await
            .unwrap();
        drop(guard);
    }

    /// Exactly `times` requests matching `req` on [`server`](Self::server), answered `answer`.
    pub async fn expect(&self, times: u64, req: MockBuilder, answer: ResponseTemplate) {
        self.server.expect(times, req, answer).await;
    }

    /// Verifies every mock server's expectations.
    pub async fn verify(&self) {
        self.server.verify().await;
        if let Some(f) = &self.fallback {
            f.verify().await;
        }
    }

    /// The component access token (panics on an error).
    pub async fn ctok(&self) -> String {
        let token = self.client.component_access_token().await.unwrap();
        token.expose_secret().to_owned()
    }

    /// The authorizer's access token (panics on an error).
    pub async fn atok(&self, authorizer: &str) -> String {
        let token = self.client.authorizer_access_token(authorizer).await;
        token.unwrap().expose_secret().to_owned()
    }

    /// The authorizer's access token error (panics if there is a token).
    pub async fn atok_error(&self, authorizer: &str) -> Error {
        let token = self.client.authorizer_access_token(authorizer).await;
        token.unwrap_err()
    }

    /// The authorizer's stored refresh token (panics if there is none).
    pub async fn refresh_token(&self, authorizer: &str) -> String {
        let record = self.record(authorizer).await.unwrap();
        record.refresh_token.unwrap().expose_secret().to_owned()
    }

    /// The authorizer's stored record (panics on a store error).
    pub async fn record(&self, authorizer: &str) -> Option<AuthorizerRecord> {
        self.client.authorizer_record(authorizer).await.unwrap()
    }
}
