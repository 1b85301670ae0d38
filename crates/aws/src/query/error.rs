//! Errors of a Query call: AWS's answer with its code, or why no answer came.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::{EMPTY_ERROR_METADATA, ProvideErrorMetadata};
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no AWS region is configured")]
    NoRegion,
    #[error("no AWS credentials are configured")]
    NoCredentials,
    #[error("no HTTP client to send AWS requests with")]
    NoHttpClient,
    #[error("cannot choose an endpoint: {0}")]
    Endpoint(String),
    /// Sent, and failed after the configured attempts: AWS's answer (see `code()`), a timeout
    /// or a connection error. Shown as the SDK clients show theirs.
    #[error(transparent)]
    Call(Box<SdkError<ServiceError, HttpResponse>>),
}

impl From<SdkError<ServiceError, HttpResponse>> for QueryError {
    fn from(error: SdkError<ServiceError, HttpResponse>) -> Self {
        Self::Call(Box::new(error))
    }
}

impl QueryError {
    /// AWS's answer, if it sent one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Call(error) => error.as_service_error(),
            _ => None,
        }
    }
}

impl ProvideErrorMetadata for QueryError {
    fn meta(&self) -> &ErrorMetadata {
        match self {
            Self::Call(error) => error.meta(),
            _ => &EMPTY_ERROR_METADATA,
        }
    }
}

/// An error answer: its HTTP status, and the code and message of its XML error document.
#[derive(Debug, Clone)]
pub struct ServiceError {
    status: u16,
    meta: ErrorMetadata,
}

impl ServiceError {
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Reads the error document of either Query dialect: EC2's
    /// `<Response><Errors><Error><Code>…` and the others' `<ErrorResponse><Error><Code>…`.
    /// A body that is neither (a proxy's HTML page) leaves code and message empty.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Self {
        let mut found = Found::default();
        if let Ok(mut doc) = Document::try_from(body)
            && let Ok(mut root) = doc.root_element()
        {
            found.read(&mut root);
        }
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = found.code {
            meta = meta.code(code);
        }
        if let Some(message) = found.message {
            meta = meta.message(message);
        }
        if let Some(id) = found.request_id {
            meta = meta.custom("aws_request_id", id);
        }
        Self {
            status,
            meta: meta.build(),
        }
    }
}

#[derive(Debug, Default)]
struct Found {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
}

impl Found {
    /// Code and message of the first `Error` element under `scope`, and the request id.
    fn read(&mut self, scope: &mut ScopedDecoder<'_, '_>) {
        while let Some(mut tag) = scope.next_tag() {
            match tag.start_el().local() {
                "Errors" => self.read(&mut tag),
                "Error" if self.code.is_none() => {
                    while let Some(mut field) = tag.next_tag() {
                        let name = field.start_el().local().to_owned();
                        let text = try_data(&mut field).ok().map(|t| t.into_owned());
                        match name.as_str() {
                            "Code" => self.code = text,
                            "Message" => self.message = text,
                            _ => {}
                        }
                    }
                }
                "RequestID" | "RequestId" => {
                    self.request_id = try_data(&mut tag).ok().map(|t| t.into_owned());
                }
                _ => {}
            }
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.meta.code(), self.meta.message()) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(code), None) => f.write_str(code),
            (None, _) => write!(f, "HTTP {} without an AWS error document", self.status),
        }
    }
}

impl std::error::Error for ServiceError {}

impl ProvideErrorMetadata for ServiceError {
    fn meta(&self) -> &ErrorMetadata {
        &self.meta
    }
}
