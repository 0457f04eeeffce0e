//! Review on behalf of an account (permission set 18): submit, status, undo, speed-up and the
//! platform's monthly quota.

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    AuditIdRequest, AuditQuota, AuditStatus, SubmitAuditRequest, SubmitAuditResponse, WxaApi,
};

use super::client::ComponentClient;
use super::wxa_send::NO_BODY;
use crate::error::Result;

impl ComponentClient {
    /// `submit_audit`: submits the committed code for review and returns the `auditid`.
    /// The request is validated first ([`SubmitAuditRequest::validate`]: 1–5 items, …). Not
    /// idempotent: sent once, never retried after it may have reached WeChat. 85009 a review
    /// is running, 85085 the platform's monthly quota is spent ([`Error::is_quota`]), 61039 the
    /// privacy detection is still running.
    ///
    /// [`Error::is_quota`]: crate::Error::is_quota
    pub async fn submit_audit(
        &self,
        authorizer_appid: &str,
        request: &SubmitAuditRequest,
    ) -> Result<u64> {
        request.validate()?;
        let r: SubmitAuditResponse = self
            .wxa_authorizer(authorizer_appid, WxaApi::SubmitAudit, Some(request))
            .await?;
        Ok(r.auditid)
    }

    /// `get_auditstatus`: the status of review `auditid`.
    pub async fn audit_status(&self, authorizer_appid: &str, auditid: u64) -> Result<AuditStatus> {
        self.wxa_authorizer(
            authorizer_appid,
            WxaApi::GetAuditStatus,
            Some(&AuditIdRequest { auditid }),
        )
        .await
    }

    /// `get_latest_auditstatus`: the account's latest review (85058 if none).
    pub async fn latest_audit_status(&self, authorizer_appid: &str) -> Result<AuditStatus> {
        self.wxa_authorizer(authorizer_appid, WxaApi::GetLatestAuditStatus, NO_BODY)
            .await
    }

    /// `undocodeaudit`: withdraws the running review (a few per day and month; 87012 if it
    /// was already rejected).
    pub async fn undo_code_audit(&self, authorizer_appid: &str) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::UndoCodeAudit, NO_BODY)
            .await?;
        Ok(())
    }

    /// `speedupaudit`: expedites review `auditid` (spends the platform's speed-up quota).
    pub async fn speedup_audit(&self, authorizer_appid: &str, auditid: u64) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(
                authorizer_appid,
                WxaApi::SpeedupAudit,
                Some(&AuditIdRequest { auditid }),
            )
            .await?;
        Ok(())
    }

    /// `queryquota`: the platform's review quota this month, shared by all its mini programs
    /// (called with any authorized account's token).
    pub async fn audit_quota(&self, authorizer_appid: &str) -> Result<AuditQuota> {
        self.wxa_authorizer(authorizer_appid, WxaApi::QueryQuota, NO_BODY)
            .await
    }
}
