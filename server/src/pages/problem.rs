//! The problem pages admins may see, each in both languages: what happened and what to do
//! (retry, start again, or contact the platform operator with the request id). The cause an
//! operator needs (WeChat's errmsg, store errors, configuration) goes to the log, never here.

use axum::http::StatusCode;

use super::{escape, frame, para};

/// What went wrong, as the admin needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The path names no platform this service serves.
    UnknownPlatform,
    /// The link's parameters are not valid.
    BadLink,
    /// The redirect back from WeChat is not valid (no or a malformed `auth_code`).
    BadRedirect,
    /// The service is not set up for this page (an operator's configuration).
    NotReady,
    /// WeChat or the store could not be used just now.
    Unavailable,
    /// WeChat refused the authorization code (expired or already used).
    CodeRefused,
    /// The redirect's `state` is not the one issued with its pre-auth code.
    NotIssuedHere,
}

impl Problem {
    /// The HTTP status of the page.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::UnknownPlatform => StatusCode::NOT_FOUND,
            Self::BadLink | Self::BadRedirect => StatusCode::BAD_REQUEST,
            Self::NotReady => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::CodeRefused => StatusCode::GONE,
            Self::NotIssuedHere => StatusCode::FORBIDDEN,
        }
    }

    /// (title zh, title en, what to do zh, what to do en).
    fn text(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::UnknownPlatform => (
                "找不到这个授权页",
                "This authorization page does not exist",
                "链接可能不完整。请向平台方索取正确的授权链接。",
                "The link may be incomplete. Ask the platform for the right authorization link.",
            ),
            Self::BadLink => (
                "授权链接无效",
                "The authorization link is not valid",
                "请回到平台方重新打开授权链接;如果仍然出错,请联系平台方并提供下面的请求编号。",
                "Open the authorization link from the platform again; if it still fails, contact the platform with the request id below.",
            ),
            Self::BadRedirect => (
                "微信返回的授权结果无效",
                "The result WeChat sent back is not valid",
                "请重新打开授权链接再授权一次。",
                "Open the authorization link again and authorize once more.",
            ),
            Self::NotReady => (
                "授权服务尚未准备好",
                "The authorization service is not ready",
                "这需要平台方处理。请联系平台方并提供下面的请求编号。",
                "The platform has to fix this. Contact the platform with the request id below.",
            ),
            Self::Unavailable => (
                "暂时无法完成",
                "This cannot be done right now",
                "请稍等一分钟后刷新本页重试;如果一直失败,请联系平台方并提供下面的请求编号。",
                "Wait a minute and reload this page; if it keeps failing, contact the platform with the request id below.",
            ),
            Self::CodeRefused => (
                "授权结果已失效",
                "The authorization result has expired",
                "授权结果只能使用一次,并且几分钟后失效。请重新打开授权链接再授权一次。",
                "An authorization result works once and only for a few minutes. Open the authorization link again and authorize once more.",
            ),
            Self::NotIssuedHere => (
                "无法确认这次授权",
                "This authorization cannot be confirmed",
                "这次授权与您打开的授权链接对不上。请回到平台方重新打开授权链接。",
                "This authorization does not match the link you opened. Go back to the platform and open the authorization link again.",
            ),
        }
    }
}

/// The page for `problem`, with the request id when there is one.
pub(crate) fn page(problem: Problem, request_id: Option<&str>) -> String {
    let (zh, en, todo_zh, todo_en) = problem.text();
    let mut body = format!(
        "<h1>{zh}<br><span lang=\"en\" class=\"en\">{en}</span></h1>\n<div id=\"error\">{}</div>\n",
        para(todo_zh, todo_en)
    );
    if let Some(id) = request_id {
        body.push_str(&format!(
            "<p>请求编号 / Request id: <code id=\"request-id\">{}</code></p>\n",
            escape(id)
        ));
    }
    frame(&format!("{zh} / {en}"), "", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_page_is_bilingual_and_speaks_to_the_admin() {
        for p in [
            Problem::UnknownPlatform,
            Problem::BadLink,
            Problem::BadRedirect,
            Problem::NotReady,
            Problem::Unavailable,
            Problem::CodeRefused,
            Problem::NotIssuedHere,
        ] {
            let html = page(p, Some("abc-1"));
            let (zh, en, todo_zh, todo_en) = p.text();
            for t in [zh, en, todo_zh, todo_en] {
                assert!(html.contains(t), "{p:?}: {html}");
            }
            assert!(
                html.contains("<code id=\"request-id\">abc-1</code>"),
                "{html}"
            );
            for operator_talk in [
                "README",
                "config",
                "public_base_url",
                "api_",
                "store",
                "errmsg",
            ] {
                assert!(
                    !html.contains(operator_talk),
                    "{p:?} says {operator_talk}: {html}"
                );
            }
        }
        assert!(page(Problem::BadLink, Some("<x>")).contains("&lt;x&gt;"));
    }
}
