//! One HTTP port: /metrics, /healthz (the process serves), /readyz (the process can do its
//! job: the leader's controller is watching, or a standby is ready to take over).
//!
//! Standbys report ready too, as controller-runtime's do: otherwise a rolling update of a
//! Deployment whose old leader keeps the lease would wait forever for its new pods. The
//! body says which one answered (`ready: leader` or `ready: standby`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

#[derive(Clone, Default)]
pub struct Health {
    /// Startup checks passed: the API server answers and the CRD is installed.
    pub ready: Arc<AtomicBool>,
    /// This replica holds the lease (or leader election is off) and runs the controller.
    pub leader: Arc<AtomicBool>,
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Health,
}

pub fn router(metrics: Arc<Metrics>, health: Health) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready_handler))
        .with_state(AppState { metrics, health })
}

pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>, health: Health) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(error) => {
            tracing::error!(%addr, %error, "cannot bind the metrics and health port");
            return;
        }
    };
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
    if let Err(error) = axum::serve(listener, router(metrics, health)).await {
        tracing::error!(%error, "HTTP server stopped");
    }
}

async fn metrics_handler(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
}

async fn ready_handler(State(state): State<AppState>) -> impl IntoResponse {
    match (state.health.ready.load(Ordering::SeqCst), state.health.leader.load(Ordering::SeqCst)) {
        (true, true) => (StatusCode::OK, "ready: leader"),
        (true, false) => (StatusCode::OK, "ready: standby"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
    }
}
