//! KMS clients: one per operation called in bulk, each with its own retry quota and governor.

use crate::governor::{GovernedHttpClient, Governor};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryPartition;

use crate::retry_codes::{ErrorCodes, KMS_QUOTA};

/// One KMS client per operation that kmsctl calls in bulk. AWS applies a request quota per
/// operation (DescribeKey 100/s, GetKeyPolicy 30/s, ...), so each has its own retry partition
/// (its own retry quota) and its own [`Governor`], which learns the operation's rate from
/// throttling answers: a throttled GetKeyPolicy does not slow DescribeKey down.
#[derive(Debug, Clone)]
pub struct KmsClients {
    pub describe_key: Client,
    pub get_key_policy: Client,
    pub get_key_rotation_status: Client,
    pub list_resource_tags: Client,
    pub list: Client,
    /// Every change (CreateKey, PutKeyPolicy, TagResource, ...).
    pub write: Client,
    /// The Resource Groups Tagging API: tags of many keys per call.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// How apply waits for what it wrote to become visible.
    pub propagation: crate::Propagation,
}

impl KmsClients {
    pub fn new(config: &SdkConfig) -> Self {
        // One connection pool and TLS setup for all of them; each wraps it with its governor.
        let http = config.http_client().or_else(default_http_client);
        let kms = |partition: &'static str| {
            let mut conf = aws_sdk_kms::config::Builder::from(config)
                .retry_partition(RetryPartition::new(partition))
                .retry_classifier(ErrorCodes::new("KMS resource quota", &[], KMS_QUOTA));
            if let Some(http) = http.clone() {
                let governed = GovernedHttpClient::new(http, Governor::new(partition));
                conf = conf.http_client(governed);
            }
            Client::from_conf(conf.build())
        };
        Self {
            describe_key: kms("kms-DescribeKey"),
            get_key_policy: kms("kms-GetKeyPolicy"),
            get_key_rotation_status: kms("kms-GetKeyRotationStatus"),
            list_resource_tags: kms("kms-ListResourceTags"),
            list: kms("kms-List"),
            write: kms("kms-write"),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            propagation: crate::Propagation::default(),
        }
    }

    /// The same client for every operation (tests with stubbed answers).
    pub fn from_clients(kms: Client, tagging: aws_sdk_resourcegroupstagging::Client) -> Self {
        Self {
            describe_key: kms.clone(),
            get_key_policy: kms.clone(),
            get_key_rotation_status: kms.clone(),
            list_resource_tags: kms.clone(),
            list: kms.clone(),
            write: kms,
            tagging,
            propagation: crate::Propagation::default(),
        }
    }
}

/// The HTTP client the SDK would pick by itself (hyper 1.x, rustls with aws-lc, proxy settings
/// from the environment), built here so it can be wrapped.
pub(crate) fn default_http_client() -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient>
{
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    let client = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    Some(client)
}

/// Retries for a call that must not be retried blindly (CreateKey): none.
pub fn no_retries() -> aws_sdk_kms::config::Builder {
    aws_sdk_kms::config::Builder::default().retry_config(RetryConfig::disabled())
}
