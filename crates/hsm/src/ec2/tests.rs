//! Reading DescribeSubnets answers, and what each EC2 answer becomes for the plan.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::testing::session;

const A: &str = "subnet-0aaa1111bbbb2222c";
const B: &str = "subnet-0ddd3333eeee4444f";

/// An answer as EC2 writes it: namespaced, with nested sets whose `item`s are not subnets.
const TWO_SUBNETS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
    <subnetSet>
        <item>
            <subnetId>subnet-0aaa1111bbbb2222c</subnetId>
            <state>available</state>
            <vpcId>vpc-0a60eb65b4EXAMPLE</vpcId>
            <cidrBlock>10.0.1.0/24</cidrBlock>
            <ipv6CidrBlockAssociationSet/>
            <availabilityZone>us-east-1a</availabilityZone>
            <availabilityZoneId>use1-az4</availabilityZoneId>
            <tagSet>
                <item><key>Name</key><value>hsm-a</value></item>
            </tagSet>
        </item>
        <item>
            <tagSet><item><key>subnetId</key><value>not-this</value></item></tagSet>
            <subnetId>subnet-0ddd3333eeee4444f</subnetId>
            <availabilityZone>us-east-1b</availabilityZone>
        </item>
    </subnetSet>
</DescribeSubnetsResponse>"#;

fn error(code: &str, message: &str) -> String {
    format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    )
}

fn page(subnets: &[(&str, &str)], next_token: Option<&str>) -> String {
    let items: String = subnets
        .iter()
        .map(|(id, az)| {
            format!(
                "<item><subnetId>{id}</subnetId><availabilityZone>{az}</availabilityZone></item>"
            )
        })
        .collect();
    let token = next_token.map_or(String::new(), |t| format!("<nextToken>{t}</nextToken>"));
    format!(
        "<DescribeSubnetsResponse><subnetSet>{items}</subnetSet>{token}</DescribeSubnetsResponse>"
    )
}

/// EC2 behind a stub answering `answers` in order (the last again once they run out), with
/// `max_attempts` attempts per call; and the request bodies it received.
fn stubbed(answers: Vec<(u16, String)>, max_attempts: u32) -> (Ec2, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let queue = Mutex::new(VecDeque::from(answers));
    let http = infallible_client_fn(move |request: http::Request<SdkBody>| {
        let body = request.body().bytes().unwrap_or_default();
        seen.lock()
            .expect("lock")
            .push(String::from_utf8_lossy(body).into_owned());
        let mut queue = queue.lock().expect("lock");
        let (status, body) = if queue.len() > 1 {
            queue.pop_front().expect("an answer")
        } else {
            queue.front().cloned().expect("an answer")
        };
        http::Response::builder()
            .status(status)
            .body(body)
            .expect("response")
    });
    let retries = RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(1));
    let config = session(http).into_builder().retry_config(retries).build();
    (Ec2::new(&config), bodies)
}

fn ids() -> Vec<String> {
    vec![A.to_owned(), B.to_owned()]
}

#[test]
fn an_answer_gives_each_subnet_its_az_and_skips_nested_sets() {
    let page = read_page(TWO_SUBNETS).expect("reads");
    assert_eq!(
        page.subnets,
        [
            (A.to_owned(), "us-east-1a".to_owned()),
            (B.to_owned(), "us-east-1b".to_owned()),
        ]
    );
    assert_eq!(page.next_token, None);
    let empty =
        read_page("<DescribeSubnetsResponse><subnetSet/><nextToken/></DescribeSubnetsResponse>")
            .expect("reads");
    assert_eq!(empty, Page::default());
    assert!(read_page("<DescribeVpcsResponse/>").is_err());
    assert!(read_page("not xml <").is_err());
}

#[tokio::test]
async fn the_declared_subnets_are_asked_for_by_id() {
    let (ec2, bodies) = stubbed(vec![(200, TWO_SUBNETS.to_owned())], 1);
    let azs = ec2.subnet_azs(&ids()).await.expect("answer");
    assert_eq!(
        azs,
        BTreeMap::from([
            (A.to_owned(), "us-east-1a".to_owned()),
            (B.to_owned(), "us-east-1b".to_owned()),
        ])
    );
    assert_eq!(
        *bodies.lock().expect("lock"),
        [format!(
            "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1={A}&SubnetId.2={B}"
        )]
    );
    // No subnet declared: nothing to ask.
    let (ec2, bodies) = ec2_unused();
    assert!(ec2.subnet_azs(&[]).await.expect("nothing").is_empty());
    assert!(bodies.lock().expect("lock").is_empty());
}

fn ec2_unused() -> (Ec2, Arc<Mutex<Vec<String>>>) {
    stubbed(vec![(500, String::new())], 1)
}

#[tokio::test]
async fn a_next_token_is_followed() {
    let (ec2, bodies) = stubbed(
        vec![
            (200, page(&[(A, "us-east-1a")], Some("t-1"))),
            (200, page(&[(B, "us-east-1b")], None)),
        ],
        1,
    );
    let azs = ec2.subnet_azs(&ids()).await.expect("answer");
    assert_eq!(azs.len(), 2);
    let bodies = bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 2);
    assert!(bodies[1].ends_with("&NextToken=t-1"), "{}", bodies[1]);
}

#[tokio::test]
async fn an_unknown_subnet_leaves_every_subnet_unknown() {
    let (ec2, _) = stubbed(
        vec![(
            400,
            error(
                "InvalidSubnetID.NotFound",
                "The subnet ID 'subnet-0ddd3333eeee4444f' does not exist",
            ),
        )],
        3,
    );
    assert_eq!(
        ec2.subnet_azs(&ids()).await.expect("not an error"),
        BTreeMap::new()
    );
}

#[tokio::test]
async fn a_denied_call_fails_with_the_aws_code_and_message() {
    for code in ["UnauthorizedOperation", "AccessDenied"] {
        let (ec2, bodies) = stubbed(
            vec![(
                403,
                error(code, "You are not authorized to perform this operation."),
            )],
            3,
        );
        let failure = ec2.subnet_azs(&ids()).await.expect_err("denied");
        assert_eq!(failure.code(), Some(code));
        assert_eq!(
            failure.to_string(),
            format!(
                "ec2:DescribeSubnets failed: {code}: You are not authorized to perform this operation."
            )
        );
        // Not retried.
        assert_eq!(bodies.lock().expect("lock").len(), 1);
    }
}

#[tokio::test]
async fn throttling_is_retried_within_the_session_attempts() {
    let throttled = (
        503,
        error("RequestLimitExceeded", "Request limit exceeded."),
    );
    let (ec2, bodies) = stubbed(vec![throttled.clone(), (200, TWO_SUBNETS.to_owned())], 3);
    assert_eq!(ec2.subnet_azs(&ids()).await.expect("answer").len(), 2);
    assert_eq!(bodies.lock().expect("lock").len(), 2);

    let (ec2, bodies) = stubbed(vec![throttled], 2);
    let failure = ec2.subnet_azs(&ids()).await.expect_err("throttled");
    assert_eq!(failure.code(), Some("RequestLimitExceeded"));
    assert_eq!(bodies.lock().expect("lock").len(), 2);
}
