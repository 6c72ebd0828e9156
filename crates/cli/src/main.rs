//! The `parley` binary: thin by design. It parses arguments, loads the configuration and hands
//! over to `parley-server`.
#![allow(clippy::doc_markdown, reason = "doc comments here are the help text of the CLI, read as plain text")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use parley_server::config::Config;
use parley_server::{Runtime, Server, telemetry};

/// Parley: private, encrypted buyer-seller messaging for online marketplaces.
///
/// Configuration comes from compiled-in defaults, then the TOML file given with --config,
/// then PARLEY_* environment variables (PARLEY_HTTP__LISTEN sets http.listen). The master key
/// comes from PARLEY_MASTER_KEY or the key file in the data directory.
#[derive(Debug, Parser)]
#[command(name = "parley", version, propagate_version = true)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "PARLEY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: HTTPS API and WebSocket on https://127.0.0.1:8443 by default.
    ///
    /// With no configuration it keeps everything in ./data: an SQLite database, a key
    /// database, a generated master key (back it up apart from the data) and a local CA with
    /// a 90-day server certificate (trust ./data/tls/ca.pem in your client).
    Serve,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the OpenAPI 3.1 description of the HTTP API.
    Openapi,
    /// Answer a data-subject request for one user (run next to the server, on its data).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Data retention.
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// The audit log: what operators, jobs and users did to data.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The privacy policy.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Mail every user who consented to a kind of broadcast (and accepted the current privacy
    /// policy), each mail with its own unsubscribe link.
    Broadcast {
        /// The kind: `product_news` or `offers`.
        purpose: String,
        /// The subject line.
        #[arg(long)]
        subject: String,
        /// A UTF-8 text file with the mail's text.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Print entries as JSON lines, oldest first.
    Show {
        /// Start after this entry number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Walk the hash chain: exit 0 if every entry is in place and unaltered, 1 if not.
    Verify,
}

#[derive(Debug, Subcommand)]
enum PolicyAction {
    /// Print the policy in force (its version, then its text).
    Show,
    /// Publish FILE (UTF-8 Markdown) as the next version: every user is told by mail and in the
    /// app, and optional mail stops for each until they accept it.
    Publish {
        /// The new policy text.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionAction {
    /// Destroy now every conversation whose retention ran out (keys first, then rows) and
    /// delete expired security events, as the server does every minute.
    Run,
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Print everything Parley holds about the user, as the JSON archive users download
    /// themselves (format parley-export/1).
    Export {
        /// The user's handle.
        handle: String,
    },
    /// Account recovery, once the owner proved who they are: remove their authenticator app,
    /// recovery codes, passkeys and known devices, and end their sessions. They are mailed, and
    /// log in with their password to enrol again.
    ResetFactors {
        /// The user's handle.
        handle: String,
        /// Confirm: their second factors are gone for good.
        #[arg(long)]
        yes: bool,
    },
    /// Erase the user for good: their keys first (so no copy of the database, backups
    /// included, can show their data again), then their rows. Their sessions end.
    Erase {
        /// The user's handle.
        handle: String,
        /// Confirm: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the effective configuration as TOML (database passwords masked; the master key
    /// is never part of it).
    Show,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("parley: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&loaded.config.log);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve => run_server(&loaded.config),
        Command::Config { action: ConfigAction::Show } => print_and_exit(&loaded.config.to_redacted_toml()),
        Command::Openapi => print_and_exit(&parley_server::routes::openapi_json(loaded.config.limits.message_max_chars)),
        Command::User { action } => run(user_command(&loaded.config, action)),
        Command::Retention { action: RetentionAction::Run } => run(retention_run(&loaded.config)),
        Command::Policy { action } => run(policy_command(&loaded.config, action)),
        Command::Audit { action } => run(audit_command(&loaded.config, action)),
        Command::Broadcast { purpose, subject, file } => run(broadcast(&loaded.config, &purpose, &subject, &file)),
    }
}

/// Runs an operator command to completion on a fresh runtime.
fn run(command: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("parley: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parley: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The core, for an operator command (its real-time events reach no one).
async fn operator_core(config: &Config) -> anyhow::Result<std::sync::Arc<parley_core::Parley>> {
    let events = std::sync::Arc::new(parley_server::bus::InProcessBus::new(1));
    parley_server::open_core(config, &Runtime::from_process(), events).await
}

#[allow(clippy::print_stdout, reason = "the report goes to standard output")]
async fn retention_run(config: &Config) -> anyhow::Result<()> {
    let report = operator_core(config).await?.run_retention(parley_core::Actor::Operator).await?;
    println!("conversations destroyed: {}\nsecurity events deleted: {}", report.conversations_destroyed, report.security_events_deleted);
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the archive goes to standard output")]
async fn user_command(config: &Config, action: UserAction) -> anyhow::Result<()> {
    let core = operator_core(config).await?;
    match action {
        UserAction::Export { handle } => {
            let archive = core.export_by_handle(&handle).await.map_err(|e| anyhow::anyhow!("cannot export {handle}: {e}"))?;
            println!("{}", serde_json::to_string_pretty(&archive)?);
        }
        UserAction::ResetFactors { handle, yes } => {
            anyhow::ensure!(yes, "their second factors are removed for good: add --yes to reset {handle}");
            let ended = core.reset_factors_by_handle(&handle).await.map_err(|e| anyhow::anyhow!("cannot reset {handle}: {e}"))?;
            eprintln!("{handle}'s second factors are removed; {ended} sessions ended");
        }
        UserAction::Erase { handle, yes } => {
            anyhow::ensure!(yes, "erasure cannot be undone: add --yes to erase {handle}");
            core.erase_by_handle(&handle).await.map_err(|e| anyhow::anyhow!("cannot erase {handle}: {e}"))?;
            eprintln!("{handle} is erased");
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the entries and the verdict go to standard output")]
async fn audit_command(config: &Config, action: AuditAction) -> anyhow::Result<()> {
    let core = operator_core(config).await?;
    match action {
        AuditAction::Show { after, limit } => {
            for record in core.audit_entries(after, limit).await? {
                let entry = &record.entry;
                let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null);
                let line = serde_json::json!({
                    "seq": record.seq, "at": parley_core::format_time(entry.at), "actor": entry.actor,
                    "action": entry.action, "subject": entry.subject, "details": details,
                });
                println!("{line}");
            }
        }
        AuditAction::Verify => match core.verify_audit_log().await? {
            parley_core::AuditVerdict::Intact { entries } => println!("audit log intact: {entries} entries verified"),
            parley_core::AuditVerdict::Broken { at_seq } => {
                anyhow::bail!("audit log broken at entry {at_seq}: altered, missing or out of order")
            }
        },
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the policy goes to standard output")]
async fn policy_command(config: &Config, action: PolicyAction) -> anyhow::Result<()> {
    warn_without_public_url(config);
    let core = operator_core(config).await?;
    match action {
        PolicyAction::Show => {
            let policy = core.privacy_policy(None).await?;
            println!("version {} (sha256 {})\n\n{}", policy.version, policy.sha256, policy.body);
        }
        PolicyAction::Publish { file } => {
            let text = read_text(&file)?;
            let (policy, notified) = core.publish_privacy_policy(&text).await.map_err(|e| anyhow::anyhow!("cannot publish: {e}"))?;
            println!("privacy policy version {} published; {notified} users notified by mail", policy.version);
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the report goes to standard output")]
async fn broadcast(config: &Config, purpose: &str, subject: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let kind = parley_domain::ConsentPurpose::parse(purpose)
        .ok_or_else(|| anyhow::anyhow!("unknown broadcast kind `{purpose}` (product_news or offers)"))?;
    let text = read_text(file)?;
    warn_without_public_url(config);
    let queued =
        operator_core(config).await?.broadcast(kind, subject, &text).await.map_err(|e| anyhow::anyhow!("cannot broadcast: {e}"))?;
    println!("{queued} mails queued");
    Ok(())
}

/// Mail links point at `http.public_url`; without it they name the listen address.
fn warn_without_public_url(config: &Config) {
    if config.http.public_url.is_empty() {
        tracing::warn!(links = %config.public_url(), "http.public_url is not set: links in mail use the listen address");
    }
}

fn read_text(file: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))
}

#[allow(clippy::print_stdout, reason = "printing is this command's job")]
fn print_and_exit(text: &str) -> ExitCode {
    println!("{text}");
    ExitCode::SUCCESS
}

fn run_server(config: &Config) -> ExitCode {
    run(serve(config))
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let server = Server::build(config, Runtime::from_process()).await?;
    let url = server.url()?;
    tracing::info!(%url, data_dir = %config.data_dir.display(), "Parley is listening");
    if let Some(admin) = server.admin_addr() {
        tracing::info!(metrics = %format!("http://{admin}/metrics"), "admin listener is on");
    }
    eprintln!("Parley is listening on {url}");
    if server.ca_pem().is_some() {
        eprintln!("Its certificate is signed by the local CA in {}", config.data_dir.join("tls/ca.pem").display());
        eprintln!("Try: curl --cacert {} {url}/healthz", config.data_dir.join("tls/ca.pem").display());
    }
    let stop = server.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    server.run_until_stopped().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        tokio::signal::ctrl_c().await.ok();
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
