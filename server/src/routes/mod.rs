//! The routes, one file per group. The public listener's: [`push`] (the authorization event
//! URL), [`authorize`] (the authorization pages), [`message`] (the message URL). The internal
//! listener's: [`tokens`], [`jssdk`], [`oauth`], [`authorizers`], [`events`], [`health`], [`metrics`], each handler described by
//! its `#[utoipa::path]` (`crate::openapi` lists them into the internal router and its
//! document), and [`proxy`] (the token-injecting proxy, outside the document: its paths are
//! WeChat's). `app.rs` assembles the two routers; none of them imports `app`.

pub(crate) mod authorize;
pub(crate) mod authorizers;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod jssdk;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod oauth;
pub(crate) mod proxy;
pub(crate) mod push;
pub(crate) mod tokens;
