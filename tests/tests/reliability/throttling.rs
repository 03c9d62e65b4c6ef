//! Throttling: runs, onboarding and the reconciler under 30% throttled calls and SSM's TPS
//! limits end as clean ones, at the suite's scale and at 4,000 locations.

use super::*;

#[tokio::test]
async fn when_calls_are_throttled_then_a_run_ends_with_the_clean_runs_report() {
    let world = Organization::of(20)
        .onboarded()
        .without_role(1)
        .failing_instances(1)
        .world()
        .await;
    let accounts = world.member_accounts();

    let spec = spec_over(&world, &accounts, 3);
    let clean = run(&world, "clean", &spec).await;
    world.faults(throttling());
    let started = Instant::now();
    let throttled = run(&world, "throttled", &spec).await;
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
    let world = Organization::of(6)
        .onboarded()
        .without_shares(2)
        .without_role(1)
        .without_instances()
        .world()
        .await;
    let joined = world.create_account("joined-under-throttling").await;
    world.faults(throttling());

    let report = world
        .onboard(fabric_tests::joined(&joined, "throttled-join"))
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
    let repaired = world.reconcile(false).await;
    assert!(repaired.errors.is_empty(), "{:?}", repaired.errors);
    let stats = world.stats();

    world.faults(FaultSettings::default());
    let check = world.reconcile(true).await;
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
#[ignore = "heavy (1,000 accounts x 4 Regions): scripts/bench runs it with --run-ignored"]
async fn when_a_run_covers_4000_locations_under_throttling_then_each_is_reported_once() {
    let world = Organization::of(1000)
        .regions(&["us-east-1", "us-west-2", "eu-central-1", "eu-west-1"])
        .onboarded()
        .without_instances()
        .world()
        .await;
    let accounts = world.member_accounts();
    world.faults(throttling());
    let started = Instant::now();
    let mut spec = spec_over(&world, &accounts, 4);
    spec.target_locations[0].targets = None;
    let report = run(&world, "four-thousand", &spec).await;
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
