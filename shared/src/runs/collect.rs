//! Collecting a run: every location's result read from its child execution in the target
//! account (through the results role), or from the parent's step when SSM started no child,
//! or from the parent itself when it failed before making any step; then the report assembled
//! from every planned and skipped location. Which steps are read when is [`super::keep`]'s.

use super::state::StartedCall;
use crate::model::{AutomationStatus, Location, LocationResult, LocationStatus, RunReport};
use crate::plan::RunPlan;
use crate::ports::{Automation, ExecutionState, LocationStep, Locations};
use crate::{Result, model::TargetResult};
use futures_util::StreamExt;
use std::collections::BTreeSet;

/// How many child executions are read at once. Each location is its own account and Region,
/// with its own 3 reads a second: the bound is the function's connections, not SSM.
pub const COLLECT_CONCURRENCY: usize = 64;

/// Said in a location's failure message when its child execution could not be read in its
/// account (no credentials there, or a read that failed after its retries): the location keeps
/// the status the parent's step gave it.
pub const CHILD_UNREAD: &str = "the child's details could not be read";

/// Said of a location the parent made no step for, when the parent gives no reason itself.
pub const NO_STEP: &str = "SSM reported no step for this location";

/// Said of a planned location whose call was never started, when no reason was recorded.
pub const WAVE_NOT_STARTED: &str = "no automation was started here: its wave did not start";

/// The results of `call`'s locations that `steps` (some of its parent's steps) are for, each
/// read from its child execution in the target account (at most [`COLLECT_CONCURRENCY`] at
/// once). A step for a location the call does not cover is left out.
pub(super) async fn step_results(
    call: &StartedCall,
    steps: &[LocationStep],
    locations: &dyn Locations,
) -> Vec<LocationResult> {
    let covered: BTreeSet<&Location> = call.locations.iter().collect();
    futures_util::stream::iter(steps.iter().filter_map(|step| {
        let location = step.location.as_ref()?;
        covered.contains(location).then_some((location, step))
    }))
    .map(|(location, step)| location_result(location, &call.wave, step, locations))
    .buffer_unordered(COLLECT_CONCURRENCY)
    .collect()
    .await
}

/// The results of `call`'s locations outside `seen`, for which its parent made no step: not
/// started, for the parent's own failure message (read once, only when there are such
/// locations) or else [`NO_STEP`].
pub(super) async fn stepless_results(
    call: &StartedCall,
    seen: &BTreeSet<Location>,
    automation: &dyn Automation,
) -> Result<Vec<LocationResult>> {
    let missing: Vec<&Location> = call
        .locations
        .iter()
        .filter(|location| !seen.contains(*location))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let reason = automation
        .execution(&call.execution_id)
        .await?
        .failure_message
        .map_or_else(
            || NO_STEP.to_owned(),
            |message| format!("the run's parent execution failed: {message}"),
        );
    Ok(missing
        .into_iter()
        .map(|location| LocationResult {
            status: LocationStatus::NotStarted(reason.clone()),
            ..LocationResult::not_started(location.clone(), Some(call.wave.clone()), "")
        })
        .collect())
}

/// The report of `plan`: every planned location (not started, for `not_started` or
/// [`WAVE_NOT_STARTED`], unless `results` says otherwise), every skipped one, and `results`
/// for the started calls.
pub fn assemble(
    plan: &RunPlan,
    started: &[StartedCall],
    not_started: Option<&str>,
    results: impl IntoIterator<Item = LocationResult>,
) -> Result<RunReport> {
    let reason = not_started.unwrap_or(WAVE_NOT_STARTED);
    let planned = plan.waves.iter().flat_map(|wave| {
        wave.locations().map(|location| {
            LocationResult::not_started(location.clone(), Some(wave.name.clone()), reason)
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

/// One location's result: from its child execution when SSM started one, else from the
/// parent's step.
async fn location_result(
    location: &Location,
    wave: &str,
    step: &LocationStep,
    locations: &dyn Locations,
) -> LocationResult {
    let base = LocationResult::not_started(location.clone(), Some(wave.to_owned()), "");
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
) -> Result<(ExecutionState, Vec<TargetResult>)> {
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
