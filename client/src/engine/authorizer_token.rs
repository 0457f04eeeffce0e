//! An authorizer access token as a [`TokenKind`]: exchanged from the stored refresh token
//! with `api_authorizer_token` (the returned refresh token is stored atomically with the new
//! access token); a lost or rejected refresh token (61023) is recovered from the authorizer
//! list, else the account gets a tombstone and the error is must-reauthorize, 61023 kept.

use std::sync::Arc;

use crate::errcode::ErrorClass;
use crate::error::Error;
use crate::hooks::ClientEvent;
use crate::record_machine::{self, Grant, RecordEvent, Update};
use crate::secret::AuthorizerAccessToken;
use crate::store::{
    AuthorizerRecord, BoxFuture, RevokeReason, RevokedRecord, StoreKey, StoredValue, Versioned,
};
use crate::tokens::expiry;

use super::authorizer_calls::{AuthorizerCalls, Scope};
use super::component_token::corrupt;
use super::machine::{Token, View};
use super::recovery::{self, Recovered};
use super::unknown::UnknownAppids;
use super::{Fetched, Ports, TokenKind};

/// One authorizer's access token, by authorizer appid: its fetch makes the component-token
/// calls of [`AuthorizerCalls`].
#[derive(Debug)]
pub(crate) struct AuthorizerKind {
    pub calls: AuthorizerCalls,
    /// Appids the authorizer list does not know, until the next scan may run.
    pub unknown: UnknownAppids,
}

impl TokenKind for AuthorizerKind {
    type Id = String;
    type Token = AuthorizerAccessToken;
    const NAME: &'static str = "authorizer_access_token";

    fn key(&self, id: &String) -> StoreKey {
        StoreKey::authorizer(&self.calls.component_appid, id)
    }

    fn expose(token: &AuthorizerAccessToken) -> &str {
        token.expose_secret()
    }

    fn view(value: Option<&Versioned>) -> Result<View<AuthorizerAccessToken>, Error> {
        Ok(match value {
            None => View::Absent { version: None },
            Some(Versioned {
                value: StoredValue::Authorizer(r),
                version,
            }) => match &r.access_token {
                Some(t) => View::Token(Token {
                    value: t.clone(),
                    version: *version,
                    refresh_at: r.refresh_at,
                    expires_at: r.expires_at,
                }),
                None => View::Absent {
                    version: Some(*version),
                },
            },
            Some(Versioned {
                value: StoredValue::AuthorizerRevoked(record),
                version,
            }) => View::Revoked {
                record: record.clone(),
                version: *version,
            },
            Some(_) => return Err(corrupt("authorizer")),
        })
    }

    fn fetch<'a>(
        &'a self,
        ports: &'a Ports,
        appid: &'a String,
        current: Option<Versioned>,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched<AuthorizerAccessToken>, Error>> {
        let cx = Scope {
            calls: &self.calls,
            ports,
        };
        Box::pin(fetch(cx, &self.unknown, appid, current, fence))
    }

    fn known_unknown(&self, appid: &String, now: u64) -> Option<RevokedRecord> {
        self.unknown
            .until(appid, now)
            .map(|_| tombstone(RevokeReason::NotListed, None, now))
    }

    fn reconcile(
        current: Option<&Versioned>,
        fetched: &Fetched<AuthorizerAccessToken>,
        _started_at: u64,
        now: u64,
    ) -> Option<StoredValue> {
        // The record machine decides: a refresh writes only over the token serial it started
        // from (push metadata written meanwhile is kept); revoked, deleted or newer tokens win.
        let event = fetched.event.as_ref()?;
        match record_machine::apply(current.map(|c| &c.value), event, now) {
            Update::Write(value) => Some(value),
            Update::Delete | Update::Keep(_) => None,
        }
    }

    fn expire_event(value: &StoredValue) -> Option<RecordEvent> {
        match value {
            StoredValue::Authorizer(AuthorizerRecord {
                access_token: Some(token),
                ..
            }) => Some(RecordEvent::Rejected {
                access_token: token.clone(),
            }),
            _ => None,
        }
    }

    fn expired(value: &StoredValue) -> Option<StoredValue> {
        // Compare-and-expire of the stored token, by the record machine's rule.
        let StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(token),
            ..
        }) = value
        else {
            return None;
        };
        let event = RecordEvent::Rejected {
            access_token: token.clone(),
        };
        match record_machine::apply(Some(value), &event, 0) {
            Update::Write(v) => Some(v),
            Update::Delete | Update::Keep(_) => None,
        }
    }

    fn revoked_error(appid: &String, record: &RevokedRecord) -> Error {
        let reason = match record.reason {
            RevokeReason::Unauthorized => {
                "the account revoked the authorization (unauthorized push)"
            }
            RevokeReason::RefreshTokenInvalid => {
                "its refresh token was rejected and the authorizer list had no other"
            }
            RevokeReason::NotListed => "the account is not in the authorizer list",
            RevokeReason::NotAuthorized => "the account does not authorize this component",
            _ => "the account must authorize the component again",
        };
        Error::MustReauthorize {
            authorizer_appid: appid.clone(),
            errcode: record.errcode,
            reason: format!("{reason} (since {})", record.since),
            source: None,
        }
    }

    fn refreshed(appid: &String, token: &Token<AuthorizerAccessToken>) -> ClientEvent {
        tracing::info!(authorizer_appid = %appid, expires_at = token.expires_at, "authorizer access token refreshed");
        ClientEvent::AuthorizerTokenRefreshed {
            authorizer_appid: appid.clone(),
            expires_at: token.expires_at,
        }
    }

    fn rejected(appid: &String, errcode: i64) -> ClientEvent {
        ClientEvent::TokenRejected {
            authorizer_appid: Some(appid.clone()),
            errcode,
        }
    }

    fn failed(appid: &String, error: &Error) -> ClientEvent {
        ClientEvent::RefreshFailed {
            authorizer_appid: Some(appid.clone()),
            errcode: error.code(),
        }
    }
}

fn tombstone(reason: RevokeReason, errcode: Option<i64>, since: u64) -> RevokedRecord {
    RevokedRecord {
        since,
        reason,
        errcode,
        event_time: 0,
        token_serial: 0,
    }
}

async fn fetch(
    cx: Scope<'_>,
    unknown: &UnknownAppids,
    appid: &String,
    current: Option<Versioned>,
    fence: Option<&str>,
) -> Result<Fetched<AuthorizerAccessToken>, Error> {
    let now = cx.ports.now();
    let mut expected = current.as_ref().map(|c| c.version);
    let mut record = match current.map(|c| c.value) {
        None => None,
        Some(StoredValue::Authorizer(r)) => Some(r),
        Some(_) => return Err(corrupt("authorizer")),
    };
    // The token serial the refresh starts from: its write goes only over that serial.
    let mut serial = record.as_ref().map(|r| r.token_serial);
    let refresh_token = match record.as_ref().and_then(|r| r.refresh_token.clone()) {
        Some(rt) => rt,
        None => match recovery::recover(cx, appid, None, fence).await {
            Recovered::Token {
                token,
                version,
                record: restored,
            } => {
                expected = Some(version);
                serial = Some(restored.token_serial);
                record = Some(restored);
                token
            }
            Recovered::RateLimited { last } if record.is_none() && expected.is_none() => {
                // Never stored, and the list was scanned within the interval: remember it in
                // memory until the next scan may run, write nothing.
                let interval = cx.ports.settings.authorizer_scan_interval.as_secs();
                unknown.remember(appid, last.saturating_add(interval), now);
                return Err(Error::MustReauthorize {
                    authorizer_appid: appid.clone(),
                    errcode: None,
                    reason: "no refresh token stored and the account is not in the authorizer list (scanned recently)".into(),
                    source: None,
                });
            }
            Recovered::NotListed | Recovered::RateLimited { .. } => {
                if record.is_none() && expected.is_none() {
                    let interval = cx.ports.settings.authorizer_scan_interval.as_secs();
                    unknown.remember(appid, now.saturating_add(interval), now);
                }
                return Err(recovery::revoke(
                    cx,
                    appid,
                    serial,
                    tombstone(RevokeReason::NotListed, None, now),
                    "no refresh token stored and the account is not in the authorizer list",
                    None,
                    fence,
                )
                .await);
            }
            Recovered::Failed(e) => {
                return Err(Error::MustReauthorize {
                    authorizer_appid: appid.clone(),
                    errcode: None,
                    reason: "no refresh token stored and the authorizer list could not be read"
                        .into(),
                    source: Some(Arc::new(e)),
                })
            }
        },
    };
    let first = cx.calls.exchange(appid, &refresh_token).await;
    let (response, used) = match first {
        Ok(r) => (r, refresh_token),
        Err(e) if e.class() == Some(ErrorClass::RefreshTokenInvalid) => {
            tracing::warn!(authorizer_appid = %appid, "refresh token rejected (61023); recovering it from the authorizer list");
            let invalid = |from: Option<u64>,
                           reason: RevokeReason,
                           text: &'static str,
                           source: Option<Error>| {
                recovery::revoke(
                    cx,
                    appid,
                    from,
                    tombstone(reason, Some(61023), now),
                    text,
                    source,
                    fence,
                )
            };
            match recovery::recover(cx, appid, Some(&refresh_token), fence).await {
                Recovered::Token {
                    token,
                    version,
                    record: restored,
                } if token != refresh_token => {
                    expected = Some(version);
                    serial = Some(restored.token_serial);
                    record = Some(restored);
                    match cx.calls.exchange(appid, &token).await {
                        Ok(r) => (r, token),
                        Err(e2) if e2.class() == Some(ErrorClass::RefreshTokenInvalid) => {
                            return Err(invalid(
                                serial,
                                RevokeReason::RefreshTokenInvalid,
                                "the refresh token from the authorizer list was rejected too",
                                Some(e2),
                            )
                            .await)
                        }
                        Err(e2) => return Err(e2),
                    }
                }
                Recovered::Token {
                    record: restored, ..
                } => {
                    return Err(invalid(
                        Some(restored.token_serial),
                        RevokeReason::RefreshTokenInvalid,
                        "the authorizer list holds the same rejected refresh token",
                        None,
                    )
                    .await)
                }
                Recovered::NotListed => {
                    return Err(invalid(
                        serial,
                        RevokeReason::NotListed,
                        "the refresh token was rejected and the account is not in the authorizer list",
                        None,
                    )
                    .await)
                }
                Recovered::RateLimited { last } => {
                    tracing::info!(authorizer_appid = %appid, last_scan = last, "authorizer list scanned recently; not scanning again");
                    return Err(invalid(
                        serial,
                        RevokeReason::RefreshTokenInvalid,
                        "the refresh token was rejected and the recent authorizer-list scan had no other",
                        None,
                    )
                    .await)
                }
                Recovered::Failed(source) => {
                    return Err(Error::MustReauthorize {
                        authorizer_appid: appid.clone(),
                        errcode: e.code(),
                        reason: "the refresh token was rejected and recovering it from the authorizer list failed".into(),
                        source: Some(Arc::new(source)),
                    })
                }
            }
        }
        Err(e) if e.class() == Some(ErrorClass::NotAuthorized) => {
            return Err(recovery::revoke(
                cx,
                appid,
                serial,
                tombstone(RevokeReason::NotAuthorized, e.code(), now),
                "the account no longer authorizes this component",
                Some(e),
                fence,
            )
            .await)
        }
        Err(e) => return Err(e),
    };
    let now = cx.ports.now();
    let refresh_token = response
        .authorizer_refresh_token
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or(used);
    let expires_at = expiry(now, response.expires_in);
    let refresh_at = cx.ports.refresh_at(now, response.expires_in);
    let event = RecordEvent::Refreshed {
        from_serial: serial,
        grant: Grant {
            access_token: Some(response.authorizer_access_token.clone()),
            refresh_token: Some(refresh_token),
            refresh_at,
            expires_at,
            func_info: None,
        },
    };
    let base = record.map(StoredValue::Authorizer);
    let Update::Write(value) = record_machine::apply(base.as_ref(), &event, now) else {
        return Err(Error::RefreshAborted {
            token: AuthorizerKind::NAME,
        });
    };
    Ok(Fetched {
        token: Token {
            value: response.authorizer_access_token,
            version: 0,
            refresh_at,
            expires_at,
        },
        value,
        expected,
        event: Some(event),
    })
}
