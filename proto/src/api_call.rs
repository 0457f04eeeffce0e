//! A generic call to any WeChat API path ([`ApiCall`]): its method, its normalised path, the
//! token parameter it carries, a bounded interned name for metrics, and its URL.

use url::Url;

use crate::api::{build_url_for, TokenParam};

/// [`build_url`](crate::api::build_url) for a generic [`ApiCall`].
pub fn build_call_url(base: &Url, call: &ApiCall, token: Option<&str>) -> Result<Url, String> {
    let mut url = build_url_for(base, call.path(), call.token_param(), call.name(), token)?;
    if let Some((name, value)) = call.fixed_query {
        url.query_pairs_mut().append_pair(name, value);
    }
    Ok(url)
}

/// The HTTP method of a generic [`ApiCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET` (no body).
    Get,
    /// `POST` with a JSON body.
    Post,
}

/// Longest generic API path accepted, in bytes.
pub const MAX_API_PATH_LEN: usize = 256;

/// A generic API call: any path (built at run time if need be), GET or POST, the credential it
/// takes, and whether repeating it is harmless.
///
/// Not idempotent (the default) means the call may change something (send a message, submit
/// an audit): it is retried, and failed over, only when the request cannot have been sent — no
/// connection could be made, or HTTP 429. A timeout, a lost body, a 5xx or errcode -1 is
/// returned as is, because WeChat may have acted on it. Mark reads
/// [`idempotent`](Self::idempotent) to get the full retry and failover schedule.
///
/// ```
/// use wxopen_proto::api::TokenParam;
/// use wxopen_proto::api_call::{ApiCall, Method};
///
/// let send = ApiCall::post("cgi-bin/message/custom/send")?;
/// assert_eq!(send.path(), "/cgi-bin/message/custom/send");
/// assert!(!send.is_idempotent());
/// let list = ApiCall::get("/wxa/gettemplatelist")?.idempotent(true);
/// assert_eq!((list.method(), list.token_param()), (Method::Get, TokenParam::AccessToken));
/// assert!(ApiCall::post("/cgi-bin/x?access_token=leak").is_err());
/// # Ok::<(), wxopen_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiCall {
    method: Method,
    path: String,
    name: &'static str,
    token: TokenParam,
    idempotent: bool,
    fixed_query: Option<(&'static str, &'static str)>,
}

impl ApiCall {
    /// A POST to `path` (`/cgi-bin/...` or `cgi-bin/...`), `access_token=` in the query, not
    /// idempotent.
    pub fn post(path: impl AsRef<str>) -> Result<Self, crate::Error> {
        Self::new(Method::Post, path.as_ref())
    }

    /// A GET of `path`, `access_token=` in the query, not idempotent (mark reads
    /// [`idempotent`](Self::idempotent)).
    pub fn get(path: impl AsRef<str>) -> Result<Self, crate::Error> {
        Self::new(Method::Get, path.as_ref())
    }

    /// A call with `method` to `path`: the path is normalised to start with `/` and must be at
    /// most [`MAX_API_PATH_LEN`] bytes of ASCII letters, digits, `/`, `-`, `_`, `.` and `~`,
    /// without `.`/`..` or empty segments (so no query, fragment, escape or traversal).
    pub fn new(method: Method, path: &str) -> Result<Self, crate::Error> {
        let path =
            normalise_api_path(path).map_err(|reason| crate::Error::invalid("API path", reason))?;
        Ok(Self {
            method,
            name: intern_name(&path),
            path,
            token: TokenParam::AccessToken,
            idempotent: false,
            fixed_query: None,
        })
    }

    /// Sets whether repeating the call is harmless (see the type's docs).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Adds one fixed query parameter after the credential (e.g. `getticket`'s `type=jsapi`);
    /// only compile-time values, so a caller's input never reaches the query.
    pub fn fixed_query(mut self, name: &'static str, value: &'static str) -> Self {
        self.fixed_query = Some((name, value));
        self
    }

    /// Sets the query credential (default [`TokenParam::AccessToken`]).
    pub fn token(mut self, token: TokenParam) -> Self {
        self.token = token;
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The normalised path (starts with `/`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query credential.
    pub fn token_param(&self) -> TokenParam {
        self.token
    }

    /// Whether the call may be repeated after any transient failure.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The name used in logs and errors (the path; a fixed placeholder once
    /// [`MAX_INTERNED_NAMES`] distinct paths have been seen).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Distinct generic paths whose names are kept for errors (`Error` carries `&'static str`
/// endpoint names); further paths are named [`OTHER_API_NAME`].
pub const MAX_INTERNED_NAMES: usize = 512;
/// The error name of a generic call once [`MAX_INTERNED_NAMES`] is reached.
pub const OTHER_API_NAME: &str = "(generic API call)";

fn intern_name(path: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(n) = names.get(path) {
        return n;
    }
    if names.len() >= MAX_INTERNED_NAMES {
        return OTHER_API_NAME;
    }
    // Bounded: at most MAX_INTERNED_NAMES paths of at most MAX_API_PATH_LEN bytes, once each.
    let leaked: &'static str = Box::leak(path.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

fn normalise_api_path(path: &str) -> Result<String, String> {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    if path.len() > MAX_API_PATH_LEN {
        return Err(format!("longer than {MAX_API_PATH_LEN} bytes"));
    }
    if path.len() == 1 {
        return Err("empty".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~')))
    {
        return Err(match c {
            '?' | '#' => {
                "must not carry a query or fragment (the token is added by the client)".into()
            }
            c if c.is_control() => "contains control characters".into(),
            _ => format!("character {:?} is not allowed", c),
        });
    }
    for seg in path[1..].split('/') {
        match seg {
            "" => return Err("empty path segment".into()),
            "." | ".." => return Err("`.` and `..` segments are not allowed".into()),
            _ => {}
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_fixed_query_follows_the_credential() {
        let base = Url::parse("https://api.example/").unwrap();
        let c = ApiCall::get("/cgi-bin/ticket/getticket")
            .unwrap()
            .fixed_query("type", "wx_card");
        let url = build_call_url(&base, &c, Some("AT")).unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.example/cgi-bin/ticket/getticket?access_token=AT&type=wx_card"
        );
        let plain = ApiCall::get("/cgi-bin/ticket/getticket").unwrap();
        assert_eq!(
            build_call_url(&base, &plain, Some("AT")).unwrap().query(),
            Some("access_token=AT")
        );
    }

    #[test]
    fn api_call_paths_are_normalised_and_validated() {
        let c = ApiCall::post("cgi-bin/message/custom/send").unwrap();
        assert_eq!(c.path(), "/cgi-bin/message/custom/send");
        assert_eq!(c.name(), "/cgi-bin/message/custom/send");
        assert_eq!(c.method(), Method::Post);
        assert!(!c.is_idempotent());
        assert_eq!(c.token_param(), TokenParam::AccessToken);
        let g = ApiCall::get(String::from("/wxa/gettemplatelist"))
            .unwrap()
            .idempotent(true)
            .token(TokenParam::ComponentAccessToken);
        assert!(g.is_idempotent());
        assert_eq!(g.token_param(), TokenParam::ComponentAccessToken);
        let long = format!("/{}", "a".repeat(MAX_API_PATH_LEN));
        for bad in [
            "",
            "/",
            "/x?access_token=leak",
            "/x#f",
            "/a/../b",
            "../etc",
            "/a/./b",
            "//evil.example/x",
            "/a//b",
            "/a/",
            "/a\nb",
            "/a b",
            "/%2e%2e/x",
            "/a\u{0}",
            "/中文",
            "https://evil.example/x",
            long.as_str(),
        ] {
            assert!(ApiCall::post(bad).is_err(), "{bad:?}");
        }
        assert!(ApiCall::post("/a..b/c.d").is_ok());
        let e = ApiCall::post("/x?y").unwrap_err();
        assert!(e.to_string().contains("query"), "{e}");
    }

    #[test]
    fn api_call_urls() {
        let base = Url::parse("https://api.weixin.qq.com/").unwrap();
        let c = ApiCall::get("wxa/gettemplatelist").unwrap();
        let u = build_call_url(&base, &c, Some("A&b")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.weixin.qq.com/wxa/gettemplatelist?access_token=A%26b"
        );
        assert!(build_call_url(&base, &c, None).is_err());
        let n = c.clone().token(TokenParam::None);
        assert!(build_call_url(&base, &n, Some("t")).is_err());
        assert!(build_call_url(&base, &n, None).is_ok());
    }

    #[test]
    fn interned_names_are_bounded() {
        for i in 0..(MAX_INTERNED_NAMES + 10) {
            let c = ApiCall::post(format!("/bound/{i}")).unwrap();
            assert!(c.name() == c.path() || c.name() == OTHER_API_NAME);
        }
        let again = ApiCall::post("/bound/0").unwrap();
        assert!(again.name() == "/bound/0" || again.name() == OTHER_API_NAME);
    }
}
