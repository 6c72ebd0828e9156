//! Logging setup: `tracing` only, pretty for people or JSON for shippers, filtered by
//! `PARLEY_LOG`, then `RUST_LOG`, then the configured filter. What is logged is decided where
//! it is logged: ids, routes, statuses and latencies, never bodies, emails, tokens or IPs.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(config: &LogConfig) {
    let filter = std::env::var("PARLEY_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info")));
    // Logs go to stderr: stdout is the output of commands such as `parley config show`.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true).with_writer(std::io::stderr);
    // Err only means a subscriber is already installed (tests): keep that one.
    drop(match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    });
}
