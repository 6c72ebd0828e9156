//! The state every handler receives. No globals: everything the server shares lives here and
//! is passed explicitly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_api::ProblemCode;
use parley_core::{Clock, KeyedLimiter, Parley};
use parley_domain::UserId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::InProcessBus;
use crate::error::ApiError;

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
    pub stream_connections: Arc<ConnectionCounter>,
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
        self.auth_limiter.check(ip, self.clock.now()).map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

/// Counts open sockets per user; a [`ConnectionSlot`] gives its place back when dropped.
#[derive(Debug, Default)]
pub struct ConnectionCounter {
    open: Mutex<HashMap<UserId, usize>>,
}

/// One open socket's place in the count.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    user: UserId,
}

impl ConnectionCounter {
    /// Takes a place for `user` if they have fewer than `max` open sockets.
    pub fn acquire(self: &Arc<Self>, user: UserId, max: usize) -> Result<ConnectionSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user).or_insert(0);
        if *count >= max {
            return Err(ApiError::detailed(ProblemCode::RateLimited, "too many open streams for this user"));
        }
        *count += 1;
        Ok(ConnectionSlot { counter: Arc::clone(self), user })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}
