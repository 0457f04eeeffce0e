//! A pure health assessment of what the store holds, for health checks and dashboards.
//!
//! Losing the ticket is the most common way third-party platforms break; this makes it visible
//! before the component token expires.

use crate::records::{ComponentTokenRecord, TicketRecord};
use crate::tokens::{ticket_is_stale, token_state, TokenState};

/// Snapshot of one component's ticket and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentHealth {
    /// The clock's time of the snapshot (unix seconds).
    pub now: u64,
    /// `CreateTime` of the stored ticket, if any.
    pub ticket_create_time: Option<u64>,
    /// `true` when no ticket is stored or it is older than 12 h: the next component token
    /// refresh will fail (call `start_push_ticket`).
    pub ticket_stale: bool,
    /// Expiry of the stored component token, if any.
    pub component_token_expires_at: Option<u64>,
    /// State of the stored component token, if any.
    pub component_token_state: Option<TokenState>,
}

impl ComponentHealth {
    /// `true` when nothing needs attention: a fresh ticket is stored, and the component token
    /// (if any) is not expired.
    pub fn is_healthy(&self) -> bool {
        !self.ticket_stale && self.component_token_state != Some(TokenState::Expired)
    }
}

/// Assesses a ticket and a component token record at `now`.
pub fn assess(
    now: u64,
    ticket: Option<&TicketRecord>,
    token: Option<&ComponentTokenRecord>,
) -> ComponentHealth {
    ComponentHealth {
        now,
        ticket_create_time: ticket.map(|t| t.create_time),
        ticket_stale: ticket.is_none_or(|t| ticket_is_stale(now, t.create_time)),
        component_token_expires_at: token.map(|t| t.expires_at),
        component_token_state: token.map(|t| token_state(now, t.refresh_at, t.expires_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{ComponentAccessToken, ComponentVerifyTicket};

    fn ticket(t: u64) -> TicketRecord {
        TicketRecord {
            ticket: ComponentVerifyTicket::new("t"),
            create_time: t,
            received_at: t,
        }
    }

    fn token(refresh_at: u64, expires_at: u64) -> ComponentTokenRecord {
        ComponentTokenRecord {
            token: ComponentAccessToken::new("c"),
            obtained_at: 0,
            refresh_at,
            expires_at,
        }
    }

    #[test]
    fn nothing_stored_is_unhealthy() {
        let h = assess(100, None, None);
        assert!(h.ticket_stale && !h.is_healthy());
        assert_eq!(h.component_token_state, None);
    }

    #[test]
    fn fresh_ticket_and_token_is_healthy() {
        let h = assess(100, Some(&ticket(90)), Some(&token(200, 300)));
        assert!(h.is_healthy());
        assert_eq!(h.ticket_create_time, Some(90));
        assert_eq!(h.component_token_state, Some(TokenState::Fresh));
        assert_eq!(h.component_token_expires_at, Some(300));
    }

    #[test]
    fn stale_ticket_or_expired_token_is_unhealthy() {
        let now = 13 * 3600;
        assert!(!assess(now, Some(&ticket(0)), None).is_healthy());
        assert!(assess(now, Some(&ticket(now)), None).is_healthy());
        assert!(!assess(now, Some(&ticket(now)), Some(&token(0, now))).is_healthy());
        assert!(assess(now, Some(&ticket(now)), Some(&token(now - 1, now + 1))).is_healthy());
    }
}
