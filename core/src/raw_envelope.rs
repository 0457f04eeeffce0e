//! The fields of a push envelope as byte slices ([`RawEnvelope`]), for the decrypt path (no
//! UTF-8 pass): what the XML reader (`envelope`) and the JSON reader (`json_envelope`) both
//! produce.

/// The same fields as the public `Envelope`, as byte slices.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEnvelope<'a> {
    pub(crate) encrypt: &'a [u8],
    pub(crate) app_id: Option<&'a [u8]>,
    pub(crate) to_user_name: Option<&'a [u8]>,
}
