//! Errors of AWS calls, with the service's own code and message kept for the user.

use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS call failed after the configured retries. `operation` is `service:Operation`.
    #[error("{operation} failed: {message}")]
    Call {
        operation: String,
        code: Option<String>,
        message: String,
    },
    #[error(
        "the caller is in account {actual}, but {target} declares account_id {expected}: refusing to touch the wrong account (check AWS_PROFILE, the credentials or assume_role_arn)"
    )]
    WrongAccount {
        target: String,
        expected: String,
        actual: String,
    },
}

impl AwsError {
    /// Wraps an SDK error with the operation name and the full error chain as text.
    pub fn call<E>(operation: &str, error: E) -> Self
    where
        E: StdError + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    {
        let code = error.code().map(str::to_owned);
        // AWS's own words when it answered; the whole chain (timeouts, connection errors) when not.
        let message = match (error.code(), error.message()) {
            (Some(code), Some(text)) => format!("{code}: {text}"),
            (Some(code), None) => code.to_owned(),
            _ => describe(&error),
        };
        Self::Call {
            operation: operation.to_owned(),
            code,
            message,
        }
    }

    /// The AWS error code (`NotFoundException`, `ThrottlingException`, ...), if AWS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Call { code, .. } => code.as_deref(),
            Self::WrongAccount { .. } => None,
        }
    }
}

/// Why a planned change could not be carried out: a plan this kmsctl cannot read, or AWS.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the plan holds an operation this kmsctl does not know: {0}")]
    Malformed(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl ApplyError {
    /// A planned operation this kmsctl cannot decode or resolve.
    pub fn malformed(error: impl std::fmt::Display) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// `map_err` for an SDK call: the error, named by its operation (`kms:TagResource`).
pub fn failed<E>(operation: &'static str) -> impl FnOnce(E) -> AwsError
where
    E: StdError + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
{
    move |e| AwsError::call(operation, e)
}

/// The whole error chain on one line: the SDK's top-level Display says only "service error".
/// Each cause's message once, without the raw response the SDK's debug form would add.
pub fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
