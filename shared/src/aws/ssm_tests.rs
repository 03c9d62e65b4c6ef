//! [`SsmAutomation`] through the real SDK client, SSM's answers mocked with `aws-smithy-mocks`:
//! the requests the adapter sends, how it reads SSM's answers, and how SSM's errors become the
//! crate's.

use super::{MAX_STEPS_PER_PAGE, SsmAutomation};
use crate::Error;
use crate::model::{
    AccountId, AccountOrOu, AlarmConfiguration, AutomationStatus, Concurrency, ErrorThreshold,
    Location, Region, RoleName, Target, TargetLocation,
};
use crate::ports::{Automation, ExecutionState, LocationStep, StartAutomation, StepCounts};
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::error::ErrorMetadata;
use aws_sdk_ssm::operation::describe_automation_step_executions::DescribeAutomationStepExecutionsOutput;
use aws_sdk_ssm::operation::get_automation_execution::{
    GetAutomationExecutionError, GetAutomationExecutionOutput,
};
use aws_sdk_ssm::operation::start_automation_execution::{
    StartAutomationExecutionError, StartAutomationExecutionInput, StartAutomationExecutionOutput,
};
use aws_sdk_ssm::types::{
    Alarm, AlarmConfiguration as SdkAlarmConfiguration, AutomationExecution,
    AutomationExecutionStatus, ProgressCounters, ResolvedTargets, StepExecution,
    Target as SdkTarget, TargetLocation as SdkTargetLocation,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

const PARENT_ID: &str = "a1b2c3d4-parent";

/// The adapter over an SSM client that answers only by `rules` and retries nothing, so that
/// each answer reaches the adapter as the rule gives it (the fabric's clients retry up to 8
/// times with a backoff of seconds).
fn automation(mode: RuleMode, rules: &[&Rule]) -> SsmAutomation {
    let client: Client = mock_client!(aws_sdk_ssm, mode, rules.iter().copied(), |config| {
        config.retry_config(RetryConfig::disabled())
    });
    SsmAutomation::new(client)
}

fn account(id: &str) -> AccountOrOu {
    id.parse().expect("an account id")
}

fn region(name: &str) -> Region {
    Region::new(name).expect("a Region")
}

fn location(account: &str, region_name: &str) -> Location {
    Location::new(
        AccountId::new(account).expect("an account id"),
        region(region_name),
    )
}

fn sdk_target(key: &str, values: &[&str]) -> SdkTarget {
    SdkTarget::builder()
        .key(key)
        .set_values(Some(values.iter().map(|&v| v.to_owned()).collect()))
        .build()
}

fn sdk_alarm(name: &str, ignore_poll_alarm_failure: bool) -> SdkAlarmConfiguration {
    SdkAlarmConfiguration::builder()
        .ignore_poll_alarm_failure(ignore_poll_alarm_failure)
        .alarms(Alarm::builder().name(name).build().expect("an alarm"))
        .build()
        .expect("an alarm configuration")
}

/// A start in two target locations: two accounts with every option of a location set, and an
/// OU (with its child OUs, less one account) with SSM's default role.
fn two_location_start() -> StartAutomation {
    let mut accounts = TargetLocation::new(
        vec![account("111122223333"), account("444455556666")],
        vec![region("us-east-1"), region("eu-west-1")],
    );
    accounts.execution_role_name = Some(RoleName::new("FabricExecution").expect("a role"));
    accounts.target_location_max_concurrency = Some(Concurrency::parse("2").expect("valid"));
    accounts.target_location_max_errors = Some(ErrorThreshold::parse("1").expect("valid"));
    accounts.target_location_alarm_configuration = Some(AlarmConfiguration {
        alarm: "location-alarm".to_owned(),
        ignore_poll_alarm_failure: true,
    });
    accounts.targets = Some(Target::Tag {
        key: "Patch".to_owned(),
        values: vec!["yes".to_owned()],
    });
    accounts.targets_max_concurrency = Some(Concurrency::parse("10%").expect("valid"));
    accounts.targets_max_errors = Some(ErrorThreshold::parse("5%").expect("valid"));
    let mut ou = TargetLocation::new(
        vec!["ou-ab12-cdef3456".parse().expect("an OU id")],
        vec![region("us-west-2")],
    );
    ou.include_child_organization_units = true;
    ou.exclude_accounts = vec![account("777788889999")];
    ou.target_location_max_concurrency = Some(Concurrency::parse("50%").expect("valid"));
    ou.target_location_max_errors = Some(ErrorThreshold::parse("0").expect("valid"));
    StartAutomation {
        document: "Fabric-PatchBaseline".to_owned(),
        document_version: Some("3".to_owned()),
        parameters: [("Operation".to_owned(), vec!["Install".to_owned()])].into(),
        target_parameter_name: Some("InstanceId".to_owned()),
        targets: vec![(
            "ParameterValues".to_owned(),
            vec!["i-0123".to_owned(), "i-0456".to_owned()],
        )],
        max_concurrency: Some("5".to_owned()),
        max_errors: Some("1".to_owned()),
        target_locations: vec![accounts, ou],
        client_token: "5f0c2b9e-8d1a-5c3e-9f47-0b6d2a1e4c88".to_owned(),
        alarm: Some(("run-alarm".to_owned(), false)),
    }
}

/// The `StartAutomationExecution` request [`two_location_start`] is, written out.
fn two_location_request() -> StartAutomationExecutionInput {
    StartAutomationExecutionInput::builder()
        .document_name("Fabric-PatchBaseline")
        .document_version("3")
        .parameters("Operation", vec!["Install".to_owned()])
        .target_parameter_name("InstanceId")
        .targets(sdk_target("ParameterValues", &["i-0123", "i-0456"]))
        .max_concurrency("5")
        .max_errors("1")
        .target_locations(
            SdkTargetLocation::builder()
                .accounts("111122223333")
                .accounts("444455556666")
                .regions("us-east-1")
                .regions("eu-west-1")
                .execution_role_name("FabricExecution")
                .target_location_max_concurrency("2")
                .target_location_max_errors("1")
                .target_location_alarm_configuration(sdk_alarm("location-alarm", true))
                .include_child_organization_units(false)
                .targets(sdk_target("tag:Patch", &["yes"]))
                .targets_max_concurrency("10%")
                .targets_max_errors("5%")
                .build(),
        )
        .target_locations(
            SdkTargetLocation::builder()
                .accounts("ou-ab12-cdef3456")
                .regions("us-west-2")
                .execution_role_name("AWS-SystemsManager-AutomationExecutionRole")
                .target_location_max_concurrency("50%")
                .target_location_max_errors("0")
                .include_child_organization_units(true)
                .exclude_accounts("777788889999")
                .build(),
        )
        .alarm_configuration(sdk_alarm("run-alarm", false))
        .client_token("5f0c2b9e-8d1a-5c3e-9f47-0b6d2a1e4c88")
        .build()
        .expect("a request")
}

/// One of a multi-location parent's steps, as SSM lists it: the location it ran in (one
/// account, one Region) and, once started, the child execution's id in its outputs.
fn location_step_execution(
    account: &str,
    region_name: &str,
    status: AutomationExecutionStatus,
    child: Option<&str>,
) -> StepExecution {
    StepExecution::builder()
        .step_name(format!("Fabric-PatchBaseline-{account}-{region_name}"))
        .action("aws:executeAutomation")
        .step_status(status)
        .target_location(
            SdkTargetLocation::builder()
                .accounts(account)
                .regions(region_name)
                .execution_role_name("FabricExecution")
                .build(),
        )
        .set_outputs(child.map(|id| [("ExecutionId".to_owned(), vec![id.to_owned()])].into()))
        .build()
}

fn error_metadata(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[tokio::test]
async fn when_a_run_starts_in_two_target_locations_then_ssm_is_asked_for_exactly_those_locations() {
    // Given SSM, which answers only the request the start should be
    let expected = two_location_request();
    let start = mock!(Client::start_automation_execution)
        .match_requests(move |request| request == &expected)
        .then_output(|| {
            StartAutomationExecutionOutput::builder()
                .automation_execution_id(PARENT_ID)
                .build()
        });
    let automation = automation(RuleMode::MatchAny, &[&start]);

    // When the run starts
    let id = automation.start(&two_location_start()).await;

    // Then it was asked once, and the run has SSM's execution id
    assert_eq!(id.expect("started"), PARENT_ID);
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn when_ssm_answers_a_start_without_an_execution_id_then_the_start_fails() {
    // Given SSM, which answers a start without an id
    let start = mock!(Client::start_automation_execution)
        .then_output(|| StartAutomationExecutionOutput::builder().build());
    let automation = automation(RuleMode::MatchAny, &[&start]);

    // When a run starts
    let result = automation.start(&two_location_start()).await;

    // Then the start fails, saying so, and is not retried
    let Err(Error::Aws {
        operation,
        message,
        retryable,
        ..
    }) = result
    else {
        panic!("expected an SSM error, got {result:?}");
    };
    assert_eq!(operation, "StartAutomationExecution");
    assert_eq!(message, "SSM returned no execution id");
    assert!(!retryable);
}

#[tokio::test]
async fn when_ssm_lists_a_parents_steps_then_each_becomes_a_location_step() {
    // Given a parent whose steps ran in one location, failed in another, and one that names no
    // location
    let steps = mock!(Client::describe_automation_step_executions)
        .match_requests(|request| {
            request.automation_execution_id() == Some(PARENT_ID)
                && request.max_results() == Some(MAX_STEPS_PER_PAGE)
                && request.next_token().is_none()
        })
        .then_output(|| {
            DescribeAutomationStepExecutionsOutput::builder()
                .step_executions(location_step_execution(
                    "111122223333",
                    "eu-west-1",
                    AutomationExecutionStatus::Success,
                    Some("child-1"),
                ))
                .step_executions(
                    StepExecution::builder()
                        .step_name("Fabric-PatchBaseline-444455556666-us-east-1")
                        .step_status(AutomationExecutionStatus::Failed)
                        .failure_message("The role FabricExecution could not be assumed")
                        .target_location(
                            SdkTargetLocation::builder()
                                .accounts("444455556666")
                                .regions("us-east-1")
                                .build(),
                        )
                        .build(),
                )
                .step_executions(
                    StepExecution::builder()
                        .step_name("Approve")
                        .step_status(AutomationExecutionStatus::Pending)
                        .build(),
                )
                .build()
        });
    let automation = automation(RuleMode::MatchAny, &[&steps]);

    // When the parent's location steps are read
    let read = automation.location_steps(PARENT_ID).await;

    // Then each step has its location, status, failure and child; the last has no location
    assert_eq!(
        read.expect("read"),
        vec![
            LocationStep {
                location: Some(location("111122223333", "eu-west-1")),
                status: AutomationStatus::Success,
                failure_message: None,
                child_execution_id: Some("child-1".to_owned()),
            },
            LocationStep {
                location: Some(location("444455556666", "us-east-1")),
                status: AutomationStatus::Failed,
                failure_message: Some("The role FabricExecution could not be assumed".to_owned()),
                child_execution_id: None,
            },
            LocationStep {
                location: None,
                status: AutomationStatus::Pending,
                failure_message: None,
                child_execution_id: None,
            },
        ]
    );
}

#[tokio::test]
async fn when_ssm_lists_the_steps_in_two_pages_then_every_step_is_read_once() {
    // Given a parent whose steps SSM lists in two pages
    let first_page = mock!(Client::describe_automation_step_executions)
        .match_requests(|request| request.next_token().is_none())
        .then_output(|| {
            DescribeAutomationStepExecutionsOutput::builder()
                .step_executions(location_step_execution(
                    "111122223333",
                    "us-east-1",
                    AutomationExecutionStatus::Success,
                    Some("child-1"),
                ))
                .step_executions(location_step_execution(
                    "111122223333",
                    "eu-west-1",
                    AutomationExecutionStatus::Inprogress,
                    Some("child-2"),
                ))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::describe_automation_step_executions)
        .match_requests(|request| {
            request.automation_execution_id() == Some(PARENT_ID)
                && request.next_token() == Some("page-2")
        })
        .then_output(|| {
            DescribeAutomationStepExecutionsOutput::builder()
                .step_executions(location_step_execution(
                    "444455556666",
                    "us-east-1",
                    AutomationExecutionStatus::Success,
                    Some("child-3"),
                ))
                .build()
        });
    let automation = automation(RuleMode::MatchAny, &[&first_page, &second_page]);

    // When the parent's location steps are read
    let read = automation.location_steps(PARENT_ID).await.expect("read");

    // Then the steps of both pages are read, in order, and each page was asked once
    let read: Vec<_> = read
        .iter()
        .map(|step| {
            (
                step.location.clone(),
                step.status,
                step.child_execution_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            (
                Some(location("111122223333", "us-east-1")),
                AutomationStatus::Success,
                Some("child-1"),
            ),
            (
                Some(location("111122223333", "eu-west-1")),
                AutomationStatus::InProgress,
                Some("child-2"),
            ),
            (
                Some(location("444455556666", "us-east-1")),
                AutomationStatus::Success,
                Some("child-3"),
            ),
        ]
    );
    assert_eq!((first_page.num_calls(), second_page.num_calls()), (1, 1));
}

#[tokio::test]
async fn when_ssm_reports_progress_counters_then_the_execution_has_its_step_counts() {
    // Given an execution in progress with its steps counted
    let get = mock!(Client::get_automation_execution)
        .match_requests(|request| request.automation_execution_id() == Some(PARENT_ID))
        .then_output(|| {
            GetAutomationExecutionOutput::builder()
                .automation_execution(
                    AutomationExecution::builder()
                        .automation_execution_id(PARENT_ID)
                        .automation_execution_status(AutomationExecutionStatus::Inprogress)
                        .outputs("Summary", vec!["4 of 6 done".to_owned()])
                        .resolved_targets(
                            ResolvedTargets::builder()
                                .parameter_values("i-0123")
                                .parameter_values("i-0456")
                                .build(),
                        )
                        .progress_counters(
                            ProgressCounters::builder()
                                .total_steps(6)
                                .success_steps(2)
                                .failed_steps(1)
                                .cancelled_steps(0)
                                .timed_out_steps(1)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let automation = automation(RuleMode::MatchAny, &[&get]);

    // When the execution is read
    let state = automation.execution(PARENT_ID).await;

    // Then it has SSM's status, outputs, targets and step counts
    assert_eq!(
        state.expect("read"),
        ExecutionState {
            status: AutomationStatus::InProgress,
            failure_message: None,
            outputs: [("Summary".to_owned(), vec!["4 of 6 done".to_owned()])].into(),
            resolved_targets: vec!["i-0123".to_owned(), "i-0456".to_owned()],
            step_counts: Some(StepCounts {
                total: 6,
                success: 2,
                failed: 1,
                cancelled: 0,
                timed_out: 1,
            }),
        }
    );
}

#[tokio::test]
async fn when_ssm_reports_a_status_the_fabric_does_not_know_then_it_is_read_as_unrecognized() {
    // Given an execution whose status is none of SSM's documented ones (one added later)
    let get = mock!(Client::get_automation_execution).then_output(|| {
        GetAutomationExecutionOutput::builder()
            .automation_execution(
                AutomationExecution::builder()
                    .automation_execution_id(PARENT_ID)
                    .automation_execution_status(AutomationExecutionStatus::from("Hibernating"))
                    .build(),
            )
            .build()
    });
    let automation = automation(RuleMode::MatchAny, &[&get]);

    // When the execution is read
    let execution = automation.execution(PARENT_ID).await.expect("read");

    // Then it is unrecognized: ended (the run does not wait on it forever), not a success
    assert_eq!(execution.status, AutomationStatus::Unrecognized);
    assert!(execution.status.is_final());
    assert!(!execution.status.is_success());
}

#[tokio::test]
async fn when_ssm_throttles_a_start_then_the_error_is_retryable() {
    // Given SSM, which throttles the start
    let start = mock!(Client::start_automation_execution).then_error(|| {
        StartAutomationExecutionError::generic(error_metadata(
            "ThrottlingException",
            "Rate exceeded",
        ))
    });
    let automation = automation(RuleMode::MatchAny, &[&start]);

    // When a run starts
    let error = automation
        .start(&two_location_start())
        .await
        .expect_err("throttled");

    // Then the error keeps SSM's code and message, and says a retry can help
    assert_eq!(error.error_type(), "Fabric.Retryable");
    let Error::Aws {
        service,
        operation,
        code,
        message,
        retryable,
        ..
    } = error
    else {
        panic!("expected an SSM error, got {error:?}");
    };
    assert_eq!(
        (service, operation, code.as_deref(), message.as_str()),
        (
            "ssm",
            "StartAutomationExecution",
            Some("ThrottlingException"),
            "Rate exceeded"
        )
    );
    assert!(retryable);
}

/// The API reference (`StartAutomationExecution`, Errors): `AutomationExecutionLimitExceededException`,
/// "The number of simultaneously running Automation executions exceeded the allowable limit."
/// It passes as running automations end, so the start is retried with backoff.
#[tokio::test]
async fn when_ssm_answers_the_concurrent_automation_limit_then_the_start_is_retryable() {
    // Given SSM, at its limit of running automations
    let start = mock!(Client::start_automation_execution).then_error(|| {
        StartAutomationExecutionError::generic(error_metadata(
            "AutomationExecutionLimitExceededException",
            "The number of simultaneously running Automation executions exceeded the allowable limit.",
        ))
    });
    let automation = automation(RuleMode::MatchAny, &[&start]);

    // When a run starts
    let error = automation
        .start(&two_location_start())
        .await
        .expect_err("at the limit");

    // Then the step is retried (the state machine retries Fabric.Retryable with backoff)
    assert_eq!(error.error_type(), "Fabric.Retryable");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn when_ssm_denies_access_then_the_error_is_not_retryable() {
    // Given SSM, which denies reading the execution
    let get = mock!(Client::get_automation_execution).then_error(|| {
        GetAutomationExecutionError::generic(error_metadata(
            "AccessDeniedException",
            "User is not authorized to perform: ssm:GetAutomationExecution",
        ))
    });
    let automation = automation(RuleMode::MatchAny, &[&get]);

    // When the execution is read
    let error = automation
        .execution(PARENT_ID)
        .await
        .expect_err("access denied");

    // Then the error keeps SSM's code, and says a retry would not help
    assert_eq!(error.error_type(), "Fabric.Aws");
    let Error::Aws {
        operation,
        code,
        retryable,
        ..
    } = error
    else {
        panic!("expected an SSM error, got {error:?}");
    };
    assert_eq!(operation, "GetAutomationExecution");
    assert_eq!(code.as_deref(), Some("AccessDeniedException"));
    assert!(!retryable);
}
