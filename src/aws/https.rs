//! The one HTTPS client every AWS SDK client of the operator shares.
//!
//! Left to itself the SDK gives each service client its own default HTTPS client, and
//! each of those parses the system's TLS roots and keeps its own connection pool: twelve
//! per account-region, which at 1,500 account-regions was most of the operator's memory.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

/// The SDK's own default client (rustls on aws-lc, proxy settings from the environment),
/// built once. It keeps one connector per timeout setting, so clients with different
/// timeouts still share it.
pub(super) fn shared_https_client() -> SharedHttpClient {
    SharedHttpClient::new(ConnectOnUse(sdk_default_client()))
}

fn sdk_default_client() -> SharedHttpClient {
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

/// The SDK's client, without its check at each service client's construction: that check
/// builds a whole connector and drops it ("so that native certs load at init time"), and
/// every connector parses every system root again. A one-shot run constructs five service
/// clients; the roots are parsed when the first request needs a connector, once per
/// timeout setting, as before.
#[derive(Debug)]
struct ConnectOnUse(SharedHttpClient);

impl HttpClient for ConnectOnUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_base_client_config(&self, _components: &RuntimeComponentsBuilder, _cfg: &ConfigBag) -> Result<(), BoxError> {
        Ok(())
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}
