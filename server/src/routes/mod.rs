//! The routes, one file per group. The public listener's: [`push`] (the authorization event
//! URL), [`authorize`] (the authorization pages), [`message`] (the message URL). The internal
//! listener's: [`tokens`], [`authorizers`], [`health`], [`metrics`], [`openapi`]. `app.rs`
//! assembles them into the two routers; none of them imports `app`.

pub(crate) mod authorize;
pub(crate) mod authorizers;
pub(crate) mod health;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod push;
pub(crate) mod tokens;
