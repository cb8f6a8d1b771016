//! The production adapters, and what each sub-command does with them.

use std::sync::Arc;

use actix_web::{App, HttpServer, middleware::from_fn, web};
use anyhow::{Context, bail};
use mfa_core::{Email, Keyring, MfaPolicy, TotpConfig};
use mfa_diesel::Database;
use mfa_http::ratelimit::RateLimiter;
use mfa_http::{AppState, MfaApi};
use mfa_ports::adapters::{Argon2Hasher, Argon2Settings, OsRandom, SystemClock, XChaChaSealer};
use mfa_ports::{Keys, Ports, RequestContext, Service, Settings};
use tracing_subscriber::EnvFilter;

use crate::cli::{
    AuditArgs, Cli, Command, Common, KeysCommand, LogFormat, RotateArgs, ServeArgs, TotpArgs,
    UserCommand,
};
use crate::keyfile::{self, KeyOrigin};

/// The adapters of a running server.
#[derive(Debug)]
struct Production;

impl Ports for Production {
    type Store = Database;
    type Clock = SystemClock;
    type Random = OsRandom;
    type Hasher = Argon2Hasher;
    type Sealer = XChaChaSealer;
}

/// Log lines to stdout; `RUST_LOG` sets the level (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so that a command's own output on stdout stays
    // clean; colours only when a person is watching.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    std::panic::set_hook(Box::new(|info| {
        // The payload may quote data the handler held; the location is enough.
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(panic.location = location.as_deref(), "a thread panicked");
    }));
}

/// Runs the chosen sub-command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&cli.common, &cli.serve),
        Some(Command::Serve(args)) => serve(&cli.common, &args),
        Some(Command::Migrate) => migrate(&cli.common),
        Some(Command::User {
            command: UserCommand::ResetMfa { email },
        }) => reset_mfa(&cli.common, &email),
        Some(Command::Audit(args)) => audit(&cli.common, &args),
        Some(Command::Totp(args)) => totp(&args),
        Some(Command::Keys {
            command: KeysCommand::Stage,
        }) => stage_key(&cli.common),
        Some(Command::Keys {
            command: KeysCommand::Rotate(args),
        }) => rotate_keys(&cli.common, &args),
    }
}

fn open_database(common: &Common) -> anyhow::Result<Database> {
    let db = Database::connect(&common.database_url, common.pool_size)
        .context("cannot open the database")?;
    let applied = db
        .run_migrations()
        .context("cannot apply the database migrations")?;
    tracing::info!(database = %db.describe(), migrations.applied = applied, "database ready");
    Ok(db)
}

fn load_key(common: &Common) -> anyhow::Result<Keyring> {
    let (key, origin) = keyfile::load_or_create(&common.key_file)?;
    if origin == KeyOrigin::Created {
        tracing::warn!(
            key_file = %common.key_file.display(),
            "created a new server key; give every instance that shares this database \
             the same file, and back it up"
        );
    }
    Ok(key)
}

fn service(common: &Common, serve: &ServeArgs) -> anyhow::Result<Service<Production>> {
    let key = load_key(common)?;
    let store = open_database(common)?;
    let defaults = Argon2Settings::default();
    let hasher = Argon2Hasher::new(Argon2Settings {
        memory_kib: serve.argon2_memory_kib,
        iterations: serve.argon2_iterations,
        parallelism: serve.argon2_parallelism,
        max_concurrent: serve
            .max_concurrent_hashes
            .unwrap_or(defaults.max_concurrent),
    })?;
    if serve.issuer.is_empty() || serve.issuer.contains(':') {
        bail!("--issuer must be non-empty and must not contain a colon");
    }
    let totp = TotpConfig {
        steps_back: serve.totp_window,
        steps_forward: serve.totp_window,
        ..TotpConfig::default()
    };
    let settings = Settings {
        policy: MfaPolicy {
            totp,
            ..MfaPolicy::default()
        },
        session_ttl_secs: serve.session_ttl_secs,
        issuer: serve.issuer.clone(),
        ..Settings::default()
    };
    tracing::info!(key.current = key.current_id(), key.ids = ?key.ids(), "server keys loaded");
    let sealer = XChaChaSealer::from_keyring(&key);
    Ok(Service::new(
        store,
        SystemClock,
        OsRandom,
        hasher,
        sealer,
        settings,
        Keys::from_keyring(&key),
    ))
}

fn serve(common: &Common, args: &ServeArgs) -> anyhow::Result<()> {
    let service = service(common, args)?;
    let description = service.store().describe();
    let api: Arc<dyn MfaApi> = Arc::new(service);
    let state = web::Data::new(AppState {
        api,
        limiter: Arc::new(RateLimiter::new(args.rate_limit_per_ip)),
        trusted_proxies: args.trusted_proxies.clone().into(),
    });

    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(mfa_http::middleware::observe))
            .configure(mfa_http::routes)
    })
    .shutdown_timeout(30);
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addresses: Vec<String> = server.addrs().iter().map(ToString::to_string).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %addresses.join(","),
        database = %description,
        "mfa-server listening"
    );

    actix_web::rt::System::new()
        .block_on(server.run())
        .context("the HTTP server failed")?;
    tracing::info!("mfa-server stopped");
    Ok(())
}

fn migrate(common: &Common) -> anyhow::Result<()> {
    let db = Database::connect(&common.database_url, 1).context("cannot open the database")?;
    let applied = db
        .run_migrations()
        .context("cannot apply the database migrations")?;
    println!("applied {applied} migration(s) to {}", db.describe());
    Ok(())
}

/// Operator commands work on the server's existing files: a missing key
/// file or SQLite file means a wrong path, not a new deployment.
fn require_existing_files(common: &Common) -> anyhow::Result<()> {
    if !common.key_file.exists() {
        bail!(
            "no key file at {}; give the server's --key-file (or MFA_KEY_FILE)",
            common.key_file.display()
        );
    }
    let sqlite =
        mfa_diesel::sqlite_file(&common.database_url).context("cannot open the database")?;
    if let Some(path) = sqlite.filter(|p| !p.exists()) {
        bail!(
            "no database at {}; give the server's --database-url (or DATABASE_URL)",
            path.display()
        );
    }
    Ok(())
}

fn operator_service(common: &Common) -> anyhow::Result<Service<Production>> {
    use clap::Parser as _;
    require_existing_files(common)?;
    // Operator commands use the serve defaults for everything but storage.
    let defaults = crate::cli::Cli::try_parse_from(["mfa-server"]).context("default flags")?;
    service(common, &defaults.serve)
}

fn reset_mfa(common: &Common, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let service = operator_service(common)?;
    let ctx = RequestContext {
        client: Some("operator".to_owned()),
    };
    match service.operator_reset_mfa(&email, &ctx) {
        Ok(user) => {
            println!("MFA turned off and every session ended for user {}", user.0);
            Ok(())
        }
        Err(mfa_ports::OperatorError::UnknownUser) => bail!("no account has this email"),
        Err(e) => Err(e.into()),
    }
}

fn audit(common: &Common, args: &AuditArgs) -> anyhow::Result<()> {
    let email = args
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let since = args
        .since
        .as_deref()
        .map(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339))
        .transpose()
        .context("--since must be an RFC 3339 time such as 2026-01-31T00:00:00Z")?
        .map(|t| mfa_core::UnixTime(u64::try_from(t.unix_timestamp()).unwrap_or(0)));
    let service = operator_service(common)?;
    let events = match service.audit_trail(email.as_ref(), since) {
        Ok(events) => events,
        Err(mfa_ports::OperatorError::UnknownUser) => bail!("no account has this email"),
        Err(e) => return Err(e.into()),
    };
    for event in events {
        let at = mfa_http::handlers::rfc3339(event.at);
        let user = event
            .user_id
            .map(|u| u.0.to_string())
            .unwrap_or_else(|| "-".to_owned());
        let client = event.client.as_deref().unwrap_or("-");
        println!(
            "{at}\t{}\tuser={user}\tclient={client}\t{}",
            event.kind.as_str(),
            event.detail
        );
    }
    Ok(())
}

fn totp(args: &TotpArgs) -> anyhow::Result<()> {
    use mfa_ports::ports::Clock as _;
    let secret =
        mfa_core::TotpSecret::parse_base32(&args.secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = SystemClock.now();
    let totp = mfa_core::Totp::new(&secret, TotpConfig::default());
    println!("time {}", mfa_http::handlers::rfc3339(now));
    println!("code {}", totp.generate(now));
    println!("valid for {} more seconds", 30 - now.0 % 30);
    Ok(())
}

fn stage_key(common: &Common) -> anyhow::Result<()> {
    require_existing_files(common)?;
    let id = keyfile::stage(&common.key_file)?;
    println!("staged key {id} in {}", common.key_file.display());
    println!("copy this file to every instance, restart them, then run `mfa-server keys rotate`");
    Ok(())
}

fn rotate_keys(common: &Common, args: &RotateArgs) -> anyhow::Result<()> {
    require_existing_files(common)?;
    if !args.resume {
        let (id, was_staged) = keyfile::promote(&common.key_file)?;
        println!(
            "key {id} is now the current key in {}",
            common.key_file.display()
        );
        if !was_staged {
            println!(
                "instances started before now cannot read key {id} until restarted with this file; \
                 with several instances, stage a key first (`mfa-server keys stage`)"
            );
        }
    }
    let service = operator_service(common)?;
    let batch_size = usize::try_from(args.batch_size).unwrap_or(200);
    let report = service.reseal_secrets(batch_size, None)?;
    println!(
        "re-sealed {} secret(s) under key {}; older keys stay readable, so tokens signed with them \
         stay valid until they expire and backup codes issued under them keep working",
        report.resealed,
        keyfile::read(&common.key_file)?.current_id()
    );
    Ok(())
}
