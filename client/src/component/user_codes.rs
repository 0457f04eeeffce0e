//! One exchange per user code (a web-authorization `code`, a mini program's `js_code`), across
//! every caller and every instance sharing the store: the first caller claims the code in the
//! store (the record and the pure step of [`crate::code_exchange`]) and calls WeChat in a
//! spawned task; every other caller gets that call's outcome. The outcome is kept in process
//! and in the store for the code's lifetime, so a caller that goes away loses nothing.

use std::time::Duration;

use super::client::ComponentClient;
use crate::code_exchange::{step, ExchangeOutcome, ExchangeRecord, ExchangeStep};
use crate::error::{Error, Result};
use crate::secret::{JsCode, OAuthCode};
use crate::store::{CasOutcome, StoreKey, StoredValue, Versioned};
use crate::user_oauth::{CodeRefusal, JsSession, UserToken};

/// How often a waiting instance reads the store for another instance's outcome.
const POLL: Duration = Duration::from_millis(250);

/// Which exchange a user code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OAuth,
    JsCode,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::OAuth => "oauth",
            Kind::JsCode => "jscode",
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Kind::OAuth => crate::user_oauth::OAUTH_EXCHANGE_PATH,
            Kind::JsCode => crate::user_oauth::JSCODE2SESSION_PATH,
        }
    }
}

/// `true` when `e` is WeChat's refusal of the code itself (see
/// [`CodeRefusal::settles_the_code`]): kept and shared like a success.
fn settles(e: &Error) -> bool {
    e.code()
        .and_then(CodeRefusal::from_errcode)
        .is_some_and(CodeRefusal::settles_the_code)
}

/// WeChat's errmsg of an API error.
fn errmsg(e: &Error) -> String {
    match e {
        Error::WechatApi { errmsg, .. }
        | Error::Config { errmsg, .. }
        | Error::Quota { errmsg, .. } => errmsg.clone(),
        _ => String::new(),
    }
}

impl ComponentClient {
    /// Exchanges a user's web-authorization `code` (from the redirect of
    /// [`oauth_url`](Self::oauth_url)) for the user's token, with the **component** access
    /// token (`/sns/oauth2/component/access_token`; the account's own token is answered
    /// 40001). A code is accepted once, so every caller with the same code — concurrently or
    /// later, in this process or another sharing the store — gets the outcome of one call to
    /// WeChat: the token, or the same typed refusal ([`CodeRefusal`]: 40029 invalid, 40163
    /// used, 41008 missing). The call runs in its own task and its outcome is kept (in
    /// process and in the store) for
    /// [`EXCHANGE_KEEP_SECS`](crate::code_exchange::EXCHANGE_KEEP_SECS), longer than the
    /// code's 5 minutes, so a caller that goes away loses nothing. A failure that does not settle the code (a transport error, 45011)
    /// is not kept: the next caller tries again.
    pub async fn exchange_oauth_code(
        &self,
        authorizer_appid: &str,
        code: &OAuthCode,
    ) -> Result<UserToken> {
        match self
            .exchange_user_code(Kind::OAuth, authorizer_appid, code.expose_secret())
            .await?
        {
            ExchangeOutcome::UserToken(t) => Ok(t),
            _ => Err(mixed(Kind::OAuth)),
        }
    }

    /// Logs a mini-program user in on behalf of `authorizer_appid` (`jscode2session` with the
    /// component token): `openid`, `session_key` (a [`SessionKey`](crate::secret::SessionKey),
    /// never in `Debug` or logs), `unionid`. One call per `js_code`, shared by every caller, as
    /// for [`exchange_oauth_code`](Self::exchange_oauth_code); refusals are typed
    /// ([`CodeRefusal`]: 40029 invalid code, 40226 high-risk user; 45011 is not kept).
    pub async fn jscode2session(
        &self,
        authorizer_appid: &str,
        js_code: &JsCode,
    ) -> Result<JsSession> {
        match self
            .exchange_user_code(Kind::JsCode, authorizer_appid, js_code.expose_secret())
            .await?
        {
            ExchangeOutcome::Session(s) => Ok(s),
            _ => Err(mixed(Kind::JsCode)),
        }
    }

    async fn exchange_user_code(
        &self,
        kind: Kind,
        authorizer_appid: &str,
        code: &str,
    ) -> Result<ExchangeOutcome> {
        crate::appid::check_appid(authorizer_appid)?;
        if !crate::user_oauth::valid_user_code(code) {
            return Err(Error::invalid(
                "code",
                "must be 1 to 512 printable ASCII characters",
            ));
        }
        let key = StoreKey::user_code_exchange(
            self.component_appid(),
            kind.name(),
            authorizer_appid,
            code,
        );
        let id = key.name();
        let cell = self.inner.user_codes.cell(&id, self.now());
        let this = self.clone();
        let (authorizer, code) = (authorizer_appid.to_owned(), code.to_owned());
        // The task owns the exchange: the caller going away cancels nothing, and the task
        // itself forgets an outcome that does not settle the code.
        let task = tokio::spawn(async move {
            let result = cell
                .get_or_init(|| this.user_code_claimed(kind, key, &authorizer, &code))
                .await
                .clone();
            if let Err(e) = &result {
                if !settles(e) {
                    this.inner.user_codes.forget(&id, &cell);
                }
            }
            result
        });
        task.await.unwrap_or(Err(Error::RefreshAborted {
            token: kind.endpoint(),
        }))
    }

    async fn user_code_claimed(
        &self,
        kind: Kind,
        key: StoreKey,
        authorizer_appid: &str,
        code: &str,
    ) -> Result<ExchangeOutcome> {
        let cfg = &self.inner.config;
        let claim_ttl = cfg.lease_ttl.as_secs().max(1);
        let deadline = self.now().saturating_add(cfg.token_wait.as_secs());
        loop {
            let now = self.now();
            let current = self.inner.store.get(&key).await?;
            let record = match &current {
                None => None,
                Some(Versioned {
                    value: StoredValue::CodeExchange(r),
                    ..
                }) => Some(r),
                Some(_) => {
                    return Err(Error::Store(crate::store::StoreError::corrupt(format!(
                        "{key}: not a code-exchange record"
                    ))))
                }
            };
            match step(record, now, claim_ttl) {
                ExchangeStep::Done(ExchangeOutcome::Refused { errcode, errmsg }) => {
                    return Err(Error::from_api(kind.endpoint(), errcode, errmsg))
                }
                ExchangeStep::Done(outcome) => return Ok(outcome),
                ExchangeStep::Wait if now >= deadline => {
                    return Err(Error::WaitTimeout {
                        token: kind.endpoint(),
                        waited: cfg.token_wait,
                    })
                }
                ExchangeStep::Wait => self.inner.clock.sleep(POLL).await,
                ExchangeStep::Claim => {
                    let claim = StoredValue::CodeExchange(ExchangeRecord {
                        started_at: now,
                        outcome: None,
                    });
                    let expected = current.as_ref().map(|v| v.version);
                    if let CasOutcome::Applied { version } = self
                        .inner
                        .store
                        .compare_and_set(&key, expected, claim, None)
                        .await?
                    {
                        return self
                            .user_code_as_holder(kind, &key, version, authorizer_appid, code, now)
                            .await;
                    }
                }
            }
        }
    }

    /// Calls WeChat for the code this instance claimed (the record at `version`) and settles
    /// the record, or releases it when the outcome does not settle the code.
    async fn user_code_as_holder(
        &self,
        kind: Kind,
        key: &StoreKey,
        version: u64,
        authorizer_appid: &str,
        code: &str,
        started_at: u64,
    ) -> Result<ExchangeOutcome> {
        let result = match kind {
            Kind::OAuth => self
                .oauth_exchange_once(authorizer_appid, &OAuthCode::new(code))
                .await
                .map(ExchangeOutcome::UserToken),
            Kind::JsCode => self
                .jscode2session_once(authorizer_appid, &JsCode::new(code))
                .await
                .map(ExchangeOutcome::Session),
        };
        let outcome = match &result {
            Ok(outcome) => outcome.clone(),
            Err(e) if settles(e) => ExchangeOutcome::Refused {
                errcode: e.code().unwrap_or_default(),
                errmsg: errmsg(e),
            },
            Err(_) => {
                if let Err(e) = self.inner.store.compare_and_delete(key, version).await {
                    tracing::warn!(error = %e, exchange = kind.name(), "could not release a user-code claim; it lapses by itself");
                }
                return result;
            }
        };
        let settled = StoredValue::CodeExchange(ExchangeRecord {
            started_at,
            outcome: Some(outcome),
        });
        match self
            .inner
            .store
            .compare_and_set(key, Some(version), settled, None)
            .await
        {
            Ok(CasOutcome::Applied { .. }) => {}
            Ok(_) => tracing::warn!(
                exchange = kind.name(),
                "a user-code claim changed hands during the exchange"
            ),
            Err(e) => {
                tracing::warn!(error = %e, exchange = kind.name(), "could not store the outcome of a user-code exchange; this process keeps it")
            }
        }
        result
    }
}

/// A stored outcome of the other kind of exchange under this code's key (cannot happen: the
/// key names the kind).
fn mixed(kind: Kind) -> Error {
    Error::Decode {
        endpoint: kind.endpoint(),
        message: "the stored outcome is of another exchange".into(),
    }
}
