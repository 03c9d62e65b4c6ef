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
    AccountId, AccountOrOu, Concurrency, ErrorThreshold, LocationStatus, RoleOutcome, RunReport,
    RunSpec, ShareOutcome, Target, TargetLocation,
};
use fabric::ports::ReportStore;
use fabric::runs::{self, RunState};
use fabric_simulator::faults::{FaultSettings, ScriptedError};
use fabric_tests::{Organization, World, account_created};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

mod deliveries;
mod faults;
mod retries;
mod throttling;

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

/// `accounts` onboarded accounts and no instances: for what does not depend on targets.
async fn onboarded_without_instances(accounts: usize) -> World {
    Organization::of(accounts)
        .onboarded()
        .without_instances()
        .world()
        .await
}

/// A spec over `accounts` in `regions`, every location at once, every error tolerated: the
/// statuses depend only on the organization, not on timing.
fn spec_over(world: &World, accounts: &[AccountId], regions: usize) -> RunSpec {
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
    fabric_tests::spec_over(&world.config, "patch-baseline", location)
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

/// A run of `spec` (manual, request id `request_id`) carried out through the local workflow:
/// its report, every planned location in it once.
async fn run(world: &World, request_id: &str, spec: &RunSpec) -> RunReport {
    let driven = world.local_runs().drive(request_id, spec, &mut ()).await;
    assert_eq!(driven.outcome.end, End::Succeeded("RunReported"));
    let plan = &driven.state.plan;
    assert_eq!(
        driven.report.locations().len(),
        plan.planned_count() + plan.skipped.len(),
        "every planned location, once"
    );
    driven.report
}

/// The onboarding of a newly created account under `faults`.
async fn onboard_new_account(
    world: &World,
    faults: FaultSettings,
) -> fabric::model::OnboardingReport {
    let joined = world.create_account("joined").await;
    world.faults(faults);
    world
        .onboard(fabric_tests::joined(&joined, "joined"))
        .await
        .expect("the onboarding report")
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
