//! The 全网发布 release check, as WeChat's console runs it (the fake's driver), against
//! `wxopen serve` (the server crate, in process, against the fake platform): every test-account
//! group passes, with WeChat's 5 s budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wxopen_fake::{CheckKind, FakeWeChat, ReleaseCheck, TEST_GROUPS};
use wxopen_server::{config, Server, ServerOptions};

const KEY: &str = "conformance-internal-key-0123";

fn toml(s: &str) -> String {
    format!("{s:?}")
}

/// A server for the fake's component, on the fake's clock, with its default SQLite store in
/// `dir`; returns its public base URL and a stop handle.
async fn serve(
    fake: &FakeWeChat,
    dir: &std::path::Path,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let text = format!(
        "[server]\npublic_listen = \"127.0.0.1:0\"\ninternal_listen = \"127.0.0.1:0\"\ndata_dir = {}\n\n[refresher]\nenabled = false\n\n[[component]]\nappid = {}\nappsecret = {}\ntoken = {}\nencoding_aes_key = {}\napi_base_urls = [{}, {}]\n\n[[client]]\nname = \"conformance\"\nkey = {}\ncomponents = [\"*\"]\n",
        toml(&dir.display().to_string()),
        toml(fake.component_appid()),
        toml(fake.component_appsecret()),
        toml(fake.token()),
        toml(fake.encoding_aes_key()),
        toml(&fake.primary_url()),
        toml(&fake.fallback_url()),
        toml(KEY),
    );
    let cfg = config::parse(&text, dir).unwrap();
    let server = Server::bind(cfg, ServerOptions::default().clock(fake.clock()))
        .await
        .unwrap();
    let public = format!("http://{}", server.public_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (public, tx, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_group_passes_the_release_check_against_wxopen_serve() {
    let fake = FakeWeChat::start().await.unwrap();
    let dir = tempfile_dir();
    let (public, stop, task) = serve(&fake, &dir).await;
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
    let reports = futures_join(runs).await;
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
    let _ = stop.send(());
    task.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "wxopen-conformance-release-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send,
{
    let mut pinned: Vec<_> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}
