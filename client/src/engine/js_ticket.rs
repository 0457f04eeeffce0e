//! An authorizer's JS-SDK ticket (`jsapi` or `wx_card`) as a [`TokenKind`]: fetched with
//! `getticket` and the **authorizer's** access token (from its own cache). A 40001/40014/42001
//! on that call is the access token's problem: it is compare-and-expired on the version it
//! was read at and the fetch is tried once more with the account's current token
//! ([`wxopen_proto::js_ticket::after_fetch_error`]).

use std::sync::Arc;

use serde::Deserialize;

use crate::api::ApiCall;
use crate::error::Error;
use crate::hooks::ClientEvent;
use crate::js_ticket::{
    after_fetch_error, keep_stored, JsTicketType, TicketFetchStep, GETTICKET_PATH,
};
use crate::secret::JsTicket;
use crate::store::{BoxFuture, JsTicketRecord, RevokedRecord, StoreKey, StoredValue, Versioned};
use crate::tokens::expiry;
use crate::transport::Transport;

use super::authorizer_token::AuthorizerKind;
use super::component_token::corrupt;
use super::machine::{Token, View};
use super::{Fetched, Ports, TokenCache, TokenKind};

/// The JS-SDK tickets of every authorizer of one component, by `(authorizer appid, type)`.
#[derive(Debug)]
pub(crate) struct JsTicketKind {
    pub component_appid: String,
    pub transport: Arc<Transport>,
    /// The authorizer tokens a ticket is fetched with.
    pub authorizer_tokens: Arc<TokenCache<AuthorizerKind>>,
}

#[derive(Deserialize)]
struct TicketResponse {
    ticket: JsTicket,
    expires_in: u64,
}

impl TokenKind for JsTicketKind {
    type Id = (String, JsTicketType);
    type Token = JsTicket;
    const NAME: &'static str = "js_ticket";

    fn key(&self, (appid, ticket_type): &Self::Id) -> StoreKey {
        StoreKey::js_ticket(&self.component_appid, appid, *ticket_type)
    }

    fn expose(token: &JsTicket) -> &str {
        token.expose_secret()
    }

    fn view(value: Option<&Versioned>) -> Result<View<JsTicket>, Error> {
        Ok(match value {
            None => View::Absent { version: None },
            Some(Versioned {
                value: StoredValue::JsTicket(r),
                version,
            }) => View::Token(Token {
                value: r.ticket.clone(),
                version: *version,
                refresh_at: r.refresh_at,
                expires_at: r.expires_at,
            }),
            Some(_) => return Err(corrupt("JS-SDK ticket")),
        })
    }

    fn fetch<'a>(
        &'a self,
        ports: &'a Ports,
        id: &'a Self::Id,
        current: Option<Versioned>,
        _fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched<JsTicket>, Error>> {
        Box::pin(async move {
            let (appid, ticket_type) = id;
            let call = ApiCall::get(GETTICKET_PATH)?
                .idempotent(true)
                .fixed_query("type", ticket_type.query_value());
            let mut attempt = 0;
            let response = loop {
                let token = self.authorizer_tokens.get(appid).await?;
                let sent = self
                    .transport
                    .call_api::<TicketResponse>(&call, Some(token.value.expose_secret()), None)
                    .await;
                // serde's decode messages quote the offending value, which may be the
                // ticket: say what was wrong, not what was there.
                let sent = sent.map_err(|e| match e {
                    Error::Decode { endpoint, .. } => Error::Decode {
                        endpoint,
                        message: "the answer is not {ticket: string, expires_in: integer}".into(),
                    },
                    other => other,
                });
                match sent {
                    Ok(r) => break r,
                    Err(e) => match after_fetch_error(e.code(), attempt) {
                        TicketFetchStep::ExpireAccessTokenAndRetry => {
                            tracing::warn!(
                                authorizer_appid = %appid,
                                %ticket_type,
                                errcode = e.code(),
                                "getticket rejected the authorizer access token; expiring it and trying once more"
                            );
                            self.authorizer_tokens
                                .expire(appid, token.version, e.code())
                                .await?;
                            attempt += 1;
                        }
                        _ => return Err(e),
                    },
                }
            };
            let now = ports.now();
            let record = JsTicketRecord {
                ticket: response.ticket.clone(),
                obtained_at: now,
                refresh_at: ports.refresh_at(now, response.expires_in),
                expires_at: expiry(now, response.expires_in),
            };
            Ok(Fetched {
                token: Token {
                    value: response.ticket,
                    version: 0,
                    refresh_at: record.refresh_at,
                    expires_at: record.expires_at,
                },
                value: StoredValue::JsTicket(record),
                expected: current.map(|c| c.version),
                event: None,
            })
        })
    }

    fn reconcile(
        current: Option<&Versioned>,
        fetched: &Fetched<JsTicket>,
        started_at: u64,
        _now: u64,
    ) -> Option<StoredValue> {
        let stored = match current.map(|c| &c.value) {
            Some(StoredValue::JsTicket(r)) => Some(r),
            _ => None,
        };
        (!keep_stored(stored, started_at)).then(|| fetched.value.clone())
    }

    fn expired(value: &StoredValue) -> Option<StoredValue> {
        match value {
            StoredValue::JsTicket(r) => Some(StoredValue::JsTicket(r.expired())),
            _ => None,
        }
    }

    fn revoked_error(_: &Self::Id, _: &RevokedRecord) -> Error {
        corrupt("JS-SDK ticket")
    }

    fn refreshed((appid, ticket_type): &Self::Id, token: &Token<JsTicket>) -> ClientEvent {
        tracing::info!(authorizer_appid = %appid, %ticket_type, expires_at = token.expires_at, "JS-SDK ticket refreshed");
        ClientEvent::JsTicketRefreshed {
            authorizer_appid: appid.clone(),
            ticket_type: *ticket_type,
            expires_at: token.expires_at,
        }
    }

    fn rejected((appid, ticket_type): &Self::Id, errcode: i64) -> ClientEvent {
        ClientEvent::JsTicketFailed {
            authorizer_appid: appid.clone(),
            ticket_type: *ticket_type,
            errcode: Some(errcode),
        }
    }

    fn failed((appid, ticket_type): &Self::Id, error: &Error) -> ClientEvent {
        ClientEvent::JsTicketFailed {
            authorizer_appid: appid.clone(),
            ticket_type: *ticket_type,
            errcode: error.code(),
        }
    }
}
