//! [`Multipart`]: a `multipart/form-data` upload body (`cgi-bin/media/upload`, `wxa/uploadmedia`,
//! `cgi-bin/component/uploadprivacyextfile`): text fields and one file, encoded as a head, the
//! file's own shared buffer and a tail, so the file is never copied (and a retry resends the
//! same buffer).

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::payload::Payload;

/// Largest upload sent by default (10 MiB: WeChat's limit for images and videos).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// A `multipart/form-data` body: text fields, then one file.
///
/// ```
/// use wxopen_client::Multipart;
/// let form = Multipart::new()
///     .text("description", "{\"title\":\"t\"}")?
///     .file("media", "a.png", "image/png", b"\x89PNG".to_vec())?;
/// assert!(form.len() > 4);
/// # Ok::<(), wxopen_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Multipart {
    boundary: String,
    fields: Vec<(String, String)>,
    file: Option<FilePart>,
}

#[derive(Clone)]
struct FilePart {
    name: String,
    filename: String,
    content_type: String,
    bytes: Bytes,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field(
                "fields",
                &self.fields.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("file_len", &self.file.as_ref().map(|p| p.bytes.len()))
            .finish()
    }
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

/// A header token (a field name, a file name, a content type): printable ASCII or UTF-8
/// without `"`, CR, LF, of at most 256 bytes.
fn header_safe(what: &'static str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 256 || s.chars().any(|c| c == '"' || c.is_control()) {
        return Err(Error::invalid(
            what,
            "must be 1 to 256 bytes without quotes or control characters",
        ));
    }
    Ok(())
}

impl Multipart {
    /// An empty form with a random boundary.
    pub fn new() -> Self {
        Self {
            boundary: format!("wxopen-{:032x}", rand::random::<u128>()),
            fields: Vec::new(),
            file: None,
        }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Result<Self> {
        header_safe("multipart field name", name)?;
        self.fields.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Sets the file part (`name` is the form field WeChat expects, usually `media`).
    pub fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<Self> {
        header_safe("multipart field name", name)?;
        header_safe("multipart file name", filename)?;
        header_safe("multipart content type", content_type)?;
        self.file = Some(FilePart {
            name: name.to_owned(),
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            bytes: bytes.into(),
        });
        Ok(self)
    }

    /// The `Content-Type` of the body (with its boundary).
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The encoded length in bytes.
    pub fn len(&self) -> u64 {
        self.payload().len()
    }

    /// Whether the form has no field and no file.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.file.is_none()
    }

    /// The body: head (fields and the file's headers), the file's buffer, tail.
    pub(crate) fn payload(&self) -> Payload {
        let b = &self.boundary;
        let mut head = String::new();
        for (name, value) in &self.fields {
            head.push_str(&format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        let mut parts = Vec::with_capacity(3);
        match &self.file {
            Some(f) => {
                head.push_str(&format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                    f.name, f.filename, f.content_type
                ));
                parts.push(Bytes::from(head));
                parts.push(f.bytes.clone());
                parts.push(Bytes::from(format!("\r\n--{b}--\r\n")));
            }
            None => {
                head.push_str(&format!("--{b}--\r\n"));
                parts.push(Bytes::from(head));
            }
        }
        Payload {
            content_type: Some(self.content_type()),
            parts,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_file_is_shared_not_copied_and_the_encoding_is_exact() {
        let file = Bytes::from(vec![7u8; 1000]);
        let form = Multipart::new()
            .text("type", "image")
            .unwrap()
            .file("media", "a.png", "image/png", file.clone())
            .unwrap();
        let p = form.payload();
        assert_eq!(p.parts.len(), 3);
        // The same buffer, not a copy.
        assert_eq!(p.parts[1].as_ptr(), file.as_ptr());
        let joined: Vec<u8> = p.parts.concat();
        let text = String::from_utf8_lossy(&joined);
        let b = &form.boundary;
        assert!(text.starts_with(&format!("--{b}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage\r\n--{b}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n")));
        assert!(text.ends_with(&format!("\r\n--{b}--\r\n")));
        assert_eq!(form.len(), joined.len() as u64);
        assert!(form
            .content_type()
            .starts_with("multipart/form-data; boundary=wxopen-"));
    }

    #[test]
    fn header_injection_is_refused() {
        assert!(Multipart::new().text("a\"b", "x").is_err());
        assert!(Multipart::new()
            .file("media", "a\r\nb", "image/png", vec![])
            .is_err());
        assert!(Multipart::new().file("media", "a", "", vec![]).is_err());
    }
}
