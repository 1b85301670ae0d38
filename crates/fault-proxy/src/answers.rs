//! The answers the proxy makes up instead of the upstream's, in each service's own protocol.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::op::is_json_protocol;

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const REQUEST_ID: &str = "fault-proxy";

/// The error code each service really uses for throttling. All but SNS's `Throttled` are in the
/// Rust SDK's list of throttling codes; kmsctl's SNS client adds a classifier for that one.
pub(crate) fn throttling_code(service: &str) -> &'static str {
    match service {
        "organizations" => "TooManyRequestsException",
        "tagging" => "ThrottledException",
        "sts" => "Throttling",
        "sns" => "Throttled",
        "iam" => "Throttling",
        _ => "ThrottlingException",
    }
}

/// HTTP 400 with the service's throttling error.
pub(crate) fn throttle(service: &str) -> Response<Bytes> {
    error(
        service,
        StatusCode::BAD_REQUEST,
        throttling_code(service),
        "Rate exceeded",
    )
}

/// An injected error status: `InternalFailure` (or `ServiceUnavailableException` for 503).
pub(crate) fn status(service: &str, code: u16) -> Response<Bytes> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error_code = match (status, is_json_protocol(service)) {
        (StatusCode::SERVICE_UNAVAILABLE, true) => "ServiceUnavailableException",
        (StatusCode::SERVICE_UNAVAILABLE, false) => "ServiceUnavailable",
        _ => "InternalFailure",
    };
    error(service, status, error_code, REQUEST_ID)
}

/// The upstream could not be reached or did not answer.
pub(crate) fn bad_gateway(message: &str) -> Response<Bytes> {
    let body =
        serde_json::json!({"__type": "BadGateway", "message": format!("fault-proxy: {message}")});
    json(StatusCode::BAD_GATEWAY, body.to_string())
}

fn error(service: &str, status: StatusCode, code: &'static str, message: &str) -> Response<Bytes> {
    if is_json_protocol(service) {
        let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
        let mut response = json(status, body);
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(code));
        response
    } else {
        let kind = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
        );
        build(status, "text/xml", body)
    }
}

pub(crate) fn json(status: StatusCode, body: String) -> Response<Bytes> {
    build(status, JSON_CONTENT_TYPE, body)
}

fn build(status: StatusCode, content_type: &'static str, body: String) -> Response<Bytes> {
    let body = Bytes::from(body);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-amzn-requestid", HeaderValue::from_static(REQUEST_ID));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn throttling_answers() {
        let r = throttle("kms");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], JSON_CONTENT_TYPE);
        assert_eq!(r.headers()["x-amzn-errortype"], "ThrottlingException");
        assert_eq!(
            r.body().as_ref(),
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        );
        assert_eq!(
            throttle("organizations").headers()["x-amzn-errortype"],
            "TooManyRequestsException"
        );
        assert_eq!(
            throttle("tagging").headers()["x-amzn-errortype"],
            "ThrottledException"
        );
        let sts = throttle("sts");
        assert_eq!(sts.headers()["content-type"], "text/xml");
        assert_eq!(
            std::str::from_utf8(sts.body()).unwrap(),
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>\
             </Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        );
        assert!(
            std::str::from_utf8(throttle("sns").body())
                .unwrap()
                .contains("<Code>Throttled</Code>")
        );
    }

    #[test]
    fn status_answers() {
        let r = status("kms", 503);
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.body().as_ref(),
            br#"{"__type":"ServiceUnavailableException","message":"fault-proxy"}"#
        );
        let r = status("kms", 500);
        assert_eq!(
            r.body().as_ref(),
            br#"{"__type":"InternalFailure","message":"fault-proxy"}"#
        );
        assert_eq!(status("kms", 42).status(), 500, "invalid code");
        assert!(
            std::str::from_utf8(status("sts", 500).body())
                .unwrap()
                .contains("<Type>Receiver</Type>")
        );
    }
}
