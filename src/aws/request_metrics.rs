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
            Some(status) => match error_class(context) {
                Some(class) => class,
                None if status >= 500 => "server_error",
                None if status == 403 => "access_denied",
                None => "client_error",
            },
        };
        tracing::debug!(%service, %operation, outcome, "aws request");
        self.metrics.count_aws_request(&service, &operation, outcome);
        Ok(())
    }
}

/// EC2 answers throttling with 503 RequestLimitExceeded and refusals with 400
/// UnauthorizedOperation; other services use ThrottlingException and AccessDenied: the
/// body says which.
fn error_class(context: &FinalizerInterceptorContextRef<'_>) -> Option<&'static str> {
    let body = context.response()?.body().bytes()?;
    let text = String::from_utf8_lossy(body);
    if text.contains("RequestLimitExceeded") || text.contains("Throttling") || text.contains("TooManyRequests") {
        Some("throttled")
    } else if text.contains("UnauthorizedOperation") || text.contains("AccessDenied") || text.contains("AuthFailure") {
        Some("access_denied")
    } else {
        None
    }
}
