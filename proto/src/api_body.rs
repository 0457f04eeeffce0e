//! What a WeChat answer body is: JSON or bytes of another type ([`BodyKind`], from the content
//! type and the first byte), and the `errcode` a JSON body carries ([`errcode_of`]). Binary
//! endpoints (`wxa/get_qrcode`, `wxa/getwxacodeunlimit`, media downloads) answer an image on
//! success and a JSON `{errcode, errmsg}` with status 200 on failure.

/// The answer of a call that may be binary: a JSON document (its `errcode` was 0 or absent),
/// or bytes with their content type.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiBody {
    /// A JSON answer without an error.
    Json(serde_json::Value),
    /// Bytes of another type (an image, a file).
    Binary {
        /// The `Content-Type` WeChat sent (`application/octet-stream` when it sent none).
        content_type: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

impl std::fmt::Debug for ApiBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Self::Binary {
                content_type,
                bytes,
            } => f
                .debug_struct("Binary")
                .field("content_type", content_type)
                .field("len", &bytes.len())
                .finish(),
        }
    }
}

/// How an answer body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// A JSON document (check its `errcode`).
    Json,
    /// Bytes of another type (an image, a file), returned as they are.
    Binary,
}

/// The kind of a body with content type `content_type` (`None`: no header) starting with
/// `body`: JSON when the type says `json`, or when it is `text/plain` or missing and the body
/// starts with `{` (WeChat labels some JSON errors `text/plain`); anything else is binary.
///
/// ```
/// use wxopen_proto::api_body::{body_kind, BodyKind};
/// assert_eq!(body_kind(Some("image/jpeg"), b"\xff\xd8"), BodyKind::Binary);
/// assert_eq!(body_kind(Some("application/json; encoding=utf-8"), b"{}"), BodyKind::Json);
/// assert_eq!(body_kind(Some("text/plain"), b" {\"errcode\":40001}"), BodyKind::Json);
/// ```
pub fn body_kind(content_type: Option<&str>, body: &[u8]) -> BodyKind {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let starts_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let json_type = mime == "application/json" || mime.ends_with("+json") || mime == "text/json";
    let untyped_object = (mime.is_empty() || mime == "text/plain") && starts_object;
    if json_type || untyped_object {
        BodyKind::Json
    } else {
        BodyKind::Binary
    }
}

/// The non-zero `errcode` of a JSON object body, if it has one (`None` for a success, a body
/// without `errcode`, or one that is not a JSON object).
///
/// ```
/// use wxopen_proto::api_body::errcode_of;
/// assert_eq!(errcode_of(br#"{"errcode":40001,"errmsg":"invalid credential"}"#), Some(40001));
/// assert_eq!(errcode_of(br#"{"errcode":0,"media_id":"m"}"#), None);
/// assert_eq!(errcode_of(b"\x89PNG"), None);
/// ```
pub fn errcode_of(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Probe {
        errcode: Option<i64>,
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    serde_json::from_slice::<Probe>(body)
        .ok()
        .and_then(|p| p.errcode)
        .filter(|&c| c != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_kinds() {
        for (ct, body, kind) in [
            (Some("image/jpeg"), &b"\xff\xd8\xff"[..], BodyKind::Binary),
            (
                Some("image/png"),
                b"{not json but an image}",
                BodyKind::Binary,
            ),
            (Some("application/json"), b"{}", BodyKind::Json),
            (
                Some("Application/JSON; charset=utf-8"),
                b"{}",
                BodyKind::Json,
            ),
            (Some("application/problem+json"), b"{}", BodyKind::Json),
            (Some("text/plain"), b"{\"errcode\":1}", BodyKind::Json),
            (Some("text/plain"), b"hello", BodyKind::Binary),
            (None, b"  {\"errcode\":1}", BodyKind::Json),
            (None, b"", BodyKind::Binary),
            (Some("application/octet-stream"), b"{", BodyKind::Binary),
        ] {
            assert_eq!(body_kind(ct, body), kind, "{ct:?} {body:?}");
        }
    }

    #[test]
    fn errcodes() {
        assert_eq!(errcode_of(br#"{"errcode":42001}"#), Some(42001));
        assert_eq!(errcode_of(br#" {"errcode":-1,"errmsg":"busy"}"#), Some(-1));
        assert_eq!(errcode_of(br#"{"errcode":0}"#), None);
        assert_eq!(errcode_of(br#"{"media_id":"x"}"#), None);
        assert_eq!(errcode_of(br#"{"errcode":"40001"}"#), None);
        assert_eq!(errcode_of(b"[1]"), None);
        assert_eq!(errcode_of(b"{"), None);
        assert_eq!(errcode_of(b""), None);
    }
}
