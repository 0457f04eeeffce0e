//! The XML envelope around the ciphertext: reading the POST body, writing the reply.
//!
//! A body whose first non-space byte is `{` is read as the JSON form instead (see
//! [`crate::json_envelope`]); the same fields come back.
//!
//! WeChat's envelopes are flat: `<xml><ToUserName|AppId>…</…><Encrypt>…</Encrypt></xml>`. The
//! reader borrows the field values from the body without copying, accepts CDATA or plain text,
//! any element order, whitespace and comments between elements and an optional XML declaration.
//! It refuses anything that could make a general XML parser expand or fetch content: DOCTYPE and
//! other `<!` declarations, entity and character references, and processing instructions.

use memchr::{memchr, memchr2};

use crate::error::{BufferError, Error, XmlError};
use crate::raw_envelope::RawEnvelope;
use crate::signature::HexSignature;

/// The default limit on the size of a POST body: 1 MiB.
pub const DEFAULT_MAX_BODY_LEN: usize = 1 << 20;

/// The fields read from a POST body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The base64 ciphertext.
    pub encrypt: &'a str,
    /// `AppId` (component pushes), when present.
    pub app_id: Option<&'a str>,
    /// `ToUserName` (account messages), when present.
    pub to_user_name: Option<&'a str>,
}

/// Read an envelope with the default size limit.
///
/// ```
/// let env = wxopen_core::envelope::parse(
///     b"<xml><AppId><![CDATA[wx0]]></AppId><Encrypt><![CDATA[QUJD]]></Encrypt></xml>",
/// )?;
/// assert_eq!(env.encrypt, "QUJD");
/// assert_eq!(env.app_id, Some("wx0"));
/// # Ok::<(), wxopen_core::Error>(())
/// ```
pub fn parse(body: &[u8]) -> Result<Envelope<'_>, Error> {
    parse_with_limit(body, DEFAULT_MAX_BODY_LEN)
}

/// Read an envelope, refusing bodies longer than `max_len` bytes.
pub fn parse_with_limit(body: &[u8], max_len: usize) -> Result<Envelope<'_>, Error> {
    let raw = parse_raw(body, max_len)?;
    fn text(v: &[u8]) -> Result<&str, Error> {
        core::str::from_utf8(v).map_err(|_| xml(XmlError::NotUtf8))
    }
    Ok(Envelope {
        encrypt: text(raw.encrypt)?,
        app_id: raw.app_id.map(text).transpose()?,
        to_user_name: raw.to_user_name.map(text).transpose()?,
    })
}

const fn xml(e: XmlError) -> Error {
    Error::Xml(e)
}

const fn malformed(offset: usize) -> Error {
    Error::Xml(XmlError::Malformed { offset })
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first occurrence of a short literal `needle` in `hay`: `memchr` on its first byte, then
/// a compare. For the two- and three-byte needles here this beats building a substring
/// searcher on every call (the `Encrypt` text never holds the first byte: one pass finds the end).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, tail) = needle.split_first()?;
    let mut from = 0;
    while let Some(i) = memchr(first, hay.get(from..)?) {
        let at = from + i;
        if hay.get(at + 1..)?.starts_with(tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A cursor over the body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.rest().starts_with(s)
    }

    fn skip_ws(&mut self) {
        while self.buf.get(self.pos).is_some_and(|&b| is_ws(b)) {
            self.pos += 1;
        }
    }

    /// Skip to just past `needle`, or fail.
    fn skip_past(&mut self, needle: &[u8]) -> Result<&'a [u8], Error> {
        let rest = self.rest();
        let at = find(rest, needle).ok_or(malformed(self.buf.len()))?;
        self.pos += at + needle.len();
        Ok(&rest[..at])
    }

    /// Whitespace, comments; refuses other `<!` and `<?` constructs.
    fn skip_misc(&mut self) -> Result<(), Error> {
        loop {
            self.skip_ws();
            if self.starts_with(b"<!--") {
                self.pos += 4;
                self.skip_past(b"-->")?;
            } else if self.starts_with(b"<![CDATA[") {
                return Ok(());
            } else if self.starts_with(b"<!") {
                return Err(xml(XmlError::Doctype));
            } else if self.starts_with(b"<?") {
                return Err(xml(XmlError::ProcessingInstruction));
            } else {
                return Ok(());
            }
        }
    }

    /// Read `<name attrs>` after the `<`; returns the name and whether the tag self-closed.
    fn open_tag(&mut self) -> Result<(&'a [u8], bool), Error> {
        let start = self.pos;
        while self
            .buf
            .get(self.pos)
            .is_some_and(|&b| !is_ws(b) && b != b'>' && b != b'/' && b != b'<' && b != b'&')
        {
            self.pos += 1;
        }
        let name = &self.buf[start..self.pos];
        if name.is_empty() {
            return Err(malformed(self.pos));
        }
        // Attributes are skipped, quote-aware; they never carry anything we read.
        loop {
            match self.buf.get(self.pos) {
                None => return Err(malformed(self.pos)),
                Some(b'>') => {
                    self.pos += 1;
                    return Ok((name, false));
                }
                Some(b'/') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok((name, true));
                    }
                    return Err(malformed(self.pos));
                }
                Some(&q @ (b'"' | b'\'')) => {
                    let rest = self.buf.get(self.pos + 1..).unwrap_or_default();
                    let end = memchr(q, rest).ok_or(malformed(self.pos))?;
                    let value = &rest[..end];
                    if memchr(b'&', value).is_some() {
                        return Err(xml(XmlError::EntityReference));
                    }
                    if memchr(b'<', value).is_some() {
                        return Err(malformed(self.pos));
                    }
                    self.pos += end + 2;
                }
                Some(b'<') => return Err(malformed(self.pos)),
                Some(b'&') => return Err(xml(XmlError::EntityReference)),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Read `</name>` (the `</` already consumed).
    fn close_tag(&mut self, name: &[u8]) -> Result<(), Error> {
        if !self.starts_with(name) {
            return Err(malformed(self.pos));
        }
        self.pos += name.len();
        self.skip_ws();
        if self.buf.get(self.pos) != Some(&b'>') {
            return Err(malformed(self.pos));
        }
        self.pos += 1;
        Ok(())
    }

    /// Read a leaf element's content up to and including its end tag. The value is one CDATA
    /// section or one run of text; anything else (child elements, mixed content) is refused.
    fn leaf_value(&mut self, name: &[u8]) -> Result<&'a [u8], Error> {
        let value = if self.starts_with(b"<![CDATA[") {
            self.pos += 9;
            let v = self.skip_past(b"]]>")?;
            // Only whitespace may stand between the CDATA section and the end tag.
            self.skip_ws();
            v
        } else {
            let rest = self.rest();
            let end = memchr2(b'<', b'&', rest).ok_or(malformed(self.buf.len()))?;
            if rest[end] == b'&' {
                return Err(xml(XmlError::EntityReference));
            }
            // `]]>` may only end a CDATA section; in text it is not well-formed XML.
            if let Some(at) = find(&rest[..end], b"]]>") {
                return Err(malformed(self.pos + at));
            }
            self.pos += end;
            &rest[..end]
        };
        if self.starts_with(b"</") {
            self.pos += 2;
            self.close_tag(name)?;
            Ok(value)
        } else if self.starts_with(b"<!--") || self.starts_with(b"<![CDATA[") {
            Err(malformed(self.pos))
        } else if self.starts_with(b"<!") {
            Err(xml(XmlError::Doctype))
        } else if self.starts_with(b"<?") {
            Err(xml(XmlError::ProcessingInstruction))
        } else {
            Err(malformed(self.pos))
        }
    }
}

fn set_once<'a>(slot: &mut Option<&'a [u8]>, v: &'a [u8]) -> Result<(), Error> {
    if slot.replace(v).is_some() {
        return Err(xml(XmlError::DuplicateElement));
    }
    Ok(())
}

pub(crate) fn parse_raw(body: &[u8], max_len: usize) -> Result<RawEnvelope<'_>, Error> {
    if body.len() > max_len {
        return Err(xml(XmlError::TooLarge { limit: max_len }));
    }
    if let Some(env) = parse_canonical(body) {
        return Ok(env);
    }
    parse_general(body)
}

fn trim_ws_start(mut s: &[u8]) -> &[u8] {
    while let [b, rest @ ..] = s {
        if !is_ws(*b) {
            break;
        }
        s = rest;
    }
    s
}

/// The layout WeChat actually sends, read without the general machinery:
/// `<xml>`, then `<AppId>`, `<ToUserName>` and `<Encrypt>` elements holding one CDATA section
/// each with nothing else inside the tags, whitespace between them, `</xml>`, whitespace.
///
/// Every body this accepts is one the general reader accepts with the same fields; anything
/// else (other elements, attributes, comments, a declaration, a duplicate, any error) returns
/// `None` and goes to the general reader, which also names the errors.
fn parse_canonical(body: &[u8]) -> Option<RawEnvelope<'_>> {
    let mut rest = body.strip_prefix(b"<xml>")?;
    let (mut encrypt, mut app_id, mut to_user_name) = (None, None, None);
    loop {
        rest = trim_ws_start(rest);
        if let Some(after) = rest.strip_prefix(b"</xml>") {
            if !trim_ws_start(after).is_empty() {
                return None;
            }
            break;
        }
        let (name, slot, r): (&[u8], _, _) =
            if let Some(r) = rest.strip_prefix(b"<Encrypt><![CDATA[") {
                (b"Encrypt", &mut encrypt, r)
            } else if let Some(r) = rest.strip_prefix(b"<AppId><![CDATA[") {
                (b"AppId", &mut app_id, r)
            } else if let Some(r) = rest.strip_prefix(b"<ToUserName><![CDATA[") {
                (b"ToUserName", &mut to_user_name, r)
            } else {
                return None;
            };
        let end = find(r, b"]]>")?;
        let value = r.get(..end)?;
        let r = r.get(end + 3..)?.strip_prefix(b"</")?;
        rest = r.strip_prefix(name)?.strip_prefix(b">")?;
        if slot.replace(value).is_some() {
            return None;
        }
    }
    Some(RawEnvelope {
        encrypt: encrypt?,
        app_id,
        to_user_name,
    })
}

/// The general reader: everything the module docs allow, and every error.
fn parse_general(body: &[u8]) -> Result<RawEnvelope<'_>, Error> {
    let mut r = Reader { buf: body, pos: 0 };
    if r.starts_with(b"\xEF\xBB\xBF") {
        r.pos = 3;
    }
    r.skip_ws();
    if r.starts_with(b"{") {
        return crate::json_envelope::parse_raw(r.rest());
    }
    if r.starts_with(b"<?xml") && r.buf.get(r.pos + 5).is_some_and(|&b| is_ws(b)) {
        r.pos += 5;
        let decl = r.skip_past(b"?>")?;
        if memchr2(b'<', b'&', decl).is_some() {
            return Err(malformed(r.pos));
        }
    }
    r.skip_misc()?;
    if !r.starts_with(b"<") || r.starts_with(b"<!") {
        return Err(malformed(r.pos));
    }
    r.pos += 1;
    let (root, empty_root) = r.open_tag()?;
    let (mut encrypt, mut app_id, mut to_user_name) = (None, None, None);
    if !empty_root {
        loop {
            r.skip_misc()?;
            if r.starts_with(b"</") {
                r.pos += 2;
                r.close_tag(root)?;
                break;
            }
            if !r.starts_with(b"<") || r.starts_with(b"<!") {
                // Text or CDATA directly under the root.
                return Err(malformed(r.pos));
            }
            r.pos += 1;
            let (name, empty) = r.open_tag()?;
            let value = if empty { &[][..] } else { r.leaf_value(name)? };
            match name {
                b"Encrypt" => set_once(&mut encrypt, value)?,
                b"AppId" => set_once(&mut app_id, value)?,
                b"ToUserName" => set_once(&mut to_user_name, value)?,
                _ => {}
            }
        }
    }
    r.skip_misc()?;
    if r.pos != body.len() {
        return Err(malformed(r.pos));
    }
    Ok(RawEnvelope {
        encrypt: encrypt.ok_or(xml(XmlError::MissingEncrypt))?,
        app_id,
        to_user_name,
    })
}

/// Check reply fields before they are written: the timestamp is 1..=20 ASCII digits (it is
/// written as plain text), the nonce is 1..=128 bytes without `]]>` or control characters
/// (it is written inside CDATA).
pub fn check_reply_fields(timestamp: &str, nonce: &str) -> Result<(), Error> {
    if timestamp.is_empty() || timestamp.len() > 20 || nonce.is_empty() || nonce.len() > 128 {
        return Err(Error::SignatureInput);
    }
    if !timestamp.bytes().all(|b| b.is_ascii_digit())
        || nonce.contains("]]>")
        || nonce.chars().any(char::is_control)
    {
        return Err(Error::ReplyXml);
    }
    Ok(())
}

const R0: &[u8] = b"<xml>\n<Encrypt><![CDATA[";
const R1: &[u8] = b"]]></Encrypt>\n<MsgSignature><![CDATA[";
const R2: &[u8] = b"]]></MsgSignature>\n<TimeStamp>";
const R3: &[u8] = b"</TimeStamp>\n<Nonce><![CDATA[";
const R4: &[u8] = b"]]></Nonce>\n</xml>";

/// The length of a reply envelope for these field lengths.
pub const fn reply_len(encrypt_len: usize, timestamp_len: usize, nonce_len: usize) -> usize {
    R0.len()
        + encrypt_len
        + R1.len()
        + crate::signature::HEX_LEN
        + R2.len()
        + timestamp_len
        + R3.len()
        + nonce_len
        + R4.len()
}

/// Where the `Encrypt` text starts inside a reply envelope.
pub const REPLY_ENCRYPT_OFFSET: usize = R0.len();

/// Write the reply envelope into `out`, returning the written length.
///
/// The layout matches the official samples byte for byte:
/// `<xml>\n<Encrypt><![CDATA[…]]></Encrypt>\n<MsgSignature><![CDATA[…]]></MsgSignature>\n`
/// `<TimeStamp>…</TimeStamp>\n<Nonce><![CDATA[…]]></Nonce>\n</xml>`.
pub fn write_reply(
    out: &mut [u8],
    encrypt: &str,
    msg_signature: &HexSignature,
    timestamp: &str,
    nonce: &str,
) -> Result<usize, Error> {
    check_reply_fields(timestamp, nonce)?;
    let needed = reply_len(encrypt.len(), timestamp.len(), nonce.len());
    if out.len() < needed {
        return Err(Error::Buffer(BufferError::OutputTooSmall { needed }));
    }
    out[R0.len()..R0.len() + encrypt.len()].copy_from_slice(encrypt.as_bytes());
    finish_reply_in_place(out, encrypt.len(), msg_signature, timestamp, nonce)
}

/// Complete a reply envelope whose `Encrypt` text (`encrypt_len` bytes) already stands at
/// [`REPLY_ENCRYPT_OFFSET`] in `out`; returns the envelope length.
pub fn finish_reply_in_place(
    out: &mut [u8],
    encrypt_len: usize,
    msg_signature: &HexSignature,
    timestamp: &str,
    nonce: &str,
) -> Result<usize, Error> {
    check_reply_fields(timestamp, nonce)?;
    let needed = reply_len(encrypt_len, timestamp.len(), nonce.len());
    let out = out
        .get_mut(..needed)
        .ok_or(Error::Buffer(BufferError::OutputTooSmall { needed }))?;
    if find(&out[R0.len()..R0.len() + encrypt_len], b"]]>").is_some() {
        return Err(Error::ReplyXml);
    }
    out[..R0.len()].copy_from_slice(R0);
    let mut at = R0.len() + encrypt_len;
    for part in [
        R1,
        msg_signature.as_bytes(),
        R2,
        timestamp.as_bytes(),
        R3,
        nonce.as_bytes(),
        R4,
    ] {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(body: &str) -> Result<&str, Error> {
        parse(body.as_bytes()).map(|e| e.encrypt)
    }

    #[test]
    fn canonical_fast_path_agrees_with_the_general_reader() {
        type Fields<'a> = Result<(&'a [u8], Option<&'a [u8]>, Option<&'a [u8]>), Error>;
        fn fields(r: Result<RawEnvelope<'_>, Error>) -> Fields<'_> {
            r.map(|e| (e.encrypt, e.app_id, e.to_user_name))
        }
        let seeds: [&[u8]; 4] = [
            b"<xml>\n    <AppId><![CDATA[wx1]]></AppId>\n    <Encrypt><![CDATA[QUJD]]></Encrypt>\n</xml>",
            b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[a+/=]]></Encrypt></xml>\n",
            b"<xml><Encrypt><![CDATA[]]></Encrypt><AppId><![CDATA[x]]></AppId><ToUserName><![CDATA[]]]></ToUserName></xml>",
            b"<xml><Encrypt><![CDATA[e]]></Encrypt><Encrypt><![CDATA[f]]></Encrypt></xml>",
        ];
        let pieces: [&[u8]; 14] = [
            b"<",
            b">",
            b"/",
            b"]]>",
            b"]",
            b" ",
            b"\n",
            b"<!-- c -->",
            b"<![CDATA[",
            b"</xml>",
            b"<Encrypt>",
            b"</Encrypt>",
            b"&amp;",
            b"<x/>",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked_fast = 0;
        for round in 0..30_000 {
            let mut body = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 3) {
                let at = (next() % (body.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 if at < body.len() => {
                        body.remove(at);
                    }
                    1 if at < body.len() => body[at] = b"<>/]! x\n"[(next() % 8) as usize],
                    _ => {
                        let p = pieces[(next() % pieces.len() as u64) as usize];
                        body.splice(at..at, p.iter().copied());
                    }
                }
            }
            if let Some(fast) = parse_canonical(&body) {
                checked_fast += 1;
                assert_eq!(
                    fields(Ok(fast)),
                    fields(parse_general(&body)),
                    "{:?}",
                    core::str::from_utf8(&body)
                );
            }
            assert_eq!(
                fields(parse_raw(&body, 1 << 20)),
                fields(parse_general(&body))
            );
        }
        assert!(
            checked_fast > 1000,
            "the fast path took only {checked_fast} bodies"
        );
    }

    #[test]
    fn find_matches_a_naive_search() {
        let naive = |h: &[u8], n: &[u8]| h.windows(n.len()).position(|w| w == n);
        for hay in [
            &b""[..],
            b"]",
            b"]]",
            b"]]>",
            b"a]]]>b",
            b"]>]]>",
            b"-->",
            b"a-b--c-->",
            b"??>",
        ] {
            for needle in [&b"]]>"[..], b"-->", b"?>"] {
                assert_eq!(find(hay, needle), naive(hay, needle));
            }
        }
    }

    #[test]
    fn reads_common_shapes() {
        assert_eq!(
            enc("<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>"),
            Ok("abc")
        );
        assert_eq!(enc("<xml><Encrypt>abc</Encrypt></xml>"), Ok("abc"));
        assert_eq!(
            enc("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <ToUserName><![CDATA[gh_1]]></ToUserName>\n  <Encrypt><![CDATA[x+/=]]></Encrypt>\n  <AgentID>1</AgentID>\n</xml>\n"),
            Ok("x+/=")
        );
        let e = parse(
            b"<xml><Encrypt>e</Encrypt><AppId><![CDATA[wx1]]></AppId><!-- c --><Empty/></xml>",
        )
        .expect("valid");
        assert_eq!(
            (e.encrypt, e.app_id, e.to_user_name),
            ("e", Some("wx1"), None)
        );
        assert_eq!(
            enc("<xml a='1' b=\"x>y\"><Encrypt >e</Encrypt ></xml >"),
            Ok("e")
        );
    }

    #[test]
    fn refuses_unsafe_and_malformed() {
        let doctype = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><xml><Encrypt>&a;</Encrypt></xml>";
        assert_eq!(enc(doctype), Err(xml(XmlError::Doctype)));
        assert_eq!(
            enc("<xml><Encrypt>a&amp;b</Encrypt></xml>"),
            Err(xml(XmlError::EntityReference))
        );
        assert_eq!(
            enc("<xml><?pi x?><Encrypt>a</Encrypt></xml>"),
            Err(xml(XmlError::ProcessingInstruction))
        );
        assert_eq!(
            enc("<xml><AppId>a</AppId></xml>"),
            Err(xml(XmlError::MissingEncrypt))
        );
        assert_eq!(enc("<xml/>"), Err(xml(XmlError::MissingEncrypt)));
        assert_eq!(
            enc("<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>"),
            Err(xml(XmlError::DuplicateElement))
        );
        for bad in [
            "",
            "<xml>",
            "<xml><Encrypt>a</Encrypt>",
            "<xml><Encrypt>a</Encrypted></xml>",
            "<xml><Encrypt><b>a</b></Encrypt></xml>",
            "<xml>text<Encrypt>a</Encrypt></xml>",
            "<xml><Encrypt>a</Encrypt></xml>trailing",
            "<xml><Encrypt><![CDATA[a]]>b</Encrypt></xml>",
            "<xml><Encrypt><![CDATA[a</Encrypt></xml>",
            "<xml><Encrypt>a</Encrypt></xml><xml/>",
            "<xml><Encrypt>a]]>b</Encrypt></xml>",
            "<><Encrypt>a</Encrypt></>",
        ] {
            assert!(matches!(enc(bad), Err(Error::Xml(_))), "{bad:?}");
        }
        assert_eq!(
            parse_with_limit(b"<xml><Encrypt>a</Encrypt></xml>", 10).map(|_| ()),
            Err(xml(XmlError::TooLarge { limit: 10 }))
        );
        assert_eq!(
            parse(b"<xml><Encrypt>\xff</Encrypt></xml>").map(|_| ()),
            Err(xml(XmlError::NotUtf8))
        );
    }

    /// Found by the `envelope` fuzz target (fuzz/regressions/envelope/text-value-with-cdata-end):
    /// a plain-text value holding `]]>` was accepted, though it is not well-formed XML.
    #[test]
    fn fuzz_regression_text_value_with_cdata_end() {
        let body = b"<xml><AppId><![CDATA[wwb151adf6e5384b57]]></AppId><Encrypt>AgentIDA[gipFNSjQGvEbRjOjZw6mPYU5r60mUWXg8onKXe2Bfnnq9PXclbiHwOxe+qqJu7+ENsfDeweTA==]]></Encrypt></xml>";
        assert_eq!(
            parse(body).map(|_| ()),
            Err(xml(XmlError::Malformed { offset: 143 }))
        );
    }

    #[test]
    fn reply_layout_and_checks() {
        let sig = crate::signature::sign("t", "1", "n", "E");
        let mut out = [0u8; 256];
        let n = write_reply(&mut out, "E", &sig, "1", "n").expect("fits");
        assert_eq!(n, reply_len(1, 1, 1));
        let text = core::str::from_utf8(&out[..n]).expect("utf8");
        assert!(
            text.starts_with("<xml>\n<Encrypt><![CDATA[E]]></Encrypt>\n<MsgSignature><![CDATA[")
        );
        assert!(text.ends_with("</TimeStamp>\n<Nonce><![CDATA[n]]></Nonce>\n</xml>"));
        assert_eq!(
            write_reply(&mut out, "E", &sig, "12a", "n"),
            Err(Error::ReplyXml)
        );
        assert_eq!(
            write_reply(&mut out, "E", &sig, "1", "a]]>b"),
            Err(Error::ReplyXml)
        );
        assert_eq!(
            write_reply(&mut out, "E", &sig, "", "n"),
            Err(Error::SignatureInput)
        );
        assert!(matches!(
            write_reply(&mut out[..10], "E", &sig, "1", "n"),
            Err(Error::Buffer(_))
        ));
    }
}
