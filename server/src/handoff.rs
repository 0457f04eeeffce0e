//! The hand-off's store side: the `authorized` push's `PreAuthCode` remembered per code, the
//! check of a redirect's bound pre-auth code against it, the one hand-off per code (claims in
//! the store, so every instance agrees), and the signed redirect to `authorized_redirect`.

use std::time::Duration;

use rand::RngCore;
use url::Url;
use wxopen_client::wxopen_proto::handoff::Handoff;
use wxopen_client::wxopen_proto::state_binding::pre_auth_code_digest;
use wxopen_client::{AuthorizationCode, PreAuthCode, StoreError};

use crate::state::Component;

/// How long the claims about a code live: longer than a code is valid (10 min) and than an
/// exchange's outcome is kept, so a replay within it is recognised.
pub(crate) const CLAIM_TTL: Duration = Duration::from_secs(24 * 3600);

/// How the pre-auth code bound to a redirect compares with the one the push named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushBinding {
    /// The push named the same pre-auth code.
    Same,
    /// The push named another pre-auth code: the redirect's `state` belongs to another visit.
    Different,
    /// No push with a pre-auth code seen yet for this code (the signature alone holds).
    NotSeen,
}

fn pair_id(code: &AuthorizationCode, pac_digest: &str) -> String {
    format!(
        "pac:{}:{pac_digest}",
        pre_auth_code_digest(code.expose_secret())
    )
}

fn seen_id(code: &AuthorizationCode) -> String {
    format!("pacseen:{}", pre_auth_code_digest(code.expose_secret()))
}

/// Remembers the `PreAuthCode` an `authorized` push names for its code (the pair first, then
/// the marker, so a reader that sees the marker finds the pair).
pub(crate) async fn remember_push(
    comp: &Component,
    code: &AuthorizationCode,
    pre_auth_code: &PreAuthCode,
) -> Result<(), StoreError> {
    let store = comp.client.store();
    let digest = pre_auth_code_digest(pre_auth_code.expose_secret());
    let appid = &comp.section.appid;
    store
        .claim_once(appid, &pair_id(code, &digest), CLAIM_TTL)
        .await?;
    store.claim_once(appid, &seen_id(code), CLAIM_TTL).await?;
    Ok(())
}

/// Compares the pre-auth code a redirect is bound to with the push's, if it came.
pub(crate) async fn push_binding(
    comp: &Component,
    code: &AuthorizationCode,
    pac_digest: &str,
) -> Result<PushBinding, StoreError> {
    let store = comp.client.store();
    let appid = &comp.section.appid;
    if !store
        .claim_once(appid, &pair_id(code, pac_digest), CLAIM_TTL)
        .await?
    {
        return Ok(PushBinding::Same);
    }
    if store.claim_once(appid, &seen_id(code), CLAIM_TTL).await? {
        Ok(PushBinding::NotSeen)
    } else {
        Ok(PushBinding::Different)
    }
}

/// Claims the one hand-off of `code`: `true` for the first caller on any instance.
pub(crate) async fn claim(comp: &Component, code: &AuthorizationCode) -> Result<bool, StoreError> {
    let id = format!("handoff:{}", pre_auth_code_digest(code.expose_secret()));
    comp.client
        .store()
        .claim_once(&comp.section.appid, &id, CLAIM_TTL)
        .await
}

/// A fresh one-time id: 16 random bytes as 32 lowercase hex digits.
fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `target` with the signed hand-off's parameters appended.
pub(crate) fn signed_redirect(
    target: &Url,
    key: &[u8],
    comp: &Component,
    authorizer_appid: &str,
    state: Option<&str>,
) -> Url {
    let handoff = Handoff {
        component_appid: comp.section.appid.clone(),
        authorizer_appid: authorizer_appid.to_owned(),
        state: state.map(str::to_owned),
        issued_at: comp.client.clock().unix_seconds(),
        nonce: nonce(),
    };
    let mut url = target.clone();
    url.query_pairs_mut().extend_pairs(handoff.query_pairs(key));
    url
}
