//! The binary and upload endpoints: `GET /wxa/get_qrcode` and `POST /wxa/getwxacodeunlimit`
//! answer image bytes (`image/jpeg`, `image/png`) on success and, like WeChat, a JSON
//! `{errcode, errmsg}` with status 200 on failure (a bad token: 40001/42001);
//! `POST /cgi-bin/media/upload?type=…` checks a `multipart/form-data` body with a `media` file
//! part and answers a `media_id`.

use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

use crate::endpoints::{Endpoint, GET_QRCODE, MEDIA_UPLOAD, WXACODE_UNLIMIT};
use crate::state::{ApiError, Platform};

/// The first bytes of every image the fake draws (a PNG signature), then `appid:path`.
pub const IMAGE_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Largest upload the fake accepts (WeChat's image limit is lower; this is a safety cap).
const MAX_UPLOAD: usize = 16 * 1024 * 1024;

fn token(request: &Request) -> Result<String, ApiError> {
    request
        .url
        .query_pairs()
        .find(|(k, v)| k == "access_token" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::new(41001))
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn image(content_type: &str, appid: &str, what: &str) -> ResponseTemplate {
    let mut bytes = IMAGE_MAGIC.to_vec();
    bytes.extend_from_slice(format!("{appid}:{what}").as_bytes());
    ResponseTemplate::new(200).set_body_raw(bytes, content_type)
}

/// Serves `endpoint` if it is one of this file's: `Some(answer)` (an error becomes WeChat's
/// JSON error object), `None` for every other endpoint.
pub(crate) fn serve(
    endpoint: Endpoint,
    request: &Request,
    platform: &mut Platform,
    now: u64,
) -> Option<Result<ResponseTemplate, ApiError>> {
    let is_get = request.method == wiremock::http::Method::GET;
    let is_post = request.method == wiremock::http::Method::POST;
    let answer = if endpoint == GET_QRCODE {
        (|| {
            if !is_get {
                return Err(ApiError::new(43001));
            }
            let appid = platform.check_authorizer_token(&token(request)?, now)?;
            let path = query(request, "path").unwrap_or_default();
            Ok(image("image/jpeg", &appid, &path))
        })()
    } else if endpoint == WXACODE_UNLIMIT {
        (|| {
            if !is_post {
                return Err(ApiError::new(43002));
            }
            let appid = platform.check_authorizer_token(&token(request)?, now)?;
            let body: Value = serde_json::from_slice(&request.body)
                .map_err(|_| ApiError::hint(47001, "request body is not valid JSON"))?;
            let scene = body
                .get("scene")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 32)
                .ok_or_else(|| ApiError::hint(41030, "missing or invalid `scene`"))?;
            Ok(image("image/png", &appid, scene))
        })()
    } else if endpoint == MEDIA_UPLOAD {
        (|| {
            if !is_post {
                return Err(ApiError::new(43002));
            }
            let appid = platform.check_authorizer_token(&token(request)?, now)?;
            let kind = query(request, "type").unwrap_or_default();
            if !["image", "voice", "video", "thumb"].contains(&kind.as_str()) {
                return Err(ApiError::hint(
                    40004,
                    "type must be image, voice, video or thumb",
                ));
            }
            let content_type = request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let boundary = content_type
                .strip_prefix("multipart/form-data; boundary=")
                .filter(|b| !b.is_empty())
                .ok_or_else(|| ApiError::hint(41005, "not multipart/form-data"))?;
            if request.body.len() > MAX_UPLOAD {
                return Err(ApiError::new(40009));
            }
            let file = media_part(&request.body, boundary)
                .ok_or_else(|| ApiError::hint(41005, "no `media` file part"))?;
            let media_id = platform.record_upload(&appid, file.to_vec());
            let answer = json!({"type": kind, "media_id": media_id, "created_at": now});
            Ok(ResponseTemplate::new(200).set_body_raw(
                answer.to_string().into_bytes(),
                "application/json; encoding=utf-8",
            ))
        })()
    } else {
        return None;
    };
    Some(answer)
}

/// The bytes of the `media` file part of a multipart body (it must carry a `filename`), if the
/// body is well formed up to that part.
fn media_part<'a>(body: &'a [u8], boundary: &str) -> Option<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut rest = body.strip_prefix(d)?;
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let end = find(content, &[b"\r\n", d].concat())?;
        let is_media = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("content-disposition: form-data;")
                && l.contains("name=\"media\"")
                && l.contains("filename=\"")
        });
        if is_media {
            return Some(&content[..end]);
        }
        rest = &content[end + 2 + d.len()..];
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_parts() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\nDATA\r\n--B--\r\n";
        assert_eq!(media_part(body, "B"), Some(&b"PNG\r\nDATA"[..]));
        assert_eq!(
            media_part(
                b"--B\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\nx\r\n--B--\r\n",
                "B"
            ),
            None
        );
        assert_eq!(media_part(b"garbage", "B"), None);
        assert_eq!(media_part(b"--B--\r\n", "B"), None);
        assert_eq!(media_part(b"--B\r\nno end", "B"), None);
    }
}
