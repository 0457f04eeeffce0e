//! Refused pushes in the log and the metrics (issue 22, item 5): a flood of bad signatures is
//! one warn line per 10 s but every one is counted; a push whose signature verifies but which
//! does not decrypt (a wrong or rotated EncodingAESKey) is counted as `decrypt_failed` and
//! logged once, naming the fix. Its own test binary: the log gates are per process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use wiremock::MockServer;
use wxopen_core::MsgCrypt;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn lines_with(&self, text: &str) -> usize {
        let log = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        log.lines().filter(|l| l.contains(text)).count()
    }
}

/// A ticket push signed with the component's token but encrypted with `aes_key`.
fn push_encrypted_with(aes_key: &str, timestamp: &str) -> (String, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, aes_key, APPID).unwrap();
    let reply = crypt
        .encrypt_reply(
            ticket_xml("ticket@@@t", T0).as_bytes(),
            timestamp,
            "n1",
            b"0123456789abcdef",
        )
        .unwrap();
    let body = format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        reply.encrypt
    );
    let query = format!(
        "timestamp={timestamp}&nonce=n1&encrypt_type=aes&msg_signature={}",
        reply.msg_signature
    );
    (query, body.into_bytes())
}

fn pushes(s: &App, result: &str) -> u64 {
    s.metrics.counter(
        "wxopen_pushes_total",
        &[("component", APPID), ("result", result)],
    )
}

#[tokio::test(start_paused = true)]
async fn bad_signatures_are_all_counted_but_warned_once_and_a_wrong_key_is_named() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let upstream = MockServer::start().await;
    let s = in_process(&upstream).await;
    let ts = s.now().to_string();

    let (query, body) = push(&ticket_xml("ticket@@@t", T0), &ts, "n1");
    let forged = query.replace("msg_signature=", "msg_signature=0");
    for _ in 0..50 {
        let (status, _) = s.post_push(APPID, &forged, body.clone()).await;
        assert_ne!(status, 200);
    }
    assert_eq!(pushes(&s, "bad_signature_or_crypto"), 50);
    assert_eq!(capture.lines_with("push refused"), 1);

    // Signed with the right token, encrypted with another key: the key is wrong.
    let other_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";
    for _ in 0..3 {
        let (query, body) = push_encrypted_with(other_key, &ts);
        let (status, _) = s.post_push(APPID, &query, body).await;
        assert_ne!(status, 200);
    }
    assert_eq!(pushes(&s, "decrypt_failed"), 3);
    assert_eq!(pushes(&s, "bad_signature_or_crypto"), 50);
    assert_eq!(
        capture.lines_with("encoding_aes_key is wrong or was rotated"),
        1
    );
    // The same push encrypted with the configured key is taken.
    let (query, body) = push_encrypted_with(AES_KEY, &ts);
    assert_eq!(s.post_push(APPID, &query, body).await.0, 200);

    // Ten seconds on, the next bad signature is warned again, with the count held back.
    tokio::time::advance(std::time::Duration::from_secs(11)).await;
    s.post_push(APPID, &forged, body_of(&ts)).await;
    assert_eq!(capture.lines_with("push refused"), 2);
    assert_eq!(capture.lines_with("held_back=49"), 1);
}

fn body_of(ts: &str) -> Vec<u8> {
    push(&ticket_xml("ticket@@@t", T0), ts, "n1").1
}
