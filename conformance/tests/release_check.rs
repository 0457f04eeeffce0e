//! The 全网发布 release check, as WeChat's console runs it (the fake's driver), against
//! `wxopen serve` (the server crate, in process, against the fake platform): every test-account
//! group passes, with WeChat's 5 s budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;

use wxopen_fake::{CheckKind, FakeWeChat, ReleaseCheck, TEST_GROUPS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_group_passes_the_release_check_against_wxopen_serve() {
    let fake = FakeWeChat::start().await.unwrap();
    let served = common::serve(&fake, "release", "").await;
    let public = served.public.clone();
    // The console's checks come after the ticket has been pushed.
    let push = fake.push_ticket().unwrap();
    let r = reqwest::Client::new()
        .post(push.url(&format!(
            "{public}/wechat/{}/component",
            fake.component_appid()
        )))
        .body(push.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "success");
    let url = format!(
        "{public}/wechat/{}/callback/$APPID$",
        fake.component_appid()
    );
    // The five groups at once (each waits out WeChat's 5 s for duplicate messages), both
    // account kinds getting every check.
    let runs = TEST_GROUPS.iter().map(|g| {
        let check = ReleaseCheck::new(url.clone())
            .group(g.number)
            .mini_program_checks(CheckKind::ALL);
        let fake = &fake;
        async move { fake.run_release_check(&check).await.unwrap() }
    });
    let reports = futures_util::future::join_all(runs).await;
    let mut worst_reply = Duration::ZERO;
    let mut worst_send = Duration::ZERO;
    for report in &reports {
        assert!(report.passed(), "{report}");
        assert_eq!(report.checks.len(), 6, "{report}");
        for c in &report.checks {
            worst_reply = worst_reply.max(c.reply_latency.unwrap_or_default());
            worst_send = worst_send.max(c.custom_send_latency.unwrap_or_default());
            if c.check == CheckKind::QueryAuthCode {
                assert_eq!(c.custom_sends, 1, "{report}");
            }
        }
        println!("{report}");
    }
    println!(
        "slowest passive reply {:.1} ms, slowest customer-service message {:.1} ms (budget 5 s)",
        worst_reply.as_secs_f64() * 1e3,
        worst_send.as_secs_f64() * 1e3
    );
    assert!(worst_send < Duration::from_secs(5));
    served.stop().await;
}
