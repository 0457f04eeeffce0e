//! Privacy settings on behalf of an account: `setprivacysetting` sent with non-ASCII as `\u`
//! escapes, `getprivacysetting`. (`uploadprivacyextfile` is multipart and not provided yet.)

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    to_ascii_json, GetPrivacySettingRequest, PrivacySetting, SetPrivacySettingRequest, WxaApi,
};

use super::client::ComponentClient;
use crate::error::Result;

impl ComponentClient {
    /// `setprivacysetting`: the account's privacy guide; the body is written with every
    /// non-ASCII character as a `\u` escape ([`to_ascii_json`]), as the doc asks.
    pub async fn set_privacy_setting(
        &self,
        authorizer_appid: &str,
        setting: &SetPrivacySettingRequest,
    ) -> Result<()> {
        let body = to_ascii_json(setting)?;
        let _: Ack = self
            .wxa_send(
                Some(authorizer_appid),
                WxaApi::SetPrivacySetting,
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// `getprivacysetting` (`privacy_ver` 1 live, 2 under development).
    pub async fn privacy_setting(
        &self,
        authorizer_appid: &str,
        privacy_ver: Option<u8>,
    ) -> Result<PrivacySetting> {
        self.wxa_authorizer(
            authorizer_appid,
            WxaApi::GetPrivacySetting,
            Some(&GetPrivacySettingRequest { privacy_ver }),
        )
        .await
    }
}
