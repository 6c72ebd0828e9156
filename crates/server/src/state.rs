//! The state every handler receives. No globals: everything the server shares lives here and
//! is passed explicitly.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use parley_core::{Clock, KeyedLimiter, Parley};
use parley_domain::UserId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::InProcessBus;
use crate::error::ApiError;
use crate::slots::SlotCounter;

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub core: Arc<Parley>,
    /// Real-time fan-out to live connections.
    pub bus: Arc<InProcessBus>,
    /// The source of time (shared with the core).
    pub clock: Arc<dyn Clock>,
    /// Sign-up and login attempts per client IP.
    pub auth_limiter: Arc<KeyedLimiter<IpAddr>>,
    /// WebSocket settings.
    pub stream: Arc<StreamSettings>,
    /// Open WebSockets per user.
    pub stream_connections: Arc<SlotCounter<UserId>>,
    /// The OpenAPI document, rendered once at start.
    pub openapi: Arc<String>,
    /// Cancelled when the server shuts down; WebSockets then close with 1001.
    pub shutdown: CancellationToken,
    /// The WebSocket tasks, awaited at shutdown.
    pub stream_tasks: TaskTracker,
}

/// WebSocket settings.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Largest inbound message and frame.
    pub max_message_bytes: usize,
    /// Ping interval; a peer silent for two intervals is dropped.
    pub ping_interval: Duration,
    /// Most sockets per user.
    pub max_connections_per_user: usize,
    /// Browser origins allowed to connect.
    pub allowed_origins: Vec<String>,
}

impl AppState {
    /// Counts a sign-up or login attempt from `ip` against its budget.
    pub fn check_auth_rate(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.auth_limiter.check(client_key(ip), self.clock.now()).map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

/// The unit of per-client limits: the address for IPv4, the /64 network for IPv6 (one
/// subscriber usually holds a whole /64, so per-address limits would be free to evade).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & (u128::MAX << 64))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
        assert_eq!(client_key("::ffff:203.0.113.7".parse().unwrap()), v4);
    }
}
