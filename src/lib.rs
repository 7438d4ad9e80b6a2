//! frugal: a Kubernetes operator that keeps AWS accounts aligned with cost and security
//! practices. See `engine` for the observe → plan → act → report pipeline.
#![forbid(unsafe_code)]

pub mod api;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod engine;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod pattern;
pub mod plan;
pub mod pricing;
pub mod set;
pub mod telemetry;
