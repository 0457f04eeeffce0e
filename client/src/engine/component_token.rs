//! The component access token as a [`TokenKind`]: fetched with the newest stored ticket.

use std::sync::Arc;

use crate::api::{ComponentTokenRequest, ComponentTokenResponse, Endpoint};
use crate::error::Error;
use crate::hooks::ClientEvent;
use crate::secret::{ComponentAccessToken, ComponentAppSecret};
use crate::store::{
    BoxFuture, ComponentTokenRecord, RevokedRecord, StoreError, StoreKey, StoredValue,
    TicketRecord, TokenStore, Versioned,
};
use crate::tokens::{expiry, ticket_is_stale};
use crate::transport::Transport;

use super::machine::{Token, View};
use super::{Fetched, Ports, TokenKind};

/// The component access token (one per component): what its fetch needs.
#[derive(Debug)]
pub(crate) struct ComponentKind {
    pub component_appid: String,
    pub appsecret: ComponentAppSecret,
    pub key: StoreKey,
    pub ticket_key: StoreKey,
    pub transport: Arc<Transport>,
}

/// The stored ticket, if any (a record of another kind is a corrupt store).
pub(crate) async fn read_ticket(
    store: &dyn TokenStore,
    key: &StoreKey,
) -> Result<Option<TicketRecord>, Error> {
    Ok(match store.get(key).await? {
        Some(Versioned {
            value: StoredValue::Ticket(t),
            ..
        }) => Some(t),
        Some(_) => {
            return Err(Error::Store(StoreError::corrupt(format!(
                "record at {key} has an unexpected kind"
            ))))
        }
        None => None,
    })
}

pub(crate) fn corrupt(key_kind: &str) -> Error {
    Error::Store(StoreError::corrupt(format!(
        "the record at the {key_kind} key has an unexpected kind"
    )))
}

impl TokenKind for ComponentKind {
    type Id = ();
    type Token = ComponentAccessToken;
    const NAME: &'static str = "component_access_token";

    fn key(&self, _: &()) -> StoreKey {
        self.key.clone()
    }

    fn expose(token: &ComponentAccessToken) -> &str {
        token.expose_secret()
    }

    fn view(value: Option<&Versioned>) -> Result<View<ComponentAccessToken>, Error> {
        Ok(match value {
            None => View::Absent { version: None },
            Some(Versioned {
                value: StoredValue::ComponentToken(r),
                version,
            }) => View::Token(Token {
                value: r.token.clone(),
                version: *version,
                refresh_at: r.refresh_at,
                expires_at: r.expires_at,
            }),
            Some(_) => return Err(corrupt("component token")),
        })
    }

    fn fetch<'a>(
        &'a self,
        ports: &'a Ports,
        _: &'a (),
        current: Option<Versioned>,
        _fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched<ComponentAccessToken>, Error>> {
        Box::pin(async move {
            let ticket = read_ticket(ports.store.as_ref(), &self.ticket_key)
                .await?
                .ok_or(Error::TicketMissing)?;
            let stale = ticket_is_stale(ports.now(), ticket.create_time);
            if stale {
                tracing::warn!(
                    ticket_create_time = ticket.create_time,
                    "stored ticket is older than 12 h; trying it anyway"
                );
            }
            let request = ComponentTokenRequest {
                component_appid: &self.component_appid,
                component_appsecret: self.appsecret.expose_secret(),
                component_verify_ticket: ticket.ticket.expose_secret(),
            };
            let response: ComponentTokenResponse = self
                .transport
                .call(Endpoint::ComponentToken, None, &request)
                .await
                .map_err(|e| match e {
                    Error::TicketRejected {
                        errcode, errmsg, ..
                    } => Error::TicketRejected {
                        errcode,
                        errmsg,
                        stale,
                    },
                    other => other,
                })?;
            let now = ports.now();
            let record = ComponentTokenRecord {
                token: response.component_access_token.clone(),
                obtained_at: now,
                refresh_at: ports.refresh_at(now, response.expires_in),
                expires_at: expiry(now, response.expires_in),
            };
            Ok(Fetched {
                token: Token {
                    value: response.component_access_token,
                    version: 0,
                    refresh_at: record.refresh_at,
                    expires_at: record.expires_at,
                },
                value: StoredValue::ComponentToken(record),
                expected: current.map(|c| c.version),
                event: None,
            })
        })
    }

    fn reconcile(
        current: Option<&Versioned>,
        fetched: &Fetched<ComponentAccessToken>,
        started_at: u64,
        _now: u64,
    ) -> Option<StoredValue> {
        // Another instance fetched at the same time or later (its fetch superseded ours); a
        // compare-and-expired record (expires_at 0) or an older token is overwritten.
        let newer = matches!(
            current.map(|c| &c.value),
            Some(StoredValue::ComponentToken(r)) if r.obtained_at >= started_at && r.expires_at > 0
        );
        (!newer).then(|| fetched.value.clone())
    }

    fn expired(value: &StoredValue) -> Option<StoredValue> {
        match value {
            StoredValue::ComponentToken(r) => {
                Some(StoredValue::ComponentToken(ComponentTokenRecord {
                    refresh_at: 0,
                    expires_at: 0,
                    ..r.clone()
                }))
            }
            _ => None,
        }
    }

    fn revoked_error(_: &(), _: &RevokedRecord) -> Error {
        corrupt("component token")
    }

    fn refreshed(_: &(), token: &Token<ComponentAccessToken>) -> ClientEvent {
        tracing::info!(
            expires_at = token.expires_at,
            "component access token refreshed"
        );
        ClientEvent::ComponentTokenRefreshed {
            expires_at: token.expires_at,
        }
    }

    fn rejected(_: &(), errcode: i64) -> ClientEvent {
        ClientEvent::TokenRejected {
            authorizer_appid: None,
            errcode,
        }
    }

    fn failed(_: &(), error: &Error) -> ClientEvent {
        ClientEvent::RefreshFailed {
            authorizer_appid: None,
            errcode: error.code(),
        }
    }
}
