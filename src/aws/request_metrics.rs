//! An SDK interceptor that counts every AWS request attempt by service, operation and
//! outcome, so the operator measures its own API pressure.

use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::metrics::Metrics;

#[derive(Debug)]
pub struct RequestMetrics {
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl RequestMetrics {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl Intercept for RequestMetrics {
    fn name(&self) -> &'static str {
        "frugal-request-metrics"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg.load::<Metadata>().map(|m| (m.service().to_string(), m.name().to_string())).unwrap_or_default();
        let outcome = match context.response().map(|r| r.status().as_u16()) {
            None => "network_error",
            Some(s) if s < 400 => "success",
            Some(429) => "throttled",
            Some(s) if s >= 500 => {
                if is_throttling(context) {
                    "throttled"
                } else {
                    "server_error"
                }
            }
            Some(_) => {
                if is_throttling(context) {
                    "throttled"
                } else {
                    "client_error"
                }
            }
        };
        tracing::debug!(%service, %operation, outcome, "aws request");
        self.metrics.count_aws_request(&service, &operation, outcome);
        Ok(())
    }
}

/// EC2 answers throttling with 503 RequestLimitExceeded, other services with 400
/// ThrottlingException: the body says which.
fn is_throttling(context: &FinalizerInterceptorContextRef<'_>) -> bool {
    context
        .response()
        .and_then(|r| r.body().bytes())
        .map(|body| {
            let text = String::from_utf8_lossy(body);
            text.contains("RequestLimitExceeded") || text.contains("Throttling") || text.contains("TooManyRequests")
        })
        .unwrap_or(false)
}
