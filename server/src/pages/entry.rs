//! The authorization entry page: the link (or, on a phone outside WeChat, the two links) to
//! WeChat's consent page. WeChat checks that the link is opened from a page on the registered
//! domain, so this is a page, not a redirect, and it asks browsers to send its origin as
//! `Referer` whatever a proxy's `Referrer-Policy` says.

use super::{escape, frame, para};

/// Which consent links the admin's browser gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Links {
    /// A desktop browser: the PC page (a QR code to scan with WeChat).
    Pc(String),
    /// WeChat's in-app browser: the H5 page.
    H5(String),
    /// A phone outside WeChat: both, each with when to use it.
    Both {
        /// The H5 page (works inside WeChat).
        h5: String,
        /// The PC page (shows a QR code).
        pc: String,
    },
}

/// The entry page for the platform called `name`.
pub(crate) fn page(name: &str, links: &Links) -> String {
    let n = escape(name);
    let button = |id: &str, class: &str, url: &str, zh: &str, en: &str| {
        format!(
            "<p><a id=\"{id}\" href=\"{}\" class=\"{class}\">{zh} / {en}</a></p>\n",
            escape(url)
        )
    };
    let mut body = format!(
        "<h1>授权给 {n}<br><span lang=\"en\" class=\"en\">Authorize {n}</span></h1>\n{}",
        para(
            &format!("请由公众号或小程序的管理员打开下面的链接,在微信的页面上确认授权给 {n}。"),
            &format!("The administrator of the Official Account or Mini Program opens the link below and confirms on WeChat's page that {n} may manage it."),
        )
    );
    match links {
        Links::Pc(url) => {
            body.push_str(&button(
                "authorize",
                "button",
                url,
                "前往微信授权",
                "Continue to WeChat",
            ));
            body.push_str(&para(
                "微信页面会显示二维码,请用管理员的微信扫码确认。",
                "WeChat's page shows a QR code: scan it with the administrator's WeChat to confirm.",
            ));
        }
        Links::H5(url) => {
            body.push_str(&button(
                "authorize",
                "button",
                url,
                "前往微信授权",
                "Continue to WeChat",
            ));
        }
        Links::Both { h5, pc } => {
            body.push_str(&button(
                "authorize",
                "button",
                h5,
                "在微信中授权",
                "Authorize in WeChat",
            ));
            body.push_str(&para(
                "在微信里打开本页时用这个链接(可以把本页链接发到微信里再打开)。",
                "Use this one when this page is open inside WeChat (send this page's link to yourself in WeChat and open it there).",
            ));
            body.push_str(&button(
                "authorize-pc",
                "button secondary",
                pc,
                "显示授权二维码",
                "Show the QR code",
            ));
            body.push_str(&para(
                "用这个链接显示二维码,再用另一部手机上管理员的微信扫码。",
                "Use this one to show a QR code, then scan it with the administrator's WeChat on another phone.",
            ));
        }
    }
    body.push_str(
        "<p id=\"validity\"><small>链接几分钟内有效,过期后请刷新本页获取新链接。<br><span lang=\"en\" class=\"en\">The link works for a few minutes; if it has expired, reload this page for a new one.</span></small></p>\n"
    );
    frame(
        &format!("授权给 {name} / Authorize {name}"),
        "<meta name=\"referrer\" content=\"origin\">",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_shows_and_keeps_the_origin_referrer() {
        let p = page("A<b>", &Links::Pc("https://x/?a=1&b=\"<script>".into()));
        assert!(p.contains("a=1&amp;b=&quot;&lt;script&gt;"), "{p}");
        assert!(!p.contains("<script>") && !p.contains("A<b>"), "{p}");
        assert!(
            p.contains("<meta name=\"referrer\" content=\"origin\">"),
            "{p}"
        );
    }

    #[test]
    fn a_phone_outside_wechat_gets_both_links_with_when_to_use_each() {
        let p = page(
            "Acme",
            &Links::Both {
                h5: "https://h5/".into(),
                pc: "https://pc/".into(),
            },
        );
        assert!(
            p.contains("id=\"authorize\" href=\"https://h5/\" class=\"button\""),
            "{p}"
        );
        assert!(
            p.contains("id=\"authorize-pc\" href=\"https://pc/\" class=\"button secondary\""),
            "{p}"
        );
        assert!(
            p.contains("在微信里打开本页时用这个链接")
                && p.contains("Use this one when this page is open inside WeChat"),
            "{p}"
        );
        assert!(
            p.contains("另一部手机") && p.contains("on another phone"),
            "{p}"
        );
        let desktop = page("Acme", &Links::Pc("https://pc/".into()));
        assert!(
            !desktop.contains("authorize-pc") && desktop.contains("扫码"),
            "{desktop}"
        );
    }
}
