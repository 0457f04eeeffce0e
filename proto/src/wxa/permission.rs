//! Which permission set (权限集) each mini-program code-management path belongs to, so a 61007
//! or 48001 answer can name the set the account did not grant.

/// 小程序开发与数据分析 / mini-program development: code, review, release, domains, privacy
/// settings and testers. The official pages (developers.weixin.qq.com, read through the search
/// tool) of `submit_audit`, `release`, `get_code_privacy_info`, `queryquota`,
/// `undocodeaudit`, `bind_tester` and `unbind_tester` state "该接口所属的权限集 id 为:18"; the
/// other paths are listed from api-contracts §20–§21.
pub const MINI_PROGRAM_DEVELOPMENT: u32 = 18;

/// The permission set an API path (e.g. `/wxa/commit`) belongs to, when it is one of the
/// mini-program calls of [`crate::wxa`] that take the authorizer's token. `None` for other
/// paths and for the platform's own calls (templates, platform domain lists), which need no
/// grant by an account.
pub fn permission_set_of(path: &str) -> Option<u32> {
    const SET_18: &[&str] = &[
        "/wxa/commit",
        "/wxa/get_page",
        "/wxa/get_category",
        "/wxa/security/get_code_privacy_info",
        "/wxa/submit_audit",
        "/wxa/get_auditstatus",
        "/wxa/get_latest_auditstatus",
        "/wxa/undocodeaudit",
        "/wxa/speedupaudit",
        "/wxa/release",
        "/wxa/revertcoderelease",
        "/wxa/grayrelease",
        "/wxa/revertgrayrelease",
        "/wxa/getgrayreleaseplan",
        "/wxa/getversioninfo",
        "/wxa/change_visitstatus",
        "/wxa/queryquota",
        "/wxa/get_qrcode",
        "/wxa/modify_domain",
        "/wxa/modify_domain_directly",
        "/wxa/get_effective_domain",
        "/wxa/setwebviewdomain",
        "/cgi-bin/component/setprivacysetting",
        "/cgi-bin/component/getprivacysetting",
        "/wxa/bind_tester",
        "/wxa/unbind_tester",
        "/wxa/memberauth",
    ];
    SET_18.contains(&path).then_some(MINI_PROGRAM_DEVELOPMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_management_paths_belong_to_set_18() {
        for p in [
            "/wxa/commit",
            "/wxa/submit_audit",
            "/wxa/release",
            "/wxa/queryquota",
        ] {
            assert_eq!(permission_set_of(p), Some(18), "{p}");
        }
        for p in [
            "/wxa/gettemplatelist",
            "/cgi-bin/component/modify_wxa_server_domain",
            "/cgi-bin/component/api_query_auth",
            "",
            "/wxa/commit/",
        ] {
            assert_eq!(permission_set_of(p), None, "{p}");
        }
    }
}
