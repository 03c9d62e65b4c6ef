//! Carrying out a plan: start a wave's calls (paced to SSM's start rate, retried safely thanks
//! to their client tokens), follow the parents to their end, and collect every location's
//! result from its child execution in the target account.

use crate::model::{
    AutomationStatus, Location, LocationResult, LocationStatus, RunReport, RunRequest, SsmTarget,
    TargetResult,
};
use crate::plan::{PlanContext, PlannedCall, RunPlan, plan_run};
use crate::ports::{Automation, Directory, Locations, StartAutomation};
use crate::{Error, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The steps of a run, in the order the multi-location run state machine first reaches them
/// (`StartNextWave` and what follows repeat per wave); the CLI runs and names them alike.
pub const RUN_STEPS: &[&str] = &[
    "StartRun",
    "TrackRun",
    "CollectCall",
    "CollectResults",
    "StartNextWave",
    "PublishReport",
];

/// SSM starts at most one automation a second per account and Region.
pub const START_PACING: Duration = Duration::from_secs(1);
/// How many times a retryable failure of a start is tried again (the token keeps it single).
const START_RETRIES: u32 = 5;
/// How many child executions are read at once. Each location is its own account and Region,
/// with its own 3 reads a second: the bound is the function's connections, not SSM.
pub const COLLECT_CONCURRENCY: usize = 64;

/// Said in a location's failure message when its child execution could not be read in its
/// account (no credentials there, or a read that failed after its retries): the location keeps
/// the status the parent's step gave it.
pub const CHILD_UNREAD: &str = "the child's details could not be read";

/// A call that was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedCall {
    /// The wave it belongs to.
    pub wave: String,
    /// The parent execution's id.
    pub execution_id: String,
    /// The locations it covers.
    pub locations: Vec<Location>,
}

/// The request of one planned call.
fn start_request(plan: &RunPlan, call: &PlannedCall) -> StartAutomation {
    let spec = &plan.request.spec;
    StartAutomation {
        document: spec.document.to_string(),
        document_version: spec.document_version.as_ref().map(ToString::to_string),
        parameters: spec.parameters.clone(),
        target_parameter_name: spec.target_parameter_name.clone(),
        targets: spec
            .targets
            .iter()
            .map(|target| {
                let SsmTarget { key, values } = target.clone().into();
                (key, values)
            })
            .collect(),
        max_concurrency: spec.max_concurrency.map(|c| c.to_string()),
        max_errors: spec.max_errors.map(|e| e.to_string()),
        target_locations: call.target_locations.clone(),
        client_token: call.client_token.clone(),
        alarm: spec
            .alarm_configuration
            .as_ref()
            .map(|alarm| (alarm.alarm.clone(), alarm.ignore_poll_alarm_failure)),
    }
}

/// Starts wave `wave_index` of `plan`: one call a `pacing`, each retried on retryable
/// failures (a retried start with the same client token never starts twice).
pub async fn start_wave(
    automation: &dyn Automation,
    plan: &RunPlan,
    wave_index: usize,
    pacing: Duration,
) -> Result<Vec<StartedCall>> {
    let wave = plan.waves.get(wave_index).ok_or_else(|| Error::Run {
        problem: format!("the plan has no wave {wave_index}"),
    })?;
    let mut started = Vec::new();
    for (index, call) in wave.calls.iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(pacing).await;
        }
        let request = start_request(plan, call);
        let mut attempt = 0;
        let execution_id = loop {
            match automation.start(&request).await {
                Ok(id) => break id,
                Err(error) if error.is_retryable() && attempt < START_RETRIES => {
                    attempt += 1;
                    tracing::warn!(%error, attempt, run_id = %plan.run_id, "start throttled or failed; retrying");
                    tokio::time::sleep(pacing * 2_u32.pow(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        };
        tracing::info!(run_id = %plan.run_id, wave = %wave.name, %execution_id, locations = call.locations.len(), "started");
        started.push(StartedCall {
            wave: wave.name.clone(),
            execution_id,
            locations: call.locations.clone(),
        });
    }
    Ok(started)
}

/// What SSM's preview says every call of `plan` would touch (nothing is started).
pub async fn preview(automation: &dyn Automation, plan: &RunPlan) -> Result<crate::ports::Preview> {
    let mut total = crate::ports::Preview::default();
    for wave in &plan.waves {
        for call in &wave.calls {
            let preview = automation.preview(&start_request(plan, call)).await?;
            total.accounts += preview.accounts;
            total.regions.extend(preview.regions);
            total.targets += preview.targets;
        }
    }
    Ok(total)
}

/// Where a run stands: each location's status as its parent's step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// True when every parent has ended.
    pub done: bool,
    /// Locations by status.
    pub counts: BTreeMap<String, usize>,
}

/// The progress of the started calls: one `GetAutomationExecution` per parent (its progress
/// counters count the locations' steps); a parent without counters has its steps listed.
pub async fn progress(automation: &dyn Automation, started: &[StartedCall]) -> Result<Progress> {
    let mut done = true;
    let mut counts = BTreeMap::new();
    let mut add = |status: &str, n: usize| {
        if n > 0 {
            *counts.entry(status.to_owned()).or_insert(0) += n;
        }
    };
    for call in started {
        let parent = automation.execution(&call.execution_id).await?;
        done &= parent.status.is_final();
        if let Some(steps) = parent.step_counts {
            let ended = steps.success + steps.failed + steps.cancelled + steps.timed_out;
            add("Success", steps.success);
            add("Failed", steps.failed);
            add("Cancelled", steps.cancelled);
            add("TimedOut", steps.timed_out);
            add("InProgress", steps.total.saturating_sub(ended));
        } else {
            for step in automation.location_steps(&call.execution_id).await? {
                add(&format!("{:?}", step.status), 1);
            }
        }
    }
    Ok(Progress { done, counts })
}

/// The results of one started call's locations, each read from its child execution in the
/// target account (at most [`COLLECT_CONCURRENCY`] at once). The state machine runs this once
/// per call, in a Distributed Map, so that runs of any size fit Step Functions' limits.
pub async fn collect_call(
    call: &StartedCall,
    automation: &dyn Automation,
    locations: &dyn Locations,
) -> Result<Vec<LocationResult>> {
    let steps = automation.location_steps(&call.execution_id).await?;
    let by_location: BTreeMap<&Location, _> = steps
        .iter()
        .filter_map(|step| step.location.as_ref().map(|location| (location, step)))
        .collect();
    Ok(futures_util::stream::iter(call.locations.iter())
        .map(|location| {
            let step = by_location.get(location).copied();
            async move { location_result(location, &call.wave, step, locations).await }
        })
        .buffer_unordered(COLLECT_CONCURRENCY)
        .collect()
        .await)
}

/// The report of `plan`: every planned location (not started unless `results` says
/// otherwise), every skipped one, and `results` for the started calls.
pub fn assemble(
    plan: &RunPlan,
    started: &[StartedCall],
    results: impl IntoIterator<Item = LocationResult>,
) -> Result<RunReport> {
    let planned = plan.waves.iter().flat_map(|wave| {
        wave.locations().map(|location| {
            LocationResult::not_started(
                location.clone(),
                Some(wave.name.clone()),
                "no automation was started here: its wave did not start",
            )
        })
    });
    let skipped = plan.skipped.iter().map(|skip| LocationResult {
        status: LocationStatus::Skipped(skip.reason.clone()),
        ..LocationResult::not_started(skip.location.clone(), Some(skip.wave.clone()), "")
    });
    let request = &plan.request;
    let mut report = RunReport::new(
        plan.run_id.clone(),
        request.spec.document.clone(),
        request.profile.clone(),
        request.trigger.clone(),
        planned.chain(skipped),
    );
    report.parent_execution_ids = started
        .iter()
        .map(|call| call.execution_id.clone())
        .collect();
    for result in results {
        report.record(result)?;
    }
    Ok(report)
}

/// The report of `plan` so far: [`assemble`] over every started call's [`collect_call`].
pub async fn collect(
    plan: &RunPlan,
    started: &[StartedCall],
    automation: &dyn Automation,
    locations: &dyn Locations,
) -> Result<RunReport> {
    let mut results = Vec::new();
    for call in started {
        results.extend(collect_call(call, automation, locations).await?);
    }
    assemble(plan, started, results)
}

/// One location's result: from its child execution when SSM started one, else from the
/// parent's step.
async fn location_result(
    location: &Location,
    wave: &str,
    step: Option<&crate::ports::LocationStep>,
    locations: &dyn Locations,
) -> LocationResult {
    let base = LocationResult::not_started(location.clone(), Some(wave.to_owned()), "");
    let Some(step) = step else {
        return LocationResult {
            status: LocationStatus::NotStarted("SSM reported no step for this location".to_owned()),
            ..base
        };
    };
    let Some(child_id) = step.child_execution_id.clone() else {
        let status = match step.status {
            AutomationStatus::Cancelled | AutomationStatus::Pending => LocationStatus::NotStarted(
                step.failure_message
                    .clone()
                    .unwrap_or_else(|| "SSM did not start this location".to_owned()),
            ),
            status => LocationStatus::Automation(status),
        };
        return LocationResult {
            status,
            failure_message: step.failure_message.clone(),
            ..base
        };
    };
    let from_step = LocationResult {
        status: LocationStatus::Automation(step.status),
        execution_id: Some(child_id.clone()),
        failure_message: step.failure_message.clone(),
        ..base.clone()
    };
    let read = match locations
        .automation_in(&location.account_id, &location.region)
        .await
    {
        Ok(automation) => read_child(automation.as_ref(), &child_id).await,
        Err(error) => Err(error),
    };
    match read {
        Ok((state, targets)) => LocationResult {
            status: LocationStatus::Automation(state.status),
            failure_message: state.failure_message.or(from_step.failure_message),
            outputs: state.outputs,
            targets,
            ..from_step
        },
        Err(error) => LocationResult {
            failure_message: Some(format!(
                "{} ({CHILD_UNREAD}: {error})",
                step.failure_message
                    .as_deref()
                    .unwrap_or("no failure reported")
            )),
            ..from_step
        },
    }
}

async fn read_child(
    automation: &dyn Automation,
    child_id: &str,
) -> Result<(crate::ports::ExecutionState, Vec<TargetResult>)> {
    let state = automation.execution(child_id).await?;
    let targets = if state.resolved_targets.is_empty() {
        Vec::new()
    } else {
        automation
            .target_executions(child_id)
            .await?
            .into_iter()
            .map(|child| TargetResult {
                target: child.target,
                status: child.status,
                failure_message: child.failure_message,
            })
            .collect()
    };
    Ok((state, targets))
}

/// Whether `wave` of `report` passed its gate: the share of its locations that succeeded, in
/// percent, against the gate's minimum. `Err` carries the reason the next waves do not start.
pub fn gate(
    report: &RunReport,
    plan: &RunPlan,
    wave_index: usize,
) -> std::result::Result<(), String> {
    let Some(wave) = plan.waves.get(wave_index) else {
        return Ok(());
    };
    let Some(gate) = wave.gate else {
        return Ok(());
    };
    let results: Vec<&LocationResult> = report
        .locations()
        .filter(|result| result.wave.as_deref() == Some(wave.name.as_str()))
        .filter(|result| !matches!(result.status, LocationStatus::Skipped(_)))
        .collect();
    let succeeded = results
        .iter()
        .filter(|result| matches!(result.status, LocationStatus::Automation(status) if status.is_success()))
        .count();
    let percent = if results.is_empty() {
        100
    } else {
        succeeded * 100 / results.len()
    };
    if percent >= usize::from(gate.min_success_percent) {
        Ok(())
    } else {
        Err(format!(
            "not started: wave {} succeeded in {percent}% of its locations ({succeeded} of {}), below its gate of {}%",
            wave.name,
            results.len(),
            gate.min_success_percent
        ))
    }
}

/// Marks the locations of every wave after `wave_index` as not started, for `reason`.
pub fn stop_after(
    report: &mut RunReport,
    plan: &RunPlan,
    wave_index: usize,
    reason: &str,
) -> Result<()> {
    for wave in plan.waves.iter().skip(wave_index + 1) {
        for location in wave.locations() {
            report.record(LocationResult::not_started(
                location.clone(),
                Some(wave.name.clone()),
                reason,
            ))?;
        }
    }
    Ok(())
}

/// The overall status of a report: `Success` when every planned location succeeded,
/// `InProgress` while any runs, else `Failed`.
pub fn overall_status(report: &RunReport) -> &'static str {
    let mut any_running = false;
    let mut any_failed = false;
    for result in report.locations() {
        match &result.status {
            LocationStatus::Automation(status) if !status.is_final() => any_running = true,
            LocationStatus::Automation(status) if !status.is_success() => any_failed = true,
            LocationStatus::NotStarted(_) => any_failed = true,
            LocationStatus::Skipped(_) | LocationStatus::Automation(_) => {}
        }
    }
    match (any_running, any_failed) {
        (true, _) => "InProgress",
        (false, true) => "Failed",
        (false, false) => "Success",
    }
}

/// A run's state between steps (kept in the report store, so no step holds it only in
/// memory): the plan, the calls started so far, and how the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// The plan.
    pub plan: RunPlan,
    /// Calls started so far, in order.
    pub started: Vec<StartedCall>,
    /// The next wave to start.
    pub next_wave: usize,
    /// Why the remaining waves were not started, when a gate stopped them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Where the final report is, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_uri: Option<String>,
    /// The workflow that carries the run out (a state machine execution, a CLI process): a
    /// later delivery of the same trigger, by another workflow, finds the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// What a delivery of a run trigger finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The run to start: new, or left unstarted by an earlier attempt of the same workflow.
    Start(Box<RunState>),
    /// Another workflow (an earlier delivery of the same trigger) owns the run.
    Duplicate {
        /// The run's id.
        run_id: String,
        /// The workflow that owns it.
        owner: Option<String>,
    },
}

/// Accepts one delivery of a run trigger by workflow `owner`: the run `run_id` (the trigger's
/// idempotency key) planned and saved, owned by `owner`; or, when it exists, carried on if
/// `owner` owns it (a retried step) and reported as a duplicate if not. Events are delivered
/// at least once: three deliveries make one run, one set of starts, one report.
pub async fn accept_delivery(
    run_id: &str,
    request: RunRequest,
    owner: &str,
    directory: &dyn Directory,
    context: &PlanContext<'_>,
    store: &dyn crate::ports::ReportStore,
) -> Result<Delivery> {
    match RunState::load(store, run_id).await {
        Ok(state) if state.owner.as_deref() == Some(owner) => Ok(Delivery::Start(Box::new(state))),
        Ok(state) => Ok(Delivery::Duplicate {
            run_id: run_id.to_owned(),
            owner: state.owner,
        }),
        Err(Error::Run { .. }) => {
            let mut state = RunState::new(plan_run(run_id, request, directory, context).await?);
            state.owner = Some(owner.to_owned());
            state.save(store).await?;
            Ok(Delivery::Start(Box::new(state)))
        }
        Err(other) => Err(other),
    }
}

impl RunState {
    /// The state of a run that has not started.
    pub fn new(plan: RunPlan) -> Self {
        Self {
            plan,
            started: Vec::new(),
            next_wave: 0,
            stopped: None,
            report_uri: None,
            owner: None,
        }
    }

    /// Where the state of run `run_id` is kept.
    pub fn key(run_id: &str) -> String {
        format!("state/runs/{run_id}.json")
    }

    /// Saves the state.
    pub async fn save(&self, store: &dyn crate::ports::ReportStore) -> Result<String> {
        let body = serde_json::to_vec(self).map_err(|error| Error::Run {
            problem: format!("the run state cannot be written: {error}"),
        })?;
        store.put(&Self::key(&self.plan.run_id), body).await
    }

    /// Reads the state of run `run_id`.
    pub async fn load(store: &dyn crate::ports::ReportStore, run_id: &str) -> Result<Self> {
        let body = store
            .get(&Self::key(run_id))
            .await
            .map_err(|error| match error {
                Error::Aws {
                    code: Some(code), ..
                } if code == "NoSuchKey" => Error::Run {
                    problem: format!("there is no run {run_id}"),
                },
                other => other,
            })?;
        serde_json::from_slice(&body).map_err(|error| Error::Run {
            problem: format!("the state of run {run_id} cannot be read: {error}"),
        })
    }

    /// Where the collected results of one started call are kept.
    pub fn call_results_key(run_id: &str, execution_id: &str) -> String {
        format!("state/runs/{run_id}/calls/{execution_id}.json")
    }

    /// Collects the results of the started call `execution_id` and keeps them (the
    /// `CollectCall` step); returns how many locations it covered.
    pub async fn collect_call(
        &self,
        execution_id: &str,
        automation: &dyn Automation,
        locations: &dyn Locations,
        store: &dyn crate::ports::ReportStore,
    ) -> Result<usize> {
        let call = self
            .started
            .iter()
            .find(|call| call.execution_id == execution_id)
            .ok_or_else(|| Error::Run {
                problem: format!("run {} started no call {execution_id}", self.plan.run_id),
            })?;
        let results = collect_call(call, automation, locations).await?;
        let body = serde_json::to_vec(&results).map_err(|error| Error::Run {
            problem: format!("the results cannot be written: {error}"),
        })?;
        store
            .put(
                &Self::call_results_key(&self.plan.run_id, execution_id),
                body,
            )
            .await?;
        Ok(results.len())
    }

    /// The report so far (every planned and skipped location), from the kept results of each
    /// call (collected now for calls that have none kept), with the reason later waves did not
    /// start when a gate stopped them.
    pub async fn report(
        &self,
        automation: &dyn Automation,
        locations: &dyn Locations,
        store: &dyn crate::ports::ReportStore,
    ) -> Result<RunReport> {
        let mut results = Vec::new();
        for call in &self.started {
            let key = Self::call_results_key(&self.plan.run_id, &call.execution_id);
            let kept = store
                .get(&key)
                .await
                .ok()
                .and_then(|body| serde_json::from_slice::<Vec<LocationResult>>(&body).ok());
            match kept {
                Some(kept) => results.extend(kept),
                None => results.extend(collect_call(call, automation, locations).await?),
            }
        }
        let mut report = assemble(&self.plan, &self.started, results)?;
        if let Some(reason) = &self.stopped {
            stop_after(
                &mut report,
                &self.plan,
                self.next_wave.saturating_sub(1),
                reason,
            )?;
        }
        Ok(report)
    }
}

/// The run a trigger asks for, or `None` for triggers that are not runs (account events).
pub fn run_request_for(
    trigger: &crate::events::Trigger,
    config: &crate::config::Config,
) -> Result<Option<RunRequest>> {
    use crate::events::{RunSource, Trigger};
    use crate::model::RunTrigger;
    let from_source = |run: &RunSource, trigger: RunTrigger| -> Result<RunRequest> {
        match run {
            RunSource::Profile(name) => {
                let spec = config.profile(name).ok_or_else(|| Error::Run {
                    problem: format!("the config has no run profile {name:?}"),
                })?;
                Ok(RunRequest {
                    profile: Some(name.clone()),
                    spec: spec.clone(),
                    trigger,
                })
            }
            RunSource::Spec(spec) => Ok(RunRequest {
                profile: None,
                spec: (**spec).clone(),
                trigger,
            }),
        }
    };
    match trigger {
        Trigger::Schedule {
            schedule_name,
            scheduled_time,
            run,
        } => from_source(
            run,
            RunTrigger::Schedule {
                schedule_name: schedule_name.clone(),
                scheduled_time: scheduled_time.clone(),
            },
        )
        .map(Some),
        Trigger::Manual {
            requested_by, run, ..
        } => from_source(
            run,
            RunTrigger::Manual {
                requested_by: requested_by.clone(),
            },
        )
        .map(Some),
        Trigger::Alarm {
            alarm_name,
            account_id,
            region,
            dimensions,
            ..
        } => {
            // An alarm no rule names is not the fabric's to act on (the central bus receives
            // every alarm the organization forwards): no run, and no failed workflow.
            let Some(matched) = config.match_alarm(alarm_name, dimensions) else {
                tracing::info!(%alarm_name, "no alarm rule matches the alarm: nothing to run");
                return Ok(None);
            };
            let profile = config
                .profile(matched.rule.profile.as_str())
                .ok_or_else(|| Error::Run {
                    problem: format!("the config has no run profile {}", matched.rule.profile),
                })?;
            let spec = crate::plan::alarm_spec(
                profile,
                account_id,
                region,
                matched.target_value.as_deref(),
                &matched.parameters,
            );
            Ok(Some(RunRequest {
                profile: Some(matched.rule.profile.to_string()),
                spec,
                trigger: RunTrigger::Alarm {
                    alarm_name: alarm_name.clone(),
                    account_id: account_id.clone(),
                    region: region.clone(),
                },
            }))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::events::TriggerEvent;

    const EXAMPLE: &str = include_str!("../../config/fabric.example.yaml");
    const ALARM: &str =
        include_str!("../../tests/fixtures/events/cloudwatch-alarm-metric-alarm.json");

    #[test]
    fn when_no_alarm_rule_matches_an_alarm_then_it_asks_for_no_run() {
        let config = Config::from_yaml(EXAMPLE).expect("the example loads");
        let other = ALARM.replace("ServerCpuTooHigh", "DiskAlmostFull");
        let trigger = TriggerEvent::from_slice(other.as_bytes()).expect("an alarm");
        assert_eq!(
            run_request_for(&trigger.trigger, &config).expect("no error"),
            None
        );

        let matched = TriggerEvent::from_slice(ALARM.as_bytes()).expect("an alarm");
        let request = run_request_for(&matched.trigger, &config)
            .expect("no error")
            .expect("the rule's run");
        assert_eq!(request.profile.as_deref(), Some("restart-instance"));
    }
}
