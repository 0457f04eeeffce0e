//! Delivering a push the way WeChat does ([`deliver_like_wechat`]): POST it, wait at most 5 s
//! for the answer, and when none comes (a timeout, a refused connection, a 5xx, an answer that
//! is neither `success`, empty, nor a passive reply) send the same push again — up to three
//! more times. What the receiver acknowledged is what WeChat will never send again.

use std::time::Duration;

use crate::push::Push;

/// How WeChat retries an unanswered push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPlan {
    /// How long one attempt waits for the answer (WeChat: 5 s).
    pub answer_timeout: Duration,
    /// Attempts after the first (WeChat: 3).
    pub retries: u32,
    /// Pause between attempts (none by default).
    pub pause: Duration,
}

impl Default for RetryPlan {
    fn default() -> Self {
        Self {
            answer_timeout: Duration::from_secs(5),
            retries: 3,
            pause: Duration::ZERO,
        }
    }
}

impl RetryPlan {
    /// Sets [`RetryPlan::answer_timeout`].
    pub fn answer_timeout(mut self, d: Duration) -> Self {
        self.answer_timeout = d;
        self
    }

    /// Sets [`RetryPlan::retries`].
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
}

/// What became of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Attempts made.
    pub attempts: u32,
    /// The acknowledging answer (status and body), or `None` when every attempt failed (WeChat
    /// gives the push up).
    pub acknowledged: Option<(u16, String)>,
    /// Status of each failed attempt (`None`: no answer in time or no connection).
    pub failures: Vec<Option<u16>>,
}

impl Delivery {
    /// `true` when the receiver acknowledged the push.
    pub fn acknowledged(&self) -> bool {
        self.acknowledged.is_some()
    }
}

/// `true` for what WeChat takes as an answer: HTTP 200 with `success`, an empty body, or a
/// passive reply (an XML envelope).
pub fn is_acknowledgement(status: u16, body: &str) -> bool {
    let b = body.trim();
    status == 200 && (b.is_empty() || b == "success" || b.starts_with("<xml>"))
}

/// Sends `push` to `receiver_url` with `http`, retrying as `plan` says (see the module docs).
pub async fn deliver_like_wechat(
    http: &reqwest::Client,
    push: &Push,
    receiver_url: &str,
    plan: RetryPlan,
) -> Delivery {
    let url = push.url(receiver_url);
    let mut failures = Vec::new();
    for attempt in 1..=plan.retries.saturating_add(1) {
        let sent = http
            .post(&url)
            .header("content-type", "text/xml")
            .body(push.body.clone())
            .timeout(plan.answer_timeout)
            .send()
            .await;
        let answer = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                match tokio::time::timeout(plan.answer_timeout, r.text()).await {
                    Ok(Ok(body)) => Some((status, body)),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        match answer {
            Some((status, body)) if is_acknowledgement(status, &body) => {
                return Delivery {
                    attempts: attempt,
                    acknowledged: Some((status, body)),
                    failures,
                }
            }
            Some((status, _)) => failures.push(Some(status)),
            None => failures.push(None),
        }
        if !plan.pause.is_zero() {
            tokio::time::sleep(plan.pause).await;
        }
    }
    Delivery {
        attempts: plan.retries.saturating_add(1),
        acknowledged: None,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_wechat_takes_as_an_answer() {
        let table = [
            (200, "success", true),
            (200, "", true),
            (200, "  success\n", true),
            (200, "<xml><Encrypt>x</Encrypt></xml>", true),
            (200, "fail", false),
            (500, "success", false),
            (503, "", false),
            (204, "", false),
        ];
        for (status, body, want) in table {
            assert_eq!(is_acknowledgement(status, body), want, "{status} {body:?}");
        }
    }
}
