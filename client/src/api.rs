//! The component API as data ([`wxopen_proto::api`]) and generic calls
//! ([`wxopen_proto::api_call`]), under the one path 0.1.0 had for both.

pub use wxopen_proto::api::*;
pub use wxopen_proto::api_call::*;
