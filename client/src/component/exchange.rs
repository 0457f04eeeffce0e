//! One `api_query_auth` per authorization code, across instances: the push and the browser
//! redirect that carry the same code share one exchange and its result (see
//! [`crate::code_exchange`] for the record and the pure step).

use std::time::Duration;

use super::client::ComponentClient;
use crate::api::{AuthorizationInfo, FuncInfo, FuncScopeCategory};
use crate::code_exchange::{settles_the_code, step, ExchangeOutcome, ExchangeRecord, ExchangeStep};
use crate::error::{Error, Result};
use crate::secret::AuthorizationCode;
use crate::store::{CasOutcome, StoreKey, StoredValue, Versioned};

/// How often a waiting instance reads the store for another instance's outcome.
const POLL: Duration = Duration::from_millis(250);
/// Tries to store a grant whose store write failed (`NotStored`), doubling from 1 s.
const STORE_TRIES: u32 = 5;

impl ComponentClient {
    /// Exchanges an authorization code once across every instance sharing the store, and
    /// stores the account's tokens: the `authorized` push and the admin's redirect carry the
    /// same code, and WeChat accepts it once (a second `api_query_auth` answers 61009). The
    /// first caller claims the code in the store and calls [`query_auth`](Self::query_auth);
    /// every other caller — in this process or another — gets the same result. The exchange
    /// runs in its own task, so a caller that goes away cancels nothing. A grant whose store
    /// write failed is written again (up to five tries, 31 s) before it is reported as
    /// [`Error::NotStored`]. Only a grant or WeChat's refusal of the code itself (61009,
    /// 61010) settles a code; after any other failure the next caller tries again.
    pub async fn exchange_authorization_code(
        &self,
        code: &AuthorizationCode,
    ) -> Result<AuthorizationInfo> {
        if code.is_empty() {
            return Err(Error::invalid("authorization_code", "empty"));
        }
        let key = StoreKey::code_exchange(self.component_appid(), code);
        let id = key.name();
        let cell = self.inner.exchanges.cell(&id, self.now());
        let (this, task_cell, code) = (self.clone(), cell.clone(), code.clone());
        let task = tokio::spawn(async move {
            task_cell
                .get_or_init(|| this.exchange_claimed(key, code))
                .await
                .clone()
        });
        let result = task.await.unwrap_or(Err(Error::RefreshAborted {
            token: "authorization_code",
        }));
        if let Err(e) = &result {
            if !e.code().is_some_and(settles_the_code) {
                self.inner.exchanges.forget(&id, &cell);
            }
        }
        result
    }

    async fn exchange_claimed(
        &self,
        key: StoreKey,
        code: AuthorizationCode,
    ) -> Result<AuthorizationInfo> {
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
                ExchangeStep::Done(outcome) => return self.settled(outcome).await,
                ExchangeStep::Wait if now >= deadline => {
                    return Err(Error::WaitTimeout {
                        token: "authorization_code",
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
                        return self.exchange_as_holder(&key, version, &code, now).await;
                    }
                }
            }
        }
    }

    /// Runs the exchange this instance claimed (the record at `version`) and settles it.
    async fn exchange_as_holder(
        &self,
        key: &StoreKey,
        version: u64,
        code: &AuthorizationCode,
        started_at: u64,
    ) -> Result<AuthorizationInfo> {
        let result = match self.query_auth(code).await {
            Err(Error::NotStored { info, source }) => self.store_again(*info, source).await,
            other => other,
        };
        let outcome = match &result {
            Ok(info) => ExchangeOutcome::Granted {
                authorizer_appid: info.authorizer_appid.clone(),
                func_info: info
                    .func_info
                    .iter()
                    .map(|f| f.funcscope_category.id)
                    .collect(),
            },
            Err(e) => match (e.code(), e) {
                (
                    Some(errcode),
                    Error::WechatApi { errmsg, .. }
                    | Error::Config { errmsg, .. }
                    | Error::Quota { errmsg, .. },
                ) if settles_the_code(errcode) => ExchangeOutcome::Refused {
                    errcode,
                    errmsg: errmsg.clone(),
                },
                _ => {
                    // Not settled: release the claim so the next caller tries again.
                    if let Err(e) = self.inner.store.compare_and_delete(key, version).await {
                        tracing::warn!(error = %e, "could not release an authorization-code claim; it lapses by itself");
                    }
                    return result;
                }
            },
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
            Ok(_) => {
                tracing::warn!("an authorization-code claim changed hands during the exchange")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not store the outcome of an authorization-code exchange")
            }
        }
        result
    }

    /// Writes a grant whose first store write failed, a few times, before giving up.
    async fn store_again(
        &self,
        info: AuthorizationInfo,
        mut source: crate::store::StoreError,
    ) -> Result<AuthorizationInfo> {
        let mut delay = Duration::from_secs(1);
        for _ in 0..STORE_TRIES {
            self.inner.clock.sleep(delay).await;
            match self.store_authorization(&info).await {
                Ok(()) => return Ok(info),
                Err(Error::Store(e)) => source = e,
                Err(e) => return Err(e),
            }
            delay *= 2;
        }
        Err(Error::NotStored {
            info: Box::new(info),
            source,
        })
    }

    /// The result another instance (or an earlier call) settled the code with.
    async fn settled(&self, outcome: ExchangeOutcome) -> Result<AuthorizationInfo> {
        match outcome {
            ExchangeOutcome::Granted {
                authorizer_appid,
                func_info,
            } => {
                let now = self.now();
                let record = self.authorizer_record(&authorizer_appid).await?;
                let record = record.unwrap_or_default();
                Ok(AuthorizationInfo {
                    authorizer_appid,
                    authorizer_access_token: record.access_token,
                    expires_in: (record.expires_at > now).then(|| record.expires_at - now),
                    authorizer_refresh_token: record.refresh_token,
                    func_info: func_info
                        .into_iter()
                        .map(|id| FuncInfo {
                            funcscope_category: FuncScopeCategory { id },
                            confirm_info: None,
                        })
                        .collect(),
                })
            }
            ExchangeOutcome::Refused { errcode, errmsg } => {
                Err(Error::from_api("api_query_auth", errcode, errmsg))
            }
            _ => Err(Error::Decode {
                endpoint: "api_query_auth",
                message: "an exchange outcome of a newer wxopen".into(),
            }),
        }
    }
}
