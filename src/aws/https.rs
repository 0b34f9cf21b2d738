//! The one HTTPS client every SDK client of a run uses: hyper with rustls on the `ring` crypto
//! provider, proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`), the run's timeouts.
//!
//! The SDK crates' default features would build two TLS stacks, the legacy client (rustls 0.21 on
//! ring) and the default one (rustls 0.23 on aws-lc-rs, whose C library is the slowest crate of a cold
//! build). mamori turns both off (see `Cargo.toml`) and gives the shared `SdkConfig` this client, which
//! is the SDK's default client with `ring` in place of aws-lc-rs. What that gives up: the hybrid
//! post-quantum key exchange (X25519MLKEM768) that rustls offers only with aws-lc-rs; connections use
//! X25519 or the NIST curves, as the AWS endpoints accept. Certificates are checked against the
//! platform's trust store, as with the default client.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTPS client, built the way the SDK builds its default one.
pub fn client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
