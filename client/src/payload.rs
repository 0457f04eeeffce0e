//! [`Payload`]: a request body as its content type and one or more shared buffers (`Bytes`).
//! A retry resends the same buffers without a copy; a body of several parts (a multipart
//! upload: head, file, tail) is streamed as one HTTP body of known length without joining them.

use bytes::Bytes;

/// A request body: its content type and its bytes in one or more parts. Parts are shared
/// (`Bytes`), so a retry resends them without a copy, and a body of several parts (a multipart
/// upload: head, file, tail) is streamed without joining them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Payload {
    pub content_type: Option<String>,
    pub parts: Vec<Bytes>,
}

impl Payload {
    /// A JSON body.
    pub(crate) fn json(bytes: Vec<u8>) -> Self {
        Self {
            content_type: Some("application/json".to_owned()),
            parts: vec![Bytes::from(bytes)],
        }
    }

    /// Its length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum()
    }

    /// A request body over the parts (no copy).
    pub(crate) fn body(&self) -> reqwest::Body {
        match self.parts.as_slice() {
            [] => reqwest::Body::from(Bytes::new()),
            [one] => reqwest::Body::from(one.clone()),
            _ => reqwest::Body::wrap(Parts {
                parts: self.parts.iter().cloned().collect(),
                remaining: self.len(),
            }),
        }
    }
}

/// Several shared buffers as one streamed HTTP body of known length.
struct Parts {
    parts: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.parts.pop_front();
        if let Some(p) = &next {
            self.remaining = self.remaining.saturating_sub(p.len() as u64);
        }
        std::task::Poll::Ready(next.map(|p| Ok(http_body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
