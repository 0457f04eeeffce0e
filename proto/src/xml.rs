//! A flat XML reader for WeChat payloads, on quick-xml events.
//!
//! WeChat payloads are a root element with leaf children (and, rarely, one more level such as
//! `<info>` in fast-register events). This reader collects leaf text and CDATA into
//! `(path, value)` pairs, where nested names are joined with `/`. It refuses any `<!DOCTYPE>`,
//! and references to entities other than the five predefined ones are an error, never an
//! expansion.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::PushError;

/// Maximum element depth accepted (root included).
pub const MAX_DEPTH: usize = 8;
/// Maximum number of fields accepted.
pub const MAX_FIELDS: usize = 1024;

/// The fields of a flat XML document, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatXml {
    /// Name of the root element.
    pub root: String,
    /// `(path, text)` of every leaf element; nested paths are joined with `/`.
    pub fields: Vec<(String, String)>,
}

impl FlatXml {
    /// The first field named `name` (a `/`-joined path for nested fields).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn xml_err(e: impl std::fmt::Display) -> PushError {
    PushError::Xml(e.to_string())
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Parses a flat XML document.
pub fn parse_flat(xml: &[u8]) -> Result<FlatXml, PushError> {
    let text = std::str::from_utf8(xml).map_err(|_| PushError::NotUtf8)?;
    // No trimming here: a value split by a reference (`a &lt; b`) keeps its spaces;
    // whitespace between elements ends up in a parent's text, which is discarded.
    let mut reader = Reader::from_str(text);

    let mut out = FlatXml::default();
    let mut stack: Vec<String> = Vec::new();
    // Text of the innermost open element, and whether it has child elements.
    let mut current = String::new();
    let mut has_children = false;
    let mut seen_root = false;

    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) => {
                if stack.is_empty() && seen_root {
                    return Err(PushError::Xml("more than one root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(PushError::TooDeep);
                }
                let name = e.name().as_ref().to_owned();
                if stack.is_empty() {
                    out.root.clone_from(&name);
                    seen_root = true;
                }
                stack.push(name);
                current.clear();
                has_children = false;
            }
            Event::Empty(e) => {
                if stack.is_empty() {
                    if seen_root {
                        return Err(PushError::Xml("more than one root element".into()));
                    }
                    out.root = e.name().as_ref().to_owned();
                    seen_root = true;
                    continue;
                }
                push_field(&mut out, &stack, e.name().as_ref(), String::new())?;
                has_children = true;
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(PushError::Xml("unbalanced end tag".into()));
                };
                if !stack.is_empty() && !has_children {
                    push_field(&mut out, &stack, &name, std::mem::take(&mut current))?;
                }
                current.clear();
                // The parent now has at least this child.
                has_children = true;
            }
            Event::Text(t) => {
                if !stack.is_empty() {
                    current.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if !stack.is_empty() {
                    current.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(ch) = r.resolve_char_ref().map_err(xml_err)? {
                    current.push(ch);
                } else if let Some(ch) = predefined(&r) {
                    current.push(ch);
                } else {
                    return Err(PushError::UnknownEntity(r.to_string()));
                }
            }
            Event::DocType(_) => return Err(PushError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(PushError::Xml("unexpected end of document".into()));
    }
    if !seen_root {
        return Err(PushError::Xml("empty document".into()));
    }
    Ok(out)
}

fn push_field(
    out: &mut FlatXml,
    stack: &[String],
    name: &str,
    value: String,
) -> Result<(), PushError> {
    if out.fields.len() >= MAX_FIELDS {
        return Err(PushError::Xml("too many fields".into()));
    }
    // Skip the root in the path.
    let mut path = String::new();
    for seg in stack.iter().skip(1) {
        path.push_str(seg);
        path.push('/');
    }
    path.push_str(name);
    out.fields.push((path, value));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn leaves_cdata_text_and_nesting() {
        let x = parse_flat(
            b"<?xml version=\"1.0\"?><xml>\n <AppId><![CDATA[wx1]]></AppId>\n <CreateTime>1413192605</CreateTime><info><name><![CDATA[n]]></name><code>c</code></info><Empty/></xml>",
        )
        .unwrap();
        assert_eq!(x.root, "xml");
        assert_eq!(x.get("AppId"), Some("wx1"));
        assert_eq!(x.get("CreateTime"), Some("1413192605"));
        assert_eq!(x.get("info/name"), Some("n"));
        assert_eq!(x.get("info/code"), Some("c"));
        assert_eq!(x.get("Empty"), Some(""));
        assert_eq!(x.get("info"), None);
    }

    #[test]
    fn predefined_and_char_refs_are_unescaped() {
        let x = parse_flat(b"<xml><A>a &lt;&amp;&gt; &#65;&#x42;</A></xml>").unwrap();
        assert_eq!(x.get("A"), Some("a <&> AB"));
        let x = parse_flat(b"<xml>\n  <A> <![CDATA[v]]> </A>\n</xml>").unwrap();
        assert_eq!(x.get("A"), Some(" v "));
        assert_eq!(x.fields.len(), 1);
    }

    #[test]
    fn doctype_and_custom_entities_are_refused() {
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><xml><A>&lol;</A></xml>";
        assert_eq!(parse_flat(bomb), Err(PushError::Doctype));
        assert_eq!(
            parse_flat(b"<xml><A>&lol;</A></xml>"),
            Err(PushError::UnknownEntity("lol".into()))
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in [
            &b""[..],
            b"<xml>",
            b"<xml><A></B></xml>",
            b"<xml></xml><xml></xml>",
            b"</xml>",
            b"\xff\xfe",
            b"<xml><A>&#0;</A></xml>",
        ] {
            assert!(parse_flat(bad).is_err(), "{bad:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_flat(deep.as_bytes()), Err(PushError::TooDeep));
    }
}
