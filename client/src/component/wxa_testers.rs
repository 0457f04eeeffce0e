//! Experience testers on behalf of an account: bind, unbind, list.

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    BindTesterRequest, BindTesterResponse, MemberAuthRequest, MemberList, UnbindTesterRequest,
    WxaApi,
};

use super::client::ComponentClient;
use crate::error::Result;

impl ComponentClient {
    /// `bind_tester`: makes WeChat user `wechatid` a tester; returns its `userstr`.
    pub async fn bind_tester(&self, authorizer_appid: &str, wechatid: &str) -> Result<String> {
        let r: BindTesterResponse = self
            .wxa_authorizer(
                authorizer_appid,
                WxaApi::BindTester,
                Some(&BindTesterRequest {
                    wechatid: wechatid.to_owned(),
                }),
            )
            .await?;
        Ok(r.userstr)
    }

    /// `unbind_tester`: by WeChat id or `userstr`.
    pub async fn unbind_tester(
        &self,
        authorizer_appid: &str,
        who: &UnbindTesterRequest,
    ) -> Result<()> {
        let _: Ack = self
            .wxa_authorizer(authorizer_appid, WxaApi::UnbindTester, Some(who))
            .await?;
        Ok(())
    }

    /// `memberauth`: the testers.
    pub async fn testers(&self, authorizer_appid: &str) -> Result<MemberList> {
        self.wxa_authorizer(
            authorizer_appid,
            WxaApi::MemberAuth,
            Some(&MemberAuthRequest::default()),
        )
        .await
    }
}
