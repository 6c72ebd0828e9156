//! Account-activity mail over real SMTP: aiosmtpd (installed by `scripts/test` into `.venv`)
//! listens on loopback and stores what arrives in a maildir. Without it (a bare `cargo test`
//! outside CI) these tests say so and pass; with `CI=true` they must run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parley_server::config::SmtpTls;
use parley_testkit::{PASSWORD, TestApp};
use sqlx::Connection as _;

/// A real SMTP server (aiosmtpd) on a loopback port, delivering into a maildir.
struct SmtpServer {
    child: Child,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    /// The Python with aiosmtpd, if this machine has it.
    fn python() -> Option<PathBuf> {
        let candidate = std::env::var_os("PARLEY_TEST_PYTHON")
            .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"), PathBuf::from);
        if candidate.exists() {
            return Some(candidate);
        }
        assert!(std::env::var("CI").is_err(), "CI=true but aiosmtpd is missing: run ./scripts/test, which installs it into .venv");
        eprintln!("skipping: no .venv with aiosmtpd (./scripts/test installs it)");
        None
    }

    async fn start(python: &Path, port: u16) -> Self {
        Self::start_speaking(python, port, Security::Plain).await
    }

    async fn start_speaking(python: &Path, port: u16, security: Security<'_>) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let tls_args: Vec<std::ffi::OsString> = match security {
            Security::Plain => Vec::new(),
            Security::StartTls(files) => vec!["--tlscert".into(), files.cert().into(), "--tlskey".into(), files.key().into()],
            Security::Implicit(files) => vec!["--smtpscert".into(), files.cert().into(), "--smtpskey".into(), files.key().into()],
        };
        let mut child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .args(tls_args)
            // Python's Maildir creates the box only where nothing exists yet.
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self { child, maildir };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().ok();
        child.wait().ok();
        panic!("aiosmtpd did not start on port {port}");
    }

    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.path().join("box/new"))
            .map(|entries| entries.filter_map(Result::ok).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
            .unwrap_or_default()
    }

    async fn wait_for(&self, to: &str, needle: &str) -> String {
        for _ in 0..300 {
            if let Some(found) = self.messages().into_iter().find(|m| m.contains(to) && m.contains(needle)) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} containing {needle:?}; received: {:#?}", self.messages());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// How the test SMTP server speaks: in clear, STARTTLS (required, as aiosmtpd does by default
/// when given a certificate) or implicit TLS.
#[derive(Clone, Copy)]
enum Security<'a> {
    Plain,
    StartTls(&'a TlsFiles),
    Implicit(&'a TlsFiles),
}

/// A private CA and a `localhost` certificate it issued, as files (made the way the server
/// makes its own).
struct TlsFiles {
    dir: tempfile::TempDir,
}

impl TlsFiles {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = parley_server::config::Config { data_dir: dir.path().join("made"), ..Default::default() };
        let material = parley_server::bootstrap::tls_material(&config).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &material.cert_chain_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &material.key_pem).unwrap();
        std::fs::write(dir.path().join("ca.pem"), material.ca_pem.unwrap()).unwrap();
        Self { dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn app_mailing_over_tls(port: u16, tls: SmtpTls, ca: Option<PathBuf>) -> TestApp {
    TestApp::spawn_with(move |config| {
        config.mail.smtp_host = "localhost".into();
        config.mail.smtp_port = port;
        config.mail.smtp_tls = tls;
        config.mail.smtp_ca_file = ca.unwrap_or_default();
    })
    .await
}

#[tokio::test]
async fn mail_travels_over_starttls_or_implicit_tls_to_a_relay_with_a_private_ca() {
    let Some(python) = SmtpServer::python() else { return };
    let files = TlsFiles::new();
    for (security, tls) in [(Security::StartTls(&files), SmtpTls::Starttls), (Security::Implicit(&files), SmtpTls::Tls)] {
        let port = free_port();
        let smtp = SmtpServer::start_speaking(&python, port, security).await;
        let app = app_mailing_over_tls(port, tls, Some(files.ca())).await;
        let user = app.user("sealed").await;
        smtp.wait_for(&user.email, "Welcome to Parley").await;
    }
}

#[tokio::test]
async fn mail_waits_rather_than_go_in_clear_or_to_an_unverified_server() {
    let Some(python) = SmtpServer::python() else { return };
    let files = TlsFiles::new();
    // A server that offers no STARTTLS (or a meddler that strips it), and a server whose
    // certificate nobody vouches for: the mail stays in the outbox, tried and not sent.
    let plain_port = free_port();
    let plain = SmtpServer::start(&python, plain_port).await;
    let unverified_port = free_port();
    let unverified = SmtpServer::start_speaking(&python, unverified_port, Security::StartTls(&files)).await;
    for (port, smtp) in [(plain_port, &plain), (unverified_port, &unverified)] {
        let app = app_mailing_over_tls(port, SmtpTls::Starttls, None).await;
        app.user("careful").await;
        wait_for_attempts(&app.data_dir(), 1).await;
        assert!(smtp.messages().is_empty(), "nothing was delivered");
    }
}

async fn app_mailing_to(port: u16) -> TestApp {
    TestApp::spawn_with(|config| {
        config.mail.smtp_host = "127.0.0.1".into();
        config.mail.smtp_port = port;
        config.mail.smtp_tls = SmtpTls::None;
        config.mail.from = "Parley <security@parley.example>".into();
    })
    .await
}

#[tokio::test]
async fn account_activity_mail_is_sent_over_smtp() {
    let Some(python) = SmtpServer::python() else { return };
    let port = free_port();
    let smtp = SmtpServer::start(&python, port).await;
    let app = app_mailing_to(port).await;
    let user = app.user("mailed").await;
    let welcome = smtp.wait_for(&user.email, "Welcome to Parley").await;
    assert!(welcome.contains("From: Parley <security@parley.example>"), "{welcome}");
    assert!(welcome.contains(&format!("@{}", user.handle)));
    user.client.change_password(PASSWORD, "another long passphrase").await.unwrap();
    let changed = smtp.wait_for(&user.email, "Your Parley password was changed").await;
    for secret in [PASSWORD, "another long passphrase", user.token.as_str()] {
        assert!(!welcome.contains(secret) && !changed.contains(secret), "mail carries no secret");
    }
    assert!(app.mail_files().is_empty(), "with SMTP configured, nothing is written to disk");
}

#[tokio::test]
async fn the_outbox_retries_until_the_smtp_server_is_back_and_loses_nothing() {
    let Some(python) = SmtpServer::python() else { return };
    let port = free_port();
    let app = app_mailing_to(port).await;
    let user = app.user("patient").await;
    user.client.change_password(PASSWORD, "another long passphrase").await.unwrap();
    // Nothing listens: both mails fail at least once and wait in the outbox.
    wait_for_attempts(&app.data_dir(), 2).await;
    let smtp = SmtpServer::start(&python, port).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.messages().is_empty(), "a retry waits for its back-off");
    app.clock.advance(Duration::from_secs(31));
    smtp.wait_for(&user.email, "Welcome to Parley").await;
    smtp.wait_for(&user.email, "Your Parley password was changed").await;
    assert_eq!(smtp.messages().len(), 2, "each mail arrives once");
    wait_for_outbox_rows(&app.data_dir(), 0).await;
}

/// Waits until every queued mail has failed at least once.
async fn wait_for_attempts(data_dir: &Path, mails: i64) {
    for _ in 0..200 {
        let (rows, tried) = outbox(data_dir).await;
        if rows == mails && tried == mails {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox never tried {mails} mails");
}

async fn wait_for_outbox_rows(data_dir: &Path, expected: i64) {
    for _ in 0..200 {
        if outbox(data_dir).await.0 == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox never reached {expected} rows");
}

/// How many mails wait in the outbox, and how many of them were tried.
async fn outbox(data_dir: &Path) -> (i64, i64) {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("parley.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let counts: (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(*) FILTER (WHERE attempts > 0) FROM outbox").fetch_one(&mut db).await.unwrap();
    db.close().await.ok();
    counts
}
