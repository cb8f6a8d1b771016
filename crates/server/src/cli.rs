//! Command-line flags; each also read from an environment variable.
//!
//! These types derive no `Debug`: they hold emails, a TOTP secret and a
//! database URL that may carry a password, none of which may be printed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// TOTP two-factor login and backup codes over an HTTP JSON API.
#[derive(Parser)]
#[command(name = "mfa-server", version)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, also accepted without the sub-command.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Flags every sub-command shares.
    #[command(flatten)]
    pub common: Common,
}

/// Flags every sub-command shares.
#[derive(Args)]
pub struct Common {
    /// A file path or sqlite:// URL for embedded SQLite, or a postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mfa.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,
    /// The server key file (created with mode 0600 if missing).
    #[arg(long, env = "MFA_KEY_FILE", default_value = "mfa.key", global = true)]
    pub key_file: PathBuf,
    /// Database connections kept open per instance.
    #[arg(long, env = "MFA_POOL_SIZE", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u32).range(1..=512))]
    pub pool_size: u32,
    /// Log lines as text or as JSON objects.
    #[arg(
        long,
        env = "MFA_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The sub-commands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Operator commands on one user.
    User {
        /// The command.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print security events, oldest first.
    Audit(AuditArgs),
    /// Manage the server keys.
    Keys {
        /// The command.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print this machine's UTC time and the TOTP code an authenticator app
    /// should show now for a base32 secret, to check for clock drift.
    Totp(TotpArgs),
}

/// Commands on the server key file.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Add a key that every instance can read but none uses yet. Copy the
    /// file to every instance and restart them before `keys rotate`.
    Stage,
    /// Put the staged key in use (or a new key, when none is staged) and
    /// re-seal every TOTP secret under it. Older keys stay readable.
    Rotate(RotateArgs),
}

/// Flags of `keys rotate`.
#[derive(Args)]
pub struct RotateArgs {
    /// Only finish re-sealing under the current key (after an interruption).
    #[arg(long)]
    pub resume: bool,
    /// Secrets re-sealed per database page.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_size: u64,
}

/// Flags of `totp`.
#[derive(Args)]
pub struct TotpArgs {
    /// The base32 secret (as shown by setup); read from MFA_TOTP_SECRET if unset.
    #[arg(long, env = "MFA_TOTP_SECRET", hide_env_values = true)]
    pub secret: String,
}

/// Operator commands on one user.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Turn MFA off and end every session of a user who lost both the
    /// authenticator and the backup codes. Verify their identity first.
    ResetMfa {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

/// Flags of `audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// Only this user's events.
    #[arg(long)]
    pub email: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-01-31T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
}

/// Flags of `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "MFA_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// The issuer shown in authenticator apps (no colon).
    #[arg(long, env = "MFA_ISSUER", default_value = "MFA Service")]
    pub issuer: String,
    /// Login and register requests per client address and minute; 0 turns the limit off.
    #[arg(long, env = "MFA_RATE_LIMIT_PER_IP", default_value_t = 300)]
    pub rate_limit_per_ip: u32,
    /// Proxies whose X-Forwarded-For header names the client (comma-separated addresses).
    #[arg(long, env = "MFA_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Lifetime of a session and its bearer token, in seconds.
    #[arg(long, env = "MFA_SESSION_TTL_SECS", default_value_t = 12 * 60 * 60,
          value_parser = clap::value_parser!(u64).range(60..=30 * 24 * 60 * 60))]
    pub session_ttl_secs: u64,
    /// TOTP steps accepted before and after the current one.
    #[arg(
        long,
        env = "MFA_TOTP_WINDOW",
        default_value_t = 1,
        value_parser = clap::value_parser!(u8).range(0..=10)
    )]
    pub totp_window: u8,
    /// Password hashes computed at once (default: the number of cores).
    #[arg(long, env = "MFA_MAX_CONCURRENT_HASHES")]
    pub max_concurrent_hashes: Option<usize>,
    /// Argon2id memory cost in KiB (OWASP minimum: 19456 with 2 iterations).
    #[arg(long, env = "MFA_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    #[arg(long, env = "MFA_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    #[arg(long, env = "MFA_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,
    /// HTTP worker threads (default: the number of cores).
    #[arg(long, env = "MFA_WORKERS")]
    pub workers: Option<usize>,
}
