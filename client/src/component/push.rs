//! The authorization-event URL: verify, decrypt, parse and apply a push using the store only
//! (no network, so WeChat gets its answer well inside 5 s). Tickets keep the newest
//! `CreateTime`; authorization events are ordered by theirs, so a late or replayed
//! `unauthorized` never revokes a newer authorization.

use wxopen_core::MsgCrypt;

use super::client::ComponentClient;
use crate::engine::records::CAS_ATTEMPTS;
use crate::engine::records::{apply_to_store, Applied};
use crate::error::{Error, PushError, Result};
use crate::event::{parse_component_event, ComponentEvent};
use crate::hooks::ClientEvent;
use crate::push::{PushAck, PushQuery, SUCCESS_REPLY};
use crate::record_machine::{Kept, RecordEvent};
use crate::secret::ComponentVerifyTicket;
use crate::store::{CasOutcome, StoreError, StoreKey, StoredValue, TicketRecord};

/// A ticket whose `CreateTime` is further ahead of the clock than this is refused.
pub const TICKET_MAX_AHEAD_SECS: u64 = 24 * 60 * 60;

/// What an update function decides about the current record.
pub(super) enum Update {
    Write(StoredValue),
    Keep,
}

impl ComponentClient {
    pub(crate) fn check_timestamp(&self, query: &PushQuery) -> Result<()> {
        if let Some(window) = self.inner.config.push_timestamp_window {
            wxopen_core::timestamp::check_window(&query.timestamp, self.now(), window.as_secs())?;
        }
        Ok(())
    }

    /// Decrypts with the current EncodingAESKey, then with the previous one (after a rotation
    /// in the console); returns the plaintext and the crypt that worked (replies use it).
    pub(crate) fn decrypt_with_rotation(
        &self,
        query: &PushQuery,
        body: &[u8],
    ) -> Result<(Vec<u8>, &MsgCrypt)> {
        let current = &self.inner.crypt;
        match current.decrypt_message(body, &query.msg_signature, &query.timestamp, &query.nonce) {
            Ok(plain) => Ok((plain, current)),
            Err(first) => match &self.inner.previous_crypt {
                Some(previous) => previous
                    .decrypt_message(body, &query.msg_signature, &query.timestamp, &query.nonce)
                    .map(|plain| (plain, previous))
                    .map_err(|_| first.into()),
                None => Err(first.into()),
            },
        }
    }

    /// Handles a POST to the component's "authorization event receive URL".
    ///
    /// Checks the timestamp window, verifies `msg_signature` (constant time, in `wxopen-core`),
    /// decrypts (current key, then the previous one), parses, and acts on the event using the
    /// store only: a ticket is recorded if it is newer than the stored one; `authorized` /
    /// `updateauthorized` record WeChat's `CreateTime` (exchange the code with
    /// [`query_auth`](Self::query_auth)); `unauthorized` revokes the authorizer unless it was
    /// authorized after the push was created. It never makes a network call. Answer WeChat with
    /// [`PushAck::reply`] (`"success"`); on `Err`, answer an error status so WeChat pushes again.
    pub async fn handle_component_push(&self, query: &PushQuery, body: &[u8]) -> Result<PushAck> {
        self.check_timestamp(query)?;
        let (plain, _) = self.decrypt_with_rotation(query, body)?;
        let event = parse_component_event(&plain)?;
        if let Some(cache) = &self.inner.replay {
            let now = self.now();
            let window = self
                .inner
                .config
                .push_timestamp_window
                .map_or(24 * 3600, |w| w.as_secs());
            let ts: u64 = query.timestamp.parse().unwrap_or(now);
            if cache.check_and_insert(
                &query.msg_signature,
                now,
                ts.max(now).saturating_add(window),
            ) {
                tracing::info!(
                    info_type = event.info_type(),
                    "replayed push answered, not applied"
                );
                return Ok(PushAck {
                    event,
                    ticket_stored: false,
                    replayed: true,
                    applied: false,
                    record_version: None,
                    reply: SUCCESS_REPLY,
                });
            }
        }
        if let Some(app_id) = event.app_id() {
            if app_id != self.component_appid() {
                return Err(PushError::AppIdMismatch {
                    expected: self.component_appid().to_owned(),
                    found: app_id.to_owned(),
                }
                .into());
            }
        }
        let mut ticket_stored = false;
        let mut applied = None;
        match &event {
            ComponentEvent::ComponentVerifyTicket {
                create_time,
                ticket,
                ..
            } => {
                ticket_stored = self.record_ticket(ticket.clone(), *create_time).await?;
                self.inner.emit(ClientEvent::TicketReceived {
                    create_time: *create_time,
                    stored: ticket_stored,
                });
            }
            ComponentEvent::Unauthorized {
                authorizer_appid,
                create_time,
                ..
            } => {
                let done = self
                    .record_unauthorized_applied(authorizer_appid, *create_time)
                    .await?;
                let revoked = matches!(done, Applied::Written { .. });
                applied = Some(done);
                if revoked {
                    self.inner.emit(ClientEvent::AuthorizerUnauthorized {
                        authorizer_appid: authorizer_appid.clone(),
                    });
                }
            }
            ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => {
                applied = Some(
                    self.apply_record(
                        &g.authorizer_appid,
                        &RecordEvent::AuthorizedPush {
                            create_time: g.create_time,
                        },
                    )
                    .await?,
                );
                self.inner.emit(ClientEvent::AuthorizationCodeReceived {
                    authorizer_appid: g.authorizer_appid.clone(),
                    update: matches!(event, ComponentEvent::UpdateAuthorized(_)),
                });
            }
            _ => {}
        }
        tracing::info!(
            info_type = event.info_type(),
            ticket_stored,
            "component push handled"
        );
        let (applied, record_version) = match applied {
            Some(Applied::Written { version, .. }) => (true, Some(version)),
            Some(Applied::Deleted) => (true, None),
            _ => (false, None),
        };
        Ok(PushAck {
            event,
            ticket_stored,
            replayed: false,
            applied,
            record_version,
            reply: SUCCESS_REPLY,
        })
    }

    /// Bounded compare-and-set loop over one record.
    pub(super) async fn update(
        &self,
        key: &StoreKey,
        mut f: impl FnMut(Option<&StoredValue>) -> Update + Send,
    ) -> Result<Option<u64>> {
        for _ in 0..CAS_ATTEMPTS {
            let current = self.inner.store.get(key).await?;
            let next = match f(current.as_ref().map(|v| &v.value)) {
                Update::Write(v) => v,
                Update::Keep => return Ok(None),
            };
            match self
                .inner
                .store
                .compare_and_set(key, current.map(|v| v.version), next, None)
                .await?
            {
                CasOutcome::Applied { version } => return Ok(Some(version)),
                _ => continue,
            }
        }
        Err(StoreError::new(format!("could not update {key}: kept conflicting")).into())
    }

    /// Records a ticket unless the stored one has the same or a newer `CreateTime`; a
    /// `CreateTime` more than a day ahead of the clock is refused. Returns `true` if it was
    /// stored. (The push handler calls this; it is public for hosts that receive pushes
    /// elsewhere.)
    pub async fn record_ticket(
        &self,
        ticket: ComponentVerifyTicket,
        create_time: u64,
    ) -> Result<bool> {
        if ticket.is_empty() {
            return Err(Error::invalid("component_verify_ticket", "empty"));
        }
        let received_at = self.now();
        if create_time > received_at.saturating_add(TICKET_MAX_AHEAD_SECS) {
            return Err(Error::invalid(
                "CreateTime",
                "more than a day ahead of the clock; refused so it cannot shadow later tickets",
            ));
        }
        let written = self
            .update(&self.inner.ticket_key, |current| {
                if let Some(StoredValue::Ticket(t)) = current {
                    if t.create_time >= create_time {
                        return Update::Keep;
                    }
                }
                Update::Write(StoredValue::Ticket(TicketRecord {
                    ticket: ticket.clone(),
                    create_time,
                    received_at,
                }))
            })
            .await?;
        if written.is_some() {
            self.inner.ports.ticket_stored();
        }
        Ok(written.is_some())
    }

    /// Applies an `unauthorized` push (WeChat's `CreateTime`) to the account's record through
    /// the record machine: a tombstone, unless the record knows of a newer authorization.
    /// Returns `true` if the account is now revoked by this push.
    pub async fn record_unauthorized(
        &self,
        authorizer_appid: &str,
        create_time: u64,
    ) -> Result<bool> {
        let applied = self
            .record_unauthorized_applied(authorizer_appid, create_time)
            .await?;
        Ok(matches!(applied, Applied::Written { .. }))
    }

    /// [`record_unauthorized`](Self::record_unauthorized), returning what the record machine
    /// did.
    async fn record_unauthorized_applied(
        &self,
        authorizer_appid: &str,
        create_time: u64,
    ) -> Result<Applied> {
        let applied = self
            .apply_record(
                authorizer_appid,
                &RecordEvent::UnauthorizedPush { create_time },
            )
            .await?;
        if let Applied::Kept {
            why: Kept::LateUnauthorized,
            ..
        } = applied
        {
            tracing::info!(
                authorizer_appid,
                "unauthorized push older than the authorization; ignored"
            );
        }
        Ok(applied)
    }

    /// Applies an `authorized` or `updateauthorized` push (WeChat's `CreateTime`) to the
    /// account's record through the record machine (tokens are left alone; the code's exchange
    /// fills them).
    pub async fn record_authorized(&self, authorizer_appid: &str, create_time: u64) -> Result<()> {
        self.apply_record(
            authorizer_appid,
            &RecordEvent::AuthorizedPush { create_time },
        )
        .await?;
        Ok(())
    }

    /// Deletes everything stored for an authorizer (its tokens or tombstone). Fails with a
    /// store error, the record still stored, when every compare-and-delete lost to a writer.
    pub async fn forget_authorizer(&self, authorizer_appid: &str) -> Result<()> {
        self.apply_record(authorizer_appid, &RecordEvent::Forgotten)
            .await?;
        Ok(())
    }

    /// Runs `event` through the one writer of authorizer records, then forgets what this
    /// process remembered about the account's token (failures, unwritten tokens).
    pub(crate) async fn apply_record(
        &self,
        authorizer_appid: &str,
        event: &RecordEvent,
    ) -> Result<Applied> {
        let key = self.authorizer_key(authorizer_appid)?;
        let applied =
            apply_to_store(self.inner.store.as_ref(), &key, event, self.now(), None).await;
        self.inner
            .authorizer_tokens
            .reset(&authorizer_appid.to_owned());
        let applied = applied?;
        // The account's JS-SDK tickets end with its authorization (an `unauthorized` push that
        // revoked it, or the record deleted); any other change starts their cool-downs afresh.
        match (event, &applied) {
            (RecordEvent::UnauthorizedPush { .. }, Applied::Written { .. })
            | (RecordEvent::Forgotten, Applied::Deleted) => {
                self.forget_js_tickets(authorizer_appid).await?
            }
            _ => self.reset_js_tickets(authorizer_appid),
        }
        Ok(applied)
    }
}
