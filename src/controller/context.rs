//! What every reconcile shares.

use std::sync::Arc;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::api::names::CONTROLLER_NAME;
use crate::engine::CloudConnector;
use crate::metrics::Metrics;

use super::backoff::Backoff;

pub struct Context {
    pub client: Client,
    pub connector: Arc<dyn CloudConnector>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub backoff: Backoff,
}

impl Context {
    pub fn new(client: Client, connector: Arc<dyn CloudConnector>, metrics: Arc<Metrics>) -> Self {
        let reporter = Reporter { controller: CONTROLLER_NAME.to_string(), instance: std::env::var("POD_NAME").ok() };
        let recorder = Recorder::new(client.clone(), reporter);
        Self { client, connector, metrics, recorder, backoff: Backoff::default() }
    }
}
