//! What a `[[client]]` of the internal API may do: [`ClientScope`], a set of [`Permission`]s
//! read from its `scope` key — `"full"` (everything, the default), `"read"` (tokens only), or a
//! list of `"tokens"`, `"refresh"`, `"proxy"` and `"admin"`.

use std::fmt;

/// One thing a client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// Read tokens, the account listing and one account, the event log (`tokens`).
    Tokens,
    /// Refresh a token, compare-and-refresh or unconditionally (`refresh`).
    Refresh,
    /// Call WeChat APIs through the token-injecting proxy, within the client's path rules
    /// (`proxy`).
    Proxy,
    /// Import and delete accounts, replay and discard events (`admin`).
    Admin,
}

impl Permission {
    /// Every permission, in the order the configuration shows them.
    pub const ALL: [Permission; 4] = [Self::Tokens, Self::Refresh, Self::Proxy, Self::Admin];

    /// The permission named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Its name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokens => "tokens",
            Self::Refresh => "refresh",
            Self::Proxy => "proxy",
            Self::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::Tokens => 1,
            Self::Refresh => 2,
            Self::Proxy => 4,
            Self::Admin => 8,
        }
    }
}

/// What a client of the internal API may do (`scope` in its `[[client]]` section): a set of
/// [`Permission`]s. `"full"` (the default) is all four, `"read"` is `tokens` alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientScope(u8);

impl Default for ClientScope {
    fn default() -> Self {
        Self::FULL
    }
}

impl ClientScope {
    /// Everything (`scope = "full"`, the default).
    pub const FULL: Self = Self(1 | 2 | 4 | 8);
    /// Reading tokens and accounts only (`scope = "read"`).
    pub const READ: Self = Self(1);

    /// The scope named `s` (`"full"` or `"read"`, or one permission's name).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::FULL),
            "read" => Some(Self::READ),
            other => Permission::parse(other).map(|p| Self(p.bit())),
        }
    }

    /// The scope of a list of names (each `"full"`, `"read"` or a permission); `Err` names
    /// the first that is none of them. An empty list is an empty scope.
    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, &'a str> {
        let mut bits = 0;
        for n in names {
            bits |= Self::parse(n).ok_or(n)?.0;
        }
        Ok(Self(bits))
    }

    /// Whether the scope holds `p`.
    pub fn allows(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether a client of this scope may change tokens or records (all of refresh and
    /// admin).
    pub fn may_write(self) -> bool {
        self.allows(Permission::Refresh) && self.allows(Permission::Admin)
    }
}

impl fmt::Display for ClientScope {
    /// `full`, `read`, or the permissions as a TOML list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::FULL {
            return f.write_str("full");
        }
        if *self == Self::READ {
            return f.write_str("read");
        }
        let names: Vec<&str> = Permission::ALL
            .into_iter()
            .filter(|p| self.allows(*p))
            .map(Permission::as_str)
            .collect();
        write!(f, "{names:?}")
    }
}

impl fmt::Debug for ClientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientScope({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_aliases_keep_their_meaning() {
        assert_eq!(ClientScope::parse("full"), Some(ClientScope::FULL));
        assert_eq!(ClientScope::parse("read"), Some(ClientScope::READ));
        assert_eq!(ClientScope::parse("Read"), None);
        assert_eq!(ClientScope::parse(""), None);
        assert!(ClientScope::FULL.may_write());
        assert!(!ClientScope::READ.may_write());
        for p in Permission::ALL {
            assert!(ClientScope::FULL.allows(p));
            assert_eq!(ClientScope::READ.allows(p), p == Permission::Tokens);
        }
        assert_eq!(ClientScope::default(), ClientScope::FULL);
        assert_eq!(ClientScope::READ.to_string(), "read");
        let s = ClientScope::parse_list(["tokens", "proxy"]).unwrap();
        assert!(s.allows(Permission::Proxy) && !s.allows(Permission::Refresh));
        assert_eq!(s.to_string(), r#"["tokens", "proxy"]"#);
        assert_eq!(
            ClientScope::parse_list(["read", "refresh", "proxy", "admin"]),
            Ok(ClientScope::FULL)
        );
        assert_eq!(ClientScope::parse_list(["tokens", "root"]), Err("root"));
        assert_eq!(ClientScope::parse_list([]).unwrap().to_string(), "[]");
    }
}
