//! The server's configuration: one typed tree, layered as compiled-in defaults, then an
//! optional TOML file, then `PARLEY_*` environment variables (`PARLEY_HTTP__LISTEN` sets
//! `http.listen`). It is validated once, at start, into typed values; a bad value is an error
//! that names its key. Unknown keys in the file are errors; unknown `PARLEY_*` variables are
//! warnings (a variable may belong to another version).
//!
//! The master key is deliberately not part of this tree: it comes from `PARLEY_MASTER_KEY` or
//! a key file, so `parley config show` can never print it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Environment variables read outside the config tree.
const ENV_OUTSIDE_TREE: &[&str] = &["PARLEY_MASTER_KEY", "PARLEY_CONFIG", "PARLEY_LOG"];

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database, keys and certificates live.
    pub data_dir: PathBuf,
    /// `sqlite:<path>` or `postgres://...`; empty means `sqlite:<data_dir>/parley.db`.
    pub database_url: String,
    /// PostgreSQL only: the schema to work in (created if missing); empty means the default.
    pub database_schema: String,
    /// Where the data keys live; empty means `sqlite:<data_dir>/keys.db`. Must not be the data
    /// database.
    pub key_store_url: String,
    /// PostgreSQL key store only: its schema; empty means the default.
    pub key_store_schema: String,
    /// The master key file; empty means `<data_dir>/master.key`. `PARLEY_MASTER_KEY`
    /// (base64) takes precedence.
    pub master_key_file: PathBuf,
    /// `full` (a send is acknowledged only once on disk) or `fast` (SQLite `synchronous=NORMAL`:
    /// a power loss may lose the last sends).
    pub durability: DurabilityConfig,
    /// The HTTPS listener.
    pub http: HttpConfig,
    /// Certificates.
    pub tls: TlsConfig,
    /// Session lifetimes.
    pub sessions: SessionsConfig,
    /// Input and rate limits.
    pub limits: LimitsConfig,
    /// The WebSocket.
    pub stream: StreamConfig,
    /// Logging.
    pub log: LogConfig,
    /// Account-activity mail.
    pub mail: MailConfig,
    /// Account security.
    pub security: SecurityConfig,
    /// Passkeys (WebAuthn).
    pub webauthn: WebauthnConfig,
    /// Personal data in plaintext messages.
    pub privacy: PrivacyConfig,
    /// The admin listener (metrics).
    pub admin: AdminConfig,
    /// Marketplace single sign-on integrations (`[[sso]]` tables; file only).
    pub sso: Vec<SsoConfig>,
}

/// Whether `ip` is loopback or private (RFC 1918, IPv6 unique local), as the admin listener
/// must be.
fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    }
}

/// The admin listener: plain HTTP serving `GET /metrics` (Prometheus). Off unless `listen` is
/// set; bind it to loopback or a private network, never to the internet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address and port, e.g. `127.0.0.1:9464`.
    pub listen: Option<SocketAddr>,
}

/// Personal data typed into plaintext messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// `mask` (replace phone numbers, emails, cards, IBANs and addresses before storage),
    /// `warn_only` (keep them, tell the sender) or `off`.
    pub pii: PiiPolicyConfig,
    /// Countries (ISO 3166 alpha-2) whose national phone formats are recognised.
    pub phone_regions: Vec<String>,
}

/// The policy for personal data in plaintext messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PiiPolicyConfig {
    /// Replace before storage.
    #[default]
    Mask,
    /// Keep, and tell the sender.
    WarnOnly,
    /// Do not look.
    Off,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { pii: PiiPolicyConfig::Mask, phone_regions: vec!["US".to_owned(), "GB".to_owned()] }
    }
}

/// One marketplace whose backend may sign users in with a short-lived JWT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    /// The integration's name, as clients give it: 1 to 32 of `a-z`, `0-9`, `-`.
    pub name: String,
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry.
    #[serde(default = "default_sso_audience")]
    pub audience: String,
    /// `hs256` (shared secret), `rs256` or `eddsa` (public keys).
    pub algorithm: SsoAlgorithm,
    /// For `hs256`: the shared secret, at least 32 bytes (shown redacted).
    #[serde(default)]
    pub shared_secret: ConfigSecret,
    /// For `rs256`/`eddsa`: a PEM file with the one public key.
    #[serde(default)]
    pub public_key_file: PathBuf,
    /// For `rs256`/`eddsa`: a JWKS file with the public keys by `kid`.
    #[serde(default)]
    pub jwks_file: PathBuf,
    /// For `rs256`/`eddsa`: the marketplace's JWKS URL (`https://`), fetched at start, every
    /// ten minutes, and when a token names a key id the last fetch did not have.
    #[serde(default)]
    pub jwks_url: String,
    /// With `jwks_url`: a PEM file of the only CA to trust for it (a private CA); empty means
    /// the system's roots.
    #[serde(default)]
    pub jwks_ca_file: PathBuf,
}

fn default_sso_audience() -> String {
    "parley".to_owned()
}

/// The signature algorithm of an integration's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoAlgorithm {
    /// HMAC-SHA-256 with a shared secret.
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    Rs256,
    /// Ed25519.
    Eddsa,
}

/// Where passkeys are valid. Browsers refuse passkeys on an IP-address origin, so the
/// development default is `localhost` (any port): open `https://localhost:8443`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnConfig {
    /// The relying party id: the site's domain (`chat.example.com`).
    pub rp_id: String,
    /// The origins the web client is served from; empty means `https://<rp_id>`.
    pub origins: Vec<String>,
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        Self { rp_id: "localhost".to_owned(), origins: Vec::new() }
    }
}

/// Account-activity mail: sent over SMTP when `smtp_host` is set, otherwise written as `.eml`
/// files into `<data_dir>/mail` (a development drop: the files hold recipients' addresses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The `From` address.
    pub from: String,
    /// The SMTP server; empty writes `.eml` files instead.
    pub smtp_host: String,
    /// Its port.
    pub smtp_port: u16,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (only to a loopback server).
    pub smtp_tls: SmtpTls,
    /// A PEM file of the CA that issued the SMTP server's certificate, trusted besides the
    /// public roots (a relay inside the company's network); empty trusts the public roots only.
    pub smtp_ca_file: PathBuf,
    /// SMTP user name; empty sends no credentials.
    pub smtp_username: String,
    /// SMTP password (shown redacted).
    pub smtp_password: ConfigSecret,
    /// How often the outbox is checked for due mail, in milliseconds.
    pub poll_interval_ms: u64,
}

/// A secret in the configuration: its `Debug` shows nothing, and the shown configuration
/// replaces it with `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigSecret(pub String);

impl ConfigSecret {
    fn redact(&mut self) {
        if !self.0.is_empty() {
            "[redacted]".clone_into(&mut self.0);
        }
    }
}

impl std::fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "[redacted]" })
    }
}

impl From<&str> for ConfigSecret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No TLS: only allowed to a loopback server (a local relay or a test server).
    None,
}

/// Account security settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// How long security events (logins, failures, credential changes) are kept, in days.
    pub event_retention_days: u64,
    /// Conversations idle for this many days are destroyed (either party may ask for less).
    pub message_retention_days: u32,
}

/// SQLite durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityConfig {
    /// `synchronous=FULL`.
    #[default]
    Full,
    /// `synchronous=NORMAL`.
    Fast,
}

/// The HTTPS listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The address users reach the server at (`https://host[:port]`), for links in mail; empty
    /// means `https://<listen>`.
    pub public_url: String,
    /// Browser origins allowed to open the WebSocket; empty means only the server's own
    /// `https://` origin. Clients that send no `Origin` (non-browsers) are not affected.
    pub allowed_origins: Vec<String>,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Longest time to handle one request.
    pub request_timeout_secs: u64,
    /// Longest time a client may take to send its request headers (slowloris guard).
    pub header_read_timeout_secs: u64,
    /// Longest time a client may take to finish the TLS handshake.
    pub tls_handshake_timeout_secs: u64,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Most concurrent connections from one IP address (one /64 for IPv6).
    pub max_connections_per_ip: usize,
    /// Account creations and logins one IP address (one /64 for IPv6) may attempt per minute.
    pub auth_attempts_per_minute: u32,
    /// How many of those may come at once.
    pub auth_attempts_burst: u32,
}

/// Certificates. With neither path set, a local CA and a 90-day leaf certificate are
/// generated into `<data_dir>/tls/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_path: PathBuf,
    /// PEM private key.
    pub key_path: PathBuf,
    /// Extra host names for the generated certificate (localhost and the loopback addresses
    /// are always included).
    pub hostnames: Vec<String>,
}

/// Session lifetimes (ASVS 7.3: idle and absolute timeouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// A session ends after this long unused.
    pub idle_timeout_secs: u64,
    /// A session ends this long after login.
    pub absolute_timeout_secs: u64,
}

/// Input and rate limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest message, in characters.
    pub message_max_chars: usize,
    /// Messages one user may send per minute, sustained.
    pub sends_per_minute: u32,
    /// Messages one user may send in a burst.
    pub send_burst: u32,
    /// Conversations one user may open per hour, sustained (first-contact spam).
    pub new_conversations_per_hour: u32,
    /// Conversations one user may open in a burst.
    pub new_conversations_burst: u32,
    /// How long after sending its author may delete a message for everyone, in seconds.
    pub delete_for_everyone_secs: u64,
    /// How long after sending its author may edit a message, in seconds.
    pub edit_window_secs: u64,
}

/// The WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Largest inbound WebSocket message and frame, in bytes.
    pub max_message_bytes: usize,
    /// How often the server pings; a peer silent for two intervals is dropped.
    pub ping_interval_secs: u64,
    /// Events queued for one connection before it counts as a slow consumer and is closed.
    pub send_queue: usize,
    /// Most open sockets per user.
    pub max_connections_per_user: usize,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` (for people) or `json` (for log shippers).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `parley_server=debug,info`; `PARLEY_LOG` or
    /// `RUST_LOG` override it.
    pub filter: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            database_schema: String::new(),
            key_store_url: String::new(),
            key_store_schema: String::new(),
            master_key_file: PathBuf::new(),
            durability: DurabilityConfig::Full,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            sessions: SessionsConfig::default(),
            limits: LimitsConfig::default(),
            stream: StreamConfig::default(),
            log: LogConfig::default(),
            mail: MailConfig::default(),
            security: SecurityConfig::default(),
            webauthn: WebauthnConfig::default(),
            privacy: PrivacyConfig::default(),
            admin: AdminConfig::default(),
            sso: Vec::new(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Parley <no-reply@parley.invalid>".to_owned(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_ca_file: PathBuf::new(),
            smtp_username: String::new(),
            smtp_password: ConfigSecret::default(),
            poll_interval_ms: 2_000,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self { event_retention_days: 30, message_retention_days: 365 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            allowed_origins: Vec::new(),
            public_url: String::new(),
            body_limit_bytes: 64 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            tls_handshake_timeout_secs: 10,
            max_connections: 10_000,
            max_connections_per_ip: 256,
            auth_attempts_per_minute: 10,
            auth_attempts_burst: 10,
        }
    }
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self { idle_timeout_secs: 30 * 60, absolute_timeout_secs: 12 * 60 * 60 }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            message_max_chars: 4000,
            sends_per_minute: 60,
            send_burst: 20,
            new_conversations_per_hour: 20,
            new_conversations_burst: 20,
            delete_for_everyone_secs: 24 * 60 * 60,
            edit_window_secs: 15 * 60,
        }
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self { max_message_bytes: 64 * 1024, ping_interval_secs: 30, send_queue: 256, max_connections_per_user: 20 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info".to_owned() }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has a key or value that does not fit.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An environment variable has a value that does not fit its key.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A loaded configuration and the warnings met on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Things the operator should know (unknown variables...).
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads defaults, then `file` if given, then the `PARLEY_*` variables among `env`, and
    /// validates the result.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigError> {
        let mut tree =
            toml::Table::try_from(Config::default()).map_err(|e| ConfigError::Invalid { key: "(defaults)", message: e.to_string() })?;
        let known = tree.clone();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_owned(), source })?;
            let overrides: toml::Table =
                text.parse().map_err(|e: toml::de::Error| ConfigError::File { path: path.to_owned(), message: e.message().to_owned() })?;
            merge(&mut tree, overrides);
            // Deserialising now names a wrong file key before env vars can mask it.
            parse_tree(&tree).map_err(|e| ConfigError::File { path: path.to_owned(), message: e.message().to_owned() })?;
        }
        let mut warnings = Vec::new();
        let mut env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with("PARLEY_")).collect();
        env.sort();
        for (var, raw) in env {
            if ENV_OUTSIDE_TREE.contains(&var.as_str()) {
                continue;
            }
            let path: Vec<String> = var["PARLEY_".len()..].split("__").map(str::to_ascii_lowercase).collect();
            if !has_path(&known, &path) {
                warnings.push(format!("ignoring unknown environment variable {var}"));
                continue;
            }
            set_path(&mut tree, &path, env_value(&raw));
            parse_tree(&tree).map_err(|e| ConfigError::Env { var: var.clone(), message: e.message().to_owned() })?;
        }
        let config = parse_tree(&tree).map_err(|e| ConfigError::Invalid { key: "(merged)", message: e.message().to_owned() })?;
        config.validate()?;
        Ok(Loaded { config, warnings })
    }

    /// Checks ranges and cross-field rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| Err(ConfigError::Invalid { key, message: message.to_owned() });
        if !(1024..=10 * 1024 * 1024).contains(&self.http.body_limit_bytes) {
            return invalid("http.body_limit_bytes", "must be between 1 KiB and 10 MiB");
        }
        if !(1..=10).contains(&self.http.header_read_timeout_secs) {
            return invalid("http.header_read_timeout_secs", "must be between 1 and 10 seconds");
        }
        if !(1..=30).contains(&self.http.tls_handshake_timeout_secs) {
            return invalid("http.tls_handshake_timeout_secs", "must be between 1 and 30 seconds");
        }
        if !(1..=300).contains(&self.http.request_timeout_secs) {
            return invalid("http.request_timeout_secs", "must be between 1 and 300 seconds");
        }
        if self.http.max_connections == 0 || self.http.max_connections_per_ip == 0 {
            return invalid("http.max_connections", "http.max_connections and http.max_connections_per_ip must be at least 1");
        }
        if self.http.auth_attempts_per_minute == 0 || self.http.auth_attempts_burst == 0 {
            return invalid("http.auth_attempts_per_minute", "rate and burst must be at least 1");
        }
        if !(60..=30 * 24 * 3600).contains(&self.sessions.idle_timeout_secs) {
            return invalid("sessions.idle_timeout_secs", "must be between 60 seconds and 30 days");
        }
        if self.sessions.absolute_timeout_secs < self.sessions.idle_timeout_secs || self.sessions.absolute_timeout_secs > 30 * 24 * 3600 {
            return invalid("sessions.absolute_timeout_secs", "must be at least the idle timeout and at most 30 days");
        }
        if !(1..=16_000).contains(&self.limits.message_max_chars) {
            return invalid("limits.message_max_chars", "must be between 1 and 16000");
        }
        if self.limits.sends_per_minute == 0 || self.limits.send_burst == 0 {
            return invalid("limits.sends_per_minute", "rate and burst must be at least 1");
        }
        if self.limits.new_conversations_per_hour == 0 || self.limits.new_conversations_burst == 0 {
            return invalid("limits.new_conversations_per_hour", "rate and burst must be at least 1");
        }
        if !(1024..=1024 * 1024).contains(&self.stream.max_message_bytes) {
            return invalid("stream.max_message_bytes", "must be between 1 KiB and 1 MiB");
        }
        if !(1..=300).contains(&self.stream.ping_interval_secs) {
            return invalid("stream.ping_interval_secs", "must be between 1 and 300 seconds");
        }
        if !(1..=65_536).contains(&self.stream.send_queue) {
            return invalid("stream.send_queue", "must be between 1 and 65536");
        }
        if self.stream.max_connections_per_user == 0 {
            return invalid("stream.max_connections_per_user", "must be at least 1");
        }
        self.validate_mail()?;
        self.validate_sso()?;
        if let Some(bad) = self.privacy.phone_regions.iter().find(|r| r.parse::<parley_domain::pii::Country>().is_err()) {
            return Err(ConfigError::Invalid { key: "privacy.phone_regions", message: format!("`{bad}` is not an ISO 3166 country code") });
        }
        if self.webauthn.rp_id.is_empty() || self.webauthn.rp_id.parse::<std::net::IpAddr>().is_ok() {
            return invalid("webauthn.rp_id", "must be a domain name (passkeys do not work on IP addresses)");
        }
        self.validate_addresses()?;
        if let Some(origin) = self.passkey_origins().iter().find(|o| !o.starts_with("https://")) {
            return Err(ConfigError::Invalid { key: "webauthn.origins", message: format!("{origin}: origins must be https://") });
        }
        if !(1..=36_500).contains(&self.security.message_retention_days) {
            return invalid("security.message_retention_days", "must be between 1 and 36500 days");
        }
        if !(1..=3650).contains(&self.security.event_retention_days) {
            return invalid("security.event_retention_days", "must be between 1 and 3650 days");
        }
        if self.tls.cert_path.as_os_str().is_empty() != self.tls.key_path.as_os_str().is_empty() {
            return invalid("tls.cert_path", "set both tls.cert_path and tls.key_path, or neither");
        }
        if same_database(&self.database()?, &self.key_store()?) {
            return invalid(
                "key_store_url",
                "the key store must be a database of its own, not the data database (another schema is not enough)",
            );
        }
        Ok(())
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| Err(ConfigError::Invalid { key, message: message.to_owned() });
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid("mail.from", "must be an address like `Parley <no-reply@example.com>`");
        }
        if !(100..=600_000).contains(&self.mail.poll_interval_ms) {
            return invalid("mail.poll_interval_ms", "must be between 100 and 600000");
        }
        let loopback = matches!(self.mail.smtp_host.as_str(), "localhost")
            || self.mail.smtp_host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if self.mail.smtp_tls == SmtpTls::None && !self.mail.smtp_host.is_empty() && !loopback {
            return invalid("mail.smtp_tls", "`none` (no TLS) is only allowed to a loopback SMTP server");
        }
        if self.mail.smtp_username.is_empty() != self.mail.smtp_password.0.is_empty() {
            return invalid("mail.smtp_username", "set both mail.smtp_username and mail.smtp_password, or neither");
        }
        if !self.mail.smtp_ca_file.as_os_str().is_empty() && self.mail.smtp_tls == SmtpTls::None {
            return invalid("mail.smtp_ca_file", "needs mail.smtp_tls = `starttls` or `tls`: without TLS no certificate is checked");
        }
        Ok(())
    }

    fn validate_sso(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid { key: "sso", message });
        let mut names = std::collections::HashSet::new();
        for sso in &self.sso {
            let name_ok =
                (1..=32).contains(&sso.name.len()) && sso.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok || !names.insert(sso.name.as_str()) {
                return invalid(format!("`{}`: names are 1 to 32 of a-z, 0-9 and -, each used once", sso.name));
            }
            if sso.issuer.is_empty() || sso.audience.is_empty() {
                return invalid(format!("`{}`: issuer and audience are required", sso.name));
            }
            let (secret, pem, jwks, url) = (
                !sso.shared_secret.0.is_empty(),
                !sso.public_key_file.as_os_str().is_empty(),
                !sso.jwks_file.as_os_str().is_empty(),
                !sso.jwks_url.is_empty(),
            );
            let keys_ok = match sso.algorithm {
                SsoAlgorithm::Hs256 => secret && !pem && !jwks && !url && sso.shared_secret.0.len() >= 32,
                SsoAlgorithm::Rs256 | SsoAlgorithm::Eddsa => !secret && [pem, jwks, url].into_iter().filter(|set| *set).count() == 1,
            };
            if !keys_ok {
                return invalid(format!(
                    "`{}`: hs256 needs shared_secret (at least 32 bytes) alone; rs256 and eddsa need exactly one of public_key_file, jwks_file, jwks_url",
                    sso.name
                ));
            }
            if url && (!sso.jwks_url.starts_with("https://") || sso.jwks_url.contains(char::is_whitespace)) {
                return invalid(format!("`{}`: jwks_url must be an https:// URL", sso.name));
            }
            if !url && !sso.jwks_ca_file.as_os_str().is_empty() {
                return invalid(format!("`{}`: jwks_ca_file goes with jwks_url", sso.name));
            }
        }
        Ok(())
    }

    /// The admin listener must be private; the public URL must be a plain https:// base.
    fn validate_addresses(&self) -> Result<(), ConfigError> {
        if let Some(admin) = self.admin.listen.filter(|address| !is_private(address.ip())) {
            return Err(ConfigError::Invalid {
                key: "admin.listen",
                message: format!("{admin}: the admin listener is plain HTTP; bind it to loopback or a private address"),
            });
        }
        let public_url = &self.http.public_url;
        if !public_url.is_empty()
            && (!public_url.starts_with("https://") || public_url.ends_with('/') || public_url.contains(char::is_whitespace))
        {
            return Err(ConfigError::Invalid {
                key: "http.public_url",
                message: "must be an https:// URL without a trailing slash".into(),
            });
        }
        Ok(())
    }

    /// The address users reach the server at, for links in mail.
    pub fn public_url(&self) -> String {
        if !self.http.public_url.is_empty() {
            return self.http.public_url.clone();
        }
        // Listening on every address names none: the generated certificate's name is.
        if self.http.listen.ip().is_unspecified() {
            format!("https://localhost:{}", self.http.listen.port())
        } else {
            format!("https://{}", self.http.listen)
        }
    }

    /// The web origins passkeys are accepted from.
    pub fn passkey_origins(&self) -> Vec<String> {
        if self.webauthn.origins.is_empty() { vec![format!("https://{}", self.webauthn.rp_id)] } else { self.webauthn.origins.clone() }
    }

    /// Where the data store lives.
    pub fn database(&self) -> Result<parley_store::StoreLocation, ConfigError> {
        location("database_url", &self.database_url, &self.database_schema, &self.data_dir.join("parley.db"))
    }

    /// Where the key store lives.
    pub fn key_store(&self) -> Result<parley_store::StoreLocation, ConfigError> {
        location("key_store_url", &self.key_store_url, &self.key_store_schema, &self.data_dir.join("keys.db"))
    }

    /// The master key file.
    pub fn master_key_path(&self) -> PathBuf {
        if self.master_key_file.as_os_str().is_empty() { self.data_dir.join("master.key") } else { self.master_key_file.clone() }
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_secs)
    }

    /// The effective configuration as TOML, with any password in a database URL masked.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = redact_url(&shown.database_url);
        shown.key_store_url = redact_url(&shown.key_store_url);
        shown.mail.smtp_password.redact();
        for sso in &mut shown.sso {
            sso.shared_secret.redact();
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render config: {e}"))
    }
}

fn location(key: &'static str, url: &str, schema: &str, default_sqlite: &Path) -> Result<parley_store::StoreLocation, ConfigError> {
    use parley_store::StoreLocation;
    let schema = (!schema.is_empty()).then(|| schema.to_owned());
    if url.is_empty() {
        return Ok(StoreLocation::Sqlite { path: default_sqlite.to_owned() });
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() {
            return Err(ConfigError::Invalid { key, message: "sqlite URL needs a file path".to_owned() });
        }
        if path.contains('?') {
            return Err(ConfigError::Invalid {
                key,
                message: "sqlite URL options are not supported: the server sets its own (WAL, synchronous, secure_delete)".to_owned(),
            });
        }
        return Ok(StoreLocation::Sqlite { path: PathBuf::from(path) });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(StoreLocation::Postgres { url: url.to_owned(), schema });
    }
    Err(ConfigError::Invalid { key, message: "must start with sqlite: or postgres://".to_owned() })
}

/// Whether two locations are the same database: the same SQLite file, or the same PostgreSQL
/// server and database whatever the schema (a dump of the database would hold both).
fn same_database(a: &parley_store::StoreLocation, b: &parley_store::StoreLocation) -> bool {
    use parley_store::StoreLocation::{Postgres, Sqlite};
    match (a, b) {
        (Sqlite { path: a }, Sqlite { path: b }) => lexically_absolute(a) == lexically_absolute(b),
        (Postgres { url: a, .. }, Postgres { url: b, .. }) => postgres_database(a) == postgres_database(b),
        _ => false,
    }
}

/// The absolute form of a path with `.` and `..` resolved without touching the file system
/// (the files may not exist yet).
fn lexically_absolute(path: &Path) -> Option<PathBuf> {
    let mut normal = PathBuf::new();
    for component in std::path::absolute(path).ok()?.components() {
        match component {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    Some(normal)
}

/// The (host and port, database) a PostgreSQL URL points at, ignoring credentials and
/// options. The database is the path, else a `dbname` option, else libpq's default: the user.
fn postgres_database(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (credentials, location) = rest.rsplit_once('@').unwrap_or(("", rest));
    let user = credentials.split(':').next().unwrap_or_default();
    let (host, path) = location.split_once('/').unwrap_or((location, ""));
    let option = query.split('&').find_map(|pair| pair.strip_prefix("dbname="));
    let database = if path.is_empty() { option.unwrap_or(user) } else { path };
    let host = host.to_ascii_lowercase();
    let has_port = if host.starts_with('[') { host.contains("]:") } else { host.contains(':') };
    let host = if has_port { host } else { format!("{host}:5432") };
    (host, database.to_owned())
}

fn redact_url(url: &str) -> String {
    let url = redact_query_password(url);
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:[redacted]{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url,
            }
        }
        _ => url,
    }
}

/// Masks every query option whose name mentions a password (`password`, `sslpassword`,
/// percent-encoded or not): libpq accepts secrets there too.
fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if percent_decode(key).to_ascii_lowercase().contains("password") => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn parse_tree(tree: &toml::Table) -> Result<Config, toml::de::Error> {
    toml::Value::Table(tree.clone()).try_into()
}

fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(override_table)) => merge(base_table, override_table),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn has_path(tree: &toml::Table, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => tree.contains_key(last),
        [first, rest @ ..] => {
            matches!(tree.get(first), Some(toml::Value::Table(sub)) if has_path(sub, rest))
        }
    }
}

fn set_path(tree: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            tree.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            if let Some(toml::Value::Table(sub)) = tree.get_mut(first) {
                set_path(sub, rest, value);
            }
        }
    }
}

/// Reads a variable's value as a TOML value when it is one (numbers, booleans, arrays,
/// quoted strings), else as a plain string.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("v"))
        .filter(|value| !matches!(value, toml::Value::Datetime(_)))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_valid_and_secure() {
        let loaded = Config::load(None, env(&[])).unwrap();
        let config = loaded.config;
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(config.sessions.idle_timeout_secs, 1800);
        assert_eq!(config.sessions.absolute_timeout_secs, 43_200);
        assert_eq!(config.stream.max_message_bytes, 65_536);
        assert!(config.http.header_read_timeout_secs <= 10);
        assert_eq!(config.durability, DurabilityConfig::Full);
        assert_eq!(config.security.event_retention_days, 30, "security events are kept 30 days unless configured");
        assert!(matches!(config.database().unwrap(), parley_store::StoreLocation::Sqlite { .. }));
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "data_dir = \"/srv/parley\"\n[http]\nlisten = \"0.0.0.0:9000\"\nbody_limit_bytes = 2048\n").unwrap();
        let loaded = Config::load(Some(&path), env(&[("PARLEY_HTTP__LISTEN", "127.0.0.1:9443"), ("HOME", "/root")])).unwrap();
        assert_eq!(loaded.config.http.listen.to_string(), "127.0.0.1:9443");
        assert_eq!(loaded.config.http.body_limit_bytes, 2048);
        assert_eq!(loaded.config.data_dir, PathBuf::from("/srv/parley"));
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn env_values_are_typed() {
        let loaded = Config::load(
            None,
            env(&[
                ("PARLEY_LIMITS__SEND_BURST", "5"),
                ("PARLEY_HTTP__ALLOWED_ORIGINS", "[\"https://market.example\"]"),
                ("PARLEY_LOG__FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(loaded.config.limits.send_burst, 5);
        assert_eq!(loaded.config.http.allowed_origins, vec!["https://market.example".to_owned()]);
        assert_eq!(loaded.config.log.format, LogFormat::Json);
    }

    #[test]
    fn unknown_env_vars_warn_but_unknown_file_keys_fail() {
        let loaded = Config::load(None, env(&[("PARLEY_HTTP__LISTNE", "x"), ("PARLEY_MASTER_KEY", "secret")])).unwrap();
        assert_eq!(loaded.warnings, vec!["ignoring unknown environment variable PARLEY_HTTP__LISTNE".to_owned()]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "[http]\nlistne = \"0.0.0.0:9000\"\n").unwrap();
        let error = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(error.contains("listne"), "{error}");
    }

    #[test]
    fn bad_values_are_errors_that_name_the_key() {
        let error = Config::load(None, env(&[("PARLEY_HTTP__LISTEN", "not-an-address")])).unwrap_err().to_string();
        assert!(error.contains("PARLEY_HTTP__LISTEN"), "{error}");
        let error = Config::load(None, env(&[("PARLEY_HTTP__HEADER_READ_TIMEOUT_SECS", "60")])).unwrap_err().to_string();
        assert!(error.contains("http.header_read_timeout_secs"), "{error}");
        let error = Config::load(None, env(&[("PARLEY_DATABASE_URL", "mysql://x")])).unwrap_err().to_string();
        assert!(error.contains("database_url"), "{error}");
        let error = Config::load(None, env(&[("PARLEY_KEY_STORE_URL", "sqlite:./data/parley.db")])).unwrap_err().to_string();
        assert!(error.contains("key_store_url"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "[http\nlisten = 1").unwrap();
        assert!(matches!(Config::load(Some(&path), env(&[])), Err(ConfigError::File { .. })));
        assert!(matches!(Config::load(Some(&dir.path().join("missing.toml")), env(&[])), Err(ConfigError::ReadFile { .. })));
    }

    #[test]
    fn shown_config_masks_database_passwords() {
        let config = Config {
            database_url: "postgres://parley:s3cret@db.internal/parley".to_owned(),
            key_store_url: "postgres://keys@db.internal/keys?sslmode=verify-full&password=s3cret2".to_owned(),
            ..Config::default()
        };
        let shown = config.to_redacted_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://parley:[redacted]@db.internal/parley"));
        assert!(shown.contains("sslmode=verify-full&password=[redacted]"));
        let sneaky = Config { database_url: "postgres://db/p?sslpassword=s3cret&PASS%57ORD=s3cret".to_owned(), ..Config::default() };
        assert!(!sneaky.to_redacted_toml().contains("s3cret"));
    }

    #[test]
    fn the_key_store_must_be_a_database_of_its_own() {
        let same_db = [
            ("postgres://a:x@db:5432/parley", "postgres://b:y@DB/parley?sslmode=require"),
            ("postgres://db/parley", "postgresql://db:5432/parley"),
            ("postgres://[::1]/parley", "postgres://[::1]:5432/parley"),
            ("postgres://db/?dbname=parley", "postgres://db/parley"),
            ("postgres://parley@db", "postgres://parley@db/parley"),
        ];
        for (data, keys) in same_db {
            let env = env(&[("PARLEY_DATABASE_URL", data), ("PARLEY_KEY_STORE_URL", keys), ("PARLEY_KEY_STORE_SCHEMA", "keys")]);
            let error = Config::load(None, env).unwrap_err().to_string();
            assert!(error.contains("key_store_url"), "{data} vs {keys}: {error}");
        }
        for (data, keys) in [
            ("postgres://db/parley", "postgres://db/parley_keys"),
            ("postgres://db/?dbname=a", "postgres://db/?dbname=b"),
            ("postgres://app@db", "postgres://keys@db"),
            ("postgres://db:5432/parley", "postgres://db:5433/parley"),
        ] {
            let separate = env(&[("PARLEY_DATABASE_URL", data), ("PARLEY_KEY_STORE_URL", keys)]);
            assert!(Config::load(None, separate).is_ok(), "{data} vs {keys}");
        }
        let error = Config::load(None, env(&[("PARLEY_DATABASE_URL", "sqlite:x.db?mode=rwc")])).unwrap_err().to_string();
        assert!(error.contains("options are not supported"), "{error}");
        let error = Config::load(None, env(&[("PARLEY_KEY_STORE_URL", "sqlite:data/../data/parley.db")])).unwrap_err().to_string();
        assert!(error.contains("key_store_url"), "{error}");
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;

    fn invalid_key(config: &Config) -> &'static str {
        match config.validate() {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    fn sso(algorithm: SsoAlgorithm) -> SsoConfig {
        SsoConfig {
            name: "shop".into(),
            issuer: "https://shop.example".into(),
            audience: "parley".into(),
            algorithm,
            shared_secret: ConfigSecret::default(),
            public_key_file: PathBuf::new(),
            jwks_file: PathBuf::new(),
            jwks_url: String::new(),
            jwks_ca_file: PathBuf::new(),
        }
    }

    #[test]
    fn plain_smtp_is_only_for_a_loopback_relay() {
        let mut config = Config::default();
        config.mail.smtp_tls = SmtpTls::None;
        config.mail.smtp_host = "127.0.0.1".into();
        config.validate().unwrap();
        config.mail.smtp_host = "smtp.example.com".into();
        assert_eq!(invalid_key(&config), "mail.smtp_tls");
        config.mail.smtp_tls = SmtpTls::Starttls;
        config.validate().unwrap();
        config.mail.smtp_ca_file = "relay-ca.pem".into();
        config.validate().unwrap();
        config.mail.smtp_tls = SmtpTls::None;
        config.mail.smtp_host = "localhost".into();
        assert_eq!(invalid_key(&config), "mail.smtp_ca_file", "a CA means nothing without TLS");
        config.mail.smtp_tls = SmtpTls::Tls;
        config.mail.from = "not an address".into();
        assert_eq!(invalid_key(&config), "mail.from");
    }

    #[test]
    fn the_plain_http_admin_listener_stays_private_and_links_name_a_host() {
        let mut config = Config::default();
        for private in ["127.0.0.1:9464", "10.1.2.3:9464", "[::1]:9464", "[fd00::1]:9464"] {
            config.admin.listen = Some(private.parse().unwrap());
            config.validate().unwrap();
        }
        for public in ["0.0.0.0:9464", "203.0.113.9:9464", "[::]:9464", "[2001:db8::1]:9464"] {
            config.admin.listen = Some(public.parse().unwrap());
            assert_eq!(invalid_key(&config), "admin.listen", "{public}");
        }
        config.admin.listen = None;
        assert_eq!(config.public_url(), "https://127.0.0.1:8443");
        config.http.listen = "0.0.0.0:443".parse().unwrap();
        assert_eq!(config.public_url(), "https://localhost:443");
        config.http.public_url = "https://chat.example.com/".into();
        assert_eq!(invalid_key(&config), "http.public_url");
        config.http.public_url = "https://chat.example.com".into();
        assert_eq!(config.public_url(), "https://chat.example.com");
    }

    #[test]
    fn passkeys_need_a_domain_and_https_origins() {
        let mut config = Config::default();
        assert_eq!(config.passkey_origins(), vec!["https://localhost".to_owned()]);
        config.webauthn.rp_id = "127.0.0.1".into();
        assert_eq!(invalid_key(&config), "webauthn.rp_id");
        config.webauthn.rp_id = "chat.example.com".into();
        config.webauthn.origins = vec!["http://chat.example.com".into()];
        assert_eq!(invalid_key(&config), "webauthn.origins");
    }

    #[test]
    fn each_sso_integration_needs_exactly_its_own_kind_of_key() {
        let mut config = Config { sso: vec![sso(SsoAlgorithm::Hs256)], ..Config::default() };
        assert_eq!(invalid_key(&config), "sso", "no secret");
        config.sso[0].shared_secret = "too short".into();
        assert_eq!(invalid_key(&config), "sso");
        config.sso[0].shared_secret = ConfigSecret("x".repeat(32));
        config.validate().unwrap();
        config.sso.push(SsoConfig { jwks_file: "jwks.json".into(), ..sso(SsoAlgorithm::Rs256) });
        assert_eq!(invalid_key(&config), "sso", "names are unique");
        config.sso[1].name = "big-shop".into();
        config.validate().unwrap();
        config.sso[1].public_key_file = "key.pem".into();
        assert_eq!(invalid_key(&config), "sso", "one key source");
        config.sso[1].public_key_file = PathBuf::new();
        config.sso[1].jwks_url = "https://shop.example/jwks.json".into();
        assert_eq!(invalid_key(&config), "sso", "a file and a URL");
        config.sso[1].jwks_file = PathBuf::new();
        config.validate().unwrap();
        config.sso[1].jwks_url = "http://shop.example/jwks.json".into();
        assert_eq!(invalid_key(&config), "sso", "https only");
        config.sso[1].jwks_url = String::new();
        config.sso[1].jwks_file = "jwks.json".into();
        config.sso[1].jwks_ca_file = "ca.pem".into();
        assert_eq!(invalid_key(&config), "sso", "a CA file only goes with a URL");
        config.sso[1].jwks_ca_file = PathBuf::new();
        config.sso[1].name = "Big Shop".into();
        assert_eq!(invalid_key(&config), "sso");
    }

    #[test]
    fn shown_config_masks_mail_and_sso_secrets() {
        let mut config = Config {
            sso: vec![SsoConfig { shared_secret: ConfigSecret("s".repeat(40)), ..sso(SsoAlgorithm::Hs256) }],
            ..Config::default()
        };
        config.mail.smtp_username = "parley".into();
        config.mail.smtp_password = "smtp-s3cret".into();
        let shown = config.to_redacted_toml();
        assert!(!shown.contains("smtp-s3cret") && !shown.contains(&"s".repeat(40)), "{shown}");
        assert!(shown.contains("[[sso]]"), "{shown}");
        let debug = format!("{config:?}");
        assert!(!debug.contains("smtp-s3cret") && !debug.contains(&"s".repeat(40)), "{debug}");
    }
}
