//! The few HTML pages admins see: the authorization entry page and its result.

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em\">\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// The authorization entry page: a link an admin clicks (WeChat checks that the link is
/// opened from a page on the registered domain, so this is a page, not a redirect).
pub(crate) fn authorize(url: &str, component: &str) -> String {
    page(
        "授权 / Authorize",
        &format!(
            "<h1>授权给第三方平台 / Authorize the platform</h1>\n<p>Component <code>{}</code></p>\n<p><a id=\"authorize\" href=\"{}\" style=\"font-size:1.3em\">前往微信授权 / Continue to WeChat</a></p>\n<p><small>The link is valid for a few minutes; reload this page for a new one.</small></p>",
            escape(component),
            escape(url)
        ),
    )
}

/// The result page after a successful authorization (never a token).
pub(crate) fn authorized(authorizer_appid: &str, permission_sets: &[i64]) -> String {
    let sets: Vec<String> = permission_sets.iter().map(i64::to_string).collect();
    page(
        "授权成功 / Authorized",
        &format!(
            "<h1>授权成功 / Authorized</h1>\n<p>Account <code id=\"authorizer\">{}</code></p>\n<p>Permission sets: <span id=\"permissions\">{}</span></p>",
            escape(authorizer_appid),
            escape(&sets.join(", "))
        ),
    )
}

/// An error page (the message is one line, no secrets).
pub(crate) fn error(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1>\n<p id=\"error\">{}</p>",
            escape(title),
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let p = authorize("https://x/?a=1&b=\"<script>", "wx<c>");
        assert!(p.contains("a=1&amp;b=&quot;&lt;script&gt;"), "{p}");
        assert!(!p.contains("<script>"));
        assert!(authorized("wxa", &[1, 2]).contains(">1, 2<"));
        assert!(error("t", "<b>").contains("&lt;b&gt;"));
    }
}
