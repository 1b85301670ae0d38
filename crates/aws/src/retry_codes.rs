//! Retry decisions by AWS error code that the SDK's defaults get wrong for kmsctl's services.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// Codes retried as transient errors, and codes never retried (overriding the SDK's own lists).
/// The code is read from the answer itself (`x-amzn-errortype`, a JSON `__type`, an XML
/// `<Code>`): a classifier on a client sees every operation's own error type.
#[derive(Debug)]
pub struct ErrorCodes {
    name: &'static str,
    transient: &'static [&'static str],
    never: &'static [&'static str],
}

impl ErrorCodes {
    pub const fn new(
        name: &'static str,
        transient: &'static [&'static str],
        never: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            transient,
            never,
        }
    }
}

/// The AWS error code of an answer, in any of the protocols kmsctl's services speak.
pub fn error_code(headers_type: Option<&str>, body: &[u8]) -> Option<String> {
    // `x-amzn-errortype: Code:http://internal.amazon.com/...`
    if let Some(code) = headers_type
        .and_then(|t| t.split(':').next())
        .filter(|c| !c.is_empty())
    {
        return Some(code.to_owned());
    }
    let text = std::str::from_utf8(body).ok()?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        // `"__type": "com.amazonaws.organizations#ConcurrentModificationException"`
        let kind = json.get("__type").or_else(|| json.get("code"))?.as_str()?;
        return kind.rsplit('#').next().map(str::to_owned);
    }
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].trim().to_owned())
}

/// Organizations answers a call made while another write is in progress, or while the
/// organization is being set up, with these: nothing was done, so a repeat is safe (reads
/// included; terraform-provider-aws retries both, `internal/service/organizations`).
pub const ORGANIZATIONS_BUSY: &[&str] = &[
    "ConcurrentModificationException",
    "FinalizingOrganizationException",
];

/// In KMS, `LimitExceededException` is a resource quota (100,000 keys per account and Region,
/// aliases, grants: "Resource quotas" in the KMS developer guide), not a request rate: the SDK
/// lists it among throttling errors, and ten repeats cannot get past it.
pub const KMS_QUOTA: &[&str] = &["LimitExceededException"];

impl ClassifyRetry for ErrorCodes {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error_code(
            response.headers().get("x-amzn-errortype"),
            response.body().bytes().unwrap_or_default(),
        );
        match code.as_deref() {
            Some(code) if self.never.contains(&code) => RetryAction::RetryForbidden,
            Some(code) if self.transient.contains(&code) => RetryAction::transient_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_every_protocol() {
        assert_eq!(
            error_code(Some("ConcurrentModificationException:http://internal"), b"").as_deref(),
            Some("ConcurrentModificationException")
        );
        assert_eq!(
            error_code(
                None,
                br#"{"__type":"com.amazonaws.kms#LimitExceededException","message":"quota"}"#
            )
            .as_deref(),
            Some("LimitExceededException")
        );
        assert_eq!(
            error_code(
                None,
                b"<ErrorResponse><Error><Code>Throttled</Code></Error></ErrorResponse>"
            )
            .as_deref(),
            Some("Throttled")
        );
        assert_eq!(error_code(None, b"not an error"), None);
    }
}
