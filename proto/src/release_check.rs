//! The 全网发布 (release) check: WeChat's automated test of a third-party platform before it
//! may serve accounts, decided as a pure function.
//!
//! During the check WeChat sends messages for one of five groups of test accounts to the
//! component's message URL. [`release_check_action`] tells, for a decrypted message, what the
//! platform must answer: a passive text reply, or an empty answer now and a customer-service
//! message after exchanging the authorization code
//! (`wxopen_client::ComponentClient::complete_release_check`).
//! Messages of any other account give `None`: they are the host's.
//!
//! ```
//! use wxopen_proto::message::parse_authorizer_message;
//! use wxopen_proto::release_check::{release_check_action, ReleaseCheckAction};
//!
//! let msg = parse_authorizer_message(
//!     b"<xml><ToUserName>gh_3c884a361561</ToUserName><FromUserName>ozy4qt5</FromUserName>\
//!       <CreateTime>1700000000</CreateTime><MsgType>text</MsgType>\
//!       <Content>QUERY_AUTH_CODE:queryauthcode@@@abc</Content><MsgId>1</MsgId></xml>",
//! )?;
//! match release_check_action("wx570bc396a51b8ff8", &msg, 1_700_000_001) {
//!     Some(ReleaseCheckAction::QueryAuthAndSend { touser, content, .. }) => {
//!         assert_eq!(touser, "ozy4qt5");
//!         assert_eq!(content, "queryauthcode@@@abc_from_api");
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), wxopen_proto::PushError>(())
//! ```

use std::fmt;

use crate::message::{AuthorizerMessage, MsgType};
use crate::secret::AuthorizationCode;

/// The text of the passive-reply check.
pub const TEXT_CHECK: &str = "TESTCOMPONENT_MSG_TYPE_TEXT";

/// What the passive-reply check expects back.
pub const TEXT_CHECK_REPLY: &str = "TESTCOMPONENT_MSG_TYPE_TEXT_callback";

/// The prefix of the customer-service check (`QUERY_AUTH_CODE:<code>`).
pub const QUERY_AUTH_CODE_PREFIX: &str = "QUERY_AUTH_CODE:";

/// What follows the code in the customer-service check's message (`<code>_from_api`).
pub const QUERY_AUTH_CODE_SUFFIX: &str = "_from_api";

/// What follows the event name in the event check's reply (`<Event>from_callback`).
pub const EVENT_SUFFIX: &str = "from_callback";

/// Longest authorization code taken from a check message (real ones are about 80 bytes).
pub const MAX_AUTH_CODE_LEN: usize = 512;

/// Whether a test account is an official account or a mini program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountKind {
    /// 公众号.
    OfficialAccount,
    /// 小程序.
    MiniProgram,
}

/// One of WeChat's release-check test accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TestAccount {
    /// The group (1–5) WeChat draws for a run.
    pub group: u8,
    /// Official account or mini program.
    pub kind: AccountKind,
    /// Its appid (what replaces `$APPID$` in the message URL).
    pub appid: &'static str,
    /// Its original id (`gh_…`, the messages' `ToUserName`).
    pub username: &'static str,
}

const fn account(
    group: u8,
    kind: AccountKind,
    appid: &'static str,
    username: &'static str,
) -> TestAccount {
    TestAccount {
        group,
        kind,
        appid,
        username,
    }
}

/// Every test account of the five groups (official "releases instructions" page).
pub const TEST_ACCOUNTS: [TestAccount; 10] = {
    use AccountKind::{MiniProgram as Mp, OfficialAccount as Oa};
    [
        account(1, Oa, "wx570bc396a51b8ff8", "gh_3c884a361561"),
        account(1, Mp, "wxd101a85aa106f53e", "gh_8dad206e9538"),
        account(2, Oa, "wx9252c5e0bb1836fc", "gh_c0f28a78b318"),
        account(2, Mp, "wxc39235c15087f6f3", "gh_905ae9d01059"),
        account(3, Oa, "wx8e1097c5bc82cde9", "gh_3f222ed8d140"),
        account(3, Mp, "wx7720d01d4b2a4500", "gh_393666f1fdf4"),
        account(4, Oa, "wx14550af28c71a144", "gh_26128078e9ab"),
        account(4, Mp, "wx05d483572dcd5d8b", "gh_39abb5d4e1b7"),
        account(5, Oa, "wxa35b9c23cfe664eb", "gh_2b3713f184a6"),
        account(5, Mp, "wx5910277cae6fd970", "gh_7818dcb60240"),
    ]
};

/// The test account a message belongs to, by the appid in the message URL or by the
/// message's `ToUserName`; `None` for every other account.
pub fn test_account(authorizer_appid: &str, to_user_name: &str) -> Option<&'static TestAccount> {
    TEST_ACCOUNTS
        .iter()
        .find(|a| a.appid == authorizer_appid || a.username == to_user_name)
}

/// What to do with a release-check message.
///
/// `Debug` leaves out the customer-service text (it carries the authorization code).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseCheckAction {
    /// Answer at once with this passive text reply (encrypt and sign it with the component's
    /// key, e.g. `wxopen_client::ComponentClient::encrypt_authorizer_reply_as`).
    Reply {
        /// The reply's `Content`.
        content: String,
        /// The plaintext reply XML (sender and receiver swapped).
        xml: String,
    },
    /// Answer an empty body at once; then exchange `auth_code` with `api_query_auth` and send
    /// `content` to `touser` through the customer-service API with the token of the account
    /// it authorizes, all within WeChat's 5 s
    /// (`wxopen_client::ComponentClient::complete_release_check`).
    /// Run it once per message: WeChat retries a slow answer, so deduplicate by
    /// [`AuthorizerMessage::dedupe_key`].
    QueryAuthAndSend {
        /// The authorization code from the message.
        auth_code: AuthorizationCode,
        /// The user to send to (the message's `FromUserName`).
        touser: String,
        /// What to send: `<code>_from_api`.
        content: String,
    },
    /// A release-check message this platform cannot answer (e.g. `QUERY_AUTH_CODE:` with an
    /// empty or oversized code): answer an empty body and do nothing else.
    Ignore,
}

impl fmt::Debug for ReleaseCheckAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseCheckAction::Reply { content, .. } => {
                f.debug_struct("Reply").field("content", content).finish()
            }
            ReleaseCheckAction::QueryAuthAndSend {
                auth_code, touser, ..
            } => f
                .debug_struct("QueryAuthAndSend")
                .field("auth_code", auth_code)
                .field("touser", touser)
                .finish_non_exhaustive(),
            ReleaseCheckAction::Ignore => f.write_str("Ignore"),
        }
    }
}

/// Decides how to answer `message`, pushed for `authorizer_appid` (the `$APPID$` of the
/// message URL), if it is a release-check message of a test account. `now` (unix seconds)
/// becomes the reply's `CreateTime`. Pure: no I/O, no clock, no randomness.
pub fn release_check_action(
    authorizer_appid: &str,
    message: &AuthorizerMessage,
    now: u64,
) -> Option<ReleaseCheckAction> {
    test_account(authorizer_appid, &message.to_user_name)?;
    let reply = |content: String| {
        let xml = message.text_reply(&content, now);
        ReleaseCheckAction::Reply { content, xml }
    };
    match &message.msg_type {
        MsgType::Event => {
            let event = message.event.as_deref().unwrap_or_default();
            Some(reply(format!("{event}{EVENT_SUFFIX}")))
        }
        MsgType::Text => {
            let content = message.content.as_deref().unwrap_or_default();
            if content == TEXT_CHECK {
                return Some(reply(TEXT_CHECK_REPLY.to_owned()));
            }
            let code = content.strip_prefix(QUERY_AUTH_CODE_PREFIX)?.trim();
            if code.is_empty() || code.len() > MAX_AUTH_CODE_LEN {
                return Some(ReleaseCheckAction::Ignore);
            }
            Some(ReleaseCheckAction::QueryAuthAndSend {
                auth_code: AuthorizationCode::new(code),
                touser: message.from_user_name.clone(),
                content: format!("{code}{QUERY_AUTH_CODE_SUFFIX}"),
            })
        }
        // Other message types of a test account are not part of the check.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::message::parse_authorizer_message;

    fn msg(to: &str, body: &str) -> AuthorizerMessage {
        parse_authorizer_message(
            format!(
                "<xml><ToUserName>{to}</ToUserName><FromUserName>ouser</FromUserName>\
                 <CreateTime>10</CreateTime>{body}</xml>"
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn every_group_is_recognised_by_appid_or_username() {
        for a in &TEST_ACCOUNTS {
            assert_eq!(test_account(a.appid, "gh_other"), Some(a));
            assert_eq!(test_account("wxother", a.username), Some(a));
        }
        assert_eq!(test_account("wxother", "gh_other"), None);
        let groups: std::collections::BTreeSet<u8> =
            TEST_ACCOUNTS.iter().map(|a| a.group).collect();
        assert_eq!(groups.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn text_check_gets_the_callback_text_with_users_swapped() {
        for a in &TEST_ACCOUNTS {
            let m = msg(
                a.username,
                "<MsgType>text</MsgType><Content>TESTCOMPONENT_MSG_TYPE_TEXT</Content><MsgId>7</MsgId>",
            );
            match release_check_action(a.appid, &m, 99) {
                Some(ReleaseCheckAction::Reply { content, xml }) => {
                    assert_eq!(content, "TESTCOMPONENT_MSG_TYPE_TEXT_callback");
                    let r = parse_authorizer_message(xml.as_bytes()).unwrap();
                    assert_eq!(r.to_user_name, "ouser");
                    assert_eq!(r.from_user_name, a.username);
                    assert_eq!(r.create_time, 99);
                    assert_eq!(r.content.as_deref(), Some(content.as_str()));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn event_check_gets_event_name_and_from_callback() {
        let m = msg(
            "gh_c0f28a78b318",
            "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>1</Latitude>",
        );
        match release_check_action("wx9252c5e0bb1836fc", &m, 1) {
            Some(ReleaseCheckAction::Reply { content, .. }) => {
                assert_eq!(content, "LOCATIONfrom_callback")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_auth_code_asks_for_the_exchange_and_the_customer_service_text() {
        let m = msg(
            "gh_anything",
            "<MsgType>text</MsgType><Content>QUERY_AUTH_CODE:queryauthcode@@@x-Y_z</Content><MsgId>8</MsgId>",
        );
        match release_check_action("wxa35b9c23cfe664eb", &m, 1) {
            Some(ReleaseCheckAction::QueryAuthAndSend {
                auth_code,
                touser,
                content,
            }) => {
                assert_eq!(auth_code.expose_secret(), "queryauthcode@@@x-Y_z");
                assert_eq!(touser, "ouser");
                assert_eq!(content, "queryauthcode@@@x-Y_z_from_api");
            }
            other => panic!("{other:?}"),
        }
        let d = format!("{:?}", release_check_action("wxa35b9c23cfe664eb", &m, 1));
        assert!(!d.contains("x-Y_z"), "{d}");
        match release_check_action("wxa35b9c23cfe664eb", &m, 1) {
            Some(ReleaseCheckAction::QueryAuthAndSend { .. }) => {}
            other => panic!("{other:?}"),
        }
        let empty = msg(
            "gh_2b3713f184a6",
            "<MsgType>text</MsgType><Content>QUERY_AUTH_CODE:</Content><MsgId>9</MsgId>",
        );
        assert_eq!(
            release_check_action("wxother", &empty, 1),
            Some(ReleaseCheckAction::Ignore)
        );
        let huge = msg(
            "gh_2b3713f184a6",
            &format!(
                "<MsgType>text</MsgType><Content>QUERY_AUTH_CODE:{}</Content>",
                "a".repeat(MAX_AUTH_CODE_LEN + 1)
            ),
        );
        assert_eq!(
            release_check_action("wxother", &huge, 1),
            Some(ReleaseCheckAction::Ignore)
        );
    }

    #[test]
    fn other_accounts_and_other_texts_are_the_hosts() {
        let m = msg(
            "gh_mine",
            "<MsgType>text</MsgType><Content>TESTCOMPONENT_MSG_TYPE_TEXT</Content>",
        );
        assert_eq!(release_check_action("wxmine", &m, 1), None);
        let other = msg(
            "gh_3c884a361561",
            "<MsgType>text</MsgType><Content>hello</Content>",
        );
        assert_eq!(release_check_action("wx570bc396a51b8ff8", &other, 1), None);
        let image = msg(
            "gh_3c884a361561",
            "<MsgType>image</MsgType><MediaId>m</MediaId>",
        );
        assert_eq!(release_check_action("wx570bc396a51b8ff8", &image, 1), None);
    }
}
