//! Delivery of the mail outbox: a background worker claims due mail from the core (which
//! renders it), sends it over SMTP (lettre, STARTTLS required or implicit TLS, certificates
//! verified against the web PKI and an optional private CA) or, with no SMTP server configured, writes it as an `.eml` file into
//! `<data_dir>/mail`. A failed delivery is rescheduled by the core with exponential back-off,
//! so an SMTP outage delays mail but loses none.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use parley_core::{OutgoingMail, Parley};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, SmtpTls};

/// Mails taken per poll.
const BATCH: u32 = 20;
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one whole delivery may take (lettre's timeout is per exchange): a batch ends
/// within `BATCH` times this, inside the outbox lease, so no other node takes its mail meanwhile.
/// Each delivery has a connection of its own (lettre's pool is not built in): a delivery cut
/// off half-way leaves no half-written connection behind for the next mail.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(25);
const _: () = assert!(DELIVERY_TIMEOUT.as_secs() * (BATCH as u64) < parley_core::MAIL_LEASE.as_secs());

/// Where mail goes.
pub enum Mailer {
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory.
    Files(PathBuf),
}

/// Why a mail could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be built (a bad address).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The file could not be written.
    #[error("cannot write the mail file: {0}")]
    File(#[from] std::io::Error),
    /// The delivery took longer than [`DELIVERY_TIMEOUT`].
    #[error("delivery timed out")]
    Timeout,
}

impl Mailer {
    /// The mailer the configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mail = &config.mail;
        if mail.smtp_host.is_empty() {
            return Ok(Mailer::Files(config.data_dir.join("mail")));
        }
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&mail.smtp_host);
        // STARTTLS is required, never opportunistic: a server (or a meddler) that does not offer
        // it gets no mail rather than mail in clear.
        let builder = match mail.smtp_tls {
            SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters(mail)?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(mail)?)),
            SmtpTls::None => builder,
        };
        let mut builder = builder.port(mail.smtp_port).timeout(Some(SMTP_TIMEOUT));
        if !mail.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(mail.smtp_username.clone(), mail.smtp_password.0.clone()));
        }
        Ok(Mailer::Smtp(builder.build()))
    }

    /// Hands one message over.
    pub async fn deliver(&self, id: uuid::Uuid, message: &Message) -> Result<(), MailError> {
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message.clone()).await?;
                Ok(())
            }
            Mailer::Files(dir) => write_eml(dir, id, &message.formatted()).await,
        }
    }
}

/// Builds the message of a rendered mail.
pub fn message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail.to.expose().parse().map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@parley.mail>", mail.id)))
        .header(ContentType::TEXT_PLAIN);
    if let Some(url) = &mail.unsubscribe_url {
        // One-click unsubscribe (RFC 8058): mail clients offer the button and POST to the URL.
        use lettre::message::header::{HeaderName, HeaderValue};
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()));
    }
    builder.body(mail.text.clone()).map_err(|e| MailError::Build(e.to_string()))
}

/// How the SMTP server's certificate is checked: for its host name, against the public roots
/// and the configured CA, if any.
fn tls_parameters(mail: &crate::config::MailConfig) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(mail.smtp_host.clone());
    if !mail.smtp_ca_file.as_os_str().is_empty() {
        let pem = std::fs::read(&mail.smtp_ca_file).with_context(|| format!("cannot read {}", mail.smtp_ca_file.display()))?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem).context("mail.smtp_ca_file holds no certificate")?);
    }
    Ok(builder.build_rustls()?)
}

/// Drains the outbox until `shutdown`: each poll claims due mail, sends it, and reports each
/// outcome to the core.
pub async fn run_outbox(core: Arc<Parley>, mailer: Mailer, from: Mailbox, poll: Duration, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(error) = deliver_due(&core, &mailer, &from).await {
            tracing::warn!(%error, "outbox pass failed; will retry");
        }
    }
}

async fn deliver_due(core: &Parley, mailer: &Mailer, from: &Mailbox) -> Result<(), parley_core::CoreError> {
    for mail in core.claim_mail(BATCH).await? {
        let outcome = match message(from, &mail) {
            Ok(message) => {
                tokio::time::timeout(DELIVERY_TIMEOUT, mailer.deliver(mail.id, &message)).await.unwrap_or_else(|_| Err(MailError::Timeout))
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                tracing::info!(mail_id = %mail.id, "mail delivered");
                core.mail_delivered(mail.id, mail.attempts).await?;
            }
            Err(error) => {
                tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, %error, "mail delivery failed; will retry");
                core.mail_failed(mail.id, mail.attempts, mail.queued_at).await?;
            }
        }
    }
    Ok(())
}

/// Writes a mail file atomically (a temporary name, then a rename), readable by the owner only.
async fn write_eml(dir: &std::path::Path, id: uuid::Uuid, bytes: &[u8]) -> Result<(), MailError> {
    tokio::fs::create_dir_all(dir).await?;
    let temporary = dir.join(format!(".{id}.eml.tmp"));
    let path = dir.join(format!("{id}.eml"));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&temporary).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    file.sync_all().await?;
    tokio::fs::rename(&temporary, &path).await?;
    Ok(())
}
