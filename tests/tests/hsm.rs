//! The CloudHSM example (`examples/prod-hsm`) end to end where the emulator is faithful: the
//! offline guards, and a first plan against the empty CloudHSM state with real EC2 subnets. The
//! rest of the lifecycle (CreateHsm, InitializeCluster, custom key stores) is tested on stubbed
//! SDK clients in `crates/hsm/tests` and `crates/cli/tests/hsm.rs`: the emulator lacks it.

use aws_smithy_xml::decode::{Document, try_data};
use kmsctl_aws::query::QueryClient;
use kmsctl_tests::{TestProject, customer_keys};

const NO_AWS: &str = "http://127.0.0.1:9";
const HSM: &str = "environments/prod-hsm/hsm.toml";
const PASSWORD: &str = "kmsuser-S3cret-value-42";

fn example() -> TestProject {
    TestProject::example("prod-hsm", "222222222222")
}

fn refused_offline(project: &TestProject, rule: &str, line: usize) -> String {
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"])
        .expect_code(3);
    assert!(
        run.stderr.contains(&format!("error[{rule}]")),
        "{rule}\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {HSM}:{line}")) || rule == "secret-in-file",
        "{rule} at line {line}\n{}",
        run.stderr
    );
    run.stderr
}

#[test]
fn the_example_validates() {
    example()
        .kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"])
        .expect_code(0);
}

#[test]
fn one_subnet_one_hsm_a_missing_trust_anchor_and_a_password_are_each_refused() {
    let project = example();
    project.edit(HSM, ", \"subnet-0ddd3333eeee4444f\"]", "]");
    refused_offline(&project, "hsm-subnets", 8);

    let project = example();
    project.edit(HSM, "hsm_count = 2", "hsm_count = 1");
    refused_offline(&project, "hsm-count", 9);

    let project = example();
    project.edit(
        HSM,
        "\"certs/customerCA.crt\"",
        "\"certs/nothing-here.crt\"",
    );
    let stderr = refused_offline(&project, "hsm-trust-anchor", 13);
    assert!(
        stderr.contains("environments/prod-hsm/certs/nothing-here.crt"),
        "{stderr}"
    );

    let project = example();
    project.edit(
        HSM,
        "password_env = \"KMSCTL_HSM_PASSWORD\"",
        &format!("password_env = \"KMSCTL_HSM_PASSWORD\"\npassword = \"{PASSWORD}\""),
    );
    let run = project
        .kmsctl_with(
            NO_AWS,
            &["-v", "validate", "env/prod-hsm"],
            &[("RUST_LOG", "trace")],
        )
        .expect_code(3);
    assert!(
        run.stderr.contains("error[secret-in-file]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {HSM}:15")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD),
        "echoed"
    );

    // Malformed around it, so the TOML error shows a source snippet: still not echoed.
    let project = example();
    project.edit(
        HSM,
        "[hsm.key_store]",
        &format!("[hsm.key_store]\nsecret = \"{PASSWORD}\" oops"),
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"])
        .expect_code(1);
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
}

#[test]
fn a_store_key_needs_a_manual_rotation_schedule_and_the_declared_store() {
    let project = example();
    project.edit(
        "environments/prod-hsm/keys.toml",
        "manual_rotation_days = 365",
        "enable_key_rotation = true",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[rotation-unsupported]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error[rotation-manual-required]"),
        "{}",
        run.stderr
    );

    let project = example();
    project.edit(
        "environments/prod-hsm/keys.toml",
        "custom_key_store = \"prod-hsm-store\"",
        "custom_key_store = \"other-store\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[custom-key-store-unknown]"),
        "{}",
        run.stderr
    );
}

/// Two subnets in these AZs, in a fresh VPC of the project's account, made through the Query
/// client kmsctl's own DescribeSubnets uses (kmsctl has no EC2 SDK crate).
async fn subnets(project: &TestProject, azs: [&str; 2]) -> (String, String) {
    let ec2 = QueryClient::new(&project.sdk_config().await, kmsctl_hsm::ec2::SERVICE);
    let param = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    let vpc = ec2
        .send("CreateVpc", &[param("CidrBlock", "10.0.0.0/16")])
        .await
        .expect("vpc");
    let vpc_id = first_text(&vpc, "vpcId").expect("vpc id");
    let mut ids = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", azs[0]), ("10.0.2.0/24", azs[1])] {
        let params = [
            param("VpcId", &vpc_id),
            param("CidrBlock", cidr),
            param("AvailabilityZone", az),
        ];
        let subnet = ec2.send("CreateSubnet", &params).await.expect("subnet");
        ids.push(first_text(&subnet, "subnetId").expect("id"));
    }
    (ids[0].clone(), ids[1].clone())
}

/// The text of the first `name` element in `xml`.
fn first_text(xml: &str, name: &str) -> Option<String> {
    let mut doc = Document::new(xml);
    while let Some(element) = doc.next_start_element() {
        if element.matches(name) {
            return try_data(&mut doc.scoped_to(element))
                .ok()
                .map(|text| text.into_owned());
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_plan_creates_the_cluster_and_stops_at_the_gate_and_never_holds_the_password() {
    let project = example();
    let (a, b) = subnets(&project, ["us-east-1a", "us-east-1b"]).await;
    project.edit(HSM, "subnet-0aaa1111bbbb2222c", &a);
    project.edit(HSM, "subnet-0ddd3333eeee4444f", &b);
    let endpoint = project.endpoint().to_owned();
    let run = project
        .kmsctl_with(
            &endpoint,
            &["-v", "plan", "env/prod-hsm", "--detailed-exitcode"],
            &[("KMSCTL_HSM_PASSWORD", PASSWORD), ("RUST_LOG", "trace")],
        )
        .expect_code(2);
    for shown in [
        "hsm_cluster.prod-cloudhsm-cluster will be created",
        "hsm.prod-cloudhsm-cluster/us-east-1a will be created",
        "Operator gate",
        "aws cloudhsmv2 initialize-cluster",
        "not planned yet: alias/prod-hsm-db-payments-encryption",
        "Plan: 2 to add, 0 to change, 0 to destroy.",
    ] {
        assert!(run.stdout.contains(shown), "{shown}\n{}", run.stdout);
    }
    let saved = project.read(".kmsctl/env-prod-hsm.plan.json");
    assert!(saved.contains("hsm_cluster.prod-cloudhsm-cluster"));
    for text in [&run.stdout, &run.stderr, &saved] {
        assert!(!text.contains(PASSWORD), "the password leaked");
    }
    // Subnets in one AZ (EC2 says so at plan time): refused, nothing made.
    let project = example();
    let (a, b) = subnets(&project, ["us-east-1a", "us-east-1a"]).await;
    project.edit(HSM, "subnet-0aaa1111bbbb2222c", &a);
    project.edit(HSM, "subnet-0ddd3333eeee4444f", &b);
    let run = project.kmsctl(&["plan", "env/prod-hsm"]).expect_code(3);
    assert!(
        run.stderr.contains("error[hsm-subnets-az]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("are all in us-east-1a"),
        "{}",
        run.stderr
    );
    assert!(customer_keys(&project.kms().await).await.is_empty());
}
