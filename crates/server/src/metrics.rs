//! Prometheus metrics: one recorder for the process (the `metrics` facade's counters, from any
//! crate), rendered at `GET /metrics` on the admin listener (`admin.listen`; off by default).
//! The admin listener is plain HTTP: bind it to loopback or a private network. Metrics are
//! counts only, never ids, handles or content.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The process's recorder, installed on first use (several servers in one test process share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; the handle then renders nothing
        // of the facade's counters, which the admin endpoint's test would show.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!("parley_retention_runs_total", "Retention runs (the minute job and `parley retention run`)");
    metrics::describe_counter!("parley_retention_conversations_destroyed_total", "Conversations destroyed because their retention ran out");
    metrics::describe_counter!("parley_retention_security_events_deleted_total", "Security events deleted after their retention");
    metrics::describe_counter!("parley_accounts_erased_total", "Accounts erased (by their owner or an operator)");
    metrics::describe_counter!("parley_conversations_destroyed_total", "Conversations destroyed after every party deleted them");
    metrics::describe_gauge!("parley_audit_entries", "Entries in the audit log (compare with `parley audit verify`)");
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve_admin(listener: TcpListener, shutdown: CancellationToken) {
    let handle = handle();
    let app = Router::new().route(
        "/metrics",
        get(move || async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response() }),
    );
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await {
        tracing::warn!(%error, "the admin listener stopped");
    }
}
