//! Releasing reviewed code on behalf of an account (permission set 18): release (body `{}`),
//! rollback, gray release.

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{EmptyBody, GrayReleasePlan, GrayReleaseRequest, WxaApi};

use super::client::ComponentClient;
use super::wxa_send::NO_BODY;
use crate::error::Result;

impl ComponentClient {
    /// `release`: releases the approved version, with the body `{}` WeChat needs (none is
    /// 44002). Not idempotent. 85019 nothing approved, 85020 status does not allow, 85052
    /// already released.
    pub async fn release_code(&self, authorizer_appid: &str) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::Release, Some(&EmptyBody {}))
            .await?;
        Ok(())
    }

    /// `revertcoderelease`: back to the previous released version.
    pub async fn revert_code_release(&self, authorizer_appid: &str) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::RevertCodeRelease, NO_BODY)
            .await?;
        Ok(())
    }

    /// `grayrelease`: releases the approved version to `percentage` % (1–100) of users.
    pub async fn gray_release(&self, authorizer_appid: &str, percentage: u8) -> Result<()> {
        let body = GrayReleaseRequest::new(percentage)?;
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::GrayRelease, Some(&body))
            .await?;
        Ok(())
    }

    /// `revertgrayrelease`: cancels the gray release.
    pub async fn revert_gray_release(&self, authorizer_appid: &str) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::RevertGrayRelease, NO_BODY)
            .await?;
        Ok(())
    }

    /// `getgrayreleaseplan`: the current gray release.
    pub async fn gray_release_plan(&self, authorizer_appid: &str) -> Result<GrayReleasePlan> {
        self.wxa_authorizer(authorizer_appid, WxaApi::GetGrayReleasePlan, NO_BODY)
            .await
    }
}
