//! The 全网发布 release check: what the open-platform console's "全网发布" button makes WeChat
//! do before a third-party platform may serve accounts, driven by the fake against a callback
//! URL under test.
//!
//! WeChat draws one of five test groups ([`TEST_GROUPS`]) per run and sends encrypted messages
//! to the platform's message URL with `$APPID$` replaced by a test account's appid:
//!
//! | check | message | expected answer |
//! |---|---|---|
//! | [`CheckKind::Text`] | text `TESTCOMPONENT_MSG_TYPE_TEXT` | encrypted passive text `TESTCOMPONENT_MSG_TYPE_TEXT_callback`, `ToUserName`/`FromUserName` swapped |
//! | [`CheckKind::QueryAuthCode`] | text `QUERY_AUTH_CODE:<code>` | an empty body at once; then `api_query_auth` with the code and `custom/send` `{"touser": <FromUserName>, "msgtype": "text", "text": {"content": "<code>_from_api"}}` with that account's authorizer token |
//! | [`CheckKind::Event`] | event `LOCATION` (`Latitude`, `Longitude`, `Precision`) | encrypted passive text `LOCATIONfrom_callback` |
//!
//! Each check must be satisfied within a deadline (5 s) from sending. A try that gets no
//! answer within [`ReleaseCheck::reply_timeout`] (5 s) is dropped and the message sent again,
//! 3 tries in all, with the same `MsgId` and `CreateTime` (each try is sealed afresh: new
//! `timestamp`, `nonce` and IV, so a responder must deduplicate by `MsgId`, events by
//! `FromUserName` + `CreateTime`, not by signature). The driver counts the `custom/send`
//! messages of a check and fails it on a duplicate.
//!
//! By default the official account of the group gets all three checks and the mini program
//! the `QUERY_AUTH_CODE` check only (whether test mini programs get the other two is not
//! confirmed; see [`ReleaseCheck::mini_program_checks`]). The two accounts are checked
//! concurrently, each account's checks one after the other.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use wxopen_fake::FakeWeChat;
//!
//! let fake = FakeWeChat::start().await?;
//! // The message URL as registered on the platform, `$APPID$` standing for the account.
//! let template = "http://127.0.0.1:8080/wechat/wxfa4e0000c0ffee01/callback/$APPID$";
//! let report = fake.release_check(template, None).await?; // a group drawn at random
//! println!("{report}");
//! assert!(report.passed(), "{report}");
//! # Ok(()) }
//! ```
//!
//! The driver works on real time (HTTP deadlines), not on the fake clock, which only stamps
//! `CreateTime` and the query `timestamp`: don't run it under a paused tokio clock.

use std::fmt;
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};
use wxopen_proto::message::{parse_authorizer_message, MsgType};

use crate::error::FakeError;
use crate::fake::{text_message_xml, FakeWeChat};
use crate::push::cdata;
use crate::state::AuthorizerKind;

/// The placeholder for the account's appid in a message URL template.
pub const APPID_PLACEHOLDER: &str = "$APPID$";
/// Content of the [`CheckKind::Text`] message.
pub const TEXT_CHECK_CONTENT: &str = "TESTCOMPONENT_MSG_TYPE_TEXT";
/// Content of the passive reply the [`CheckKind::Text`] check expects.
pub const TEXT_CHECK_REPLY: &str = "TESTCOMPONENT_MSG_TYPE_TEXT_callback";
/// Prefix of the [`CheckKind::QueryAuthCode`] message (followed by the authorization code).
pub const QUERY_AUTH_CODE_PREFIX: &str = "QUERY_AUTH_CODE:";
/// Suffix of the `custom/send` content the [`CheckKind::QueryAuthCode`] check expects
/// (`<code>_from_api`).
pub const FROM_API_SUFFIX: &str = "_from_api";
/// Suffix of the passive reply to an event (`<Event>from_callback`, no separator).
pub const FROM_CALLBACK_SUFFIX: &str = "from_callback";
/// The event the [`CheckKind::Event`] check sends.
pub const CHECK_EVENT: &str = "LOCATION";

/// One test account of a release-check group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestAccount {
    /// Its appid (what replaces `$APPID$` in the message URL).
    pub appid: &'static str,
    /// Its original id (`gh_…`): the messages' `ToUserName`.
    pub user_name: &'static str,
    /// Official account or mini program.
    pub kind: AuthorizerKind,
}

/// One of the five test-account groups WeChat draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestGroup {
    /// The group's number, 1 to 5, as in the official table.
    pub number: usize,
    /// The test official account.
    pub official_account: TestAccount,
    /// The test mini program.
    pub mini_program: TestAccount,
}

impl TestGroup {
    /// Both accounts, official account first.
    pub fn accounts(&self) -> [TestAccount; 2] {
        [self.official_account, self.mini_program]
    }
}

const fn group(
    number: usize,
    (oa_appid, oa_user): (&'static str, &'static str),
    (mp_appid, mp_user): (&'static str, &'static str),
) -> TestGroup {
    TestGroup {
        number,
        official_account: TestAccount {
            appid: oa_appid,
            user_name: oa_user,
            kind: AuthorizerKind::OfficialAccount,
        },
        mini_program: TestAccount {
            appid: mp_appid,
            user_name: mp_user,
            kind: AuthorizerKind::MiniProgram,
        },
    }
}

/// The five test-account groups of the release check (official "releases_instructions" page),
/// group 1 first.
pub const TEST_GROUPS: [TestGroup; 5] = [
    group(
        1,
        ("wx570bc396a51b8ff8", "gh_3c884a361561"),
        ("wxd101a85aa106f53e", "gh_8dad206e9538"),
    ),
    group(
        2,
        ("wx9252c5e0bb1836fc", "gh_c0f28a78b318"),
        ("wxc39235c15087f6f3", "gh_905ae9d01059"),
    ),
    group(
        3,
        ("wx8e1097c5bc82cde9", "gh_3f222ed8d140"),
        ("wx7720d01d4b2a4500", "gh_393666f1fdf4"),
    ),
    group(
        4,
        ("wx14550af28c71a144", "gh_26128078e9ab"),
        ("wx05d483572dcd5d8b", "gh_39abb5d4e1b7"),
    ),
    group(
        5,
        ("wxa35b9c23cfe664eb", "gh_2b3713f184a6"),
        ("wx5910277cae6fd970", "gh_7818dcb60240"),
    ),
];

/// The test account with this appid or original id (`gh_…`), with its group.
pub fn find_test_account(id: &str) -> Option<(TestGroup, TestAccount)> {
    TEST_GROUPS.iter().find_map(|g| {
        g.accounts()
            .into_iter()
            .find(|a| a.appid == id || a.user_name == id)
            .map(|a| (*g, a))
    })
}

/// One kind of release-check message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckKind {
    /// Text `TESTCOMPONENT_MSG_TYPE_TEXT` → passive text `TESTCOMPONENT_MSG_TYPE_TEXT_callback`.
    Text,
    /// Text `QUERY_AUTH_CODE:<code>` → empty answer, then `api_query_auth` and `custom/send`
    /// `<code>_from_api`.
    QueryAuthCode,
    /// Event `LOCATION` → passive text `LOCATIONfrom_callback`.
    Event,
}

impl CheckKind {
    /// The three checks, in the order they are sent.
    pub const ALL: [CheckKind; 3] = [CheckKind::Text, CheckKind::QueryAuthCode, CheckKind::Event];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Text => "TESTCOMPONENT_MSG_TYPE_TEXT",
            CheckKind::QueryAuthCode => "QUERY_AUTH_CODE",
            CheckKind::Event => "LOCATION event",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings of one release-check run ([`FakeWeChat::run_release_check`]); the defaults are
/// WeChat's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCheck {
    url_template: String,
    group: Option<usize>,
    reply_timeout: Duration,
    tries: u32,
    deadline: Duration,
    official_account_checks: Vec<CheckKind>,
    mini_program_checks: Vec<CheckKind>,
}

impl ReleaseCheck {
    /// A run against `callback_url`: a template containing [`APPID_PLACEHOLDER`] (`$APPID$`,
    /// as registered on the platform), or a base URL to which `/<appid>` is appended.
    pub fn new(callback_url: impl Into<String>) -> Self {
        Self {
            url_template: callback_url.into(),
            group: None,
            reply_timeout: Duration::from_secs(5),
            tries: 3,
            deadline: Duration::from_secs(5),
            official_account_checks: CheckKind::ALL.to_vec(),
            mini_program_checks: vec![CheckKind::QueryAuthCode],
        }
    }

    /// Runs group `number` (1 to 5) instead of one drawn at random.
    pub fn group(mut self, number: usize) -> Self {
        self.group = Some(number);
        self
    }

    /// How long one try waits for an answer before the connection is dropped and the message
    /// sent again (default 5 s).
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// How many times a message is sent in all when the endpoint stays silent (default 3; at
    /// least 1).
    pub fn tries(mut self, tries: u32) -> Self {
        self.tries = tries.max(1);
        self
    }

    /// The budget of each check from its first send (default 5 s): the passive reply, or the
    /// empty answer and the `custom/send`, must arrive within it. A `QUERY_AUTH_CODE` check
    /// always lasts this long (to see duplicates).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The checks the group's official account gets (default: all three).
    pub fn official_account_checks(mut self, checks: impl IntoIterator<Item = CheckKind>) -> Self {
        self.official_account_checks = checks.into_iter().collect();
        self
    }

    /// The checks the group's mini program gets (default: [`CheckKind::QueryAuthCode`] only).
    pub fn mini_program_checks(mut self, checks: impl IntoIterator<Item = CheckKind>) -> Self {
        self.mini_program_checks = checks.into_iter().collect();
        self
    }

    /// The message URL for `appid`: the template with `$APPID$` replaced, or the base URL
    /// with `/<appid>` appended.
    pub fn url_for(&self, appid: &str) -> String {
        if self.url_template.contains(APPID_PLACEHOLDER) {
            self.url_template.replace(APPID_PLACEHOLDER, appid)
        } else {
            format!("{}/{appid}", self.url_template.trim_end_matches('/'))
        }
    }
}

/// The outcome of one check for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub check: CheckKind,
    /// The account it was sent for.
    pub account: TestAccount,
    /// The URL it was sent to (without the query).
    pub url: String,
    /// `None` when the check passed; otherwise why it failed (several reasons joined by `; `).
    pub failure: Option<String>,
    /// Remarks that did not fail the check (silent tries, a `success` answer where an empty
    /// one is documented).
    pub notes: Vec<String>,
    /// How many times the message was sent (1 unless the endpoint stayed silent).
    pub tries: u32,
    /// From the first send to the answer, if one came.
    pub reply_latency: Option<Duration>,
    /// `QUERY_AUTH_CODE`: from the first send to the first matching `custom/send`.
    pub custom_send_latency: Option<Duration>,
    /// `QUERY_AUTH_CODE`: matching `custom/send` messages within the deadline (1 to pass).
    pub custom_sends: usize,
}

impl CheckResult {
    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:<28} {} ({})",
            if self.passed() { "PASS" } else { "FAIL" },
            self.check.name(),
            self.account.appid,
            self.account.user_name
        )?;
        if let Some(l) = self.reply_latency {
            write!(f, " reply {}", ms(l))?;
        }
        if let Some(l) = self.custom_send_latency {
            write!(f, " custom/send {}", ms(l))?;
        }
        if self.tries > 1 {
            write!(f, " after {} tries", self.tries)?;
        }
        if let Some(why) = &self.failure {
            write!(f, ": {why}")?;
        }
        for note in &self.notes {
            write!(f, " [{note}]")?;
        }
        Ok(())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The result of a release-check run: one [`CheckResult`] per check and account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCheckReport {
    /// The group that was run (1 to 5).
    pub group: usize,
    /// The checks, official account first, each account's in sending order.
    pub checks: Vec<CheckResult>,
}

impl ReleaseCheckReport {
    /// Whether every check passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(CheckResult::passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed())
    }

    /// The result of `check` for the account `appid`, if it was run.
    pub fn check(&self, check: CheckKind, appid: &str) -> Option<&CheckResult> {
        self.checks
            .iter()
            .find(|c| c.check == check && c.account.appid == appid)
    }
}

impl fmt::Display for ReleaseCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        let n = self.checks.len();
        write!(
            f,
            "release check, group {}: {} ({n} check{}, {failed} failed)",
            self.group,
            if self.passed() { "PASS" } else { "FAIL" },
            if n == 1 { "" } else { "s" },
        )?;
        for c in &self.checks {
            write!(f, "\n  {c}")?;
        }
        Ok(())
    }
}

fn excerpt(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{:?}…", &s[..i]),
        None => format!("{s:?}"),
    }
}

fn openid() -> String {
    format!("o{}", Alphanumeric.sample_string(&mut rand::rng(), 27))
}

/// The plaintext of the `LOCATION` event from `openid` to account `user_name`.
fn location_event_xml(user_name: &str, openid: &str, create_time: u64) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Event>{}</Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>",
        cdata(user_name),
        cdata(openid),
        cdata("event"),
        cdata(CHECK_EVENT),
    )
}

/// What one try produced.
enum Answer {
    /// An HTTP answer: latency from the first send, status, body.
    Http(Duration, u16, String),
    /// No answer on any try.
    Silent,
}

impl FakeWeChat {
    /// Runs the release check against `callback_url` (a template containing `$APPID$`, or a
    /// base URL to which `/<appid>` is appended) for group `group` (1 to 5; `None` draws one
    /// at random), with WeChat's timings. See [`FakeWeChat::run_release_check`].
    pub async fn release_check(
        &self,
        callback_url: &str,
        group: Option<usize>,
    ) -> Result<ReleaseCheckReport, FakeError> {
        let mut check = ReleaseCheck::new(callback_url);
        if let Some(n) = group {
            check = check.group(n);
        }
        self.run_release_check(&check).await
    }

    /// Runs a release check (see the [module docs](crate::release_check)).
    ///
    /// The group's test accounts are authorized to the component first (an account already
    /// authorized keeps its refresh token); each `QUERY_AUTH_CODE` message carries a fresh
    /// single-use authorization code for its account, which `api_query_auth` exchanges for
    /// that account's tokens (so `api_authorizer_token` works for it afterwards). Every test
    /// user gets a fresh openid, which `custom/send` accepts as a recipient.
    ///
    /// `Err` only when the run cannot start (a group outside 1–5, no HTTP client); a failing
    /// endpoint gives a report whose [`passed`](ReleaseCheckReport::passed) is `false`.
    pub async fn run_release_check(
        &self,
        check: &ReleaseCheck,
    ) -> Result<ReleaseCheckReport, FakeError> {
        let number = match check.group {
            Some(n) => n,
            None => rand::random_range(1..=TEST_GROUPS.len()),
        };
        let group = TEST_GROUPS
            .iter()
            .find(|g| g.number == number)
            .ok_or_else(|| {
                FakeError::ReleaseCheck(format!("no test group {number} (groups are 1 to 5)"))
            })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| FakeError::ReleaseCheck(format!("HTTP client: {e}")))?;
        {
            let now = self.now_unix();
            let mut inner = self.shared().lock();
            for a in group.accounts() {
                inner
                    .platform
                    .authorize_test_account(a.appid, a.user_name, a.kind, now);
            }
        }
        let (mut oa, mp) = tokio::join!(
            self.check_account(
                &http,
                check,
                group.official_account,
                &check.official_account_checks
            ),
            self.check_account(&http, check, group.mini_program, &check.mini_program_checks),
        );
        oa.extend(mp);
        Ok(ReleaseCheckReport {
            group: group.number,
            checks: oa,
        })
    }

    async fn check_account(
        &self,
        http: &reqwest::Client,
        settings: &ReleaseCheck,
        account: TestAccount,
        checks: &[CheckKind],
    ) -> Vec<CheckResult> {
        let openid = openid();
        let mut results = Vec::with_capacity(checks.len());
        for &kind in checks {
            results.push(self.check_one(http, settings, account, kind, &openid).await);
        }
        results
    }

    async fn check_one(
        &self,
        http: &reqwest::Client,
        settings: &ReleaseCheck,
        account: TestAccount,
        kind: CheckKind,
        openid: &str,
    ) -> CheckResult {
        let url = settings.url_for(account.appid);
        let mut result = CheckResult {
            check: kind,
            account,
            url: url.clone(),
            failure: None,
            notes: Vec::new(),
            tries: 0,
            reply_latency: None,
            custom_send_latency: None,
            custom_sends: 0,
        };
        let now = self.now_unix();
        let code = {
            let mut inner = self.shared().lock();
            inner.platform.user_wrote(account.appid, openid, now);
            (kind == CheckKind::QueryAuthCode)
                .then(|| inner.platform.issue_auth_code(account.appid, now))
        };
        let plaintext = match (kind, &code) {
            (CheckKind::Event, _) => location_event_xml(account.user_name, openid, now),
            (_, Some(code)) => text_message_xml(
                account.user_name,
                openid,
                now,
                &format!("{QUERY_AUTH_CODE_PREFIX}{code}"),
                rand::random::<u64>() >> 1,
            ),
            _ => text_message_xml(
                account.user_name,
                openid,
                now,
                TEXT_CHECK_CONTENT,
                rand::random::<u64>() >> 1,
            ),
        };

        let started = Instant::now();
        let answer = self
            .send_with_retries(
                http,
                settings,
                (account, openid),
                &url,
                plaintext,
                started,
                &mut result,
            )
            .await;
        let mut failures = Vec::new();
        match answer {
            Answer::Silent => failures.push(format!(
                "no answer on any of {} tries (each waited {})",
                result.tries,
                ms(settings.reply_timeout)
            )),
            Answer::Http(latency, status, body) => {
                result.reply_latency = Some(latency);
                if latency > settings.deadline {
                    failures.push(format!(
                        "answered after {}, past the {} budget",
                        ms(latency),
                        ms(settings.deadline)
                    ));
                }
                if !(200..300).contains(&status) {
                    failures.push(format!("answered HTTP {status}: {}", excerpt(&body)));
                } else {
                    let verdict = match kind {
                        CheckKind::Text => {
                            self.verify_passive_reply(&body, account, openid, TEXT_CHECK_REPLY)
                        }
                        CheckKind::Event => self.verify_passive_reply(
                            &body,
                            account,
                            openid,
                            &format!("{CHECK_EVENT}{FROM_CALLBACK_SUFFIX}"),
                        ),
                        CheckKind::QueryAuthCode => match body.trim() {
                            "" => Ok(()),
                            "success" => {
                                result.notes.push(
                                    "answered `success` where an empty body is documented (accepted)"
                                        .to_owned(),
                                );
                                Ok(())
                            }
                            other => Err(format!(
                                "expected an empty answer at once, got {}",
                                excerpt(other)
                            )),
                        },
                    };
                    if let Err(why) = verdict {
                        failures.push(why);
                    }
                }
            }
        }
        if let Some(code) = &code {
            self.judge_custom_send(settings, account, openid, code, started, &mut result)
                .await
                .into_iter()
                .for_each(|f| failures.push(f));
        }
        if !failures.is_empty() {
            result.failure = Some(failures.join("; "));
        }
        result
    }

    /// Sends the message until an answer comes, at most `tries` times; every try is sealed
    /// afresh (same plaintext: same `MsgId` and `CreateTime`).
    #[allow(clippy::too_many_arguments)]
    async fn send_with_retries(
        &self,
        http: &reqwest::Client,
        settings: &ReleaseCheck,
        (account, openid): (TestAccount, &str),
        url: &str,
        plaintext: String,
        started: Instant,
        result: &mut CheckResult,
    ) -> Answer {
        for attempt in 1..=settings.tries {
            result.tries = attempt;
            let push = match self.seal_message(
                account.appid,
                account.user_name,
                openid,
                plaintext.clone(),
            ) {
                Ok(p) => p,
                Err(e) => {
                    result
                        .notes
                        .push(format!("try {attempt}: sealing failed: {e}"));
                    return Answer::Silent;
                }
            };
            let request = http
                .post(push.url(url))
                .header("content-type", "text/xml")
                .body(push.body)
                .timeout(settings.reply_timeout);
            let answered = async {
                let response = request.send().await?;
                let status = response.status().as_u16();
                let body = response.text().await?;
                Ok::<_, reqwest::Error>((status, body))
            }
            .await;
            match answered {
                Ok((status, body)) => return Answer::Http(started.elapsed(), status, body),
                Err(e) if e.is_timeout() => result.notes.push(format!(
                    "try {attempt}: no answer within {}",
                    ms(settings.reply_timeout)
                )),
                Err(e) => result
                    .notes
                    .push(format!("try {attempt}: request failed: {e}")),
            }
        }
        Answer::Silent
    }

    /// Checks an encrypted passive text reply: signature, decryption under the component key
    /// (trailing id = component appid), `MsgType` text, the exact `Content`, and the sender and
    /// receiver swapped.
    fn verify_passive_reply(
        &self,
        body: &str,
        account: TestAccount,
        openid: &str,
        expected: &str,
    ) -> Result<(), String> {
        let body = body.trim();
        if body.is_empty() {
            return Err(format!(
                "answered an empty body instead of the encrypted passive reply {expected:?}"
            ));
        }
        if body == "success" {
            return Err(format!(
                "answered `success` instead of the encrypted passive reply {expected:?}"
            ));
        }
        if !body.contains("<Encrypt>") {
            return Err(format!(
                "the answer is not an encrypted reply (no <Encrypt>): {}",
                excerpt(body)
            ));
        }
        let plain = self.open_reply(body).map_err(|e| {
            format!("the reply does not verify or decrypt under the component's key: {e}")
        })?;
        let msg = parse_authorizer_message(plain.as_bytes()).map_err(|e| {
            format!(
                "the decrypted reply is not a message ({e}): {}",
                excerpt(&plain)
            )
        })?;
        if msg.msg_type != MsgType::Text {
            return Err(format!(
                "the reply's MsgType is {:?}, expected \"text\"",
                msg.msg_type.as_str()
            ));
        }
        if msg.content.as_deref() != Some(expected) {
            return Err(format!(
                "the reply's Content is {:?}, expected {expected:?}",
                msg.content.as_deref().unwrap_or("")
            ));
        }
        if msg.to_user_name != openid {
            return Err(format!(
                "the reply's ToUserName is {:?}, expected the sender {openid:?}",
                msg.to_user_name
            ));
        }
        if msg.from_user_name != account.user_name {
            return Err(format!(
                "the reply's FromUserName is {:?}, expected the account {:?}",
                msg.from_user_name, account.user_name
            ));
        }
        Ok(())
    }

    /// Waits out the deadline, then checks that the code was exchanged and exactly one
    /// `custom/send` with `<code>_from_api` reached the test user in time.
    async fn judge_custom_send(
        &self,
        settings: &ReleaseCheck,
        account: TestAccount,
        openid: &str,
        code: &str,
        started: Instant,
        result: &mut CheckResult,
    ) -> Vec<String> {
        let end = started + settings.deadline;
        tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
        let expected = format!("{code}{FROM_API_SUFFIX}");
        let (to_user, exchanged, refused) = {
            let inner = self.shared().lock();
            let to_user: Vec<_> = inner
                .platform
                .sent()
                .iter()
                .filter(|m| {
                    m.at >= started
                        && m.at <= end
                        && m.authorizer_appid == account.appid
                        && m.touser == openid
                })
                .cloned()
                .collect();
            let refused: Vec<i64> = inner
                .platform
                .refused_sends()
                .iter()
                .filter(|(at, _)| *at >= started && *at <= end)
                .map(|(_, code)| *code)
                .collect();
            (
                to_user,
                inner.platform.auth_code_used(code) == Some(true),
                refused,
            )
        };
        let matching: Vec<_> = to_user.iter().filter(|m| m.content == expected).collect();
        result.custom_sends = matching.len();
        result.custom_send_latency = matching.first().map(|m| m.at.duration_since(started));
        let mut failures = Vec::new();
        if !exchanged {
            failures.push("api_query_auth was not called with the check's code".to_owned());
        }
        match matching.len() {
            1 => {}
            0 => {
                let mut why = format!(
                    "no custom/send with {} to the test user within {}",
                    excerpt(&expected),
                    ms(settings.deadline)
                );
                if let Some(other) = to_user.first() {
                    why.push_str(&format!(
                        "; one arrived with content {}",
                        excerpt(&other.content)
                    ));
                }
                if !refused.is_empty() {
                    why.push_str(&format!(
                        "; {} custom/send call(s) refused meanwhile (errcode {:?})",
                        refused.len(),
                        refused
                    ));
                }
                failures.push(why);
            }
            n => failures.push(format!(
                "custom/send arrived {n} times for one message (a retry was not deduplicated)"
            )),
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_numbered_and_found_by_appid_or_user_name() {
        for (i, g) in TEST_GROUPS.iter().enumerate() {
            assert_eq!(g.number, i + 1);
            for a in g.accounts() {
                assert_eq!(find_test_account(a.appid), Some((*g, a)));
                assert_eq!(find_test_account(a.user_name), Some((*g, a)));
                assert_eq!(a.appid.len(), 18);
                assert!(a.user_name.starts_with("gh_") && a.user_name.len() == 15);
            }
            assert_eq!(g.official_account.kind, AuthorizerKind::OfficialAccount);
            assert_eq!(g.mini_program.kind, AuthorizerKind::MiniProgram);
        }
        assert_eq!(
            find_test_account("gh_3c884a361561").map(|(g, a)| (g.number, a.appid)),
            Some((1, "wx570bc396a51b8ff8"))
        );
        assert_eq!(find_test_account("wx0000000000000000"), None);
    }

    #[test]
    fn urls_from_a_template_or_a_base() {
        let t = ReleaseCheck::new("https://h/wechat/wxc/callback/$APPID$?x=1");
        assert_eq!(t.url_for("wxa"), "https://h/wechat/wxc/callback/wxa?x=1");
        assert_eq!(
            ReleaseCheck::new("http://h/cb/").url_for("wxa"),
            "http://h/cb/wxa"
        );
        assert_eq!(
            ReleaseCheck::new("http://h/cb").url_for("wxa"),
            "http://h/cb/wxa"
        );
        let d = ReleaseCheck::new("x");
        assert_eq!(d.tries, 3);
        assert_eq!(d.reply_timeout, Duration::from_secs(5));
        assert_eq!(d.deadline, Duration::from_secs(5));
        assert_eq!(d.official_account_checks, CheckKind::ALL);
        assert_eq!(d.mini_program_checks, [CheckKind::QueryAuthCode]);
        assert_eq!(ReleaseCheck::new("x").tries(0).tries, 1);
    }

    #[test]
    fn check_messages_are_what_wechat_sends() {
        let m = parse_authorizer_message(location_event_xml("gh_1", "o1", 5).as_bytes())
            .expect("event parses");
        assert_eq!(m.msg_type, MsgType::Event);
        assert_eq!(m.event.as_deref(), Some(CHECK_EVENT));
        assert_eq!(m.msg_id, None);
        assert_eq!(m.field("Latitude"), Some("23.137466"));
        assert_eq!(
            format!("{CHECK_EVENT}{FROM_CALLBACK_SUFFIX}"),
            "LOCATIONfrom_callback"
        );
        assert!(excerpt(&"x".repeat(500)).ends_with('…'));
        assert_eq!(excerpt("ab"), "\"ab\"");
        let id = openid();
        assert_eq!(id.len(), 28);
        assert!(id.starts_with('o'));
    }
}
