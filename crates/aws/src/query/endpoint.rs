//! Where a Query request goes, chosen as the service's generated SDK client would: an endpoint
//! override (`endpoint_url` set in code; else `AWS_ENDPOINT_URL_<SERVICE>` or a profile's
//! `services` section; else `AWS_ENDPOINT_URL`), or the regional endpoint in the region's
//! partition, FIPS and dual-stack as configured.

use aws_types::SdkConfig;
use aws_types::service_config::ServiceConfigKey;
use kmsctl_core::environment::partition_of;

use super::{QueryError, QueryService};

/// The endpoint for `service` under `config` (`config`'s region is the one passed).
pub(super) fn resolve(
    config: &SdkConfig,
    service: &QueryService,
    region: &str,
) -> Result<String, QueryError> {
    let fips = config.use_fips().unwrap_or(false);
    let dual_stack = config.use_dual_stack().unwrap_or(false);
    match overridden(config, service) {
        // As the SDK's endpoint rules: a custom endpoint cannot honour either setting.
        Some(_) if fips || dual_stack => Err(QueryError::Endpoint(
            "FIPS and dual-stack endpoints cannot be combined with a custom endpoint URL".into(),
        )),
        Some(url) => Ok(url),
        None => Ok(regional(service, region, fips, dual_stack)),
    }
}

fn overridden(config: &SdkConfig, service: &QueryService) -> Option<String> {
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service.service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    config
        .service_config()
        .and_then(|loader| loader.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// `https://<name>[-fips].<region>.<DNS suffix>`, the SDK's rule for regional endpoints.
pub(super) fn regional(
    service: &QueryService,
    region: &str,
    fips: bool,
    dual_stack: bool,
) -> String {
    let partition = partition_of(region);
    let (suffix, dual_stack_suffix) = dns_suffixes(partition);
    let name = service.signing_name;
    if fips && !dual_stack && partition == "aws-us-gov" && service.gov_fips_is_regional {
        return format!("https://{name}.{region}.{suffix}");
    }
    let host = if fips {
        format!("{name}-fips")
    } else {
        name.to_owned()
    };
    let suffix = if dual_stack {
        dual_stack_suffix
    } else {
        suffix
    };
    format!("https://{host}.{region}.{suffix}")
}

/// The DNS suffixes of a partition (the SDK's partitions.json): standard and dual-stack.
fn dns_suffixes(partition: &str) -> (&'static str, &'static str) {
    match partition {
        "aws-cn" => ("amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        "aws-iso" => ("c2s.ic.gov", "api.aws.ic.gov"),
        "aws-iso-b" => ("sc2s.sgov.gov", "api.aws.scloud"),
        "aws-iso-e" => ("cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
        // aws, aws-us-gov.
        _ => ("amazonaws.com", "api.aws"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::tests::EC2;

    #[test]
    fn regional_endpoints_follow_partition_fips_and_dual_stack() {
        let cases = [
            (
                "us-east-1",
                false,
                false,
                "https://ec2.us-east-1.amazonaws.com",
            ),
            (
                "eu-west-1",
                true,
                false,
                "https://ec2-fips.eu-west-1.amazonaws.com",
            ),
            ("us-east-1", false, true, "https://ec2.us-east-1.api.aws"),
            (
                "us-east-1",
                true,
                true,
                "https://ec2-fips.us-east-1.api.aws",
            ),
            (
                "cn-north-1",
                false,
                false,
                "https://ec2.cn-north-1.amazonaws.com.cn",
            ),
            (
                "cn-north-1",
                false,
                true,
                "https://ec2.cn-north-1.api.amazonwebservices.com.cn",
            ),
            // EC2 in GovCloud: its regional endpoint is the FIPS one.
            (
                "us-gov-east-1",
                true,
                false,
                "https://ec2.us-gov-east-1.amazonaws.com",
            ),
            (
                "us-gov-east-1",
                true,
                true,
                "https://ec2-fips.us-gov-east-1.api.aws",
            ),
            (
                "us-iso-east-1",
                true,
                false,
                "https://ec2-fips.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                false,
                false,
                "https://ec2.us-isob-east-1.sc2s.sgov.gov",
            ),
        ];
        for (region, fips, dual_stack, expected) in cases {
            assert_eq!(
                regional(&EC2, region, fips, dual_stack),
                expected,
                "{region} fips={fips} dual_stack={dual_stack}"
            );
        }
    }

    #[test]
    fn an_endpoint_set_in_code_wins_and_refuses_fips() {
        let config = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        assert_eq!(
            resolve(&config, &EC2, "us-east-1").expect("resolves"),
            "http://127.0.0.1:4566"
        );
        let config = config.into_builder().use_fips(true).build();
        assert!(matches!(
            resolve(&config, &EC2, "us-east-1"),
            Err(QueryError::Endpoint(_))
        ));
        let config = SdkConfig::builder().build();
        assert_eq!(
            resolve(&config, &EC2, "eu-west-1").expect("resolves"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
    }
}
