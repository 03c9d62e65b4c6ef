//! Carrying out a plan: start a wave's calls (paced to SSM's start rate, retried safely thanks
//! to their client tokens), follow the parents to their end, and collect every location's
//! result from its child execution in the target account.

use crate::model::{
    AutomationStatus, Location, LocationResult, LocationStatus, RunReport, SsmTarget, TargetResult,
};
use crate::plan::{PlannedCall, RunPlan};
use crate::ports::{Automation, Locations, StartAutomation};
use crate::{Error, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// SSM starts at most one automation a second per account and Region.
pub const START_PACING: Duration = Duration::from_secs(1);
/// How many times a retryable failure of a start is tried again (the token keeps it single).
const START_RETRIES: u32 = 5;
/// How many child executions are read at once.
pub const COLLECT_CONCURRENCY: usize = 16;

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

/// Where a run stands: each location's status as its parent's step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// True when every parent has ended.
    pub done: bool,
    /// Locations by status.
    pub counts: BTreeMap<String, usize>,
}

/// The progress of the started calls.
pub async fn progress(automation: &dyn Automation, started: &[StartedCall]) -> Result<Progress> {
    let mut done = true;
    let mut counts = BTreeMap::new();
    for call in started {
        let parent = automation.execution(&call.execution_id).await?;
        done &= parent.status.is_final();
        for step in automation.location_steps(&call.execution_id).await? {
            *counts.entry(format!("{:?}", step.status)).or_insert(0) += 1;
        }
    }
    Ok(Progress { done, counts })
}

/// The report of `plan` so far: every planned location (not started unless a started call
/// covers it), every skipped one, and for started calls each location's result read from its
/// child execution through `locations`.
pub async fn collect(
    plan: &RunPlan,
    started: &[StartedCall],
    automation: &dyn Automation,
    locations: &dyn Locations,
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
    let spec = &plan.request;
    let mut report = RunReport::new(
        plan.run_id.clone(),
        spec.spec.document.clone(),
        spec.profile.clone(),
        spec.trigger.clone(),
        planned.chain(skipped),
    );
    report.parent_execution_ids = started
        .iter()
        .map(|call| call.execution_id.clone())
        .collect();
    for call in started {
        let steps = automation.location_steps(&call.execution_id).await?;
        let by_location: BTreeMap<&Location, _> = steps
            .iter()
            .filter_map(|step| step.location.as_ref().map(|location| (location, step)))
            .collect();
        let results: Vec<LocationResult> = futures_util::stream::iter(call.locations.iter())
            .map(|location| {
                let step = by_location.get(location).copied();
                async move { location_result(location, &call.wave, step, locations).await }
            })
            .buffer_unordered(COLLECT_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            report.record(result)?;
        }
    }
    Ok(report)
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
    let automation = match locations
        .automation_in(&location.account_id, &location.region)
        .await
    {
        Ok(automation) => automation,
        Err(error) => {
            return LocationResult {
                failure_message: Some(format!(
                    "{} (the child's details could not be read: {error})",
                    step.failure_message
                        .as_deref()
                        .unwrap_or("no failure reported")
                )),
                ..from_step
            };
        }
    };
    match read_child(automation.as_ref(), &child_id).await {
        Ok((state, targets)) => LocationResult {
            status: LocationStatus::Automation(state.status),
            failure_message: state.failure_message.or(from_step.failure_message),
            outputs: state.outputs,
            targets,
            ..from_step
        },
        Err(error) => LocationResult {
            failure_message: Some(format!(
                "{} (the child's details could not be read: {error})",
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
