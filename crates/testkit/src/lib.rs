//! Test support, for tests only: [`TestApp`] runs the real server in-process on a random
//! loopback port with a fresh data directory and a fake clock, and hands out typed clients;
//! [`postgres`] gives each test a scratch PostgreSQL schema. Logs stay silent unless
//! `TEST_LOG=1`.

#![allow(clippy::expect_used, clippy::missing_panics_doc, reason = "test support: a failed setup should stop the test loudly")]

pub mod clock;
pub mod postgres;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parley_api::accounts::CreateAccountRequest;
use parley_api::client::Client;
use parley_server::config::Config;
use parley_server::{Runtime, Server};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use clock::FakeClock;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// `http://127.0.0.1:<port>` of the admin listener, when the configuration turned it on.
    pub admin_url: Option<String>,
    /// The generated CA the server's certificate chains to.
    pub ca_pem: String,
    /// An anonymous client.
    pub client: Client,
    /// The server's clock.
    pub clock: Arc<FakeClock>,
    /// The configuration it runs with.
    pub config: Config,
    /// The server's core, to run a background job on demand.
    pub core: Arc<parley_core::Parley>,
    data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    next_user: AtomicU64,
}

/// A signed-up, logged-in user.
pub struct TestUser {
    /// Their id.
    pub id: Uuid,
    /// Their handle.
    pub handle: String,
    /// Their email address.
    pub email: String,
    /// Their session token.
    pub token: String,
    /// The device token their login returned (a known device at later logins).
    pub device_token: String,
    /// A client sending that token.
    pub client: Client,
}

impl TestApp {
    /// A server on SQLite with the default configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration `customize` may adjust (it starts on SQLite in a fresh
    /// temporary data directory, on a random port).
    pub async fn spawn_with(customize: impl FnOnce(&mut Config)) -> Self {
        init_test_logging();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = Config { data_dir: data_dir.path().join("data"), ..Config::default() };
        config.http.listen = "127.0.0.1:0".parse().expect("loopback address");
        // Every test user signs up and logs in from 127.0.0.1: the per-IP budget is raised
        // here, and the rate-limit tests set their own.
        config.http.auth_attempts_burst = 10_000;
        config.http.auth_attempts_per_minute = 10_000;
        // Mail goes to `.eml` files in the data directory; tests wait for it, so poll often.
        config.mail.poll_interval_ms = 100;
        customize(&mut config);
        let clock = Arc::new(FakeClock::new());
        let runtime = Runtime { clock: clock.clone(), master_key: None };
        let server = Server::build(&config, runtime).await.expect("the test server should start");
        let url = server.url().expect("bound address");
        // A generated certificate chains to the generated CA; a configured one is trusted as is.
        let ca_pem = match server.ca_pem() {
            Some(ca) => ca.to_owned(),
            None => std::fs::read_to_string(&config.tls.cert_path).expect("the configured certificate"),
        };
        let client = Client::new(&url, Some(&ca_pem)).expect("client");
        let shutdown = server.shutdown_token();
        let core = server.core();
        let admin_url = server.admin_addr().map(|address| format!("http://{address}"));
        let server = tokio::spawn(server.run_until_stopped());
        Self { url, admin_url, ca_pem, client, clock, config, core, data_dir, shutdown, server, next_user: AtomicU64::new(0) }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// The mails written to the data directory so far (with no SMTP server configured).
    pub fn mail_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.data_dir().join("mail")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect()
    }

    /// Waits (up to ten seconds) for a mail to `to` whose text contains `needle`, and returns it.
    pub async fn wait_for_mail(&self, to: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Some(mail) = self.mail_files().into_iter().find(|m| m.contains(&format!("To: {to}")) && m.contains(needle)) {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} containing {needle:?}; mails: {:#?}", self.mail_files());
    }

    /// A fresh unique handle.
    pub fn unique_handle(&self, prefix: &str) -> String {
        let n = self.next_user.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{n}_{}", &Uuid::new_v4().simple().to_string()[..6])
    }

    /// Signs up a new user and logs them in.
    pub async fn user(&self, prefix: &str) -> TestUser {
        let handle = self.unique_handle(prefix);
        let email = format!("{handle}@mail.example.org");
        let accepted_policy_version = self.client.privacy_policy().await.expect("the privacy policy").version;
        let request =
            CreateAccountRequest { handle: handle.clone(), email: email.clone(), password: PASSWORD.to_owned(), accepted_policy_version };
        let account = self.client.create_account(&request).await.expect("sign-up");
        let session = self.client.create_session(&handle, PASSWORD).await.expect("login");
        let token = session.token.expect("a bearer session has a token");
        let device_token = session.device_token.expect("every login returns a device token");
        let client = self.client.authenticated(&token);
        TestUser { id: account.id, handle, email, token, device_token, client }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        self.server.await.expect("the server task should end cleanly");
        self.data_dir
    }

    /// A token that cancels the server (to test shutdown while it runs).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        // Err only means another test installed it first.
        tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init().ok();
    }
}
