//! The Query client against a stub HTTP client: what goes out (endpoint, form, signature) and
//! what comes back (answer, AWS error code, retries as configured).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::region::Region;

use super::*;

pub(crate) const EC2: QueryService = QueryService {
    service_id: "EC2",
    signing_name: "ec2",
    version: "2016-11-15",
    gov_fips_is_regional: true,
};

const EMPTY_PAGE: &str = "<DescribeSubnetsResponse><subnetSet/></DescribeSubnetsResponse>";
const THROTTLED: &str = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>";
const DENIED: &str = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r-2</RequestID></Response>";

#[derive(Debug)]
struct Sent {
    method: String,
    uri: String,
    headers: http::HeaderMap,
    body: String,
}

/// An HTTP client answering `answers` in order (the last one again once they run out), and
/// what it was sent.
fn answering(answers: &[(u16, &'static str)]) -> (SharedHttpClient, Arc<Mutex<Vec<Sent>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let queue = Mutex::new(answers.iter().copied().collect::<VecDeque<_>>());
    let record = sent.clone();
    let client = infallible_client_fn(move |request: http::Request<SdkBody>| {
        let body = request.body().bytes().unwrap_or_default();
        record.lock().expect("lock").push(Sent {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            headers: request.headers().clone(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
        let mut queue = queue.lock().expect("lock");
        let (status, body) = if queue.len() > 1 {
            queue.pop_front().expect("an answer")
        } else {
            *queue.front().expect("an answer")
        };
        http::Response::builder()
            .status(status)
            .body(SdkBody::from(body))
            .expect("response")
    });
    (client, sent)
}

fn session(http: SharedHttpClient, max_attempts: u32) -> SdkConfig {
    let credentials = Credentials::new("AKIDTEST", "secret", Some("token-1".into()), None, "test");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://127.0.0.1:4566")
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build()
}

fn subnet_param() -> Vec<(String, String)> {
    vec![("SubnetId.1".into(), "subnet-0aaa1111bbbb2222c".into())]
}

#[tokio::test]
async fn a_request_is_a_signed_form_post_to_the_configured_endpoint() {
    let (http, sent) = answering(&[(200, EMPTY_PAGE)]);
    let client = QueryClient::new(&session(http, 3), EC2);
    let body = client
        .send("DescribeSubnets", &subnet_param())
        .await
        .expect("answer");
    assert_eq!(body, EMPTY_PAGE);
    let sent = sent.lock().expect("lock");
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri, "http://127.0.0.1:4566/");
    assert_eq!(
        request.body,
        "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-0aaa1111bbbb2222c"
    );
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/x-www-form-urlencoded");
    let authorization = header("authorization");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/eu-west-1/ec2/aws4_request"),
        "{authorization}"
    );
    assert_eq!(header("x-amz-security-token"), "token-1");
    assert!(!header("x-amz-date").is_empty());
}

#[tokio::test]
async fn an_error_answer_keeps_the_aws_code_and_message_and_is_not_retried() {
    let (http, sent) = answering(&[(403, DENIED)]);
    let client = QueryClient::new(&session(http, 3), EC2);
    let error = client
        .send("DescribeSubnets", &subnet_param())
        .await
        .expect_err("denied");
    assert_eq!(error.code(), Some("UnauthorizedOperation"));
    assert_eq!(
        error.message(),
        Some("You are not authorized to perform this operation.")
    );
    assert_eq!(error.service_error().map(ServiceError::status), Some(403));
    assert_eq!(sent.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn throttling_is_retried_within_the_configured_attempts() {
    let (http, sent) = answering(&[(503, THROTTLED), (200, EMPTY_PAGE)]);
    let client = QueryClient::new(&session(http, 3), EC2);
    let body = client
        .send("DescribeSubnets", &subnet_param())
        .await
        .expect("answered on the second attempt");
    assert_eq!(body, EMPTY_PAGE);
    {
        let sent = sent.lock().expect("lock");
        assert_eq!(sent.len(), 2);
        // Each attempt is signed.
        assert!(sent.iter().all(|s| s.headers.contains_key("authorization")));
    }

    let (http, sent) = answering(&[(503, THROTTLED)]);
    let client = QueryClient::new(&session(http, 2), EC2);
    let error = client
        .send("DescribeSubnets", &subnet_param())
        .await
        .expect_err("throttled every time");
    assert_eq!(error.code(), Some("RequestLimitExceeded"));
    assert_eq!(sent.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn a_5xx_without_an_error_document_is_retried_then_reported() {
    let (http, sent) = answering(&[(500, "<html>Internal Server Error</html>")]);
    let client = QueryClient::new(&session(http, 2), EC2);
    let error = client
        .send("CreateVpc", &[])
        .await
        .expect_err("a server error");
    assert_eq!(error.code(), None);
    assert_eq!(error.service_error().map(ServiceError::status), Some(500));
    assert!(
        crate::describe(&error).contains("HTTP 500"),
        "{}",
        crate::describe(&error)
    );
    assert_eq!(sent.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn without_a_region_nothing_is_sent() {
    let (http, sent) = answering(&[(200, EMPTY_PAGE)]);
    let config = session(http, 1).into_builder().region(None).build();
    let error = QueryClient::new(&config, EC2)
        .send("DescribeSubnets", &[])
        .await
        .expect_err("no region");
    assert!(matches!(error, QueryError::NoRegion));
    assert!(sent.lock().expect("lock").is_empty());
}

#[test]
fn both_query_error_documents_are_read() {
    let ec2 = ServiceError::from_answer(400, DENIED.as_bytes());
    assert_eq!(ec2.code(), Some("UnauthorizedOperation"));
    assert_eq!(ec2.meta().extra("aws_request_id"), Some("r-2"));
    let sts = ServiceError::from_answer(
        403,
        br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no &amp; never</Message></Error><RequestId>r-3</RequestId></ErrorResponse>"#,
    );
    assert_eq!(sts.code(), Some("AccessDenied"));
    assert_eq!(sts.message(), Some("no & never"));
    assert_eq!(sts.to_string(), "AccessDenied: no & never");
    let html = ServiceError::from_answer(502, b"<html><body>Bad Gateway</body></html>");
    assert_eq!(html.code(), None);
    assert_eq!(html.to_string(), "HTTP 502 without an AWS error document");
}
