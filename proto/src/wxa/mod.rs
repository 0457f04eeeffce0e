//! Mini-program code management on behalf of authorized accounts (代小程序实现业务): the call
//! table, request and response types, and the errcodes of code, review and release.
//!
//! Every response type keeps fields it does not model in a pass-through map (`extra`), so a
//! field WeChat adds later reaches the caller without a new release.
//!
//! | file | holds |
//! |---|---|
//! | `calls` | [`WxaApi`]: path, method, token and idempotency of each call |
//! | `permission` | which permission set a path belongs to (for 61007) |
//! | `errors` | [`WxaErrcode`]: the typed codes and what to do about each |
//! | `code` | `commit` with a typed [`ExtJson`], pages, categories, privacy detection, versions |
//! | `audit` | `submit_audit` (validated), audit status, `queryquota` |
//! | `release` | `release` (body `{}`), gray release |
//! | `templates` | the platform's template library |
//! | `domains` | account and platform domains |
//! | `privacy` | privacy settings and the `\u`-escaped body they need |
//! | `testers` | experience testers |
//! | [`calendar`] | Beijing days and months (the quota's month) |

mod audit;
pub mod calendar;
mod calls;
mod code;
mod domains;
pub mod errors;
pub mod permission;
mod privacy;
mod release;
mod templates;
mod testers;

pub use audit::*;
pub use calls::{WxaApi, WxaToken};
pub use code::*;
pub use domains::*;
pub use errors::WxaErrcode;
pub use permission::{permission_set_of, MINI_PROGRAM_DEVELOPMENT};
pub use privacy::*;
pub use release::*;
pub use templates::*;
pub use testers::*;
