//! Call accounting: every request the fake receives is recorded, per endpoint and per host.

use std::time::Duration;

use crate::endpoints::Endpoint;

/// Which of the fake's two API hosts received a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// The primary host (stands for `api.weixin.qq.com`).
    Primary,
    /// The disaster-recovery host (stands for `api2.weixin.qq.com`).
    Fallback,
}

/// How the fake answered one call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A successful platform answer (errcode absent or 0).
    Ok,
    /// A platform error object with this errcode (contract violation, state error or injected).
    Errcode(i64),
    /// An HTTP error status (injected 5xx, or 404 for an unknown path).
    Http(u16),
    /// The connection was closed without a response (injected).
    Dropped,
}

/// One received call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// The endpoint, or `None` for a path the platform does not serve.
    pub endpoint: Option<Endpoint>,
    /// The request path as received.
    pub path: String,
    /// The host that received it.
    pub host: Host,
    /// How it was answered.
    pub outcome: Outcome,
    /// Whether the answer came from an injected fault.
    pub injected: bool,
    /// Artificial delay applied before the answer was sent, if any.
    pub delay: Option<Duration>,
    /// The fake clock (Unix seconds) when the call arrived.
    pub at_unix: u64,
}

/// The call log.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    log: Vec<CallRecord>,
}

impl Counters {
    pub(crate) fn record(&mut self, rec: CallRecord) {
        self.log.push(rec);
    }

    pub(crate) fn log(&self) -> &[CallRecord] {
        &self.log
    }

    pub(crate) fn clear(&mut self) {
        self.log.clear();
    }

    pub(crate) fn count(&self, pred: impl Fn(&CallRecord) -> bool) -> usize {
        self.log.iter().filter(|r| pred(r)).count()
    }
}
