//! The SNS client: SNS's throttling answers are retried like every other service's.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// An SNS client that retries SNS's throttling answers. SNS says `Throttled` (HTTP 400 in its
/// query protocol, 429 on some endpoints), a code missing from the Rust SDK's list of throttling
/// errors, so without this classifier a throttled SNS call fails at once.
pub fn sns_client(config: &aws_config::SdkConfig) -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::config::Builder::from(config)
        .retry_classifier(SnsThrottled)
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

#[derive(Debug)]
struct SnsThrottled;

impl ClassifyRetry for SnsThrottled {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let throttled = response.status().as_u16() == 429
            || response.body().bytes().is_some_and(|body| {
                body.windows(THROTTLED.len())
                    .any(|window| window == THROTTLED)
            });
        if throttled {
            RetryAction::throttling_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "SNS Throttled"
    }
}

const THROTTLED: &[u8] = b"<Code>Throttled</Code>";
