//! Why a command failed, how that is printed on stderr and which exit code it gives.

use std::fmt;
use std::process::ExitCode;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a crypto failure with an official WeChat code.
pub const EXIT_CRYPTO: u8 = 1;
/// Exit code: a usage error (clap uses the same code for its own).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the input could not be read or the output could not be written.
pub const EXIT_IO: u8 = 3;
/// Exit code: a step of `wxopen demo` failed.
pub const EXIT_DEMO: u8 = 4;

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The crypto refused the input; `hint` says what usually causes it.
    Crypto {
        /// The core's error, which carries the official code.
        error: wxopen_core::Error,
        /// The most useful hint for this input, if any.
        hint: Option<String>,
    },
    /// The command line is not usable as given.
    Usage(String),
    /// Reading input or writing output failed.
    Io(String),
    /// A demo step failed.
    Demo(String),
}

impl Failure {
    /// A crypto failure with the core's own hint.
    pub fn crypto(error: wxopen_core::Error) -> Self {
        Failure::Crypto {
            error,
            hint: error.hint().map(str::to_owned),
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Crypto { .. } => EXIT_CRYPTO,
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Io(_) => EXIT_IO,
            Failure::Demo(_) => EXIT_DEMO,
        }
    }

    /// The official WeChat code, for crypto failures.
    pub fn wechat_code(&self) -> Option<i32> {
        match self {
            Failure::Crypto { error, .. } => Some(error.code()),
            _ => None,
        }
    }

    /// The hint line, if any.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Failure::Crypto { hint, .. } => hint.as_deref(),
            Failure::Usage(_) => Some("see `wxopen --help`"),
            _ => None,
        }
    }

    /// Print the `error:` line and the `hint:` line (if any) on stderr; return the exit code.
    pub fn report(&self) -> ExitCode {
        let mut text = format!("error: {self}\n");
        if let Some(hint) = self.hint() {
            text.push_str("hint: ");
            text.push_str(hint);
            text.push('\n');
        }
        eprint!("{text}");
        ExitCode::from(self.exit_code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The core's Display already ends with "(WeChat code -400NN)".
            Failure::Crypto { error, .. } => write!(f, "{error}"),
            Failure::Usage(what) | Failure::Io(what) => f.write_str(what),
            Failure::Demo(what) => write!(f, "demo failed: {what}"),
        }
    }
}

impl From<wxopen_core::Error> for Failure {
    fn from(error: wxopen_core::Error) -> Self {
        Failure::crypto(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_failures_name_the_code_and_exit_1() {
        let f = Failure::crypto(wxopen_core::Error::SignatureMismatch);
        assert_eq!(f.to_string(), "signature mismatch (WeChat code -40001)");
        assert_eq!(f.exit_code(), EXIT_CRYPTO);
        assert_eq!(f.wechat_code(), Some(-40001));
        assert!(f.hint().is_some());
        assert_eq!(Failure::Usage("x".into()).exit_code(), EXIT_USAGE);
        assert_eq!(Failure::Io("x".into()).exit_code(), EXIT_IO);
        assert_eq!(Failure::Demo("x".into()).exit_code(), EXIT_DEMO);
    }
}
