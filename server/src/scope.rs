//! What a `[[client]]` of the internal API may do: [`ClientScope`], read from its `scope` key.

use std::fmt;

/// What a client of the internal API may do (`scope` in its `[[client]]` section).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientScope {
    /// Everything (`scope = "full"`, the default): tokens, refreshes, listing, import, delete.
    #[default]
    Full,
    /// Reading only (`scope = "read"`): the tokens, the listing and one account; a refresh, an
    /// import or a delete is refused with 403.
    Read,
}

impl ClientScope {
    /// The scope named `s` (`"full"` or `"read"`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "read" => Some(Self::Read),
            _ => None,
        }
    }

    /// Whether a client of this scope may change tokens or records (refresh, import, delete).
    pub fn may_write(self) -> bool {
        matches!(self, Self::Full)
    }

    /// The name of this scope as the configuration writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Read => "read",
        }
    }
}

impl fmt::Display for ClientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_only_full_writes() {
        assert_eq!(ClientScope::parse("full"), Some(ClientScope::Full));
        assert_eq!(ClientScope::parse("read"), Some(ClientScope::Read));
        assert_eq!(ClientScope::parse("Read"), None);
        assert_eq!(ClientScope::parse(""), None);
        assert!(ClientScope::Full.may_write());
        assert!(!ClientScope::Read.may_write());
        assert_eq!(ClientScope::default(), ClientScope::Full);
        assert_eq!(ClientScope::Read.to_string(), "read");
    }
}
