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

/// An `Error` rule's answer: `code` with `status` (500 if it is not a valid status) and `message`, or a
/// default message.
pub(crate) fn injected_error(
    service: &str,
    status: u16,
    code: &str,
    message: Option<&str>,
) -> Response<Bytes> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(
        service,
        status,
        code,
        message.unwrap_or("Injected by fault-proxy"),
    )
}

/// The service's error `code` in its own protocol: JSON `{"__type", "message"}` with `x-amzn-errortype`,
/// or the query protocols' XML `ErrorResponse`.
pub(crate) fn error(
    service: &str,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<Bytes> {
    if is_json_protocol(service) {
        let body = serde_json::json!({"__type": code, "message": message}).to_string();
        let mut response = json(status, body);
        if let Ok(value) = HeaderValue::from_str(code) {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    } else {
        let kind = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let (code, message) = (xml_escape(code), xml_escape(message));
        let body = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
        );
        build(status, "text/xml", body)
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
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
    fn injected_errors() {
        let r = injected_error(
            "organizations",
            400,
            "ConcurrentModificationException",
            None,
        );
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers()["x-amzn-errortype"],
            "ConcurrentModificationException"
        );
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["__type"], "ConcurrentModificationException");
        let r = injected_error("sns", 404, "NotFound", Some("Topic <x> & \"y\""));
        assert_eq!(r.status(), 404);
        assert_eq!(
            std::str::from_utf8(r.body()).unwrap(),
            "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code>\
             <Message>Topic &lt;x&gt; &amp; &quot;y&quot;</Message></Error>\
             <RequestId>fault-proxy</RequestId></ErrorResponse>"
        );
        let r = injected_error("kms", 42, "X", Some(r#"say "hi""#));
        assert_eq!(r.status(), 500);
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["message"], r#"say "hi""#, "escaped as JSON");
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
