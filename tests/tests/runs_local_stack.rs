//! Runs end to end against a private, seeded local stack with the real SDK clients: planning,
//! starting, tracking, collecting and publishing, for a 20-account, 3-Region organization, an
//! alarm remediation, a schedule delivered twice, and 150 runs at once past SSM's automation
//! limit.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use fabric::driver::End;
use fabric::driver::run::Follow;
use fabric::events::TriggerEvent;
use fabric::model::{
    AccountId, AccountOrOu, AutomationStatus, Concurrency, ErrorThreshold, Location,
    LocationStatus, RunReport, Target, TargetLocation,
};
use fabric::runs::{self, RunState};
use fabric_tests::{Organization, World};
use std::collections::BTreeSet;

/// 20 onboarded accounts in 3 Regions, the last two without the execution role, the first
/// with an instance scripted to fail in us-east-1; the example config with the seeded ids.
async fn organization() -> World {
    Organization::of(20)
        .onboarded()
        .without_role(2)
        .failing_instances(1)
        .world()
        .await
}

/// The planned locations of `plan`, in order.
fn planned(plan: &fabric::plan::RunPlan) -> Vec<&Location> {
    plan.waves
        .iter()
        .flat_map(fabric::plan::PlannedWave::locations)
        .collect()
}

fn status_of(report: &RunReport, location: &Location) -> LocationStatus {
    report
        .locations()
        .find(|result| &result.location == location)
        .map_or_else(
            || panic!("{location} is not in the report"),
            |result| result.status.clone(),
        )
}

#[tokio::test]
async fn when_a_run_covers_20_accounts_in_3_regions_then_all_60_locations_are_reported_and_the_threshold_stops_the_rest()
 {
    let world = organization().await;
    let (org, config) = (&world.org, &world.config);
    let accounts = world.member_accounts();
    let mut location = TargetLocation::new(
        accounts.iter().cloned().map(AccountOrOu::Account).collect(),
        config.regions.clone(),
    );
    // One location at a time, two failures tolerated: SSM starts nothing after the third.
    location.target_location_max_concurrency = Some(Concurrency::parse("1").expect("valid"));
    location.target_location_max_errors = Some(ErrorThreshold::parse("2").expect("valid"));
    location.targets = Some(Target::Tag {
        key: "Patch".to_owned(),
        values: vec!["true".to_owned()],
    });
    let spec = fabric_tests::spec_over(config, "patch-baseline", location);
    let driven = world.local_runs().drive("run-60", &spec, &mut ()).await;
    assert_eq!(driven.state.plan.planned_count(), 60);
    let report = &driven.report;
    assert_eq!(report.locations().len(), 60, "every location exactly once");

    // What SSM does, location by location in the order it starts them.
    let without_role: BTreeSet<&str> = org
        .seed
        .accounts
        .iter()
        .filter(|a| !a.execution_role)
        .map(|a| a.id.as_str())
        .collect();
    let failing = &org.seed.failing_instances[0];
    let mut failures = 0;
    for account in &accounts {
        for region in &config.regions {
            let location = Location::new(account.clone(), region.clone());
            let bad = without_role.contains(account.as_str())
                || (account.as_str() == failing.account && region.as_str() == failing.region);
            let status = status_of(report, &location);
            if failures > 2 {
                assert!(
                    matches!(status, LocationStatus::NotStarted(_)),
                    "{location}: {status:?}"
                );
            } else if bad {
                failures += 1;
                assert_eq!(
                    status,
                    LocationStatus::Automation(AutomationStatus::Failed),
                    "{location}"
                );
            } else {
                assert_eq!(
                    status,
                    LocationStatus::Automation(AutomationStatus::Success),
                    "{location}"
                );
            }
        }
    }
    let role_failure = report.locations().find(|result| {
        without_role.contains(result.location.account_id.as_str())
            && matches!(result.status, LocationStatus::Automation(_))
    });
    if let Some(result) = role_failure {
        let message = result.failure_message.as_deref().unwrap_or_default();
        assert!(message.contains("Unable to assume role"), "{message}");
    }
    assert_eq!(driven.outcome.end, End::Succeeded("RunReported"));
    let published = driven.outcome.published.as_ref().expect("published");
    assert!(
        published
            .report
            .starts_with("s3://automation-fabric-reports-123456789012/reports/runs/year="),
        "{}",
        published.report
    );
    assert!(published.message_id.is_some());
}

#[tokio::test]
async fn when_an_alarm_fires_then_its_runbook_runs_for_that_instance_in_its_account_and_region_only()
 {
    let world = organization().await;
    let account = &world.org.seed.accounts[3];
    let instance = &account.instances["us-west-2"][0];
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/events/cloudwatch-alarm-metric-alarm.json"
    ))
    .expect("fixture");
    event["account"] = account.id.clone().into();
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        instance.clone().into();
    let local = world.local_runs();
    let outcome = local
        .deliver(&event, "alarm-workflow", Follow::ToTheEnd, &mut ())
        .await;
    assert_eq!(outcome.end, End::Succeeded("RunReported"));
    let run_id = outcome.run_id().expect("the alarm asks for a run");
    let trigger = TriggerEvent::from_value(&event).expect("an alarm");
    assert_eq!(
        run_id,
        fabric::runs::run_id_for(&trigger, &world.config),
        "the run is named by the alarm, its location and its window"
    );
    let (state, report) = local.load(run_id).await;
    assert_eq!(
        state.plan.request.profile.as_deref(),
        Some("restart-instance")
    );
    let expected = Location::new(
        AccountId::new(account.id.as_str()).expect("valid"),
        fabric::model::Region::new("us-west-2").expect("valid"),
    );
    assert_eq!(
        planned(&state.plan),
        vec![&expected],
        "the alarm's account and Region only"
    );

    let result = report.locations().next().expect("one location");
    assert_eq!(
        result.status,
        LocationStatus::Automation(AutomationStatus::Success)
    );
    let targets: Vec<&str> = result
        .targets
        .iter()
        .map(|target| target.target.as_str())
        .collect();
    assert_eq!(targets, vec![instance.as_str()], "that instance only");
}

#[tokio::test]
async fn when_the_same_schedule_fires_twice_then_one_automation_starts() {
    let world = organization().await;
    let event = serde_json::json!({"schedule": {"schedule_name": "patch-window", "scheduled_time": "2026-11-22T02:00:00Z", "profile": "patch-scan-web"}});
    let local = world.local_runs();
    let first = local
        .deliver(&event, "execution-1", Follow::ToTheEnd, &mut ())
        .await;
    let second = local
        .deliver(&event, "execution-2", Follow::ToTheEnd, &mut ())
        .await;
    assert_eq!(first.end, End::Succeeded("RunReported"));
    assert_eq!(
        second.end,
        End::Succeeded("NothingToRun"),
        "the second delivery finds the run started"
    );
    let starts = world.stats().calls["StartAutomationExecution"];
    assert_eq!(starts, 1, "the second delivery started nothing new");
}

#[tokio::test]
async fn when_a_region_is_not_enabled_in_an_account_then_the_plan_skips_it_with_the_reason() {
    let world = organization().await;
    let account = &world.org.seed.accounts[0];
    world.org.stack.simulator().api().engine().regions().set(
        fabric_simulator::account::RegionChange {
            account: account.id.clone(),
            region: "us-west-2".to_owned(),
            enabled: false,
        },
    );
    let request = runs::run_request_for(
        &TriggerEvent::from_value(
            &serde_json::json!({"manual": {"requested_by": "test", "profile": "patch-scan-web"}}),
        )
        .expect("a manual run")
        .trigger,
        &world.config,
    )
    .expect("valid")
    .expect("a run");
    let plan = world.plan("run-regions", request).await;
    let skipped: Vec<(&str, &str, &str)> = plan
        .skipped
        .iter()
        .map(|skip| {
            (
                skip.location.account_id.as_str(),
                skip.location.region.as_str(),
                skip.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![(
            account.id.as_str(),
            "us-west-2",
            "the Region us-west-2 is not enabled in the account"
        )]
    );
    assert!(
        planned(&plan)
            .iter()
            .any(|location| location.account_id.as_str() == account.id
                && location.region.as_str() == "us-east-1")
    );
}

#[tokio::test]
async fn when_a_manual_run_is_a_dry_run_then_ssm_previews_it_and_nothing_starts() {
    let world = organization().await;
    let trigger = serde_json::json!({
        "manual": {"requested_by": "test", "profile": "patch-scan-web", "dry_run": true}
    });
    let event = TriggerEvent::from_value(&trigger).expect("a manual run");
    assert!(matches!(
        event.trigger,
        fabric::events::Trigger::Manual { dry_run: true, .. }
    ));
    let request = runs::run_request_for(&event.trigger, &world.config)
        .expect("valid")
        .expect("a run");
    let plan = world.plan(event.idempotency_key.as_str(), request).await;
    let accounts: BTreeSet<&AccountId> = planned(&plan).iter().map(|l| &l.account_id).collect();

    let outcome = world
        .local_runs()
        .deliver(&trigger, "dry-run", Follow::ToTheEnd, &mut ())
        .await;
    assert_eq!(outcome.end, End::Succeeded("NothingToRun"));
    let accepted = outcome.accepted.expect("StartRun answered");
    assert_eq!(accepted.run_id, None, "nothing is carried out");
    assert_eq!(accepted.locations, plan.planned_count());
    let reason = accepted.reason.unwrap_or_default();
    assert!(
        reason.contains(&format!("{} accounts, 2 Regions", accounts.len())),
        "SSM previews the planned accounts, in us-east-1 and us-west-2: {reason}"
    );
    assert!(
        !reason.contains(" 0 targets"),
        "the WebServers resource groups resolve to instances: {reason}"
    );
    assert_eq!(
        RunState::find(&world.runs.store, event.idempotency_key.as_str())
            .await
            .expect("the store answers"),
        None,
        "a dry run saves nothing"
    );
    let stats = world.stats();
    assert!(stats.calls.contains_key("StartExecutionPreview"));
    assert_eq!(
        stats.calls.get("StartAutomationExecution"),
        None,
        "a dry run starts nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_150_runs_start_at_once_in_one_account_then_the_automation_limit_is_waited_out_and_none_is_lost()
 {
    let world = Organization::of(2).onboarded().world().await;
    let endpoint = world.org.stack.endpoint().to_owned();
    let http = reqwest::Client::new();
    // SSM's quota and queue per account and Region, lowered so that 150 starts outrun them: 10
    // run, 10 wait `Pending`, the rest are refused with AutomationExecutionLimitExceededException.
    http.post(format!("{endpoint}/fabric-simulator/automation"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"concurrent": 10, "queue": 10}).to_string())
        .send()
        .await
        .expect("the simulator takes the quota")
        .error_for_status()
        .expect("a valid quota");
    let member = world.member_accounts()[0].clone();
    let mut location = TargetLocation::new(
        vec![AccountOrOu::Account(member.clone())],
        vec![world.config.regions[0].clone()],
    );
    location.targets = Some(Target::Tag {
        key: "Patch".to_owned(),
        values: vec!["true".to_owned()],
    });
    let spec = fabric_tests::spec_over(&world.config, "patch-baseline", location);
    let mut local = world.local_runs();
    let triggers: Vec<_> = (0..150)
        .map(|n| local.manual_trigger(&format!("burst-{n}"), &spec))
        .collect();

    let local = &local;
    let outcomes = futures_util::future::join_all(triggers.iter().enumerate().map(
        |(n, trigger)| async move {
            local
                .deliver(trigger, &format!("burst-{n}"), Follow::ToTheEnd, &mut ())
                .await
        },
    ))
    .await;

    let stats: serde_json::Value = http
        .get(format!("{endpoint}/fabric-simulator/stats"))
        .send()
        .await
        .expect("the simulator answers")
        .text()
        .await
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .expect("stats");
    let start_calls = stats["calls"]["StartAutomationExecution"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        start_calls > 150,
        "some starts were refused by the limit and tried again: {start_calls} calls for 150 runs"
    );
    let mut reported = 0;
    for outcome in &outcomes {
        assert_eq!(outcome.end, End::Succeeded("RunReported"), "{outcome:?}");
        let run_id = outcome.run_id().expect("a run");
        let (_, report) = local.load(run_id).await;
        let location = Location::new(member.clone(), world.config.regions[0].clone());
        assert_eq!(
            status_of(&report, &location),
            LocationStatus::Automation(AutomationStatus::Success),
            "{run_id}"
        );
        reported += 1;
    }
    assert_eq!(reported, 150, "every run reported, none lost");
}

#[tokio::test]
async fn when_ssm_refuses_the_start_as_invalid_then_the_run_ends_reported_with_its_reason_and_nothing_started()
 {
    let world = Organization::of(2).onboarded().world().await;
    let member = world.member_accounts()[0].clone();
    let location = TargetLocation::new(
        vec![AccountOrOu::Account(member.clone())],
        vec![world.config.regions[0].clone()],
    );
    let base = fabric_tests::spec_over(&world.config, "restart-instance", location);
    // Seed 001's typo, and a parameter the runbook does not declare.
    let mut typo = base.clone();
    typo.document = fabric::model::DocumentRef::parse("AWS-RestartEC2Instances").expect("a name");
    let mut undeclared = base.clone();
    undeclared.target_parameter_name = None;
    undeclared.parameters.insert(
        "InstanceIds".to_owned(),
        vec!["i-0123456789abcdef0".to_owned()],
    );
    let mut local = world.local_runs();
    for (request_id, spec, reason) in [
        ("typo", &typo, "AutomationDefinitionNotFoundException"),
        (
            "undeclared",
            &undeclared,
            "InvalidAutomationExecutionParametersException",
        ),
    ] {
        let driven = local.drive(request_id, spec, &mut ()).await;
        assert_eq!(
            driven.outcome.end,
            End::Failed {
                state: "RunFailed",
                error: "Fabric.RunFailed"
            },
            "{request_id}"
        );
        assert!(
            driven.state.started.is_empty(),
            "{request_id}: nothing was started"
        );
        let result = driven
            .report
            .locations()
            .next()
            .expect("the location is reported");
        let LocationStatus::NotStarted(why) = &result.status else {
            panic!("{request_id}: {:?}", result.status);
        };
        assert!(
            why.contains("StartWave failed") && why.contains(reason),
            "{request_id}: the report names SSM's reason: {why}"
        );
    }
}
