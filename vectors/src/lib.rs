//! Test vectors for wxopen, embedded at compile time.
//!
//! Three data sets live next to this crate and are compiled into it with
//! `include_str!`, so tests never depend on the working directory:
//!
//! * [`official()`]: 32 WXBizMsgCrypt vectors transcribed from official SDK
//!   samples, documentation pages and peer test suites
//!   (`crypto/official-sdk.json`).
//! * [`cross_impl()`]: generated vectors (`crypto/cross-impl.json`, written by
//!   `tools/gen_cross_impl.py`), each reproduced by an independent reference
//!   implementation and, where it can, by wechatpy.
//! * [`api_fixtures()`] / [`api_fixture()`]: request, success response and
//!   error bodies for every component API endpoint (`api/*.json`).
//!
//! The embedded data is test data: if it does not parse, the accessor panics
//! with a message naming the file (see the `# Panics` sections).
//!
//! ```
//! use wxopen_vectors::{cross_impl, official, VectorKind};
//!
//! let generated = cross_impl();
//! assert!(generated.vectors.len() >= 200);
//!
//! // Every deterministic-encryption vector names its random16 and the exact reply.
//! for v in generated.of_kind(VectorKind::EncryptDeterministic) {
//!     assert!(v.random16_bytes().is_some());
//!     assert!(v.envelope_xml.as_deref().is_some_and(|x| x.starts_with("<xml>\n<Encrypt>")));
//! }
//!
//! // Negative vectors carry the official error code.
//! let bad_sig = official().get("wechatpy-check_signature_should_fail").cloned();
//! assert_eq!(bad_sig.and_then(|v| v.expected_error), Some(-40001));
//!
//! let token = wxopen_vectors::api_fixture("api_component_token");
//! assert_eq!(token.map(|f| f.method), Some("POST".to_owned()));
//! ```

use serde::Deserialize;
use serde_json::Value;

/// What a [`CryptoVector`] exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorKind {
    /// An inbound push: check `msg_signature`, extract `Encrypt` from
    /// `envelope_xml` (or use `encrypt`), decrypt, compare with `plaintext`.
    DecryptMessage,
    /// URL verification (GET with `echostr`): check the signature over the
    /// echo ciphertext in `encrypt` and decrypt it to `plaintext`.
    VerifyUrl,
    /// Encrypt `plaintext` with the fixed `random16`; the result must equal
    /// `encrypt` byte for byte (and `envelope_xml` / `msg_signature` when set).
    EncryptDeterministic,
    /// Signature only: SHA-1 over the sorted token, timestamp, nonce and, when
    /// present, `encrypt`. With `encrypt` null it is the 3-field `signature`
    /// query parameter.
    SignOnly,
    /// Input that must be rejected with `expected_error`.
    Reject,
}

impl VectorKind {
    /// All kinds, in schema order.
    pub const ALL: [VectorKind; 5] = [
        VectorKind::DecryptMessage,
        VectorKind::VerifyUrl,
        VectorKind::EncryptDeterministic,
        VectorKind::SignOnly,
        VectorKind::Reject,
    ];

    /// The snake_case name used in the JSON files.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorKind::DecryptMessage => "decrypt_message",
            VectorKind::VerifyUrl => "verify_url",
            VectorKind::EncryptDeterministic => "encrypt_deterministic",
            VectorKind::SignOnly => "sign_only",
            VectorKind::Reject => "reject",
        }
    }
}

/// One WXBizMsgCrypt test vector (shared schema of `official-sdk.json` and
/// `cross-impl.json`). Unknown JSON fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CryptoVector {
    /// Unique identifier within its file.
    pub id: String,
    /// Provenance: repository/path/commit for official vectors,
    /// `{generator, crosschecked_with}` for generated ones. Kept as raw JSON.
    pub source: Value,
    /// What the vector exercises.
    pub kind: VectorKind,
    /// The Token configured on the platform.
    pub token: String,
    /// The 43-character EncodingAESKey (null for signature-only vectors).
    pub encoding_aes_key: Option<String>,
    /// The receiver id (appid / corpid) at the end of the plaintext frame; for
    /// reject vectors, the id the decoder expects.
    pub receiver_id: Option<String>,
    /// `timestamp` query parameter.
    pub timestamp: Option<String>,
    /// `nonce` query parameter.
    pub nonce: Option<String>,
    /// Expected `msg_signature` (lowercase hex SHA-1); for reject vectors the
    /// value presented to the decoder.
    pub msg_signature: Option<String>,
    /// The `Encrypt` text (base64 ciphertext), or the echostr for
    /// [`VectorKind::VerifyUrl`].
    pub encrypt: Option<String>,
    /// The full push body (decrypt vectors), reply envelope (deterministic
    /// encryption) or malformed envelope (reject vectors).
    pub envelope_xml: Option<String>,
    /// Expected plaintext message (UTF-8), when known.
    pub plaintext: Option<String>,
    /// The 16 random bytes at the start of the frame, as a 16-character
    /// ASCII string.
    pub random16: Option<String>,
    /// Official error code (-40001..=-40011) a decoder must report; set only
    /// for [`VectorKind::Reject`].
    pub expected_error: Option<i32>,
    /// Free-form explanation.
    #[serde(default)]
    pub notes: String,
    /// Byte length of the plaintext message, when the file states it.
    #[serde(default)]
    pub msg_len: Option<usize>,
    /// Plaintext obtained by decryption where the source states none
    /// (informational, official file only).
    #[serde(default)]
    pub plaintext_derived: Option<String>,
    /// random16 obtained by decryption where the source states none
    /// (informational, official file only).
    #[serde(default)]
    pub random16_derived: Option<String>,
    /// Fragments a source test asserts the plaintext contains.
    #[serde(default)]
    pub plaintext_contains: Vec<String>,
    /// Whether the shared checker (`verify_vectors.py --update`) passed the
    /// vector, when recorded.
    #[serde(default)]
    pub verified: Option<bool>,
}

impl CryptoVector {
    /// `random16` as bytes, if it is present and exactly 16 bytes long.
    pub fn random16_bytes(&self) -> Option<[u8; 16]> {
        self.random16.as_deref().and_then(str_to_16)
    }

    /// `random16`, falling back to `random16_derived`, as bytes.
    pub fn random16_or_derived_bytes(&self) -> Option<[u8; 16]> {
        self.random16_bytes()
            .or_else(|| self.random16_derived.as_deref().and_then(str_to_16))
    }

    /// `plaintext`, falling back to `plaintext_derived`.
    pub fn plaintext_or_derived(&self) -> Option<&str> {
        self.plaintext
            .as_deref()
            .or(self.plaintext_derived.as_deref())
    }

    /// True for every kind except [`VectorKind::Reject`].
    pub fn is_positive(&self) -> bool {
        self.kind != VectorKind::Reject
    }

    /// The implementations listed in `source.crosschecked_with` (empty for
    /// vectors without that field, e.g. the official ones).
    pub fn crosschecked_with(&self) -> Vec<&str> {
        self.source
            .get("crosschecked_with")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the EncodingAESKey's 43rd character carries non-zero unused
    /// low bits (such keys fail a strict base64 decoder). `None` if there is no
    /// key or it is not 43 standard-alphabet characters.
    pub fn key_has_nonzero_trailing_bits(&self) -> Option<bool> {
        let key = self.encoding_aes_key.as_deref()?;
        if key.len() != 43 || !key.bytes().all(is_b64) {
            return None;
        }
        let last = key.bytes().last()?;
        Some(b64_value(last)? & 0x3 != 0)
    }
}

fn str_to_16(s: &str) -> Option<[u8; 16]> {
    s.as_bytes().try_into().ok()
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// A parsed vector file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VectorFile {
    /// The file's own description of its conventions.
    pub description: String,
    /// Generator script, for generated files.
    #[serde(default)]
    pub generator: Option<String>,
    /// The vectors, in file order.
    pub vectors: Vec<CryptoVector>,
}

impl VectorFile {
    /// The vector with this id.
    pub fn get(&self, id: &str) -> Option<&CryptoVector> {
        self.vectors.iter().find(|v| v.id == id)
    }

    /// All vectors of one kind, in file order.
    pub fn of_kind(&self, kind: VectorKind) -> impl Iterator<Item = &CryptoVector> + '_ {
        self.vectors.iter().filter(move |v| v.kind == kind)
    }

    /// All reject vectors expecting this error code.
    pub fn rejecting_with(&self, code: i32) -> impl Iterator<Item = &CryptoVector> + '_ {
        self.vectors
            .iter()
            .filter(move |v| v.expected_error == Some(code))
    }
}

const OFFICIAL_JSON: &str = include_str!("../crypto/official-sdk.json");
const CROSS_IMPL_JSON: &str = include_str!("../crypto/cross-impl.json");

fn parse_vectors(file: &str, text: &str) -> VectorFile {
    match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("wxopen-vectors: embedded {file} does not parse: {e}"),
    }
}

/// The official-SDK vectors (`crypto/official-sdk.json`, 32 vectors).
///
/// # Panics
/// If the embedded JSON does not match the schema (a bug in the test data).
pub fn official() -> VectorFile {
    parse_vectors("crypto/official-sdk.json", OFFICIAL_JSON)
}

/// The generated cross-implementation vectors (`crypto/cross-impl.json`).
///
/// # Panics
/// If the embedded JSON does not match the schema (a bug in the test data).
pub fn cross_impl() -> VectorFile {
    parse_vectors("crypto/cross-impl.json", CROSS_IMPL_JSON)
}

/// One documented error body of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// WeChat `errcode`.
    pub errcode: i64,
    /// WeChat `errmsg` (includes the `rid: …` suffix real responses carry).
    pub errmsg: String,
}

/// Request/response fixture for one component API endpoint (`api/<name>.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiFixture {
    /// File stem, e.g. `api_component_token` or
    /// `api_get_authorizer_info_miniprogram` (not stored in the JSON).
    #[serde(skip)]
    pub name: String,
    /// Path on `api.weixin.qq.com`, e.g. `/cgi-bin/component/api_query_auth`.
    pub endpoint: String,
    /// HTTP method (always `POST` for these endpoints).
    pub method: String,
    /// Query parameters with placeholder values (empty object if none).
    pub query: Value,
    /// JSON request body.
    pub request: Value,
    /// JSON success response.
    pub response: Value,
    /// Documented error bodies.
    pub errors: Vec<ApiError>,
    /// Sources and caveats.
    #[serde(default)]
    pub notes: String,
}

macro_rules! api_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../api/", $name, ".json")))),*]
    };
}

/// Names and contents of the embedded API fixtures.
const API_FILES: &[(&str, &str)] = api_files![
    "api_component_token",
    "api_create_preauthcode",
    "api_query_auth",
    "api_authorizer_token",
    "api_get_authorizer_info",
    "api_get_authorizer_info_miniprogram",
    "api_get_authorizer_list",
    "api_get_authorizer_option",
    "api_set_authorizer_option",
    "get_authorizer_option",
    "set_authorizer_option",
    "api_start_push_ticket",
    "clear_quota",
    "clear_quota_v2",
];

fn parse_fixture(name: &str, text: &str) -> ApiFixture {
    match serde_json::from_str::<ApiFixture>(text) {
        Ok(mut f) => {
            f.name = name.to_owned();
            f
        }
        Err(e) => panic!("wxopen-vectors: embedded api/{name}.json does not parse: {e}"),
    }
}

/// Names of all embedded API fixtures, in a stable order.
pub fn api_fixture_names() -> impl Iterator<Item = &'static str> {
    API_FILES.iter().map(|(n, _)| *n)
}

/// The fixture stored as `api/<name>.json`, if there is one.
///
/// # Panics
/// If that embedded file does not match the schema (a bug in the test data).
pub fn api_fixture(name: &str) -> Option<ApiFixture> {
    API_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| parse_fixture(n, text))
}

/// All API fixtures, in the order of [`api_fixture_names`].
///
/// # Panics
/// If an embedded file does not match the schema (a bug in the test data).
pub fn api_fixtures() -> Vec<ApiFixture> {
    API_FILES
        .iter()
        .map(|(n, text)| parse_fixture(n, text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn all_files() -> [(&'static str, VectorFile); 2] {
        [("official", official()), ("cross-impl", cross_impl())]
    }

    fn is_lower_hex40(s: &str) -> bool {
        s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn counts() {
        assert_eq!(official().vectors.len(), 32);
        let x = cross_impl();
        assert!(x.vectors.len() >= 200, "{}", x.vectors.len());
        for kind in VectorKind::ALL {
            assert!(x.of_kind(kind).count() > 0, "no {} vectors", kind.as_str());
        }
        for code in [-40001, -40002, -40004, -40005, -40007, -40008, -40010] {
            assert!(x.rejecting_with(code).count() > 0, "no reject with {code}");
        }
    }

    #[test]
    fn ids_unique() {
        let mut all = HashSet::new();
        for (name, f) in all_files() {
            let mut seen = HashSet::new();
            for v in &f.vectors {
                assert!(seen.insert(v.id.as_str()), "{name}: duplicate id {}", v.id);
                assert!(all.insert(v.id.clone()), "id {} in both files", v.id);
            }
        }
    }

    #[test]
    fn kinds_have_their_fields() {
        for (name, f) in all_files() {
            for v in &f.vectors {
                let ctx = format!("{name}/{}", v.id);
                match v.kind {
                    VectorKind::Reject => {
                        let code = v.expected_error;
                        assert!(
                            code.is_some_and(|c| (-40011..=-40001).contains(&c)),
                            "{ctx}: expected_error {code:?}"
                        );
                        assert!(v.encoding_aes_key.is_some(), "{ctx}: key");
                    }
                    other => {
                        assert_eq!(v.expected_error, None, "{ctx}: positive with error");
                        assert!(v.timestamp.is_some() && v.nonce.is_some(), "{ctx}");
                        let sig = v.msg_signature.as_deref();
                        match other {
                            VectorKind::DecryptMessage | VectorKind::VerifyUrl => {
                                assert!(sig.is_some_and(is_lower_hex40), "{ctx}: sig");
                                assert!(v.encoding_aes_key.is_some(), "{ctx}: key");
                                assert!(v.receiver_id.is_some(), "{ctx}: receiver");
                                assert!(v.encrypt.is_some(), "{ctx}: encrypt");
                                if other == VectorKind::DecryptMessage {
                                    assert!(v.envelope_xml.is_some(), "{ctx}: envelope");
                                }
                                assert!(
                                    v.plaintext_or_derived().is_some()
                                        || !v.plaintext_contains.is_empty(),
                                    "{ctx}: no plaintext"
                                );
                            }
                            VectorKind::EncryptDeterministic => {
                                assert!(v.encoding_aes_key.is_some(), "{ctx}: key");
                                assert!(v.receiver_id.is_some(), "{ctx}: receiver");
                                assert!(v.plaintext.is_some(), "{ctx}: plaintext");
                                assert!(v.encrypt.is_some(), "{ctx}: encrypt");
                                assert!(v.random16_bytes().is_some(), "{ctx}: random16");
                                if let Some(s) = sig {
                                    assert!(is_lower_hex40(s), "{ctx}: sig");
                                }
                            }
                            VectorKind::SignOnly => {
                                assert!(sig.is_some_and(is_lower_hex40), "{ctx}: sig");
                            }
                            VectorKind::Reject => unreachable!(),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn cross_impl_is_complete() {
        let x = cross_impl();
        assert_eq!(
            x.generator.as_deref(),
            Some("vectors/tools/gen_cross_impl.py")
        );
        for v in &x.vectors {
            let ctx = &v.id;
            assert!(
                !v.crosschecked_with().is_empty(),
                "{ctx}: crosschecked_with"
            );
            if v.kind == VectorKind::EncryptDeterministic {
                let (Some(e), Some(s), Some(t), Some(n)) = (
                    v.encrypt.as_deref(),
                    v.msg_signature.as_deref(),
                    v.timestamp.as_deref(),
                    v.nonce.as_deref(),
                ) else {
                    panic!("{ctx}: incomplete");
                };
                let want = format!(
                    "<xml>\n<Encrypt><![CDATA[{e}]]></Encrypt>\n<MsgSignature><![CDATA[{s}]]></MsgSignature>\n<TimeStamp>{t}</TimeStamp>\n<Nonce><![CDATA[{n}]]></Nonce>\n</xml>"
                );
                assert_eq!(v.envelope_xml.as_deref(), Some(want.as_str()), "{ctx}");
            }
            if matches!(v.kind, VectorKind::DecryptMessage | VectorKind::VerifyUrl) {
                assert!(v.random16_bytes().is_some(), "{ctx}: random16");
                let len = v.plaintext.as_deref().map(str::len);
                assert_eq!(v.msg_len, len, "{ctx}: msg_len");
            }
            if v.kind == VectorKind::Reject && v.expected_error != Some(-40004) {
                assert!(v.encrypt.is_some() || v.envelope_xml.is_some(), "{ctx}");
            }
        }
        // Key coverage the generator promises.
        let trailing: Vec<bool> = x
            .vectors
            .iter()
            .filter(|v| v.is_positive())
            .filter_map(CryptoVector::key_has_nonzero_trailing_bits)
            .collect();
        assert!(trailing.iter().filter(|b| **b).count() >= 10);
        assert!(trailing.iter().filter(|b| !**b).count() >= 10);
        let all_a = "A".repeat(43);
        assert!(x
            .vectors
            .iter()
            .any(|v| v.encoding_aes_key.as_deref() == Some(all_a.as_str()) && v.is_positive()));
        for len in [
            0usize, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 4096, 65536,
        ] {
            assert!(
                x.of_kind(VectorKind::DecryptMessage)
                    .any(|v| v.msg_len == Some(len)),
                "no decrypt vector of length {len}"
            );
        }
    }

    #[test]
    fn helpers() {
        let o = official();
        let v = o.get("doc-oplatform-reply-encrypt");
        assert_eq!(
            v.and_then(CryptoVector::random16_bytes),
            Some(*b"999951349e8ee746")
        );
        let v = o.get("mp-official-cpp-decrypt");
        assert_eq!(v.and_then(CryptoVector::random16_bytes), None);
        assert_eq!(
            v.and_then(CryptoVector::random16_or_derived_bytes),
            Some(*b"78b55f1d91440c6b")
        );
        assert!(v.and_then(CryptoVector::plaintext_or_derived).is_some());
        // "jWmYm7...B2C": 'C' = 2, low bits 10 -> non-zero.
        let v = o.get("wecom-official-verifyurl-QDG6eK");
        assert_eq!(
            v.and_then(CryptoVector::key_has_nonzero_trailing_bits),
            Some(true)
        );
        let v = o.get("node-webot-wechat-crypto-bad-key");
        assert_eq!(
            v.and_then(CryptoVector::key_has_nonzero_trailing_bits),
            None
        );
        assert!(o.get("no-such-id").is_none());
    }

    #[test]
    fn api_fixtures_parse_and_are_post() {
        let all = api_fixtures();
        assert_eq!(all.len(), 14);
        let mut endpoints = HashSet::new();
        for f in &all {
            assert_eq!(f.method, "POST", "{}", f.name);
            assert!(f.endpoint.starts_with("/cgi-bin/"), "{}", f.name);
            assert!(f.query.is_object(), "{}: query", f.name);
            assert!(f.request.is_object(), "{}: request", f.name);
            assert!(f.response.is_object(), "{}: response", f.name);
            assert!(!f.errors.is_empty(), "{}: errors", f.name);
            for e in &f.errors {
                assert_ne!(e.errcode, 0, "{}", f.name);
                assert!(e.errmsg.contains("rid: "), "{}: {}", f.name, e.errmsg);
            }
            assert!(!f.notes.is_empty(), "{}: notes", f.name);
            endpoints.insert(f.endpoint.as_str());
            assert_eq!(api_fixture(&f.name).as_ref(), Some(f));
        }
        // 14 files, 13 distinct endpoints (get_authorizer_info has two variants).
        assert_eq!(endpoints.len(), 13);
        assert!(api_fixture("nope").is_none());
        assert_eq!(api_fixture_names().count(), 14);
        let mp = api_fixture("api_get_authorizer_info_miniprogram");
        assert!(mp.is_some_and(|f| f.response["authorizer_info"]
            .get("MiniProgramInfo")
            .is_some()));
        let oa = api_fixture("api_get_authorizer_info");
        assert!(oa.is_some_and(|f| f.response["authorizer_info"]
            .get("MiniProgramInfo")
            .is_none()));
    }
}
