#![no_main]

//! A decrypted message of an authorized account, as the message URL sees it: parsing, the
//! release-check decision and the passive reply it leads to never panic, and every reply
//! reads back as the text it was built from. The same bytes read as a webhook's reply JSON
//! give a reply that renders or is refused, never a panic.

use libfuzzer_sys::fuzz_target;
use wxopen_client::message::parse_authorizer_message;
use wxopen_client::passive::PassiveReply;
use wxopen_client::release_check::{release_check_action, ReleaseCheckAction, TEST_ACCOUNTS};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = serde_json::from_slice::<PassiveReply>(data) {
        if let Ok(xml) = reply.to_xml("ouser", "gh_account", 1) {
            let back = parse_authorizer_message(xml.as_bytes()).expect("a rendered reply parses");
            assert_eq!(back.msg_type.as_str(), reply.msg_type());
            assert_eq!(back.to_user_name, "ouser");
        }
    }
    let Ok(message) = parse_authorizer_message(data) else {
        return;
    };
    let _ = message.dedupe_key();
    for appid in TEST_ACCOUNTS.iter().map(|a| a.appid).chain(["wxother"]) {
        match release_check_action(appid, &message, 7) {
            Some(ReleaseCheckAction::Reply { content, xml }) => {
                let back = parse_authorizer_message(xml.as_bytes()).expect("a reply parses");
                // CDATA drops characters XML cannot carry; what is left must come back.
                let clean: String = content
                    .chars()
                    .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                    .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
                    .collect();
                if !clean.trim().is_empty() && !clean.contains('\r') {
                    assert_eq!(back.content.as_deref(), Some(clean.as_str()), "{xml}");
                }
                assert_eq!(back.to_user_name, message.from_user_name.trim());
            }
            Some(ReleaseCheckAction::QueryAuthAndSend {
                touser, content, ..
            }) => {
                assert_eq!(touser, message.from_user_name);
                assert!(content.ends_with("_from_api"));
            }
            _ => {}
        }
    }
});
