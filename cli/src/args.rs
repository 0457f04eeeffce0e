//! The command line: subcommands, flags and environment variables (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit codes and output conventions, shown at the end of `wxopen --help`.
pub const AFTER_HELP: &str = "\
Secrets:
  --token, --aes-key and --appid may come from WXOPEN_TOKEN, WXOPEN_AES_KEY and WXOPEN_APPID
  instead, so they stay out of shell history. Secret values are never printed.

Output:
  decrypt, verify-url and encrypt print their result byte for byte, with no added newline;
  sign prints the signature and a newline; --json prints one JSON object and a newline.
  When decrypt, encrypt, verify-url or sign fail, nothing is written to stdout. demo prints
  each step as it happens (tokens only as fingerprints) and, with --json, one object at the end.

Exit codes:
  0  success
  1  crypto failure: stderr says `error: <what> (WeChat code -400NN)`, often with a `hint:` line
  2  usage error: unknown or missing flag, missing secret, no input
  3  I/O error: the input FILE cannot be read, or stdout cannot be written
  4  demo failure: a step of `wxopen demo` did not do what it should";

/// `wxopen`: debug WeChat message crypto and watch the whole component flow run locally.
#[derive(Parser, Debug)]
#[command(name = "wxopen", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print machine-readable JSON on stdout (errors stay on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decrypt a pushed POST body (XML or JSON envelope) from FILE or stdin; prints the message.
    Decrypt(DecryptArgs),
    /// Encrypt a reply message from FILE or stdin; prints the reply envelope.
    Encrypt(EncryptArgs),
    /// Answer the URL check: decrypt `echostr`; prints the plaintext to echo back.
    VerifyUrl(VerifyUrlArgs),
    /// Compute `msg_signature` (with --encrypt) or the plain `signature` (without).
    Sign(SignArgs),
    /// Run the real server (SQLite in a temp dir) against a fake platform on loopback, drive the
    /// whole component flow over HTTP and print each step (needs the default `demo` feature).
    Demo(DemoArgs),
    /// Run the service: push and callback endpoints, authorization pages, the token API
    /// (needs the default `serve` feature).
    Serve(ServeArgs),
    /// Work with a service configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Read, replay or discard a running service's logged events over its internal API (the
    /// bearer key from WXOPEN_KEY; needs the default `serve` feature).
    Events(EventsArgs),
}

/// `wxopen events …`.
#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// The internal listener's base URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    pub url: String,
    /// The component appid.
    #[arg(long, value_name = "APPID", global = true)]
    pub component: Option<String>,
    /// The environment variable holding the client's bearer key.
    #[arg(long, value_name = "VAR", default_value = "WXOPEN_KEY", global = true)]
    pub key_env: String,
    /// What to do.
    #[command(subcommand)]
    pub action: EventsAction,
}

/// Which events (`list` and `replay --filter`).
#[derive(Args, Debug, Clone, Default)]
pub struct EventFilterArgs {
    /// Only in this state: pending, in_flight, delivered, dead.
    #[arg(long)]
    pub state: Option<String>,
    /// Only this account's.
    #[arg(long)]
    pub authorizer: Option<String>,
    /// Only this kind (text, weapp_audit_fail, authorized…).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only received at or after this time (Unix ms).
    #[arg(long)]
    pub since_ms: Option<u64>,
    /// Only received before this time (Unix ms).
    #[arg(long)]
    pub until_ms: Option<u64>,
    /// Start after this event id.
    #[arg(long)]
    pub after: Option<u64>,
    /// At most this many (1..=1000, default 100).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// `wxopen events` actions.
#[derive(Subcommand, Debug, Clone)]
pub enum EventsAction {
    /// One page of the log, as JSON.
    List(EventFilterArgs),
    /// One event, as JSON.
    Get {
        /// The event id.
        id: u64,
    },
    /// Send one event again (`ID`), or every event a filter matches (`--filter …`).
    Replay {
        /// The event id.
        id: Option<u64>,
        /// Replay every event the filter matches instead.
        #[command(flatten)]
        filter: EventFilterArgs,
    },
    /// Stop sending an undelivered event (it becomes a dead letter).
    Discard {
        /// The event id.
        id: u64,
    },
}

/// `wxopen serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE", default_value = "wxopen.toml")]
    pub config: PathBuf,
    /// Log lines as `human` text or `json` (one object per line).
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub log_format: String,
}

/// `wxopen config …`.
#[derive(Subcommand, Debug, Clone)]
pub enum ConfigCommand {
    /// Validate a configuration and print it with every secret redacted.
    Check {
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE", default_value = "wxopen.toml")]
        config: PathBuf,
    },
}

/// A secret value (token or EncodingAESKey): the one secret family of `wxopen-proto`
/// (`Debug` redacts it, nothing displays it, it is zeroized on drop).
pub use wxopen_proto::secret::SecretString as Secret;

/// The three values of one account's message crypto, as shown in the platform console.
#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// Message token (Token)
    #[arg(long, env = "WXOPEN_TOKEN", hide_env_values = true)]
    pub token: Secret,

    /// EncodingAESKey, 43 characters
    #[arg(long = "aes-key", env = "WXOPEN_AES_KEY", hide_env_values = true)]
    pub aes_key: Secret,

    /// Receiver id: your appid; the component appid for authorized-account messages
    #[arg(long, env = "WXOPEN_APPID")]
    pub appid: String,
}

/// The query parameters WeChat sends with a push.
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// The `msg_signature` query parameter (not `signature`)
    #[arg(long = "msg-signature")]
    pub msg_signature: String,

    /// The `timestamp` query parameter
    #[arg(long)]
    pub timestamp: String,

    /// The `nonce` query parameter
    #[arg(long)]
    pub nonce: String,
}

/// `wxopen decrypt`.
#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Account settings.
    #[command(flatten)]
    pub account: AccountArgs,

    /// Query parameters of the push.
    #[command(flatten)]
    pub query: QueryArgs,

    /// Largest POST body accepted, in bytes (for large captured bodies)
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = wxopen_core::envelope::DEFAULT_MAX_BODY_LEN)]
    pub max_body: usize,

    /// The raw POST body; stdin when absent or `-`
    pub file: Option<PathBuf>,
}

/// `wxopen encrypt`.
#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// Account settings.
    #[command(flatten)]
    pub account: AccountArgs,

    /// Timestamp of the reply (decimal Unix seconds) [default: now]
    #[arg(long)]
    pub timestamp: Option<String>,

    /// Nonce of the reply [default: a random number]
    #[arg(long)]
    pub nonce: Option<String>,

    /// The 16 random bytes of the frame as 32 hex digits, only for reproducing published test
    /// vectors; by default they come from the operating system's random number generator.
    #[arg(long = "random16-hex", value_parser = parse_random16_hex, hide = true)]
    pub random16: Option<[u8; 16]>,

    /// Largest reply envelope made, in bytes: a reply `decrypt` with the same limit accepts
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = wxopen_core::envelope::DEFAULT_MAX_BODY_LEN)]
    pub max_body: usize,

    /// The plaintext reply message; stdin when absent or `-`
    pub file: Option<PathBuf>,
}

/// `wxopen verify-url`.
#[derive(Args, Debug)]
pub struct VerifyUrlArgs {
    /// Account settings.
    #[command(flatten)]
    pub account: AccountArgs,

    /// Query parameters of the check.
    #[command(flatten)]
    pub query: QueryArgs,

    /// The `echostr` query parameter, URL-decoded
    #[arg(long)]
    pub echostr: String,
}

/// `wxopen sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// Message token (Token)
    #[arg(long, env = "WXOPEN_TOKEN", hide_env_values = true)]
    pub token: Secret,

    /// The `timestamp` value
    #[arg(long)]
    pub timestamp: String,

    /// The `nonce` value
    #[arg(long)]
    pub nonce: String,

    /// The `Encrypt` text: gives `msg_signature`; without it, the plain `signature`
    #[arg(long)]
    pub encrypt: Option<String>,
}

/// `wxopen demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {}

/// Parse 32 hex digits into 16 bytes.
pub fn parse_random16_hex(s: &str) -> Result<[u8; 16], String> {
    let digits = s.as_bytes();
    if digits.len() != 32 {
        return Err(format!("expected 32 hex digits, got {}", digits.len()));
    }
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = hex_value(pair[0]).ok_or("not a hex digit")?;
        let lo = hex_value(pair[1]).ok_or("not a hex digit")?;
        *byte = hi << 4 | lo;
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn random16_hex() {
        assert_eq!(
            parse_random16_hex("61616161626262626363636364646464"),
            Ok(*b"aaaabbbbccccdddd")
        );
        assert!(parse_random16_hex("6161").is_err());
        assert!(parse_random16_hex("zz616161626262626363636364646464").is_err());
    }

    #[test]
    fn debug_of_parsed_args_hides_secrets() {
        let cli = Cli::try_parse_from([
            "wxopen",
            "decrypt",
            "--token",
            "tok-SECRET-1",
            "--aes-key",
            "key-SECRET-2",
            "--appid",
            "wx1",
            "--msg-signature",
            "s",
            "--timestamp",
            "1",
            "--nonce",
            "n",
        ])
        .map_err(|e| e.to_string());
        let shown = format!("{cli:?}");
        assert!(shown.contains("wx1"), "{shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
