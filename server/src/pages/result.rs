//! The result pages after WeChat sends the admin back: the authorization succeeded (the
//! account, the granted permission sets by name, the next step), or it was already handled.

use super::{escape, frame, para, permissions};

/// The result page after a successful authorization (never a token).
pub(crate) fn authorized(name: &str, authorizer_appid: &str, permission_sets: &[i64]) -> String {
    let n = escape(name);
    let mut sets = String::new();
    for id in permission_sets {
        let (zh, en) = permissions::name(*id);
        sets.push_str(&format!(
            "<li data-id=\"{id}\">{} <span lang=\"en\" class=\"en\">/ {}</span></li>\n",
            escape(&zh),
            escape(&en)
        ));
    }
    let body = format!(
        "<h1>授权成功<br><span lang=\"en\" class=\"en\">Authorization complete</span></h1>\n\
<p>账号 / Account: <code id=\"authorizer\">{}</code></p>\n{}\
<h2>已授权的权限 / Granted permissions</h2>\n<ul id=\"permissions\">\n{sets}</ul>\n\
<div id=\"next\">{}{}</div>\n",
        escape(authorizer_appid),
        para(
            &format!("该账号已授权给 {n}。"),
            &format!("The account has authorized {n}."),
        ),
        para(
            &format!("下一步:回到 {n} 继续操作,本页可以关闭。"),
            &format!("Next: go back to {n} to continue; you can close this page."),
        ),
        para(
            "以后要更改授权的权限,重新打开授权链接并确认即可。",
            "To change the granted permissions later, open the authorization link again and confirm.",
        ),
    );
    frame("授权成功 / Authorization complete", "", &body)
}

/// The page for a redirect whose authorization was already handed off (a reload or a replay).
pub(crate) fn already_completed(name: &str) -> String {
    let n = escape(name);
    let body = format!(
        "<h1>授权已完成<br><span lang=\"en\" class=\"en\">Authorization already completed</span></h1>\n<div id=\"next\">{}</div>\n",
        para(
            &format!("这次授权已经处理过了,无需再次操作。请回到 {n} 继续,本页可以关闭。"),
            &format!("This authorization has already been handled; there is nothing more to do. Go back to {n} to continue; you can close this page."),
        )
    );
    frame("授权已完成 / Authorization already completed", "", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_names_the_sets_and_the_next_step() {
        let p = authorized("Acme <Inc>", "wxa", &[1, 17, 999]);
        assert!(
            p.contains("消息管理 <span lang=\"en\" class=\"en\">/ Message management</span>"),
            "{p}"
        );
        assert!(p.contains("小程序账号管理"), "{p}");
        assert!(
            p.contains("权限集 999") && p.contains("permission set 999"),
            "{p}"
        );
        assert!(
            p.contains("回到 Acme &lt;Inc&gt; 继续")
                && p.contains("go back to Acme &lt;Inc&gt; to continue"),
            "{p}"
        );
        assert!(already_completed("Acme").contains("无需再次操作"));
    }
}
