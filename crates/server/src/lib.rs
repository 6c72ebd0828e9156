//! Parley's server: HTTPS and WebSocket on rustls, the routes and their middleware, the
//! in-process real-time bus, configuration, first-start bootstrap, and wiring of the core to
//! its stores.
//!
//! It owns everything HTTP: status codes, JSON, headers, limits, timeouts. It must not hold
//! business rules (they are in `parley-core`), SQL (in `parley-store`) or cryptography (in
//! `parley-crypto`), and it keeps no global state: all shared state is in [`state::AppState`].

pub mod bootstrap;
pub mod bus;
pub mod config;
pub mod error;
pub mod extract;
pub mod html;
pub mod listener;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod slots;
pub mod sso;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use parley_core::{Clock, Dependencies, KeyedLimiter, Parley, Settings, SystemClock};
use parley_crypto::PasswordParams;
use parley_domain::rate::RatePolicy;
use parley_store::{Durability, connect_key_store, connect_store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::InProcessBus;
use crate::config::{Config, DurabilityConfig};
use crate::listener::ConnectionLimits;
use crate::routes::HttpLimits;
use crate::slots::SlotCounter;
use crate::state::{AppState, StreamSettings};

/// How long shutdown waits for requests and sockets to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// What the process provides beyond the config: time and the master key from the
/// environment. Tests pass a fake clock.
pub struct Runtime {
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// `PARLEY_MASTER_KEY`, if set.
    pub master_key: Option<String>,
}

impl Runtime {
    /// The real clock and the process environment.
    pub fn from_process() -> Self {
        Self { clock: Arc::new(SystemClock), master_key: std::env::var("PARLEY_MASTER_KEY").ok() }
    }
}

/// A built server, bound to its port, ready to run.
pub struct Server {
    admin: Option<TcpListener>,
    jwks: Vec<sso::JwksFetcher>,
    mailer: Option<(mail::Mailer, lettre::message::Mailbox, Duration)>,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    limits: ConnectionLimits,
    state: AppState,
    ca_pem: Option<String>,
}

impl Server {
    /// Builds the server from `config`: prepares the data directory, keys and certificates,
    /// opens and migrates the stores, and binds the listener.
    pub async fn build(config: &Config, runtime: Runtime) -> anyhow::Result<Self> {
        // The recorder is installed before the first count, whether or not anyone scrapes it.
        metrics::handle();
        let bus = Arc::new(InProcessBus::new(config.stream.send_queue));
        let (core, jwks) = open_core_with_fetchers(config, &runtime, bus.clone()).await?;
        // A marketplace that is down at start only delays its logins: the fetchers retry.
        for fetcher in &jwks {
            if let Err(error) = fetcher.fetch().await {
                tracing::warn!(error = %format!("{error:#}"), "cannot fetch a single sign-on JWKS at start; will retry");
            }
        }
        let material = bootstrap::tls_material(config)?;
        let tls = tls::server_config(&material)?;
        let listener = TcpListener::bind(config.http.listen).await.with_context(|| format!("cannot listen on {}", config.http.listen))?;
        let state = AppState {
            core,
            bus,
            clock: runtime.clock,
            auth_limiter: Arc::new(KeyedLimiter::<IpAddr>::new(RatePolicy::per_minute(
                config.http.auth_attempts_burst,
                config.http.auth_attempts_per_minute,
            ))),
            stream: Arc::new(StreamSettings {
                max_message_bytes: config.stream.max_message_bytes,
                ping_interval: Duration::from_secs(config.stream.ping_interval_secs),
                max_connections_per_user: config.stream.max_connections_per_user,
                allowed_origins: config.http.allowed_origins.clone(),
            }),
            stream_connections: Arc::new(SlotCounter::new()),
            openapi: Arc::new(String::new()),
            shutdown: CancellationToken::new(),
            stream_tasks: TaskTracker::new(),
        };
        let app = routes::app(
            state.clone(),
            HttpLimits {
                body_limit_bytes: config.http.body_limit_bytes,
                request_timeout: config.request_timeout(),
                message_max_chars: config.limits.message_max_chars,
            },
        );
        let limits = ConnectionLimits {
            max_connections: config.http.max_connections,
            max_connections_per_ip: config.http.max_connections_per_ip,
            tls_handshake_timeout: Duration::from_secs(config.http.tls_handshake_timeout_secs),
            header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
            drain_timeout: DRAIN_TIMEOUT,
        };
        let admin = match config.admin.listen {
            Some(address) => Some(TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address} (admin.listen)"))?),
            None => None,
        };
        let from = config.mail.from.parse().context("mail.from")?;
        let mailer = Some((mail::Mailer::from_config(config)?, from, Duration::from_millis(config.mail.poll_interval_ms)));
        Ok(Self { admin, jwks, mailer, listener, tls, app, limits, state, ca_pem: material.ca_pem })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The base URL clients use.
    pub fn url(&self) -> anyhow::Result<String> {
        Ok(format!("https://{}", self.local_addr()?))
    }

    /// The admin listener's address, when it is on.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|listener| listener.local_addr().ok())
    }

    /// The core, for operator commands and tests that run a job on demand.
    pub fn core(&self) -> Arc<Parley> {
        Arc::clone(&self.state.core)
    }

    /// The generated local CA certificate (PEM), when the server made its own certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Cancelling this token stops the server gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then drains requests and closes
    /// WebSockets with 1001.
    pub async fn run_until_stopped(self) {
        let Server { admin, jwks, mailer, listener, tls, app, limits, state, .. } = self;
        let jwks: Vec<_> = jwks.into_iter().map(|fetcher| tokio::spawn(fetcher.keep_fresh(state.shutdown.clone()))).collect();
        let admin = admin.map(|listener| tokio::spawn(metrics::serve_admin(listener, state.shutdown.clone())));
        let maintenance = tokio::spawn(maintain(state.clone()));
        let outbox = mailer.map(|(mailer, from, poll)| {
            tokio::spawn(mail::run_outbox(Arc::clone(&state.core), mailer, from, poll, state.shutdown.clone()))
        });
        listener::serve(listener, tls, app, limits, state.shutdown.clone()).await;
        maintenance.abort();
        if let Some(admin) = admin {
            admin.abort();
        }
        for fetcher in jwks {
            fetcher.abort();
        }
        if let Some(outbox) = outbox {
            outbox.abort();
        }
        state.stream_tasks.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, state.stream_tasks.wait()).await.is_err() {
            tracing::warn!("some WebSockets did not close in time");
        }
        tracing::info!("server stopped");
    }
}

/// Opens the core as the configuration says (data directory, master key, stores), without a
/// listener: for `parley serve` and for the operator commands (`parley user ...`).
pub async fn open_core(config: &Config, runtime: &Runtime, events: Arc<dyn parley_core::EventPublisher>) -> anyhow::Result<Arc<Parley>> {
    Ok(open_core_with_fetchers(config, runtime, events).await?.0)
}

/// [`open_core`], and the fetchers of the single sign-on key sets behind a URL, which the
/// server keeps fresh.
async fn open_core_with_fetchers(
    config: &Config,
    runtime: &Runtime,
    events: Arc<dyn parley_core::EventPublisher>,
) -> anyhow::Result<(Arc<Parley>, Vec<sso::JwksFetcher>)> {
    tls::install_crypto_provider();
    config.validate()?;
    bootstrap::prepare_data_dir(&config.data_dir)?;
    let kek = bootstrap::load_master_key(config, runtime.master_key.as_deref())?;
    let durability = match config.durability {
        DurabilityConfig::Full => Durability::Full,
        DurabilityConfig::Fast => Durability::Fast,
    };
    let store = connect_store(&config.database()?, durability).await.context("cannot open the database")?;
    let key_store = connect_key_store(&config.key_store()?).await.context("cannot open the key store")?;
    let deps = Dependencies { store, key_store, kek, clock: Arc::clone(&runtime.clock), events };
    let (sso, fetchers) = sso::providers(config)?;
    let core = Parley::new(deps, Settings { sso, ..core_settings(config) }).await.context("cannot start the core")?;
    core.ensure_privacy_policy(DEFAULT_PRIVACY_POLICY).await.context("cannot publish the first privacy policy")?;
    Ok((Arc::new(core), fetchers))
}

/// The privacy policy published as version 1 on first start; `parley policy publish` replaces it.
pub const DEFAULT_PRIVACY_POLICY: &str = include_str!("privacy-policy.md");

/// Periodic housekeeping: forget rate-limit buckets that have refilled, delete ended sessions.
async fn maintain(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        state.core.prune_limiters();
        state.auth_limiter.prune(state.clock.now());
        state.bus.prune();
        if let Err(error) = state.core.purge_expired_sessions().await {
            tracing::warn!(%error, "session purge failed; will retry");
        }
        if let Err(error) = state.core.run_retention(parley_core::Actor::System).await {
            tracing::warn!(%error, "retention run failed; will retry");
        }
    }
}

fn core_settings(config: &Config) -> Settings {
    Settings {
        session_idle_timeout: Duration::from_secs(config.sessions.idle_timeout_secs),
        session_absolute_timeout: Duration::from_secs(config.sessions.absolute_timeout_secs),
        message_max_chars: config.limits.message_max_chars,
        send_rate: RatePolicy::per_minute(config.limits.send_burst, config.limits.sends_per_minute),
        open_rate: RatePolicy::per_hour(config.limits.new_conversations_burst, config.limits.new_conversations_per_hour),
        password_params: PasswordParams::OWASP_MINIMUM,
        delete_for_everyone_window: Duration::from_secs(config.limits.delete_for_everyone_secs),
        message_retention_days: config.security.message_retention_days,
        edit_window: Duration::from_secs(config.limits.edit_window_secs),
        public_url: config.public_url(),
        security_event_retention: Duration::from_secs(config.security.event_retention_days * 24 * 60 * 60),
        passkeys: parley_core::PasskeySettings { rp_id: config.webauthn.rp_id.clone(), origins: config.passkey_origins() },
        pii: parley_core::PiiSettings {
            policy: match config.privacy.pii {
                config::PiiPolicyConfig::Mask => parley_core::PiiPolicy::Mask,
                config::PiiPolicyConfig::WarnOnly => parley_core::PiiPolicy::WarnOnly,
                config::PiiPolicyConfig::Off => parley_core::PiiPolicy::Off,
            },
            // Validated with the rest of the configuration.
            phone_regions: config.privacy.phone_regions.iter().filter_map(|r| r.parse().ok()).collect(),
        },
        ..Settings::default()
    }
}
