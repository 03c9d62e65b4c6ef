//! The reliability suite: the fabric's promises kept when AWS misbehaves and events are odd,
//! against a private local stack with the real SDK clients and the simulator's fault
//! injection: throttling (30% of calls and SSM's TPS limits), a fault at each step, duplicate
//! and out-of-order deliveries, the accounting invariant, and steps killed midway and retried.
//! Each scenario writes its figures to `.local/reliability/<scenario>.json`, which
//! `scripts/bench` gathers into RELIABILITY.md.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking
#![allow(clippy::too_many_lines)] // a scenario reads top to bottom

use fabric::driver::End;
use fabric::events::TriggerEvent;
use fabric::model::{
    AccountId, AccountOrOu, Concurrency, ErrorThreshold, LocationStatus, OnboardingAction,
    RoleOutcome, RunReport, RunRequest, RunTrigger, ShareOutcome, Target, TargetLocation,
};
use fabric::onboarding::{self, onboarding_action};
use fabric::ports::{ReportStore, Workflows};
use fabric::runs::{self, RunState};
use fabric_simulator::faults::{CallStats, FaultSettings, ScriptedError};
use fabric_tests::{World, account_created, world};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// 30% of calls throttled, SSM's TPS limits on, forwarded calls (Organizations, STS, S3,
/// SNS, CloudFormation, document sharing) throttled too.
fn throttling() -> FaultSettings {
    FaultSettings {
        throttle_rate: 0.3,
        tps_limits: true,
        throttle_forwarded: true,
        seed: 42,
        ..FaultSettings::default()
    }
}

fn scripted(
    operation: &str,
    matching: Option<&str>,
    code: &str,
    status: u16,
    times: Option<u64>,
) -> ScriptedError {
    ScriptedError {
        operation: operation.to_owned(),
        matching: matching.map(str::to_owned),
        code: code.to_owned(),
        message: String::new(),
        status,
        times,
    }
}

impl Faulty for World {
    fn faults(&self, settings: FaultSettings) {
        self.org.stack.simulator().faults().configure(settings);
    }

    fn stats(&self) -> CallStats {
        self.org.stack.simulator().faults().stats()
    }
}

/// Fault control over a world's simulator.
trait Faulty {
    fn faults(&self, settings: FaultSettings);
    fn stats(&self) -> CallStats;
}

/// Writes a scenario's figures where `scripts/bench` finds them.
fn record_figures(scenario: &str, figures: &serde_json::Value) {
    let dir = fabric_simulator::stack::local_dir(&fabric_tests::workspace()).join("reliability");
    std::fs::create_dir_all(&dir).expect("the figures folder");
    std::fs::write(
        dir.join(format!("{scenario}.json")),
        serde_json::to_vec_pretty(figures).expect("JSON"),
    )
    .expect("the figures are written");
}

/// A request over `accounts` in `regions`, every location at once, every error tolerated: the
/// statuses depend only on the organization, not on timing.
fn request_over(world: &World, accounts: &[AccountId], regions: usize) -> RunRequest {
    let mut location = TargetLocation::new(
        accounts.iter().cloned().map(AccountOrOu::Account).collect(),
        world.org.seed.regions[..regions]
            .iter()
            .map(|region| fabric::model::Region::new(region.as_str()).expect("valid"))
            .collect(),
    );
    location.target_location_max_concurrency = Some(Concurrency::parse("100%").expect("valid"));
    location.target_location_max_errors = Some(ErrorThreshold::parse("100%").expect("valid"));
    location.targets = Some(Target::Tag {
        key: "Patch".to_owned(),
        values: vec!["true".to_owned()],
    });
    let mut spec = world
        .config
        .profile("patch-baseline")
        .expect("profile")
        .clone();
    spec.waves = Vec::new();
    spec.target_locations = vec![location];
    RunRequest {
        profile: None,
        spec,
        trigger: RunTrigger::Manual {
            requested_by: "reliability".to_owned(),
        },
    }
}

fn member_accounts(world: &World) -> Vec<AccountId> {
    world
        .org
        .seed
        .accounts
        .iter()
        .map(|account| AccountId::new(account.id.as_str()).expect("valid"))
        .collect()
}

/// Each location's status, keyed by location; panics when a location is reported twice.
fn statuses(report: &RunReport) -> BTreeMap<String, LocationStatus> {
    let mut statuses = BTreeMap::new();
    for result in report.locations() {
        let previous = statuses.insert(result.location.to_string(), result.status.clone());
        assert!(previous.is_none(), "{} is reported twice", result.location);
    }
    statuses
}

/// What each location's result says, keyed by location: its status, SSM's failure message and
/// its targets' results (not the ids of this run's executions).
fn outcomes(report: &RunReport) -> BTreeMap<String, serde_json::Value> {
    report
        .locations()
        .map(|result| {
            let outcome = serde_json::json!({
                "status": result.status,
                "failure_message": result.failure_message,
                "targets": result.targets,
            });
            (result.location.to_string(), outcome)
        })
        .collect()
}

/// The locations whose child execution could not be read (a call that ran out of retries).
fn unread(report: &RunReport) -> Vec<String> {
    report
        .locations()
        .filter(|result| {
            result
                .failure_message
                .as_deref()
                .is_some_and(|message| message.contains(runs::CHILD_UNREAD))
        })
        .map(|result| format!("{}: {:?}", result.location, result.failure_message))
        .collect()
}

async fn run(world: &World, run_id: &str, request: RunRequest) -> RunReport {
    let plan = fabric_tests::plan(&world.runs, &world.config, run_id, request).await;
    let planned = plan.planned_count() + plan.skipped.len();
    let report = fabric_tests::carry_out(&world.runs, &world.config, plan).await;
    assert_eq!(
        report.locations().len(),
        planned,
        "every planned location, once"
    );
    report
}

#[tokio::test]
async fn when_calls_are_throttled_then_a_run_ends_with_the_clean_runs_report() {
    let world = world(&[
        "--accounts",
        "20",
        "--onboard",
        "--without-role",
        "1",
        "--failing-instances",
        "1",
    ])
    .await;
    let accounts = member_accounts(&world);

    let clean = run(&world, "clean", request_over(&world, &accounts, 3)).await;
    world.faults(throttling());
    let started = Instant::now();
    let throttled = run(&world, "throttled", request_over(&world, &accounts, 3)).await;
    let elapsed = started.elapsed();
    let stats = world.stats();

    assert_eq!(
        statuses(&throttled),
        statuses(&clean),
        "the same status for every location"
    );
    assert_eq!(
        outcomes(&throttled),
        outcomes(&clean),
        "the same failure messages and target results: no read ran out of retries"
    );
    assert_eq!(clean.locations().len(), 60);
    let counts = clean.counts_by_status();
    assert!(
        counts.len() > 1,
        "the run has successes and failures: {counts:?}"
    );
    assert!(
        stats.throttled_total() >= 5,
        "throttling was injected: {:?}",
        stats.throttled
    );
    record_figures(
        "throttled-run",
        &serde_json::json!({
            "injected": "30% of calls throttled (Automation and forwarded), SSM TPS limits on",
            "locations_reported": throttled.locations().len(),
            "outcomes_equal_to_clean_run": true,
            "locations_unread": unread(&throttled).len(),
            "calls_retried": stats.throttled_total(),
            "retried_by_operation": stats.throttled,
            "seconds": elapsed.as_secs_f64(),
        }),
    );
}

#[tokio::test]
async fn when_calls_are_throttled_then_onboarding_and_reconcile_leave_every_share_and_role_in_place()
 {
    let world = world(&[
        "--accounts",
        "6",
        "--onboard",
        "--without-shares",
        "2",
        "--without-role",
        "1",
        "--instances-per-location",
        "0",
    ])
    .await;
    let joined = world.create_account("joined-under-throttling").await;
    world.faults(throttling());

    let report = world
        .onboard(&joined, OnboardingAction::Onboard, "throttled-join", false)
        .await
        .expect("onboards under throttling");
    assert!(
        report
            .shares
            .iter()
            .all(|share| share.outcome == ShareOutcome::Shared),
        "{:?}",
        report.shares
    );
    assert_eq!(report.role, RoleOutcome::Deployed);
    let repaired = onboarding::reconcile(
        &world.onboarding.directory,
        &world.onboarding.documents,
        &world.onboarding.roles,
        &world.config,
        false,
    )
    .await
    .expect("reconciles under throttling");
    assert!(repaired.errors.is_empty(), "{:?}", repaired.errors);
    let stats = world.stats();

    world.faults(FaultSettings::default());
    let check = onboarding::reconcile(
        &world.onboarding.directory,
        &world.onboarding.documents,
        &world.onboarding.roles,
        &world.config,
        true,
    )
    .await
    .expect("a dry run");
    assert!(
        check.in_sync(),
        "shares or roles missing after the throttled repair: {check:?}"
    );
    assert!(
        stats.throttled_total() >= 3,
        "throttling was injected: {:?}",
        stats.throttled
    );
    record_figures(
        "throttled-onboarding",
        &serde_json::json!({
            "injected": "30% of forwarded calls throttled (Organizations, SSM sharing, CloudFormation, STS)",
            "accounts_repaired_or_onboarded": repaired.roles_deployed.len() + 1,
            "in_sync_afterwards": true,
            "calls_retried": stats.throttled_total(),
            "retried_by_operation": stats.throttled,
        }),
    );
}

#[tokio::test]
async fn when_assume_role_is_denied_in_one_account_then_its_locations_say_so_and_the_rest_complete()
{
    let world = world(&["--accounts", "4", "--onboard"]).await;
    let accounts = member_accounts(&world);
    let denied = accounts[1].clone();
    world.faults(FaultSettings {
        errors: vec![scripted(
            "sts.AssumeRole",
            Some(denied.as_str()),
            "AccessDenied",
            403,
            None,
        )],
        ..FaultSettings::default()
    });
    let report = run(&world, "denied", request_over(&world, &accounts, 2)).await;
    for result in report.locations() {
        let message = result.failure_message.clone().unwrap_or_default();
        if result.location.account_id == denied {
            assert!(
                message.contains(runs::CHILD_UNREAD) && message.contains("AccessDenied"),
                "{}: {message}",
                result.location
            );
        } else {
            assert_eq!(
                result.status,
                LocationStatus::Automation(fabric::model::AutomationStatus::Success),
                "{}: {message}",
                result.location
            );
            assert!(
                !result.targets.is_empty(),
                "{}: the child's targets were read",
                result.location
            );
        }
    }
    record_figures(
        "assume-role-denied",
        &serde_json::json!({
            "injected": "AccessDenied on sts:AssumeRole into one account's results role",
            "locations_reported": report.locations().len(),
            "locations_with_the_reason": report.locations().filter(|r| r.location.account_id == denied).count(),
        }),
    );
}

#[tokio::test]
async fn when_a_region_is_not_enabled_then_its_location_is_skipped_with_the_reason() {
    let world = world(&["--accounts", "3", "--onboard"]).await;
    let accounts = member_accounts(&world);
    let region = world.config.regions[1].clone();
    world.org.stack.simulator().api().engine().regions().set(
        fabric_simulator::regions::RegionChange {
            account: accounts[0].to_string(),
            region: region.to_string(),
            enabled: false,
        },
    );
    let report = run(&world, "region-off", request_over(&world, &accounts, 2)).await;
    let off = report
        .locations()
        .find(|result| {
            result.location.account_id == accounts[0] && result.location.region == region
        })
        .expect("the location is in the report");
    let LocationStatus::Skipped(reason) = &off.status else {
        panic!("{:?}", off.status);
    };
    assert!(reason.contains("not enabled"), "{reason}");
    assert_eq!(report.locations().len(), 6);
    assert_eq!(
        report
            .locations()
            .filter(|r| r.status
                == LocationStatus::Automation(fabric::model::AutomationStatus::Success))
            .count(),
        5
    );
}

/// The onboarding of a newly created account under `faults`.
async fn onboard_new_account(
    world: &World,
    faults: FaultSettings,
) -> fabric::model::OnboardingReport {
    let joined = world.create_account("joined").await;
    world.faults(faults);
    world
        .onboard(&joined, OnboardingAction::Onboard, "joined", false)
        .await
        .expect("the onboarding report")
}

#[tokio::test]
async fn when_a_document_is_missing_in_one_region_then_only_its_share_there_fails() {
    let world = world(&["--accounts", "2", "--instances-per-location", "0"]).await;
    let missing = world.org.seed.documents[0].clone();
    let region = world.config.regions[1].to_string();
    aws_sdk_ssm::Client::new(
        &fabric_tests::central_config(world.org.stack.endpoint(), &region).await,
    )
    .delete_document()
    .name(&missing)
    .send()
    .await
    .expect("the document is deleted there");
    let report = onboard_new_account(&world, FaultSettings::default()).await;
    for share in &report.shares {
        let expected_failure =
            share.document.as_str() == missing && share.region.as_str() == region;
        match (&share.outcome, expected_failure) {
            (ShareOutcome::Failed(reason), true) => assert!(reason.contains(&missing), "{reason}"),
            (ShareOutcome::Shared, false) => {}
            (outcome, _) => panic!("{} in {}: {outcome:?}", share.document, share.region),
        }
    }
    assert!(
        report
            .shares
            .iter()
            .any(|share| matches!(share.outcome, ShareOutcome::Failed(_)))
    );
    assert_eq!(report.role, RoleOutcome::Deployed);
}

#[tokio::test]
async fn when_ssm_answers_the_share_limit_then_that_share_is_reported_as_limit_reached() {
    let world = world(&[
        "--accounts",
        "2",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let full = world.org.seed.documents[0].clone();
    let report = onboard_new_account(
        &world,
        FaultSettings {
            errors: vec![scripted(
                "AmazonSSM.ModifyDocumentPermission",
                Some(&format!("\"Name\":\"{full}\"")),
                "DocumentPermissionLimit",
                400,
                None,
            )],
            ..FaultSettings::default()
        },
    )
    .await;
    for share in &report.shares {
        match &share.outcome {
            ShareOutcome::LimitReached(reason) if share.document.as_str() == full => {
                assert!(reason.contains("DocumentPermissionLimit"), "{reason}");
            }
            ShareOutcome::Shared if share.document.as_str() != full => {}
            outcome => panic!("{} in {}: {outcome:?}", share.document, share.region),
        }
    }
}

#[tokio::test]
async fn when_modify_document_permission_fails_once_then_the_retry_shares_it() {
    let world = world(&[
        "--accounts",
        "2",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let report = onboard_new_account(
        &world,
        FaultSettings {
            errors: vec![scripted(
                "AmazonSSM.ModifyDocumentPermission",
                None,
                "InternalServerError",
                500,
                Some(1),
            )],
            ..FaultSettings::default()
        },
    )
    .await;
    assert!(
        report
            .shares
            .iter()
            .all(|share| share.outcome == ShareOutcome::Shared),
        "{:?}",
        report.shares
    );
    let stats = world.stats();
    assert_eq!(
        stats.scripted.get("AmazonSSM.ModifyDocumentPermission"),
        Some(&1)
    );
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        u64::try_from(report.shares.len()).expect("small") + 1,
        "one call per share, and one retry"
    );
}

#[tokio::test]
async fn when_publishing_fails_then_it_is_retried_and_a_lasting_failure_surfaces_with_the_report_kept()
 {
    let world = world(&[
        "--accounts",
        "2",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let accounts = member_accounts(&world);
    let report = run(&world, "publish", request_over(&world, &accounts, 1)).await;

    // A passing failure: the SDK's retry publishes.
    world.faults(FaultSettings {
        errors: vec![scripted("sns.Publish", None, "InternalError", 500, Some(1))],
        ..FaultSettings::default()
    });
    let published = fabric::report::publish_run(
        &report,
        &world.runs.store,
        world.runs.notifier(),
        chrono::Utc::now(),
    )
    .await
    .expect("published after a retry");
    assert!(published.message_id.is_some());

    // A lasting failure: a typed error (the state machine retries it, then keeps the run in
    // its undelivered-reports queue), and the report itself is stored.
    world.faults(FaultSettings {
        errors: vec![scripted(
            "sns.Publish",
            None,
            "AuthorizationError",
            403,
            None,
        )],
        ..FaultSettings::default()
    });
    let finished = chrono::Utc::now();
    let error =
        fabric::report::publish_run(&report, &world.runs.store, world.runs.notifier(), finished)
            .await
            .expect_err("the failure surfaces");
    assert_eq!(error.aws_code(), Some("AuthorizationError"), "{error}");
    let key = fabric::report::run_report_key(&report.run_id, finished);
    let stored = world
        .runs
        .store
        .get(&key)
        .await
        .expect("the report is read")
        .expect("the report is stored");
    assert!(!stored.is_empty());
    let stats = world.stats();
    record_figures(
        "publish-failures",
        &serde_json::json!({
            "injected": "sns:Publish failing once (500), then always (403)",
            "publishes_attempted": world.forwarded("sns.Publish"),
            "failed_publish_surfaced_as": error.error_type(),
            "report_kept_in_s3": true,
            "scripted_errors": stats.scripted,
        }),
    );
}

#[tokio::test]
async fn when_storing_the_report_fails_then_the_error_surfaces_and_nothing_is_published() {
    let world = world(&[
        "--accounts",
        "2",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let accounts = member_accounts(&world);
    let report = run(&world, "store", request_over(&world, &accounts, 1)).await;
    let publishes = world.forwarded("sns.Publish");
    world.faults(FaultSettings {
        errors: vec![scripted(
            "s3.PUT",
            Some("/reports/runs/"),
            "InternalError",
            500,
            None,
        )],
        ..FaultSettings::default()
    });
    let error = fabric::report::publish_run(
        &report,
        &world.runs.store,
        world.runs.notifier(),
        chrono::Utc::now(),
    )
    .await
    .expect_err("the failure surfaces");
    assert_eq!(error.error_type(), "Fabric.Retryable", "{error}");
    assert_eq!(
        world.forwarded("sns.Publish"),
        publishes,
        "no summary of a report that is not stored"
    );
    assert!(
        world.stats().scripted.get("s3.PUT").copied().unwrap_or(0)
            >= u64::from(fabric::aws::MAX_ATTEMPTS),
        "the SDK retried the put"
    );
}

/// The event fixture `name` as JSON, with `from` replaced by `to` throughout.
fn fixture_value(name: &str, from: &str, to: &str) -> serde_json::Value {
    let path = fabric_tests::workspace()
        .join("tests/fixtures/events")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let text = if from.is_empty() {
        text
    } else {
        text.replace(from, to)
    };
    serde_json::from_str(&text).expect("JSON")
}

/// The trigger fixture `name`, with `from` replaced by `to` throughout.
fn fixture(name: &str, from: &str, to: &str) -> TriggerEvent {
    TriggerEvent::from_value(&fixture_value(name, from, to)).expect("the fixture parses")
}

/// Polls until every started automation has ended.
async fn wait_for_end(world: &World, started: &[runs::StartedCall]) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !runs::progress(&world.runs.automation, started)
        .await
        .expect("progress")
        .done
    {
        assert!(Instant::now() < deadline, "the run did not end in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn when_each_run_trigger_is_delivered_three_times_then_one_run_starts_for_each() {
    let world = world(&["--accounts", "3", "--onboard"]).await;
    let alarm_account = &world.org.seed.accounts[0];
    let alarm_instance = alarm_account.instances["us-west-2"][0].clone();
    let mut alarm = fixture_value(
        "cloudwatch-alarm-metric-alarm.json",
        "444455556666",
        &alarm_account.id,
    );
    alarm["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        alarm_instance.into();
    let triggers = [
        fixture_value(
            "run-input-schedule-profile.json",
            "patch-baseline",
            "patch-scan-web",
        ),
        alarm,
        fixture_value(
            "run-input-manual-spec.json",
            "ou-ab12-cdef3456",
            &world.org.seed.ous["Workloads"],
        ),
    ];
    let mut runs_started = BTreeSet::new();
    let mut duplicates = 0;
    // Delivered round-robin, three times, each delivery its own workflow.
    for delivery in 0..3 {
        for (n, trigger) in triggers.iter().enumerate() {
            let execution = format!("workflow-{delivery}-{n}");
            let outcome =
                fabric_tests::deliver(&world.runs, &world.config, trigger, &execution).await;
            if let Some(run_id) = outcome.run_id() {
                assert_eq!(delivery, 0, "only the first delivery starts {run_id}");
                assert_eq!(outcome.end, End::Succeeded("RunReported"));
                runs_started.insert(run_id.to_owned());
            } else {
                {
                    assert_eq!(outcome.end, End::Succeeded("NothingToRun"));
                    let reason = outcome.accepted.and_then(|a| a.reason).unwrap_or_default();
                    assert!(
                        reason.contains(&format!("workflow-0-{n}")),
                        "the first delivery's workflow owns the run: {reason}"
                    );
                    duplicates += 1;
                }
            }
        }
    }
    assert_eq!(runs_started.len(), 3);
    assert_eq!(duplicates, 6);
    let starts = world
        .stats()
        .calls
        .get("StartAutomationExecution")
        .copied()
        .unwrap_or(0);
    let calls: usize = {
        let mut calls = 0;
        for run_id in &runs_started {
            calls += RunState::load(&world.runs.store, run_id)
                .await
                .expect("state")
                .started
                .len();
        }
        calls
    };
    assert_eq!(
        starts,
        u64::try_from(calls).expect("small"),
        "one start per planned call, none repeated"
    );
    record_figures(
        "duplicate-run-triggers",
        &serde_json::json!({
            "injected": "a schedule, an alarm and a manual trigger, each delivered 3 times round-robin",
            "runs_started": runs_started.len(),
            "duplicates_prevented": duplicates,
            "start_calls": starts,
        }),
    );
}

#[tokio::test]
async fn when_account_events_repeat_and_arrive_out_of_order_then_one_workflow_each_and_no_duplicate_change()
 {
    let world = world(&[
        "--accounts",
        "2",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let created = world.create_account("created").await;
    let managed = world.create_account("managed").await;
    let invited = world.create_account("invited").await;
    let sdk = fabric_tests::central_config(world.org.stack.endpoint(), "us-east-1").await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let machine = sfn
        .create_state_machine()
        .name("account-onboarding")
        .role_arn("arn:aws:iam::123456789012:role/onboarding")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
        .send()
        .await
        .expect("a state machine")
        .state_machine_arn;
    let workflows = fabric::aws::StepFunctionsWorkflows::new(sfn.clone(), machine.clone());

    // Out of order (Update before Create, AcceptHandshake before Invite), each three times.
    let events = [
        fixture(
            "ct-update-managed-account-succeeded.json",
            "444455556666",
            managed.as_str(),
        ),
        fixture(
            "ct-create-managed-account-succeeded.json",
            "444455556666",
            managed.as_str(),
        ),
        fixture(
            "org-accept-handshake.json",
            "444455556666",
            invited.as_str(),
        ),
        fixture("org-invite-account.json", "444455556666", invited.as_str()),
        account_created(&created),
    ];
    // Step Functions answers a repeated name with the running execution (same input) or
    // ExecutionAlreadyExists: either way, one execution per name.
    let mut workflows_started = BTreeSet::new();
    let mut deliveries = 0;
    for _ in 0..3 {
        for event in &events {
            let Some((account, action)) = onboarding_action(&event.trigger) else {
                continue; // an invitation is pending until it is accepted
            };
            let input = serde_json::json!({ "account_id": account, "action": action, "trigger_key": event.idempotency_key.as_str() });
            match workflows
                .start(event.idempotency_key.as_str(), &input)
                .await
                .expect("a start")
            {
                fabric::ports::WorkflowStart::Started(arn) => {
                    workflows_started.insert(arn);
                }
                fabric::ports::WorkflowStart::AlreadyStarted => {}
            }
            deliveries += 1;
        }
    }
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("executions")
        .executions;
    assert_eq!(
        workflows_started.len(),
        4,
        "one workflow per joining event (Create, Update, Accept, CreateAccountResult)"
    );
    assert_eq!(executions.len(), 4);
    assert_eq!(deliveries, 12);
    let duplicates = deliveries - workflows_started.len();

    // Each workflow's onboarding: the second workflow for the same account changes nothing.
    for execution in &executions {
        let input: serde_json::Value = serde_json::from_str(
            &sfn.describe_execution()
                .execution_arn(&execution.execution_arn)
                .send()
                .await
                .expect("described")
                .input
                .expect("an input"),
        )
        .expect("JSON");
        let account =
            AccountId::new(input["account_id"].as_str().expect("an account")).expect("valid");
        world
            .onboard(
                &account,
                OnboardingAction::Onboard,
                input["trigger_key"].as_str().expect("a key"),
                false,
            )
            .await
            .expect("onboards");
    }
    let shares_per_account =
        u64::try_from(world.config.sharing_regions().len() * world.org.seed.documents.len())
            .expect("small");
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        3 * shares_per_account,
        "one share per account, document and Region"
    );
    assert_eq!(
        world.forwarded("cloudformation.CreateStackInstances"),
        3,
        "one role per account"
    );
    record_figures(
        "duplicate-account-events",
        &serde_json::json!({
            "injected": "5 account events (Update before Create, Accept before Invite), each delivered 3 times",
            "workflows_started": workflows_started.len(),
            "duplicates_prevented": duplicates,
            "mutating_calls": {
                "ModifyDocumentPermission": world.forwarded("AmazonSSM.ModifyDocumentPermission"),
                "CreateStackInstances": world.forwarded("cloudformation.CreateStackInstances"),
            },
            "minimum_mutating_calls": { "ModifyDocumentPermission": 3 * shares_per_account, "CreateStackInstances": 3 },
        }),
    );
}

#[tokio::test]
async fn when_steps_are_killed_midway_and_retried_then_the_report_is_the_same() {
    let world = world(&["--accounts", "4", "--onboard", "--without-role", "1"]).await;
    let accounts = member_accounts(&world);
    let mut request = request_over(&world, &accounts, 3);
    // Two calls, so that collection can be interrupted between them.
    let second = request.spec.target_locations[0].clone();
    request.spec.target_locations[0].accounts.truncate(2);
    request.spec.target_locations.push(TargetLocation {
        accounts: second.accounts[2..].to_vec(),
        ..second
    });
    let plan = fabric_tests::plan(&world.runs, &world.config, "restart", request).await;
    let initial = RunState::new(plan);
    initial.save(&world.runs.store).await.expect("saved");
    let store = &world.runs.store;
    let pacing = Duration::from_millis(50);

    // start-run killed after it started the calls and before its saves landed: the retry
    // loads the state as it was and starts the same calls with the same tokens.
    let first = runs::start_wave(&mut initial.clone(), &world.runs.automation, store, pacing)
        .await
        .expect("started");
    initial.save(store).await.expect("the saves lost");
    let mut retried = RunState::load(store, "restart").await.expect("state");
    let again = runs::start_wave(&mut retried, &world.runs.automation, store, pacing)
        .await
        .expect("started again");
    let ids = |calls: &[runs::StartedCall]| {
        calls
            .iter()
            .map(|c| c.execution_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&first),
        ids(&again),
        "the retry finds the same automations"
    );
    wait_for_end(&world, &retried.started).await;

    // collect-results killed after its first call: the retry collects from the kept state.
    let ports = world.runs.ports(&world.config);
    fabric::steps::run::collect_call(
        &ports,
        "restart".to_owned(),
        &retried.started[0].execution_id,
    )
    .await
    .expect("collected");
    for call in &retried.started {
        fabric::steps::run::collect_call(&ports, "restart".to_owned(), &call.execution_id)
            .await
            .expect("collected");
    }
    let loaded = RunState::load(store, "restart").await.expect("state");
    let interrupted = loaded
        .report(&world.runs.automation, &world.runs.locations, store)
        .await
        .expect("report");
    let mut fresh = Vec::new();
    for call in &loaded.started {
        fresh.extend(
            runs::collect_call(call, &world.runs.automation, &world.runs.locations)
                .await
                .expect("collected"),
        );
    }
    let uninterrupted =
        runs::collect::assemble(&loaded.plan, &loaded.started, None, fresh).expect("report");
    assert_eq!(statuses(&interrupted), statuses(&uninterrupted));
    assert_eq!(interrupted.locations().len(), 12);
}

#[tokio::test]
#[ignore = "heavy (1,000 accounts x 4 Regions): scripts/bench runs it with --run-ignored"]
async fn when_a_run_covers_4000_locations_under_throttling_then_each_is_reported_once() {
    let world = world(&[
        "--accounts",
        "1000",
        "--regions",
        "us-east-1,us-west-2,eu-central-1,eu-west-1",
        "--onboard",
        "--instances-per-location",
        "0",
    ])
    .await;
    let accounts = member_accounts(&world);
    world.faults(throttling());
    let started = Instant::now();
    let mut request = request_over(&world, &accounts, 4);
    request.spec.target_locations[0].targets = None;
    let report = run(&world, "four-thousand", request).await;
    assert_eq!(statuses(&report).len(), 4000);
    let unread = unread(&report);
    assert!(
        unread.is_empty(),
        "no retry quota ran out: {} locations unread, e.g. {:?}",
        unread.len(),
        unread.first()
    );
    let stats = world.stats();
    record_figures(
        "accounting-4000",
        &serde_json::json!({
            "injected": "30% throttling and SSM TPS limits",
            "locations_planned": 4000,
            "locations_reported": report.locations().len(),
            "locations_unread": unread.len(),
            "calls_retried": stats.throttled_total(),
            "seconds": started.elapsed().as_secs_f64(),
        }),
    );
}
