//! The local driver over the fakes: the run and onboarding workflows end as their state
//! machines would, including the failure paths the defects of the earlier drivers lost.

use super::run::{self, Follow};
use super::{End, Timing, onboarding};
use crate::config::ProfileName;
use crate::error::Error;
use crate::fakes::{
    ALARM_EVENT, FakeServices, denied, example_config, onboarding_input, throttled,
};
use crate::model::{AccountId, AccountOrOu, LocationStatus, Region, RunReport, TargetLocation};
use crate::ports::AccountStatus;
use crate::runs::RunState;
use crate::steps::RunPorts;
use crate::workflow::TriggerDelivery;
use std::time::Duration;

const INSTANT: Timing = Timing {
    wait: Duration::ZERO,
    retry_interval: Duration::ZERO,
    timeout: None,
};

fn delivery(trigger: &serde_json::Value, execution: &str) -> TriggerDelivery {
    TriggerDelivery {
        trigger: trigger.clone(),
        execution: execution.to_owned(),
    }
}

fn manual(profile: &str) -> serde_json::Value {
    serde_json::json!({ "manual": { "requested_by": "test", "request_id": "r-1", "profile": profile } })
}

/// Carries out `trigger`'s run, delivered by `execution`, to its end.
async fn run_to_the_end(
    ports: &RunPorts<'_>,
    trigger: &serde_json::Value,
    execution: &str,
) -> run::RunOutcome {
    run::carry_out(
        ports,
        delivery(trigger, execution),
        INSTANT,
        Follow::ToTheEnd,
        &mut (),
    )
    .await
    .expect("carried out")
}

fn alarm() -> serde_json::Value {
    serde_json::from_str(ALARM_EVENT).expect("JSON")
}

/// Onboards `account` with the example's fakes.
async fn onboard(fakes: &FakeServices, account: &str) -> onboarding::OnboardingOutcome {
    let config = example_config();
    onboarding::carry_out(
        &fakes.onboarding_ports(&config),
        fakes.run_ports(&config).reports(),
        onboarding_input(account),
        INSTANT,
        &mut (),
    )
    .await
    .expect("carried out")
}

const ONBOARDING_FAILED: End = End::Failed {
    state: "OnboardingFailed",
    error: "Fabric.OnboardingFailed",
};

async fn report_of(ports: &RunPorts<'_>, run_id: &str) -> RunReport {
    RunState::load(ports.store, run_id)
        .await
        .expect("a state")
        .report(&ports.sources())
        .await
        .expect("a report")
}

/// The example config with a profile `wide` of `accounts` accounts, each its own target
/// location in us-east-1: more than SSM's 100 target locations make two calls in one wave.
fn wide(fakes: &FakeServices, accounts: usize) -> crate::config::Config {
    let mut config = example_config();
    let mut spec = config
        .profile("restart-instance")
        .expect("a profile")
        .clone();
    spec.target_locations = (0..accounts)
        .map(|n| {
            let id = format!("{:012}", 200_000_000_000 + n);
            fakes.directory.add("ou-wide", &id, AccountStatus::Active);
            TargetLocation::new(
                vec![AccountOrOu::Account(AccountId::new(id).expect("valid"))],
                vec![Region::new("us-east-1").expect("valid")],
            )
        })
        .collect();
    config
        .run_profiles
        .insert(ProfileName::new("wide").expect("valid"), spec);
    config
}

#[tokio::test]
async fn when_an_alarm_run_is_carried_out_then_it_ends_reported_with_every_location() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let ports = fakes.run_ports(&config);
    let alarm = alarm();
    let outcome = run_to_the_end(&ports, &alarm, "exec-1").await;
    assert_eq!(outcome.end, End::Succeeded("RunReported"));
    let report = report_of(&ports, outcome.run_id().expect("a run")).await;
    assert_eq!(report.counts_by_status().get("Success"), Some(&1));
}

#[tokio::test]
async fn when_a_gate_fails_then_the_next_wave_does_not_start_and_says_why() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let canary = crate::model::Location::new(
        AccountId::new("555566667777").expect("valid"),
        Region::new("us-east-1").expect("valid"),
    );
    fakes
        .automation
        .script(canary, crate::model::AutomationStatus::Failed);
    let ports = fakes.run_ports(&config);
    let outcome = run_to_the_end(&ports, &manual("patch-baseline"), "exec-1").await;
    assert_eq!(outcome.end, End::Succeeded("RunReported"));
    assert_eq!(
        fakes.automation.started().len(),
        1,
        "only the canary wave started"
    );
    let report = report_of(&ports, outcome.run_id().expect("a run")).await;
    let stopped = report
        .locations()
        .filter(|result| matches!(&result.status, LocationStatus::NotStarted(reason) if reason.contains("below its gate")))
        .count();
    assert_eq!(stopped, 6, "the organization wave's 2 accounts x 3 Regions");
}

#[tokio::test]
async fn when_a_workflow_dies_after_a_wave_starts_then_its_successor_still_gates_the_next_wave() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let canary = crate::model::Location::new(
        AccountId::new("555566667777").expect("valid"),
        Region::new("us-east-1").expect("valid"),
    );
    fakes
        .automation
        .script(canary, crate::model::AutomationStatus::Failed);
    let ports = fakes.run_ports(&config);
    let trigger = manual("patch-baseline");
    // The first attempt dies once the canary wave has started; Step Functions retries it.
    run::carry_out(
        &ports,
        delivery(&trigger, "wf"),
        INSTANT,
        Follow::UntilStarted,
        &mut (),
    )
    .await
    .expect("started");
    let outcome = run_to_the_end(&ports, &trigger, "wf").await;
    assert_eq!(outcome.end, End::Succeeded("RunReported"));
    assert_eq!(
        fakes.automation.started().len(),
        1,
        "only the canary wave started"
    );
    let state = RunState::load(ports.store, outcome.run_id().expect("a run"))
        .await
        .expect("a state");
    assert!(
        state
            .stopped
            .as_deref()
            .is_some_and(|reason| reason.contains("below its gate")),
        "{:?}",
        state.stopped
    );
}

#[tokio::test]
async fn when_a_start_fails_midway_then_the_report_names_every_automation_started() {
    let fakes = FakeServices::example();
    let config = wide(&fakes, 101);
    let ports = fakes.run_ports(&config);
    fakes.automation.faults.fail("start", 1, 1, denied);
    let outcome = run_to_the_end(&ports, &manual("wide"), "exec-1").await;
    assert_eq!(
        outcome.end,
        End::Failed {
            state: "RunFailed",
            error: "Fabric.RunFailed"
        }
    );
    let run_id = outcome.run_id().expect("a run").to_owned();
    let state = RunState::load(ports.store, &run_id).await.expect("a state");
    assert_eq!(
        state.started.len(),
        1,
        "the first call was saved as it started"
    );
    assert_eq!(state.owner, None, "the failed workflow gave the run up");
    let report = report_of(&ports, &run_id).await;
    assert_eq!(
        report.parent_execution_ids,
        vec![state.started[0].execution_id.clone()]
    );
    assert_eq!(
        report.locations().len(),
        101,
        "every location is in the report"
    );
    assert_eq!(report.counts_by_status().get("Success"), Some(&100));
    assert!(outcome.published.is_some(), "the failed run was reported");
}

#[tokio::test]
async fn when_the_trigger_is_redelivered_after_a_partial_start_then_the_run_is_carried_on() {
    let fakes = FakeServices::example();
    let config = wide(&fakes, 101);
    let ports = fakes.run_ports(&config);
    fakes.automation.faults.fail("start", 1, 1, denied);
    let first = run_to_the_end(&ports, &manual("wide"), "exec-1").await;
    let again = run_to_the_end(&ports, &manual("wide"), "exec-2").await;
    assert_eq!(again.end, End::Succeeded("RunReported"));
    assert_eq!(again.run_id(), first.run_id(), "the same run");
    assert_eq!(
        fakes.automation.started().len(),
        2,
        "the first call was not started twice"
    );
    let report = report_of(&ports, again.run_id().expect("a run")).await;
    assert_eq!(report.counts_by_status().get("Success"), Some(&101));
}

#[tokio::test]
async fn when_a_run_is_delivered_while_another_workflow_owns_it_then_nothing_starts() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let ports = fakes.run_ports(&config);
    let alarm = alarm();
    run::carry_out(
        &ports,
        delivery(&alarm, "exec-1"),
        INSTANT,
        Follow::UntilStarted,
        &mut (),
    )
    .await
    .expect("started");
    let second = run_to_the_end(&ports, &alarm, "exec-2").await;
    assert_eq!(second.end, End::Succeeded("NothingToRun"));
    assert_eq!(fakes.automation.started().len(), 1);
}

#[tokio::test]
async fn when_the_run_state_is_corrupt_then_it_is_never_planned_over() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let ports = fakes.run_ports(&config);
    let alarm = alarm();
    let trigger = crate::events::TriggerEvent::from_value(&alarm).expect("an alarm");
    let state_key = RunState::key(&crate::runs::run_id_for(&trigger, &config));
    fakes.store.insert(&state_key, b"{\"plan\": 1");
    let outcome = run_to_the_end(&ports, &alarm, "exec-1").await;
    assert_eq!(
        outcome.end,
        End::Failed {
            state: "RunNotStarted",
            error: "Fabric.RunNotStarted"
        }
    );
    assert_eq!(
        outcome.error.expect("an error").error,
        "Fabric.CorruptState"
    );
    assert_eq!(
        fakes.store.object(&state_key).as_deref(),
        Some(&b"{\"plan\": 1"[..]),
        "left as it was"
    );
    assert!(fakes.automation.started().is_empty());
}

#[tokio::test]
async fn when_a_parent_fails_before_any_step_then_its_message_reaches_every_location() {
    let (fakes, config) = (FakeServices::example(), example_config());
    fakes
        .automation
        .fail_parents("the document is not shared with the account");
    let ports = fakes.run_ports(&config);
    let alarm = alarm();
    let outcome = run_to_the_end(&ports, &alarm, "exec-1").await;
    let report = report_of(&ports, outcome.run_id().expect("a run")).await;
    let result = report.locations().next().expect("one location");
    assert!(
        matches!(&result.status, LocationStatus::NotStarted(reason) if reason.contains("not shared with the account")),
        "{:?}",
        result.status
    );
}

#[tokio::test]
async fn when_steps_are_throttled_then_they_are_retried_and_the_run_ends_as_a_clean_one() {
    let (fakes, config) = (FakeServices::example(), example_config());
    fakes.automation.faults.fail("execution", 0, 3, throttled);
    fakes.store.faults.fail("get", 2, 2, throttled);
    let ports = fakes.run_ports(&config);
    let alarm = alarm();
    let outcome = run_to_the_end(&ports, &alarm, "exec-1").await;
    assert_eq!(outcome.end, End::Succeeded("RunReported"));
}

#[tokio::test]
async fn when_the_central_account_is_onboarded_then_the_workflow_fails_with_a_report_and_changes_nothing()
 {
    let fakes = FakeServices::example();
    let outcome = onboard(&fakes, "111122223333").await;
    assert_eq!(outcome.end, ONBOARDING_FAILED);
    assert!(
        outcome.report.errors[0].contains("Fabric.NotOnboardable"),
        "{:?}",
        outcome.report.errors
    );
    assert!(outcome.published.is_some());
    assert!(
        fakes
            .documents
            .sharing
            .lock()
            .expect("not poisoned")
            .is_empty()
    );
    assert!(
        fakes
            .roles
            .deployed
            .lock()
            .expect("not poisoned")
            .is_empty()
    );
}

#[tokio::test]
async fn when_an_account_is_never_ready_then_onboarding_gives_up_after_its_checks() {
    let fakes = FakeServices::example();
    let outcome = onboard(&fakes, "999988887777").await;
    assert_eq!(outcome.end, ONBOARDING_FAILED);
    assert!(
        outcome.report.errors[0].contains("Fabric.AccountNotReady"),
        "{:?}",
        outcome.report.errors
    );
}

#[tokio::test]
async fn when_an_account_joins_then_it_is_onboarded_and_reported() {
    let fakes = FakeServices::example();
    let outcome = onboard(&fakes, "444455556666").await;
    assert_eq!(outcome.end, End::Succeeded("Onboarded"));
    assert!(outcome.report.succeeded());
    assert_eq!(
        fakes.notifier.published.lock().expect("not poisoned").len(),
        1
    );
}

#[test]
fn when_an_error_is_ours_not_the_callers_then_it_is_not_bad_input() {
    let corrupt = Error::CorruptState {
        key: "k".to_owned(),
        problem: "p".to_owned(),
    };
    let internal = Error::Internal {
        problem: "p".to_owned(),
    };
    let missing = Error::not_found("run", "r", None);
    assert!(!corrupt.is_bad_input() && !internal.is_bad_input());
    assert!(missing.is_bad_input());
}

/// The alarm fixture, changing state at `timestamp` (CloudWatch's format).
fn alarm_at(timestamp: &str) -> serde_json::Value {
    let mut alarm = alarm();
    alarm["detail"]["state"]["timestamp"] = serde_json::json!(timestamp);
    alarm
}

#[tokio::test]
async fn when_the_same_alarm_goes_off_ten_times_in_a_minute_then_one_run_starts() {
    let (fakes, config) = (FakeServices::example(), example_config());
    let ports = fakes.run_ports(&config);
    let mut runs = std::collections::BTreeSet::new();
    for second in 0..10 {
        let alarm = alarm_at(&format!("2024-05-15T17:01:{:02}.000+0000", second * 5));
        let outcome = run_to_the_end(&ports, &alarm, &format!("exec-{second}")).await;
        runs.extend(outcome.run_id().map(str::to_owned));
    }
    assert_eq!(runs.len(), 1, "one run for the window: {runs:?}");
    assert_eq!(
        fakes.automation.started().len(),
        1,
        "one automation started"
    );

    let later = run_to_the_end(
        &ports,
        &alarm_at("2024-05-15T17:06:00.000+0000"),
        "exec-later",
    )
    .await;
    assert_eq!(
        later.end,
        End::Succeeded("RunReported"),
        "the next window runs again"
    );
    assert_eq!(fakes.automation.started().len(), 2);
}
