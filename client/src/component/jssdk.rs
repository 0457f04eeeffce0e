//! The JS-SDK on behalf of authorized accounts: their `jsapi` and `wx_card` tickets (the
//! engine's third token kind) and `wx.config` signed with the account's own appid.

use super::client::ComponentClient;
use super::tokens::IssuedToken;
use crate::appid::check_appid;
use crate::engine::records::CAS_ATTEMPTS;
use crate::error::{Error, Result};
use crate::js_ticket::JsTicketType;
use crate::jssdk_sign::{page_url, sign_config, JsSdkConfig};
use crate::secret::JsTicket;
use crate::store::{StoreError, StoreKey};

/// Length of the nonce [`ComponentClient::jssdk_config`] draws.
pub const JSSDK_NONCE_LEN: usize = 16;

const TYPES: [JsTicketType; 2] = [JsTicketType::Jsapi, JsTicketType::WxCard];

impl ComponentClient {
    /// An authorizer's JS-SDK ticket of `ticket_type`, like an access token: from the store
    /// while fresh, refreshed ahead of expiry in the background, fetched once across instances
    /// (under the store lease; concurrent callers share that one `getticket` and its outcome)
    /// with the account's own access token. A 40001/40014/42001 on that fetch expires the
    /// access token (compare-and-expire) and the fetch is tried once more. Failures are
    /// remembered by class.
    pub async fn js_ticket(
        &self,
        authorizer_appid: &str,
        ticket_type: JsTicketType,
    ) -> Result<IssuedToken<JsTicket>> {
        check_appid(authorizer_appid)?;
        let t = self
            .inner
            .js_tickets
            .get(&(authorizer_appid.to_owned(), ticket_type))
            .await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// The account's `jsapi_ticket` (see [`js_ticket`](Self::js_ticket)).
    pub async fn jsapi_ticket(&self, authorizer_appid: &str) -> Result<IssuedToken<JsTicket>> {
        self.js_ticket(authorizer_appid, JsTicketType::Jsapi).await
    }

    /// The account's card `api_ticket` (`type=wx_card`; see [`js_ticket`](Self::js_ticket)).
    pub async fn card_ticket(&self, authorizer_appid: &str) -> Result<IssuedToken<JsTicket>> {
        self.js_ticket(authorizer_appid, JsTicketType::WxCard).await
    }

    /// Compare-and-refresh of a JS-SDK ticket: if `stale` is still the stored ticket (or
    /// `stale` is `None`) it is expired and fetched again once; otherwise the current one is
    /// returned.
    pub async fn refresh_js_ticket_if(
        &self,
        authorizer_appid: &str,
        ticket_type: JsTicketType,
        stale: Option<&str>,
    ) -> Result<IssuedToken<JsTicket>> {
        check_appid(authorizer_appid)?;
        let t = self
            .inner
            .js_tickets
            .refresh_if_current(&(authorizer_appid.to_owned(), ticket_type), stale)
            .await?;
        Ok(IssuedToken {
            token: t.value,
            expires_at: t.expires_at,
        })
    }

    /// `wx.config` for the page at `url` of the account `authorizer_appid`: its jsapi ticket
    /// (see [`jsapi_ticket`](Self::jsapi_ticket)), a fresh random nonce of
    /// [`JSSDK_NONCE_LEN`] letters and digits, the client clock's time, and the account's
    /// appid. `url` must be an absolute http(s) URL (see
    /// [`page_url`](crate::jssdk_sign::page_url)); its `#…` part is not signed.
    pub async fn jssdk_config(&self, authorizer_appid: &str, url: &str) -> Result<JsSdkConfig> {
        check_appid(authorizer_appid)?;
        page_url(url).map_err(|e| Error::invalid("page URL", e.to_string()))?;
        let ticket = self.jsapi_ticket(authorizer_appid).await?;
        let nonce = nonce();
        sign_config(authorizer_appid, &ticket.token, &nonce, self.now(), url)
            .map_err(|e| Error::invalid("page URL", e.to_string()))
    }

    /// Deletes an authorizer's JS-SDK tickets (its authorization ended) and forgets what this
    /// process remembered about them.
    pub(crate) async fn forget_js_tickets(&self, authorizer_appid: &str) -> Result<()> {
        for ticket_type in TYPES {
            let key = StoreKey::js_ticket(self.component_appid(), authorizer_appid, ticket_type);
            self.delete_record(&key).await?;
            self.inner
                .js_tickets
                .reset(&(authorizer_appid.to_owned(), ticket_type));
        }
        Ok(())
    }

    /// Forgets remembered failures of an authorizer's tickets (a new authorization).
    pub(crate) fn reset_js_tickets(&self, authorizer_appid: &str) {
        for ticket_type in TYPES {
            self.inner
                .js_tickets
                .reset(&(authorizer_appid.to_owned(), ticket_type));
        }
    }

    async fn delete_record(&self, key: &StoreKey) -> Result<()> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.inner.store.get(key).await? else {
                return Ok(());
            };
            if self
                .inner
                .store
                .compare_and_delete(key, current.version)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::unavailable(format!(
            "{key}: the record changed under each of {CAS_ATTEMPTS} delete attempts"
        ))
        .into())
    }
}

/// A random nonce of [`JSSDK_NONCE_LEN`] ASCII letters and digits.
fn nonce() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..JSSDK_NONCE_LEN)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}
