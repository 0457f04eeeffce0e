//! How a [`StoredValue`] is written to a backend: JSON inside a small envelope that carries a
//! format version, so a future format can be told apart from a corrupt value.
//!
//! ```text
//! {"format":1,"value":{"kind":"ticket","ticket":"…","create_time":…,"received_at":…}}
//! ```

use serde::{Deserialize, Serialize};
use wxopen_client::{StoreError, StoredValue};

/// The value format this code writes and the newest it reads.
pub(crate) const FORMAT: u32 = 1;

#[derive(Serialize)]
struct EnvelopeRef<'a> {
    format: u32,
    value: &'a StoredValue,
}

#[derive(Deserialize)]
struct Envelope {
    format: u32,
    value: serde_json::Value,
}

/// Encodes a value. Only fails on a serde bug; the message names no value.
pub(crate) fn encode(value: &StoredValue) -> Result<String, StoreError> {
    serde_json::to_string(&EnvelopeRef {
        format: FORMAT,
        value,
    })
    .map_err(|e| StoreError::new(format!("cannot encode a record: {}", e.classify_name())))
}

/// Decodes a value stored under `what` (a key name, used in the error message only).
/// A value that is not JSON, not an envelope, of an unknown format or of an unknown record kind
/// is [`StoreError::corrupt`]; the message never quotes the value.
pub(crate) fn decode(what: &str, text: &[u8]) -> Result<StoredValue, StoreError> {
    let env: Envelope = serde_json::from_slice(text).map_err(|e| {
        StoreError::corrupt(format!(
            "record {what}: not a wxopen value envelope ({} error at line {} column {})",
            e.classify_name(),
            e.line(),
            e.column()
        ))
    })?;
    if env.format != FORMAT {
        return Err(StoreError::corrupt(format!(
            "record {what}: value format {} is not the format {FORMAT} this code reads \
             (written by a newer wxopen-store?)",
            env.format
        )));
    }
    serde_json::from_value(env.value).map_err(|e| {
        StoreError::corrupt(format!(
            "record {what}: the value does not decode as a record ({} error)",
            e.classify_name()
        ))
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wxopen_client::{ComponentVerifyTicket, TicketRecord};

    fn ticket() -> StoredValue {
        StoredValue::Ticket(TicketRecord {
            ticket: ComponentVerifyTicket::new("ticket@@@secret-value"),
            create_time: 1,
            received_at: 2,
        })
    }

    #[test]
    fn round_trips_with_a_format_version() {
        let text = encode(&ticket()).unwrap();
        assert!(text.starts_with("{\"format\":1,"), "{text}");
        assert_eq!(decode("k", text.as_bytes()).unwrap(), ticket());
    }

    #[test]
    fn bad_values_are_corrupt_and_never_quoted() {
        let newer = encode(&ticket())
            .unwrap()
            .replace("\"format\":1", "\"format\":2");
        for bad in [
            b"".to_vec(),
            b"not json secret-value".to_vec(),
            b"{\"format\":1}".to_vec(),
            b"{\"format\":1,\"value\":{\"kind\":\"nope\",\"x\":\"secret-value\"}}".to_vec(),
            newer.into_bytes(),
            vec![0xff, 0xfe, 0x00],
        ] {
            let e = decode("wxopen:{c}:ticket", &bad).unwrap_err();
            assert_eq!(e.kind(), wxopen_client::store::StoreErrorKind::Corrupt);
            assert!(!e.message().contains("secret"), "{e}");
            assert!(e.message().contains("wxopen:{c}:ticket"), "{e}");
        }
    }
}
