#![no_main]

use libfuzzer_sys::fuzz_target;
use wxopen_core::envelope;
use wxopen_core::error::{Error, XmlError};

/// A reference check of the markup the parser must never accept: outside CDATA sections and
/// comments there is no `<!` declaration (DOCTYPE, ENTITY, ...) and no `&` reference.
fn has_unsafe_markup(data: &[u8]) -> bool {
    let mut i = 0;
    while i < data.len() {
        let rest = &data[i..];
        if rest.starts_with(b"<![CDATA[") {
            match find(&rest[9..], b"]]>") {
                Some(end) => i += 9 + end + 3,
                None => return false,
            }
        } else if rest.starts_with(b"<!--") {
            match find(&rest[4..], b"-->") {
                Some(end) => i += 4 + end + 3,
                None => return false,
            }
        } else if rest.starts_with(b"<!") || rest[0] == b'&' {
            return true;
        } else {
            i += 1;
        }
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    o.start <= i.start && i.end <= o.end
}

fuzz_target!(|data: &[u8]| {
    let Ok(env) = envelope::parse(data) else {
        return;
    };
    // Every non-empty field is borrowed from the input, and none can contain a CDATA terminator.
    for v in [Some(env.encrypt), env.app_id, env.to_user_name]
        .into_iter()
        .flatten()
    {
        // (An empty value, e.g. from `<Encrypt/>`, may point anywhere.)
        assert!(v.is_empty() || within(data, v.as_bytes()));
        assert!(find(v.as_bytes(), b"]]>").is_none());
    }
    assert!(
        !has_unsafe_markup(data),
        "accepted a declaration or reference"
    );

    // A DOCTYPE in front of an accepted body is always refused.
    let mut with_doctype = b"<!DOCTYPE xml [<!ENTITY e \"x\">]>".to_vec();
    with_doctype.extend_from_slice(data);
    assert_eq!(
        envelope::parse(&with_doctype).map(|_| ()),
        Err(Error::Xml(XmlError::Doctype))
    );

    // The size limit is exact.
    assert_eq!(envelope::parse_with_limit(data, data.len()), Ok(env));
    if !data.is_empty() {
        assert_eq!(
            envelope::parse_with_limit(data, data.len() - 1).map(|_| ()),
            Err(Error::Xml(XmlError::TooLarge {
                limit: data.len() - 1
            }))
        );
    }
});
