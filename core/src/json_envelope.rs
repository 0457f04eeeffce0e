//! The JSON form of the POST body envelope (WeCom JSON callbacks, mini programs in JSON mode):
//! `{"ToUserName": "…", "Encrypt": "…"}`, keys matched without regard to ASCII case.
//!
//! Only a flat object is accepted: string, number, `true`/`false`/`null` values. The fields we
//! read are borrowed from the body, so they must not contain backslash escapes (WeChat never
//! escapes base64 or ids); other fields may.

use memchr::memchr2;

use crate::error::{Error, XmlError};
use crate::raw_envelope::RawEnvelope;

const fn malformed(offset: usize) -> Error {
    Error::Xml(XmlError::Malformed { offset })
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while self.buf.get(self.pos).is_some_and(|&b| is_ws(b)) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(malformed(self.pos))
        }
    }

    /// A string after its opening quote; returns the raw bytes and whether it had escapes.
    fn string(&mut self) -> Result<(&'a [u8], bool), Error> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            let rest = self.buf.get(self.pos..).unwrap_or_default();
            let at = memchr2(b'"', b'\\', rest).ok_or(malformed(self.buf.len()))?;
            if rest[..at].iter().any(|&b| b < 0x20) {
                return Err(malformed(self.pos));
            }
            self.pos += at;
            if rest[at] == b'"' {
                let s = &self.buf[start..self.pos];
                self.pos += 1;
                return Ok((s, escaped));
            }
            escaped = true;
            match self.buf.get(self.pos + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
                Some(b'u') => {
                    let hex = self
                        .buf
                        .get(self.pos + 2..self.pos + 6)
                        .ok_or(malformed(self.pos))?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(malformed(self.pos));
                    }
                    self.pos += 6;
                }
                _ => return Err(malformed(self.pos)),
            }
        }
    }

    /// A scalar that is not a string: a number or a literal.
    fn scalar(&mut self) -> Result<(), Error> {
        let start = self.pos;
        for lit in [&b"true"[..], b"false", b"null"] {
            if self
                .buf
                .get(self.pos..)
                .unwrap_or_default()
                .starts_with(lit)
            {
                self.pos += lit.len();
                return Ok(());
            }
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.pos += 1;
        }
        if self.pos == start {
            Err(malformed(self.pos))
        } else {
            Ok(())
        }
    }
}

/// Read a flat JSON envelope; the body's first non-space byte is `{`.
pub(crate) fn parse_raw(body: &[u8]) -> Result<RawEnvelope<'_>, Error> {
    let mut c = Cursor { buf: body, pos: 0 };
    c.expect(b'{')?;
    let (mut encrypt, mut app_id, mut to_user_name) = (None, None, None);
    c.skip_ws();
    if c.peek() == Some(b'}') {
        c.pos += 1;
    } else {
        loop {
            c.expect(b'"')?;
            let (key, _) = c.string()?;
            c.expect(b':')?;
            c.skip_ws();
            let slot = if key.eq_ignore_ascii_case(b"Encrypt") {
                Some(&mut encrypt)
            } else if key.eq_ignore_ascii_case(b"AppId") {
                Some(&mut app_id)
            } else if key.eq_ignore_ascii_case(b"ToUserName") {
                Some(&mut to_user_name)
            } else {
                None
            };
            if c.peek() == Some(b'"') {
                c.pos += 1;
                let (value, escaped) = c.string()?;
                if let Some(slot) = slot {
                    if escaped {
                        return Err(Error::Xml(XmlError::EscapedValue));
                    }
                    if slot.replace(value).is_some() {
                        return Err(Error::Xml(XmlError::DuplicateElement));
                    }
                }
            } else if slot.is_some() {
                return Err(malformed(c.pos));
            } else {
                c.scalar()?;
            }
            c.skip_ws();
            match c.peek() {
                Some(b',') => c.pos += 1,
                Some(b'}') => {
                    c.pos += 1;
                    break;
                }
                _ => return Err(malformed(c.pos)),
            }
        }
    }
    c.skip_ws();
    if c.pos != body.len() {
        return Err(malformed(c.pos));
    }
    Ok(RawEnvelope {
        encrypt: encrypt.ok_or(Error::Xml(XmlError::MissingEncrypt))?,
        app_id,
        to_user_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(body: &str) -> Result<&[u8], Error> {
        parse_raw(body.as_bytes()).map(|e| e.encrypt)
    }

    #[test]
    fn reads_both_key_styles() {
        assert_eq!(
            enc(r#"{"ToUserName":"gh_1","Encrypt":"a+/="}"#),
            Ok(&b"a+/="[..])
        );
        assert_eq!(
            enc("{ \"tousername\": \"x\", \"encrypt\": \"b\", \"agentid\": 1 }"),
            Ok(&b"b"[..])
        );
        assert_eq!(
            enc(r#"{"Encrypt":"c","Note":"a\"b\u00e9","n":-1.5e3,"t":true,"z":null}"#),
            Ok(&b"c"[..])
        );
    }

    #[test]
    fn refuses_what_it_cannot_borrow_or_read() {
        let x = |e| Err(Error::Xml(e));
        assert_eq!(enc(r#"{"Encrypt":"a\/b"}"#), x(XmlError::EscapedValue));
        assert_eq!(
            enc(r#"{"Encrypt":"a","encrypt":"b"}"#),
            x(XmlError::DuplicateElement)
        );
        assert_eq!(enc(r#"{"ToUserName":"a"}"#), x(XmlError::MissingEncrypt));
        assert_eq!(enc("{}"), x(XmlError::MissingEncrypt));
        for bad in [
            "{",
            r#"{"Encrypt":"a"} x"#,
            r#"{"Encrypt":"a",}"#,
            r#"{"Encrypt":1}"#,
            r#"{"Encrypt":"a","o":{"k":1}}"#,
            r#"{"Encrypt":"a","l":[1]}"#,
            "{\"Encrypt\":\"a\nb\"}",
            r#"{"Encrypt":"a\q"}"#,
            r#"{"Encrypt":"a\u12"}"#,
        ] {
            assert!(matches!(enc(bad), Err(Error::Xml(_))), "{bad:?}");
        }
    }
}
