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
use fabric_tests::{Organization, World, account_created};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

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
