//! Fault injection: make chosen endpoints on chosen hosts misbehave for the next N calls.

use std::time::Duration;

use crate::counters::Host;
use crate::endpoints::Endpoint;

/// What a faulty call does instead of its normal behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 200 with the platform error object `{"errcode": N, "errmsg": "…"}` (the request has no
    /// effect on state). Typical: -1, 40001, 42001, 45009, 61004, 61005, 61006, 61023.
    Errcode(i64),
    /// An HTTP error status (e.g. 502, 503) with a short plain-text body; no effect on state.
    Http(u16),
    /// The request is processed normally (state changes happen, as on a real server whose reply
    /// is lost) but the response is held back for this long, e.g. past the client's timeout.
    Delay(Duration),
    /// The server accepts the connection, reads the request and closes the connection without
    /// sending any response (a connection-level failure; no effect on state).
    Drop,
}

/// A fault with its scope: which endpoint(s), which host(s), how many calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    fault: Fault,
    endpoint: Option<Endpoint>,
    host: Option<Host>,
    remaining: Option<usize>,
}

impl FaultRule {
    /// A rule applying `fault` once, to any endpoint on any host. Narrow it with
    /// [`FaultRule::on`], [`FaultRule::on_host`], [`FaultRule::times`] or [`FaultRule::always`].
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            endpoint: None,
            host: None,
            remaining: Some(1),
        }
    }

    /// Only calls to `endpoint`.
    pub fn on(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Only calls arriving at `host`.
    pub fn on_host(mut self, host: Host) -> Self {
        self.host = Some(host);
        self
    }

    /// Applies to the next `n` matching calls, then disappears.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Applies to every matching call until [`crate::FakeWeChat::clear_faults`].
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    /// The fault this rule injects.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    fn matches(&self, endpoint: Option<Endpoint>, host: Host) -> bool {
        let ep_ok = match self.endpoint {
            None => true,
            Some(e) => endpoint == Some(e),
        };
        let host_ok = self.host.is_none_or(|h| h == host);
        ep_ok && host_ok && self.remaining != Some(0)
    }
}

/// The active rules. Drop rules and the other kinds are consumed independently (drops are
/// decided before the request reaches the responder), so each kind keeps its own order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    pub(crate) fn push(&mut self, rule: FaultRule) {
        if rule.remaining != Some(0) {
            self.rules.push(rule);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn pending(&self) -> usize {
        self.rules.len()
    }

    /// Consumes one use of the first matching rule whose kind satisfies `want_drop`.
    pub(crate) fn take(
        &mut self,
        endpoint: Option<Endpoint>,
        host: Host,
        want_drop: bool,
    ) -> Option<Fault> {
        let idx = self.rules.iter().position(|r| {
            (matches!(r.fault, Fault::Drop) == want_drop) && r.matches(endpoint, host)
        })?;
        let rule = self.rules.get_mut(idx)?;
        let fault = rule.fault.clone();
        if let Some(n) = rule.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(idx);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_scoped_counted_and_kind_separated() {
        let mut f = Faults::default();
        f.push(
            FaultRule::new(Fault::Errcode(-1))
                .on(Endpoint::ComponentToken)
                .times(2),
        );
        f.push(FaultRule::new(Fault::Drop).on_host(Host::Primary).always());
        f.push(FaultRule::new(Fault::Http(503)).times(0));
        assert_eq!(f.pending(), 2);
        // Other endpoint: no errcode fault.
        assert_eq!(
            f.take(Some(Endpoint::QueryAuth), Host::Fallback, false),
            None
        );
        assert_eq!(
            f.take(Some(Endpoint::ComponentToken), Host::Fallback, false),
            Some(Fault::Errcode(-1))
        );
        // Drop only on primary, forever.
        assert_eq!(f.take(None, Host::Fallback, true), None);
        for _ in 0..5 {
            assert_eq!(f.take(None, Host::Primary, true), Some(Fault::Drop));
        }
        assert_eq!(
            f.take(Some(Endpoint::ComponentToken), Host::Primary, false),
            Some(Fault::Errcode(-1))
        );
        assert_eq!(
            f.take(Some(Endpoint::ComponentToken), Host::Primary, false),
            None
        );
        assert_eq!(f.pending(), 1);
        f.clear();
        assert_eq!(f.take(None, Host::Primary, true), None);
    }
}
