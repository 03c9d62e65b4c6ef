//! The SSM Automation simulator driven by the AWS SDK for Rust against a private, seeded local
//! stack: multi-location runs, the role and sharing checks, error thresholds, idempotent
//! starts, the child executions' visibility, and SSM's error shapes.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_ssm::types::{Target, TargetLocation};
use fabric_simulator::faults::FaultSettings;
use fabric_tests::{SeededStack, central_config, member_config, seeded_stack, wait_until_final};
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// Five onboarded member accounts, the last without the execution role, the first with one
/// instance scripted to fail in us-east-1.
async fn organization() -> SeededStack {
    seeded_stack(&[
        "--accounts",
        "5",
        "--regions",
        "us-east-1,us-west-2",
        "--onboard",
        "--without-role",
        "1",
        "--failing-instances",
        "1",
    ])
    .await
}

fn location(accounts: &[&str], concurrency: &str, errors: &str) -> TargetLocation {
    TargetLocation::builder()
        .set_accounts(Some(accounts.iter().map(|a| (*a).to_owned()).collect()))
        .set_regions(Some(REGIONS.iter().map(|r| (*r).to_owned()).collect()))
        .target_location_max_concurrency(concurrency)
        .target_location_max_errors(errors)
        .execution_role_name("AWS-SystemsManager-AutomationExecutionRole")
        .build()
}

fn patch_targets() -> Target {
    Target::builder().key("tag:Patch").values("true").build()
}

/// `start` (its document and parameters set) on the instances tagged `Patch=true` in
/// `location`, run to its end.
async fn run_on_patch_targets(
    ssm: &aws_sdk_ssm::Client,
    start: aws_sdk_ssm::operation::start_automation_execution::builders::StartAutomationExecutionFluentBuilder,
    location: TargetLocation,
) -> aws_sdk_ssm::types::AutomationExecution {
    let id = start
        .target_parameter_name("InstanceId")
        .targets(patch_targets())
        .target_locations(location)
        .send()
        .await
        .expect("the run starts")
        .automation_execution_id
        .expect("an execution id");
    wait_until_final(ssm, &id, RUN_TIMEOUT).await
}

fn status(step: &aws_sdk_ssm::types::StepExecution) -> &str {
    step.step_status
        .as_ref()
        .map_or("", |status| status.as_str())
}

#[tokio::test]
async fn when_a_run_covers_the_organization_then_each_location_gets_its_own_outcome() {
    let org = organization().await;
    assert!(
        org.start_time < Duration::from_secs(10),
        "the stack took {:?} to start",
        org.start_time
    );
    let endpoint = org.stack.endpoint();
    let ssm = aws_sdk_ssm::Client::new(&central_config(endpoint, "us-east-1").await);
    let accounts: Vec<&str> = org.seed.accounts.iter().map(|a| a.id.as_str()).collect();
    let parent = run_on_patch_targets(
        &ssm,
        ssm.start_automation_execution()
            .document_name("Automation-RunPatchBaseline")
            .parameters("Operation", vec!["Install".to_owned()]),
        location(&accounts, "10", "100%"),
    )
    .await;
    let steps = parent.step_executions();
    assert_eq!(
        steps.len(),
        accounts.len() * REGIONS.len(),
        "one step per location"
    );

    let without_role = &org.seed.accounts[4].id;
    let failing = &org.seed.failing_instances[0];
    for step in steps {
        let location = step
            .target_location
            .as_ref()
            .expect("each step names its location");
        let account = &location.accounts()[0];
        let region = &location.regions()[0];
        if account == without_role {
            assert_eq!(status(step), "Failed", "{account}/{region}");
            let message = step.failure_message.as_deref().unwrap_or_default();
            assert!(message.contains("Unable to assume role"), "{message}");
            assert!(
                step.outputs()
                    .is_none_or(|outputs| !outputs.contains_key("ExecutionId"))
            );
        } else if *account == failing.account && *region == failing.region {
            assert_eq!(status(step), "Failed", "{account}/{region}");
        } else {
            assert_eq!(
                status(step),
                "Success",
                "{account}/{region}: {:?}",
                step.failure_message
            );
        }
    }
    assert_eq!(
        parent
            .automation_execution_status
            .as_ref()
            .map(aws_sdk_ssm::types::AutomationExecutionStatus::as_str),
        Some("Failed")
    );
    let counters = parent
        .progress_counters
        .as_ref()
        .expect("progress counters");
    assert_eq!(counters.total_steps, 10);
    assert_eq!(counters.success_steps, 7);
    assert_eq!(counters.failed_steps, 3);

    let id = parent
        .automation_execution_id
        .as_deref()
        .expect("an execution id");
    assert_child_lives_only_in_its_location(endpoint, &ssm, id, steps).await;
}

/// The child of a successful location is visible to its own account and Region only.
async fn assert_child_lives_only_in_its_location(
    endpoint: &str,
    ssm: &aws_sdk_ssm::Client,
    parent_id: &str,
    steps: &[aws_sdk_ssm::types::StepExecution],
) {
    let step = steps
        .iter()
        .find(|step| status(step) == "Success")
        .expect("a successful location");
    let location = step.target_location.as_ref().expect("location");
    let child_id = &step.outputs().expect("outputs")["ExecutionId"][0];
    let member = aws_sdk_ssm::Client::new(
        &member_config(endpoint, &location.accounts()[0], &location.regions()[0]).await,
    );
    let child = member
        .get_automation_execution()
        .automation_execution_id(child_id)
        .send()
        .await
        .expect("the member account sees its child")
        .automation_execution
        .expect("child");
    assert_eq!(
        child.parent_automation_execution_id.as_deref(),
        Some(parent_id)
    );
    assert_eq!(
        child
            .resolved_targets
            .expect("targets")
            .parameter_values()
            .len(),
        2
    );
    let hidden = ssm
        .get_automation_execution()
        .automation_execution_id(child_id)
        .send()
        .await
        .expect_err("the central account does not see the member's child");
    assert_eq!(
        hidden.into_service_error().meta().code(),
        Some("AutomationExecutionNotFoundException")
    );
}

#[tokio::test]
async fn when_no_location_may_fail_then_the_locations_after_the_first_failure_are_not_started() {
    let org = organization().await;
    let ssm = aws_sdk_ssm::Client::new(&central_config(org.stack.endpoint(), "us-east-1").await);
    // The account without the role first: its first location fails, nothing else starts.
    let accounts = [
        org.seed.accounts[4].id.as_str(),
        org.seed.accounts[1].id.as_str(),
    ];
    let parent = run_on_patch_targets(
        &ssm,
        ssm.start_automation_execution()
            .document_name("AWS-RestartEC2Instance"),
        location(&accounts, "1", "0"),
    )
    .await;
    let statuses: Vec<&str> = parent.step_executions().iter().map(status).collect();
    assert_eq!(statuses, ["Failed", "Cancelled", "Cancelled", "Cancelled"]);
    let not_run = parent.step_executions()[1]
        .failure_message
        .as_deref()
        .unwrap_or_default();
    assert!(not_run.contains("error threshold"), "{not_run}");
}

#[tokio::test]
async fn when_a_start_is_retried_with_its_client_token_then_one_execution_exists() {
    let org = organization().await;
    let ssm = aws_sdk_ssm::Client::new(&central_config(org.stack.endpoint(), "us-east-1").await);
    let token = "6d1b2f3e-0c4a-5b7d-8e9f-0a1b2c3d4e5f";
    let start = |document: &'static str| {
        ssm.start_automation_execution()
            .document_name(document)
            .client_token(token)
            .parameters("InstanceId", vec!["i-0123456789abcdef0".to_owned()])
            .send()
    };
    let first = start("AWS-RestartEC2Instance").await.expect("starts");
    let again = start("AWS-RestartEC2Instance")
        .await
        .expect("the retry is accepted");
    assert_eq!(first.automation_execution_id, again.automation_execution_id);
    let mismatch = start("AWS-StopEC2Instance")
        .await
        .expect_err("the same token for another request is refused");
    assert_eq!(
        mismatch.into_service_error().meta().code(),
        Some("IdempotentParameterMismatch")
    );
    let listed = ssm
        .describe_automation_executions()
        .send()
        .await
        .expect("describe answers");
    assert_eq!(listed.automation_execution_metadata_list().len(), 1);
}

/// The error code of a failed call, as the SDK read it.
fn code<E: aws_sdk_ssm::error::ProvideErrorMetadata, R>(
    error: &aws_sdk_ssm::error::SdkError<E, R>,
) -> String {
    use aws_sdk_ssm::error::ProvideErrorMetadata as _;
    error.code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn when_requests_are_invalid_or_throttled_then_errors_have_ssm_shapes() {
    let org = organization().await;
    let endpoint = org.stack.endpoint();
    let ssm = aws_sdk_ssm::Client::new(&central_config(endpoint, "us-east-1").await);
    let missing = ssm
        .start_automation_execution()
        .document_name("No-Such-Document")
        .send()
        .await
        .expect_err("an unknown document");
    assert_eq!(code(&missing), "AutomationDefinitionNotFoundException");
    let unknown = ssm
        .get_automation_execution()
        .automation_execution_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .expect_err("an unknown execution");
    assert_eq!(code(&unknown), "AutomationExecutionNotFoundException");

    org.stack.simulator().faults().configure(FaultSettings {
        throttle_rate: 1.0,
        ..FaultSettings::default()
    });
    let config = aws_sdk_ssm::config::Builder::from(&central_config(endpoint, "us-east-1").await)
        .retry_config(aws_sdk_ssm::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let throttled = aws_sdk_ssm::Client::from_conf(config)
        .describe_automation_executions()
        .send()
        .await
        .expect_err("every call is throttled");
    assert_eq!(code(&throttled), "ThrottlingException");
    let stats = org.stack.simulator().faults().stats();
    assert_eq!(
        stats.throttled.get("DescribeAutomationExecutions"),
        Some(&1)
    );
}
