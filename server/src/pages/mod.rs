//! The few HTML pages admins see, in Chinese and English: the authorization entry page
//! ([`entry`]), its results ([`result`]) and the problem pages ([`problem`]), in one frame.

pub(crate) mod entry;
pub(crate) mod permissions;
pub(crate) mod problem;
pub(crate) mod result;

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

/// One text in both languages, as a paragraph: the Chinese line, then the English one.
pub(crate) fn para(zh: &str, en: &str) -> String {
    format!("<p>{zh}<br><span lang=\"en\" class=\"en\">{en}</span></p>\n")
}

/// A page: `title` (already in both languages, plain text), `head` (extra `<head>` markup) and
/// `body` (markup whose inserted values are escaped by the caller).
pub(crate) fn frame(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}<title>{}</title>\
<style>body{{font-family:system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5}}\
.en{{color:#555}}a.button{{display:inline-block;padding:.6em 1.2em;margin:.3em 0;background:#07c160;color:#fff;border-radius:6px;text-decoration:none;font-size:1.15em}}\
a.button.secondary{{background:#fff;color:#07c160;border:1px solid #07c160}}code{{word-break:break-all}}</style></head>\n\
<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// The name admins know the platform by: its `display_name`, else its appid.
pub(crate) fn platform_name<'a>(display_name: Option<&'a str>, appid: &'a str) -> &'a str {
    display_name.unwrap_or(appid)
}
