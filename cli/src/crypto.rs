//! `decrypt`, `encrypt`, `verify-url` and `sign`: thin commands over `wxopen-core`, with
//! diagnostics for the usual causes of each failure.
//!
//! Every command returns the exact bytes to write on stdout, or a [`Failure`].

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::rand_core::TryRngCore;
use rand::Rng;
use serde_json::{json, Map, Value};
use wxopen_core::error::{BufferError, KeyError, XmlError};
use wxopen_core::{envelope, signature, Error, MsgCrypt};

use crate::args::{AccountArgs, DecryptArgs, EncryptArgs, SignArgs, VerifyUrlArgs};
use crate::failure::Failure;

/// `wxopen decrypt`: the decrypted message, or its JSON description.
pub fn decrypt(args: &DecryptArgs, json: bool) -> Result<Vec<u8>, Failure> {
    let crypt = new_crypt(&args.account)?.with_max_body_len(args.max_body);
    // Read at most one byte past the limit: enough to refuse, never the whole of a huge input.
    let body = read_input(args.file.as_deref(), args.max_body)?;
    let env = parse_envelope(&body, args.max_body)?;
    let q = &args.query;
    let message = crypt
        .decrypt_encrypted(&env.encrypt, &q.msg_signature, &q.timestamp, &q.nonce)
        .map_err(|e| {
            diagnose(
                e,
                &Context {
                    crypt: &crypt,
                    token: args.account.token.expose_secret(),
                    appid: &args.account.appid,
                    msg_signature: &q.msg_signature,
                    timestamp: &q.timestamp,
                    nonce: &q.nonce,
                    encrypt: &env.encrypt,
                    echostr: false,
                },
            )
        })?;
    if !json {
        return Ok(message);
    }
    let mut out = Map::new();
    out.insert("envelope".into(), Value::from(env.format));
    out.insert("app_id".into(), env.app_id.map_or(Value::Null, Value::from));
    out.insert(
        "to_user_name".into(),
        env.to_user_name.map_or(Value::Null, Value::from),
    );
    insert_bytes(&mut out, "message", message);
    Ok(json_line(&Value::Object(out)))
}

/// `wxopen verify-url`: the echo plaintext, or `{"echo": ...}`.
pub fn verify_url(args: &VerifyUrlArgs, json: bool) -> Result<Vec<u8>, Failure> {
    let crypt = new_crypt(&args.account)?;
    let q = &args.query;
    let echo = crypt
        .verify_url(&q.msg_signature, &q.timestamp, &q.nonce, &args.echostr)
        .map_err(|e| {
            diagnose(
                e,
                &Context {
                    crypt: &crypt,
                    token: args.account.token.expose_secret(),
                    appid: &args.account.appid,
                    msg_signature: &q.msg_signature,
                    timestamp: &q.timestamp,
                    nonce: &q.nonce,
                    encrypt: &args.echostr,
                    echostr: true,
                },
            )
        })?;
    if !json {
        return Ok(echo);
    }
    let mut out = Map::new();
    insert_bytes(&mut out, "echo", echo);
    Ok(json_line(&Value::Object(out)))
}

/// `wxopen encrypt`: the XML reply envelope, or the JSON reply shape.
pub fn encrypt(args: &EncryptArgs, json: bool) -> Result<Vec<u8>, Failure> {
    let crypt = new_crypt(&args.account)?.with_max_body_len(args.max_body);
    // A message longer than the limit cannot fit in a reply of that size.
    let message = read_input(args.file.as_deref(), args.max_body)?;
    let timestamp = match &args.timestamp {
        Some(t) => t.clone(),
        None => now_unix()?.to_string(),
    };
    let nonce = match &args.nonce {
        Some(n) => n.clone(),
        None => random_nonce(),
    };
    let random16 = match args.random16 {
        Some(r) => r,
        None => os_random16()?,
    };
    let reply = crypt
        .encrypt_reply(&message, &timestamp, &nonce, &random16)
        .map_err(|e| match e {
            Error::ReplyXml | Error::SignatureInput => Failure::Crypto {
                error: e,
                hint: Some(
                    "the timestamp must be non-empty decimal digits and the nonce non-empty \
                     without `]]>`"
                        .into(),
                ),
            },
            Error::Xml(XmlError::TooLarge { limit }) => too_large(e, limit, true),
            other => Failure::crypto(other),
        })?;
    if !json {
        return Ok(reply.to_xml().into_bytes());
    }
    // The reply shape of JSON-mode pushes; TimeStamp is a number when it is a canonical one.
    let ts = match reply.timestamp.parse::<u64>() {
        Ok(n) if n.to_string() == reply.timestamp => Value::from(n),
        _ => Value::from(reply.timestamp.as_str()),
    };
    Ok(json_line(&json!({
        "Encrypt": reply.encrypt,
        "MsgSignature": reply.msg_signature,
        "TimeStamp": ts,
        "Nonce": reply.nonce,
    })))
}

/// `wxopen sign`: `msg_signature` with `--encrypt`, else the plain `signature`, plus a newline.
pub fn sign(args: &SignArgs, json: bool) -> Result<Vec<u8>, Failure> {
    let token = args.token.expose_secret();
    if token.is_empty() {
        return Err(Failure::Crypto {
            error: Error::SignatureInput,
            hint: Some("the token must not be empty".into()),
        });
    }
    let (sig, kind) = match &args.encrypt {
        Some(e) => (
            signature::sign(token, &args.timestamp, &args.nonce, e),
            "msg_signature",
        ),
        None => (
            signature::sign_plain(token, &args.timestamp, &args.nonce),
            "signature",
        ),
    };
    if json {
        Ok(json_line(
            &json!({ "signature": sig.as_str(), "kind": kind }),
        ))
    } else {
        Ok(format!("{sig}\n").into_bytes())
    }
}

/// Build the crypto from the account flags, with a hint fitted to a bad key.
fn new_crypt(account: &AccountArgs) -> Result<MsgCrypt, Failure> {
    let key = account.aes_key.expose_secret();
    MsgCrypt::new(account.token.expose_secret(), key, &account.appid).map_err(|e| {
        let hint = match e {
            Error::InvalidAesKey(KeyError::WrongLength { len: 44 }) if key.ends_with('=') => {
                Some("drop the trailing `=`: the EncodingAESKey is the 43 characters shown in the console".to_owned())
            }
            Error::InvalidAesKey(KeyError::WrongLength { len }) => Some(format!(
                "EncodingAESKey must be 43 characters (got {len}); copy it again from the console"
            )),
            Error::InvalidAesKey(KeyError::InvalidCharacter) => Some(
                "EncodingAESKey uses the standard base64 alphabet (A-Z a-z 0-9 + /); \
                 copy it again from the console"
                    .to_owned(),
            ),
            Error::SignatureInput => {
                Some("the token must be 1 to 128 bytes (the Token from the console)".to_owned())
            }
            Error::ReceiverIdTooLong => Some("--appid is longer than 128 bytes".to_owned()),
            other => other.hint().map(str::to_owned),
        };
        Failure::Crypto { error: e, hint }
    })
}

/// What a decrypt was given, for explaining its failure.
struct Context<'a> {
    crypt: &'a MsgCrypt,
    token: &'a str,
    appid: &'a str,
    msg_signature: &'a str,
    timestamp: &'a str,
    nonce: &'a str,
    encrypt: &'a str,
    /// The text came from the `echostr` query parameter (URL-encoding mistakes are likely).
    echostr: bool,
}

/// Pick the most specific hint for a failed decrypt.
fn diagnose(error: Error, cx: &Context<'_>) -> Failure {
    let hint = match error {
        Error::SignatureMismatch => signature_hint(cx),
        Error::ReceiverIdMismatch => Some(receiver_id_hint(cx)),
        Error::Base64Decode => Some(
            url_encoding_hint(cx)
                .unwrap_or_else(|| "Encrypt must be standard base64 with `=` padding".to_owned()),
        ),
        Error::Buffer(BufferError::FrameTooShort) => {
            Some("the frame is too short: a wrong EncodingAESKey decrypts to garbage".to_owned())
        }
        other => other.hint().map(str::to_owned),
    };
    Failure::Crypto { error, hint }
}

fn signature_hint(cx: &Context<'_>) -> Option<String> {
    if signature::sign_plain(cx.token, cx.timestamp, cx.nonce).as_str() == cx.msg_signature {
        return Some(
            "that is the `signature` query parameter (token, timestamp, nonce); pass \
             `msg_signature` from the same URL, which also covers the Encrypt text"
                .to_owned(),
        );
    }
    if let Some(h) = url_encoding_hint(cx) {
        return Some(h);
    }
    let expected = cx.crypt.sign(cx.timestamp, cx.nonce, cx.encrypt);
    if expected.as_str().eq_ignore_ascii_case(cx.msg_signature) {
        return Some(
            "the signature is right but not lower case; WeChat signs in lowercase hex".to_owned(),
        );
    }
    if cx.msg_signature.len() != signature::HEX_LEN {
        return Some(format!(
            "msg_signature is 40 hex characters, this one has {}; check the token, and that \
             `msg_signature` (not `signature`) was copied whole",
            cx.msg_signature.len()
        ));
    }
    Some(
        "check the token, and that timestamp, nonce and msg_signature come from the same request \
         as the body; the `signature` query parameter is a different value"
            .to_owned(),
    )
}

fn url_encoding_hint(cx: &Context<'_>) -> Option<String> {
    let what = if cx.echostr { "echostr" } else { "Encrypt" };
    if cx.encrypt.contains('%') {
        Some(format!(
            "{what} looks URL-encoded (`%2B`, `%2F`, `%3D`); {what} must be URL-decoded first"
        ))
    } else if cx.encrypt.contains(' ') {
        Some(format!(
            "{what} contains spaces: a `+` was decoded as a space; URL-decode it with percent \
             decoding only"
        ))
    } else {
        None
    }
}

/// Decrypt once more without the receiver check to say whose message this is.
fn receiver_id_hint(cx: &Context<'_>) -> String {
    let found = STANDARD.decode(cx.encrypt).ok().and_then(|mut raw| {
        cx.crypt
            .open(&mut raw)
            .ok()
            .map(|frame| String::from_utf8_lossy(frame.receiver_id).into_owned())
    });
    let general = "the trailing id is the component appid for authorized-account messages, the \
                   account appid or corpid otherwise";
    match found {
        Some(id) => format!(
            "the message was encrypted for `{id}`, not `{}`; {general}",
            cx.appid
        ),
        None => general.to_owned(),
    }
}

/// The envelope fields the CLI reports.
struct ParsedEnvelope {
    format: &'static str,
    encrypt: String,
    app_id: Option<String>,
    to_user_name: Option<String>,
}

/// Read the envelope: XML, or JSON (mini programs and WeCom in JSON mode) when the body starts
/// with `{`; the core reads both.
/// The failure for a body (or a reply) over `--max-body`, naming the limit and the flag.
fn too_large(error: Error, limit: usize, encrypting: bool) -> Failure {
    let hint = if encrypting {
        format!(
            "the reply envelope would be larger than {limit} bytes, which `wxopen decrypt` \
             (and a receiver with the same limit) refuses; pass --max-body BYTES to both commands \
             to allow larger ones"
        )
    } else {
        format!(
            "the body is larger than {limit} bytes; pass --max-body BYTES to accept a larger \
             captured body"
        )
    };
    Failure::Crypto {
        error,
        hint: Some(hint),
    }
}

fn parse_envelope(body: &[u8], max_body: usize) -> Result<ParsedEnvelope, Failure> {
    let format = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => "json",
        _ => "xml",
    };
    let env = envelope::parse_with_limit(body, max_body).map_err(|e| {
        if let Error::Xml(XmlError::TooLarge { limit }) = e {
            return too_large(e, limit, false);
        }
        let hint = match format {
            _ if is_blank(body) => "the input is empty: give FILE or pipe the POST body on stdin",
            "json" => {
                "the body must be the raw POST body: a flat JSON object with an `Encrypt` \
                       string"
            }
            _ => {
                "the body must be the raw POST body, `<xml>...<Encrypt>...</Encrypt></xml>`; \
                  DOCTYPE, entities and processing instructions are refused"
            }
        };
        Failure::Crypto {
            error: e,
            hint: Some(hint.to_owned()),
        }
    })?;
    Ok(ParsedEnvelope {
        format,
        encrypt: env.encrypt.to_owned(),
        app_id: env.app_id.map(str::to_owned),
        to_user_name: env.to_user_name.map(str::to_owned),
    })
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Read FILE (`-` or none means stdin) completely.
/// Reads FILE (or stdin), at most `limit + 1` bytes: one byte past the limit is enough for the
/// caller to refuse the input with its usual error.
fn read_input(path: Option<&Path>, limit: usize) -> Result<Vec<u8>, Failure> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut buf = Vec::new();
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let file = std::fs::File::open(p)
                .map_err(|e| Failure::Io(format!("cannot read {}: {e}", p.display())))?;
            file.take(cap)
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Io(format!("cannot read {}: {e}", p.display())))?;
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Failure::Usage(
                    "no input: give FILE or pipe the body on stdin".into(),
                ));
            }
            stdin
                .lock()
                .take(cap)
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Io(format!("cannot read stdin: {e}")))?;
        }
    }
    Ok(buf)
}

fn now_unix() -> Result<u64, Failure> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Failure::Io("the system clock is before 1970".into()))
}

/// A decimal nonce like the ones WeChat sends (9 or 10 digits).
fn random_nonce() -> String {
    rand::rng().random_range(100_000_000..=u32::MAX).to_string()
}

/// The 16 random bytes of a frame, straight from the operating system.
fn os_random16() -> Result<[u8; 16], Failure> {
    let mut out = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut out)
        .map_err(|e| Failure::Io(format!("the OS random number generator failed: {e}")))?;
    Ok(out)
}

/// Put `bytes` under `key` as a string, or under `<key>_base64` when it is not UTF-8.
fn insert_bytes(out: &mut Map<String, Value>, key: &str, bytes: Vec<u8>) {
    match String::from_utf8(bytes) {
        Ok(s) => {
            out.insert(key.into(), Value::from(s));
        }
        Err(e) => {
            out.insert(key.into(), Value::Null);
            out.insert(
                format!("{key}_base64"),
                Value::from(STANDARD.encode(e.into_bytes())),
            );
        }
    }
}

/// One JSON object and a newline.
fn json_line(v: &Value) -> Vec<u8> {
    let mut s = v.to_string();
    s.push('\n');
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn cx<'a>(crypt: &'a MsgCrypt, sig: &'a str, encrypt: &'a str, echostr: bool) -> Context<'a> {
        Context {
            crypt,
            token: "pamtest",
            appid: "wxother",
            msg_signature: sig,
            timestamp: "1409304348",
            nonce: "xxxxxx",
            encrypt,
            echostr,
        }
    }

    #[test]
    fn plain_signature_passed_as_msg_signature_is_named() {
        let crypt = MsgCrypt::new("pamtest", KEY, "wxother").unwrap();
        let plain = signature::sign_plain("pamtest", "1409304348", "xxxxxx");
        let f = diagnose(
            Error::SignatureMismatch,
            &cx(&crypt, plain.as_str(), "QUJD", false),
        );
        assert!(f
            .hint()
            .is_some_and(|h| h.contains("`signature` query parameter")));
    }

    #[test]
    fn url_encoded_echostr_is_named() {
        let crypt = MsgCrypt::new("pamtest", KEY, "wxother").unwrap();
        let f = diagnose(
            Error::SignatureMismatch,
            &cx(&crypt, "0", "ab%2Bcd%3D", true),
        );
        assert!(f.hint().is_some_and(|h| h.contains("URL-decoded")));
    }

    #[test]
    fn receiver_id_hint_names_the_real_id() {
        let right = MsgCrypt::new("pamtest", KEY, "wxcomponent").unwrap();
        let text = right.encrypt(b"<xml/>", &[1; 16]).unwrap();
        let wrong = MsgCrypt::new("pamtest", KEY, "wxother").unwrap();
        let f = diagnose(Error::ReceiverIdMismatch, &cx(&wrong, "", &text, false));
        let hint = f.hint().unwrap_or_default();
        assert!(hint.contains("`wxcomponent`, not `wxother`"), "{hint}");
        assert!(hint.contains("component appid"), "{hint}");
    }

    #[test]
    fn json_envelopes_both_spellings() {
        let a = parse_envelope(
            br#" {"ToUserName":"gh_1","Encrypt":"QUJD"}"#,
            envelope::DEFAULT_MAX_BODY_LEN,
        )
        .unwrap();
        assert_eq!((a.format, a.encrypt.as_str()), ("json", "QUJD"));
        assert_eq!(a.to_user_name.as_deref(), Some("gh_1"));
        let b = parse_envelope(
            br#"{"tousername":"x","encrypt":"QUJD","agentid":1}"#,
            envelope::DEFAULT_MAX_BODY_LEN,
        )
        .unwrap();
        assert_eq!(b.encrypt, "QUJD");
        for bad in [
            &br#"{"ToUserName":"x"}"#[..],
            br#"{"Encrypt":1}"#,
            br#"{"Encrypt":"a","encrypt":"b"}"#,
            b"{not json",
            b"{}",
        ] {
            assert!(
                parse_envelope(bad, envelope::DEFAULT_MAX_BODY_LEN)
                    .is_err_and(|f| f.wechat_code() == Some(-40002)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn nonce_is_decimal() {
        let n = random_nonce();
        assert!(n.len() >= 9 && n.bytes().all(|b| b.is_ascii_digit()), "{n}");
    }
}
