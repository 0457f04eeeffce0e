//! The table of mini-program calls ([`WxaApi`]): path, method, which token, whether repeating
//! is harmless — one place for the client and the fake.

use crate::api::TokenParam;
use crate::api_call::{ApiCall, Method};

/// Whose token a mini-program call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WxaToken {
    /// The authorized mini program's `authorizer_access_token` (as `access_token=`).
    Authorizer,
    /// The platform's `component_access_token` (as `access_token=`, the name the template and
    /// platform-domain pages use).
    Component,
}

macro_rules! wxa_calls {
    ($( $(#[$doc:meta])* $name:ident = ($method:ident, $path:literal, $token:ident, $idem:literal); )*) => {
        /// A mini-program code-management call (api-contracts §20–§21).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum WxaApi {
            $( $(#[$doc])* $name, )*
        }

        impl WxaApi {
            /// Every call.
            pub const ALL: &'static [WxaApi] = &[$(WxaApi::$name),*];

            /// The path, e.g. `/wxa/commit`.
            pub fn path(self) -> &'static str {
                match self { $(WxaApi::$name => $path,)* }
            }

            /// GET or POST.
            pub fn method(self) -> Method {
                match self { $(WxaApi::$name => Method::$method,)* }
            }

            /// Whose token it takes.
            pub fn token(self) -> WxaToken {
                match self { $(WxaApi::$name => WxaToken::$token,)* }
            }

            /// Whether repeating it after a lost answer is harmless (reads, and writes of a
            /// whole value). `submit_audit`, `release`, undo, speed-up and rollbacks are not.
            pub fn is_idempotent(self) -> bool {
                match self { $(WxaApi::$name => $idem,)* }
            }
        }
    };
}

wxa_calls! {
    /// `POST /wxa/commit`: upload a template's code with `ext_json` (also sets the
    /// experience version). Repeatable (it restarts the privacy detection).
    Commit = (Post, "/wxa/commit", Authorizer, true);
    /// `GET /wxa/get_page`: the committed code's pages.
    GetPage = (Get, "/wxa/get_page", Authorizer, true);
    /// `GET /wxa/get_category`: the categories a review may name.
    GetCategory = (Get, "/wxa/get_category", Authorizer, true);
    /// `GET /wxa/security/get_code_privacy_info`: the privacy detection's result (61039
    /// while it runs).
    GetCodePrivacyInfo = (Get, "/wxa/security/get_code_privacy_info", Authorizer, true);
    /// `POST /wxa/submit_audit`: submit the committed code for review (spends quota).
    SubmitAudit = (Post, "/wxa/submit_audit", Authorizer, false);
    /// `POST /wxa/get_auditstatus {auditid}`.
    GetAuditStatus = (Post, "/wxa/get_auditstatus", Authorizer, true);
    /// `GET /wxa/get_latest_auditstatus`.
    GetLatestAuditStatus = (Get, "/wxa/get_latest_auditstatus", Authorizer, true);
    /// `GET /wxa/undocodeaudit`: withdraw the running review (5 a day, 10 a month: 87013;
    /// confirmed on the official page).
    UndoCodeAudit = (Get, "/wxa/undocodeaudit", Authorizer, false);
    /// `POST /wxa/speedupaudit {auditid}`: expedite (spends the speed-up quota).
    SpeedupAudit = (Post, "/wxa/speedupaudit", Authorizer, false);
    /// `POST /wxa/release` with a body of `{}`.
    Release = (Post, "/wxa/release", Authorizer, false);
    /// `GET /wxa/revertcoderelease`: back to the previous released version.
    RevertCodeRelease = (Get, "/wxa/revertcoderelease", Authorizer, false);
    /// `POST /wxa/grayrelease {gray_percentage}`.
    GrayRelease = (Post, "/wxa/grayrelease", Authorizer, false);
    /// `GET /wxa/revertgrayrelease`.
    RevertGrayRelease = (Get, "/wxa/revertgrayrelease", Authorizer, false);
    /// `GET /wxa/getgrayreleaseplan`.
    GetGrayReleasePlan = (Get, "/wxa/getgrayreleaseplan", Authorizer, true);
    /// `POST /wxa/getversioninfo` (body `{}`): experience and released versions.
    GetVersionInfo = (Post, "/wxa/getversioninfo", Authorizer, true);
    /// `POST /wxa/change_visitstatus {action: open|close}`.
    ChangeVisitStatus = (Post, "/wxa/change_visitstatus", Authorizer, true);
    /// `GET /wxa/queryquota`: the platform's monthly review quota (shared by all accounts).
    QueryQuota = (Get, "/wxa/queryquota", Authorizer, true);
    /// `GET /wxa/get_qrcode`: the experience version's QR code (an image; typed request only).
    GetQrcode = (Get, "/wxa/get_qrcode", Authorizer, true);
    /// `GET /wxa/gettemplatedraftlist` (component token).
    GetTemplateDraftList = (Get, "/wxa/gettemplatedraftlist", Component, true);
    /// `POST /wxa/addtotemplate {draft_id, template_type}` (component token).
    AddToTemplate = (Post, "/wxa/addtotemplate", Component, false);
    /// `GET /wxa/gettemplatelist` (component token).
    GetTemplateList = (Get, "/wxa/gettemplatelist", Component, true);
    /// `POST /wxa/deletetemplate {template_id}` (component token).
    DeleteTemplate = (Post, "/wxa/deletetemplate", Component, true);
    /// `POST /wxa/modify_domain`: the account's server domains (from the platform's list).
    ModifyDomain = (Post, "/wxa/modify_domain", Authorizer, false);
    /// `POST /wxa/modify_domain_directly`: server domains without the platform's list.
    ModifyDomainDirectly = (Post, "/wxa/modify_domain_directly", Authorizer, false);
    /// `POST /wxa/get_effective_domain`: the domains in effect.
    GetEffectiveDomain = (Post, "/wxa/get_effective_domain", Authorizer, true);
    /// `POST /wxa/setwebviewdomain`: web-view (business) domains.
    SetWebviewDomain = (Post, "/wxa/setwebviewdomain", Authorizer, false);
    /// `POST /cgi-bin/component/modify_wxa_server_domain` (component token): the platform's
    /// server-domain list.
    ModifyWxaServerDomain = (Post, "/cgi-bin/component/modify_wxa_server_domain", Component, false);
    /// `POST /cgi-bin/component/modify_wxa_jump_domain` (component token): the platform's
    /// web-view domain list.
    ModifyWxaJumpDomain = (Post, "/cgi-bin/component/modify_wxa_jump_domain", Component, false);
    /// `POST /cgi-bin/component/get_domain_confirmfile` (component token): the file to serve
    /// at a web-view domain's root.
    GetDomainConfirmFile = (Post, "/cgi-bin/component/get_domain_confirmfile", Component, true);
    /// `POST /cgi-bin/component/setprivacysetting`.
    SetPrivacySetting = (Post, "/cgi-bin/component/setprivacysetting", Authorizer, true);
    /// `POST /cgi-bin/component/getprivacysetting {privacy_ver}`.
    GetPrivacySetting = (Post, "/cgi-bin/component/getprivacysetting", Authorizer, true);
    /// `POST /wxa/bind_tester {wechatid}`.
    BindTester = (Post, "/wxa/bind_tester", Authorizer, false);
    /// `POST /wxa/unbind_tester {wechatid | userstr}`.
    UnbindTester = (Post, "/wxa/unbind_tester", Authorizer, false);
    /// `POST /wxa/memberauth {action: "get_experiencer"}`.
    MemberAuth = (Post, "/wxa/memberauth", Authorizer, true);
}

impl WxaApi {
    /// The call at `path`, if it is one of these.
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.path() == path)
    }

    /// The generic [`ApiCall`] the client sends (`access_token=` for both tokens).
    pub fn api_call(self) -> ApiCall {
        // The paths above are fixed, valid literals (checked by `every_path_is_a_valid_call`).
        let call = ApiCall::new(self.method(), self.path())
            .unwrap_or_else(|_| unreachable!("a fixed mini-program path is a valid API path"));
        call.idempotent(self.is_idempotent())
            .token(TokenParam::AccessToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_a_valid_call() {
        for &c in WxaApi::ALL {
            assert!(ApiCall::new(c.method(), c.path()).is_ok(), "{c:?}");
            assert_eq!(WxaApi::from_path(c.path()), Some(c));
            let call = c.api_call();
            assert_eq!(call.path(), c.path());
            assert_eq!(call.is_idempotent(), c.is_idempotent());
            // Every authorizer call names its permission set (for 61007).
            assert_eq!(
                super::super::permission::permission_set_of(c.path()).is_some(),
                c.token() == WxaToken::Authorizer,
                "{c:?}"
            );
        }
        assert_eq!(WxaApi::from_path("/wxa/nope"), None);
    }

    #[test]
    fn single_use_steps_are_not_repeated() {
        for c in [
            WxaApi::SubmitAudit,
            WxaApi::Release,
            WxaApi::UndoCodeAudit,
            WxaApi::RevertCodeRelease,
        ] {
            assert!(!c.is_idempotent(), "{c:?}");
        }
        assert!(WxaApi::Commit.is_idempotent());
        assert_eq!(WxaApi::Release.method(), Method::Post);
        assert_eq!(WxaApi::QueryQuota.method(), Method::Get);
        assert_eq!(WxaApi::GetTemplateList.token(), WxaToken::Component);
    }
}
