//! Mini-program code on behalf of an account (permission set 18): commit, its pages and
//! categories, the privacy detection, version info and visit status.

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    CategoryList, CodePrivacyInfo, CommitRequest, EmptyBody, ExtJson, PageList, VersionInfo,
    VisitStatus, VisitStatusRequest, WxaApi,
};

use super::client::ComponentClient;
use super::wxa_send::NO_BODY;
use crate::error::Result;

impl ComponentClient {
    /// `commit`: uploads template `template_id` to the account with `ext` serialised into the
    /// JSON string WeChat wants (see [`CommitRequest::new`]); also sets the experience version.
    /// Repeatable; it restarts WeChat's privacy detection (submit after
    /// [`code_privacy_info`](Self::code_privacy_info) stops answering 61039).
    pub async fn commit_code(
        &self,
        authorizer_appid: &str,
        template_id: u64,
        ext: &ExtJson,
        user_version: &str,
        user_desc: &str,
    ) -> Result<()> {
        let body = CommitRequest::new(template_id, ext, user_version, user_desc)?;
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::Commit, Some(&body))
            .await?;
        Ok(())
    }

    /// `get_page`: the committed code's pages.
    pub async fn code_pages(&self, authorizer_appid: &str) -> Result<PageList> {
        self.wxa_authorizer(authorizer_appid, WxaApi::GetPage, NO_BODY)
            .await
    }

    /// `get_category`: the categories a review may name.
    pub async fn code_categories(&self, authorizer_appid: &str) -> Result<CategoryList> {
        self.wxa_authorizer(authorizer_appid, WxaApi::GetCategory, NO_BODY)
            .await
    }

    /// `get_code_privacy_info`: the privacy detection's result; 61039
    /// ([`Error::retry_after`](crate::Error::retry_after) about 60 s) while it runs.
    pub async fn code_privacy_info(&self, authorizer_appid: &str) -> Result<CodePrivacyInfo> {
        self.wxa_authorizer(authorizer_appid, WxaApi::GetCodePrivacyInfo, NO_BODY)
            .await
    }

    /// `getversioninfo` (body `{}`): the experience and released versions.
    pub async fn version_info(&self, authorizer_appid: &str) -> Result<VersionInfo> {
        self.wxa_authorizer(
            authorizer_appid,
            WxaApi::GetVersionInfo,
            Some(&EmptyBody {}),
        )
        .await
    }

    /// `change_visitstatus`: opens or closes the mini program to users.
    pub async fn change_visit_status(
        &self,
        authorizer_appid: &str,
        action: VisitStatus,
    ) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(
                authorizer_appid,
                WxaApi::ChangeVisitStatus,
                Some(&VisitStatusRequest { action }),
            )
            .await?;
        Ok(())
    }
}
