//! The JS-SDK tickets the fake has issued: one current ticket per account and type (each
//! `getticket` replaces the previous one, as on WeChat), and the fake's own `wx.config`
//! check against the *current* ticket — what the browser's `invalid signature` stands for.

use std::collections::HashMap;

use rand::distr::{Alphanumeric, SampleString};

/// The current ticket of each `(authorizer appid, type)`.
#[derive(Debug, Default)]
pub(crate) struct JsTickets {
    current: HashMap<(String, String), (String, u64)>,
}

/// What a page passed to `wx.config`, for [`FakeWeChat::verify_jssdk_signature`](crate::FakeWeChat::verify_jssdk_signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsSdkSignature {
    /// `appId`.
    pub app_id: String,
    /// The page URL (its `#…` part is ignored, as the browser does).
    pub url: String,
    /// `timestamp`.
    pub timestamp: u64,
    /// `nonceStr`.
    pub nonce_str: String,
    /// `signature`.
    pub signature: String,
}

impl JsTickets {
    /// Issues a new ticket of `ticket_type` for `appid`, valid `lifetime` seconds from `now`;
    /// the previous one stops verifying.
    pub(crate) fn issue(
        &mut self,
        appid: &str,
        ticket_type: &str,
        now: u64,
        lifetime: u64,
    ) -> String {
        let ticket = format!(
            "{}-{}",
            ticket_type,
            Alphanumeric.sample_string(&mut rand::rng(), 86)
        );
        self.current.insert(
            (appid.to_owned(), ticket_type.to_owned()),
            (ticket.clone(), now.saturating_add(lifetime)),
        );
        ticket
    }

    /// The current, unexpired ticket of `(appid, ticket_type)`.
    pub(crate) fn current(&self, appid: &str, ticket_type: &str, now: u64) -> Option<&str> {
        self.current
            .get(&(appid.to_owned(), ticket_type.to_owned()))
            .filter(|(_, expires_at)| now < *expires_at)
            .map(|(t, _)| t.as_str())
    }

    /// Every ticket of `appid` ends (its authorization was cancelled).
    pub(crate) fn revoke(&mut self, appid: &str) {
        self.current.retain(|(a, _), _| a != appid);
    }

    /// Whether `sig` is a `wx.config` signature over the account's current jsapi ticket.
    pub(crate) fn verify(&self, sig: &JsSdkSignature, now: u64) -> bool {
        let Some(ticket) = self.current(&sig.app_id, "jsapi", now) else {
            return false;
        };
        let url = sig.url.split('#').next().unwrap_or_default();
        let signed = format!(
            "jsapi_ticket={ticket}&noncestr={}&timestamp={}&url={url}",
            sig.nonce_str, sig.timestamp
        );
        wxopen_core::signature::sign_parts(&mut [signed.as_bytes()]).ct_eq_str(&sig.signature)
    }
}
