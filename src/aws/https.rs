//! The one HTTPS client every AWS SDK client of the operator shares.
//!
//! Left to itself the SDK gives each service client its own default HTTPS client, and
//! each of those parses the system's TLS roots and keeps its own connection pool: twelve
//! per account-region, which at 1,500 account-regions was most of the operator's memory.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's own default client (rustls on aws-lc, proxy settings from the environment),
/// built once. It keeps one connector per timeout setting, so clients with different
/// timeouts still share it.
pub(super) fn shared_https_client() -> SharedHttpClient {
    // `build_with_connector_fn` is what aws-smithy-runtime's default client is built with;
    // `build_https` would drop the HTTPS_PROXY / NO_PROXY support users rely on.
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
