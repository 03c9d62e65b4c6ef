//! A fault at each step becomes a reported status: denied roles, Regions not enabled, missing
//! documents, SSM's share limit, failed shares, publishes and stores.

use super::*;
use fabric::driver::{Event, Observer};
use fabric::workflow::{RunStep, StepError};

#[tokio::test]
async fn when_assume_role_is_denied_in_one_account_then_its_locations_say_so_and_the_rest_complete()
{
    let world = Organization::of(4).onboarded().world().await;
    let accounts = world.member_accounts();
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
    let report = run(&world, "denied", &spec_over(&world, &accounts, 2)).await;
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
    let world = Organization::of(3).onboarded().world().await;
    let accounts = world.member_accounts();
    let region = world.config.regions[1].clone();
    world.org.stack.simulator().api().engine().regions().set(
        fabric_simulator::account::RegionChange {
            account: accounts[0].to_string(),
            region: region.to_string(),
            enabled: false,
        },
    );
    let report = run(&world, "region-off", &spec_over(&world, &accounts, 2)).await;
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

#[tokio::test]
async fn when_a_document_is_missing_in_one_region_then_only_its_share_there_fails() {
    let world = Organization::of(2).without_instances().world().await;
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
    let world = onboarded_without_instances(2).await;
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
    let world = onboarded_without_instances(2).await;
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

/// What went wrong in a workflow: each step error its Catch took, and the workflow states
/// kept as undelivered.
#[derive(Debug, Default)]
struct Failures {
    caught: Vec<(&'static str, StepError)>,
    undelivered: usize,
}

impl Observer for Failures {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Caught { state, error } => self.caught.push((state, error.clone())),
            Event::Undelivered(_) => self.undelivered += 1,
            _ => {}
        }
    }
}

/// A run of `spec` whose report cannot be published: the workflow fails `PublishFailed`
/// and keeps its state as undelivered; the run's id and the step's error.
async fn unpublished(world: &World, request_id: &str, spec: &RunSpec) -> (String, StepError) {
    let mut failures = Failures::default();
    let driven = world
        .local_runs()
        .drive(request_id, spec, &mut failures)
        .await;
    assert_eq!(
        driven.outcome.end,
        End::Failed {
            state: "PublishFailed",
            error: "Fabric.PublishFailed"
        }
    );
    assert_eq!(failures.undelivered, 1, "the workflow's state is kept");
    let [(state, error)] = failures.caught.as_slice() else {
        panic!("one step failed: {:?}", failures.caught);
    };
    assert_eq!(*state, "PublishReport");
    (driven.state.plan.run_id, error.clone())
}

#[tokio::test]
async fn when_publishing_fails_then_it_is_retried_and_a_lasting_failure_surfaces_with_the_report_kept()
 {
    let world = onboarded_without_instances(2).await;
    let spec = spec_over(&world, &world.member_accounts(), 1);

    // A passing failure: the SDK's retry publishes.
    world.faults(FaultSettings {
        errors: vec![scripted("sns.Publish", None, "InternalError", 500, Some(1))],
        ..FaultSettings::default()
    });
    let passing = world
        .local_runs()
        .drive("publish-once", &spec, &mut ())
        .await;
    assert_eq!(passing.outcome.end, End::Succeeded("RunReported"));
    assert!(
        passing
            .outcome
            .published
            .and_then(|published| published.message_id)
            .is_some(),
        "published after a retry"
    );

    // A lasting failure: a typed error (the workflow keeps the run in its undelivered-reports
    // queue), and the report itself is stored.
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
    let began = chrono::Utc::now();
    let (run_id, error) = unpublished(&world, "publish-never", &spec).await;
    let ended = chrono::Utc::now();
    assert!(error.cause.contains("AuthorizationError"), "{error}");
    let mut stored = Vec::new();
    for at in [began, ended] {
        let key = fabric::stored_run::index_key(&run_id, at);
        stored.extend(
            world
                .runs
                .store
                .get(&key)
                .await
                .expect("the report is read"),
        );
    }
    assert!(
        stored.iter().any(|report| !report.is_empty()),
        "the report is stored"
    );
    let stats = world.stats();
    record_figures(
        "publish-failures",
        &serde_json::json!({
            "injected": "sns:Publish failing once (500), then always (403)",
            "publishes_attempted": world.forwarded("sns.Publish"),
            "failed_publish_surfaced_as": error.error,
            "report_kept_in_s3": true,
            "workflow_kept_undelivered": true,
            "scripted_errors": stats.scripted,
        }),
    );
}

#[tokio::test]
async fn when_storing_the_report_fails_then_the_error_surfaces_and_nothing_is_published() {
    let world = onboarded_without_instances(2).await;
    let spec = spec_over(&world, &world.member_accounts(), 1);
    let local = world.local_runs();
    let run_id = run(&world, "store", &spec).await.run_id;
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
    // One attempt of the step (the workflow retries it as it retries any Fabric.Retryable).
    let error =
        fabric::steps::run::publish_run_report(&local.ports(), RunStep { run_id }, None, None)
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
