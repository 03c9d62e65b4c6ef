//! A fault at each step becomes a reported status: denied roles, Regions not enabled, missing
//! documents, SSM's share limit, failed shares, publishes and stores.

use super::*;

#[tokio::test]
async fn when_assume_role_is_denied_in_one_account_then_its_locations_say_so_and_the_rest_complete()
{
    let world = Organization::of(4).onboarded().world().await;
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
    let world = Organization::of(3).onboarded().world().await;
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
    let world = Organization::of(2)
        .onboarded()
        .without_instances()
        .world()
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
    let world = Organization::of(2)
        .onboarded()
        .without_instances()
        .world()
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
    let world = Organization::of(2)
        .onboarded()
        .without_instances()
        .world()
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
    let world = Organization::of(2)
        .onboarded()
        .without_instances()
        .world()
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
