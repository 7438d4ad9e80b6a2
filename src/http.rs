//! One HTTP port: /metrics, /healthz (the process serves), /readyz (the controller is
//! watching).

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
    pub ready: Arc<AtomicBool>,
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
    if state.health.ready.load(Ordering::SeqCst) { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") }
}
