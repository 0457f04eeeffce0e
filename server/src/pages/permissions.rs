//! Permission-set (`funcscope_category`) names in Chinese and English, for the result page;
//! ids WeChat adds later are shown as "权限集 N / permission set N".

/// Known permission sets: id, Chinese name, English name (WeChat's third-party platform
/// permission-set lists for Official Accounts and Mini Programs).
const NAMES: &[(i64, &str, &str)] = &[
    (1, "消息管理", "Message management"),
    (2, "用户管理", "User management"),
    (3, "账号服务", "Account services"),
    (4, "网页服务", "Web page services"),
    (5, "微信小店", "WeChat Store"),
    (6, "微信多客服", "Multi-agent customer service"),
    (7, "群发与通知", "Broadcasts and notifications"),
    (8, "微信卡券", "Cards and offers"),
    (9, "微信扫一扫", "WeChat Scan"),
    (10, "微信连WiFi", "Wi-Fi via WeChat"),
    (11, "素材管理", "Media assets"),
    (12, "微信摇周边", "Shake nearby"),
    (13, "微信门店", "Stores"),
    (15, "自定义菜单", "Custom menu"),
    (16, "认证状态及信息", "Verification status and details"),
    (17, "小程序账号管理", "Mini Program account management"),
    (
        18,
        "小程序开发管理与数据分析",
        "Mini Program development and data analysis",
    ),
    (
        19,
        "小程序客服消息管理",
        "Mini Program customer service messages",
    ),
    (20, "小程序微信登录", "Mini Program WeChat login"),
    (21, "小程序数据分析", "Mini Program data analysis"),
    (22, "城市服务", "City services"),
    (23, "广告管理", "Ad management"),
    (24, "开放平台账号管理", "Open Platform account management"),
    (
        25,
        "小程序开放平台账号管理",
        "Mini Program Open Platform account management",
    ),
    (26, "微信电子发票", "E-invoices"),
    (27, "快速注册小程序", "Fast Mini Program registration"),
    (30, "小程序基本信息设置", "Mini Program basic settings"),
    (31, "小程序认证", "Mini Program verification"),
    (33, "小程序关联管理", "Mini Program linking"),
];

/// The Chinese and English names of permission set `id`.
pub(crate) fn name(id: i64) -> (String, String) {
    match NAMES.iter().find(|(i, _, _)| *i == id) {
        Some((_, zh, en)) => ((*zh).to_owned(), (*en).to_owned()),
        None => (format!("权限集 {id}"), format!("permission set {id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sets_have_names_and_unknown_ones_their_number() {
        assert_eq!(name(1), ("消息管理".into(), "Message management".into()));
        assert_eq!(
            name(18),
            (
                "小程序开发管理与数据分析".into(),
                "Mini Program development and data analysis".into()
            )
        );
        assert_eq!(
            name(999),
            ("权限集 999".into(), "permission set 999".into())
        );
        let mut ids: Vec<i64> = NAMES.iter().map(|n| n.0).collect();
        ids.dedup();
        assert_eq!(ids.len(), NAMES.len(), "one name per id");
    }
}
