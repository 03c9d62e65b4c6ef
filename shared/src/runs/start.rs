//! Starting a wave: one `StartAutomationExecution` per planned call, paced to SSM's start rate,
//! each recorded in the run's state as soon as SSM answers (so no automation runs that the
//! report cannot name), retried safely thanks to the call's client token.

use super::state::{RunState, StartedCall};
use crate::model::SsmTarget;
use crate::plan::{PlannedCall, RunPlan};
use crate::ports::{Automation, Preview, ReportStore, StartAutomation};
use crate::{Error, Result};
use std::time::Duration;

/// SSM starts at most one automation a second per account and Region.
pub const START_PACING: Duration = Duration::from_secs(1);
/// How many times a retryable failure of a start is tried again (the token keeps it single).
const START_RETRIES: u32 = 5;
/// SSM's answer when the account-Region runs its quota of automations (100 by default, 500
/// with adaptive concurrency) and its queue (1,000) is full: "The number of simultaneously
/// running Automation executions exceeded the allowable limit." It passes as automations end.
pub const AUTOMATION_LIMIT_EXCEEDED: &str = "AutomationExecutionLimitExceededException";
/// How long a start waits, first, after SSM's automation limit refused it: automations take
/// seconds to minutes to end, far longer than a throttled call takes to pass.
const LIMIT_BACKOFF: Duration = Duration::from_secs(1);
/// How many times a start refused by the automation limit is tried again: with the backoff
/// doubling up to [`LIMIT_BACKOFF_CAP`], about ten minutes in all, inside `start-run`'s 15.
const LIMIT_RETRIES: u32 = 24;
/// The longest wait between two starts refused by the automation limit.
const LIMIT_BACKOFF_CAP: Duration = Duration::from_secs(30);

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

/// Starts the calls of the run's next wave that have not started yet (an earlier attempt may
/// have started some), one a `pacing`, each retried on retryable failures. Every started call
/// is saved in the run's state before the next one starts; the wave counts as started (the
/// state's `next_wave` moves on) only once all of them are. Returns the wave's calls.
pub async fn start_wave(
    state: &mut RunState,
    automation: &dyn Automation,
    store: &dyn ReportStore,
    pacing: Duration,
) -> Result<Vec<StartedCall>> {
    let wave_index = state.next_wave;
    let wave = state
        .plan
        .waves
        .get(wave_index)
        .ok_or_else(|| Error::not_found("wave", &wave_index.to_string(), None))?
        .clone();
    let mut first = true;
    for call in &wave.calls {
        if state
            .started
            .iter()
            .any(|started| started.client_token == call.client_token)
        {
            continue;
        }
        if !first {
            tokio::time::sleep(pacing).await;
        }
        first = false;
        let execution_id = start_one(automation, &start_request(&state.plan, call), pacing).await?;
        tracing::info!(run_id = %state.plan.run_id, wave = %wave.name, %execution_id, locations = call.locations.len(), "started");
        state.started.push(StartedCall {
            wave: wave.name.clone(),
            execution_id,
            client_token: call.client_token.clone(),
            locations: call.locations.clone(),
        });
        state.save(store).await?;
    }
    state.next_wave = wave_index + 1;
    state.save(store).await?;
    Ok(state.calls_of_wave(wave_index).cloned().collect())
}

/// One start, retried on retryable failures with the same client token: throttling after
/// `pacing` doubled each time, SSM's automation limit (the account-Region's quota and queue
/// full) after [`LIMIT_BACKOFF`] doubled up to [`LIMIT_BACKOFF_CAP`], longer, as it passes
/// only when automations end.
async fn start_one(
    automation: &dyn Automation,
    request: &StartAutomation,
    pacing: Duration,
) -> Result<String> {
    let (mut attempt, mut limited) = (0, 0);
    loop {
        match automation.start(request).await {
            Ok(id) => return Ok(id),
            Err(error) if is_limit_exceeded(&error) && limited < LIMIT_RETRIES => {
                limited += 1;
                let wait = (LIMIT_BACKOFF * 2_u32.pow((limited - 1).min(5))).min(LIMIT_BACKOFF_CAP);
                tracing::warn!(%error, limited, ?wait, "SSM runs its limit of automations; waiting for some to end");
                tokio::time::sleep(wait).await;
            }
            Err(error) if error.is_retryable() && attempt < START_RETRIES => {
                attempt += 1;
                tracing::warn!(%error, attempt, "start throttled or failed; retrying");
                tokio::time::sleep(pacing * 2_u32.pow(attempt)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// True for SSM's answer that the account-Region runs all the automations it may.
fn is_limit_exceeded(error: &Error) -> bool {
    matches!(error, Error::Aws { code: Some(code), .. } if code == AUTOMATION_LIMIT_EXCEEDED)
}

/// What SSM's preview says every call of `plan` would touch (nothing is started).
pub async fn preview(automation: &dyn Automation, plan: &RunPlan) -> Result<Preview> {
    let mut total = Preview::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{ScriptedAutomation, throttled};

    fn limit_exceeded() -> Error {
        Error::Aws {
            region: None,
            service: "ssm",
            operation: "StartAutomationExecution",
            code: Some(AUTOMATION_LIMIT_EXCEEDED.to_owned()),
            message: "The number of simultaneously running Automation executions exceeded the allowable limit.".to_owned(),
            retryable: true,
            failure: crate::error::AwsFailure::Other,
            detail: None,
        }
    }

    fn request() -> StartAutomation {
        StartAutomation {
            document: "Fabric-Patch".to_owned(),
            document_version: None,
            parameters: crate::model::Parameters::new(),
            target_parameter_name: None,
            targets: Vec::new(),
            max_concurrency: None,
            max_errors: None,
            target_locations: Vec::new(),
            client_token: "token-1".to_owned(),
            alarm: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn when_ssm_runs_its_limit_of_automations_then_the_start_waits_minutes_for_them_to_end() {
        let automation = ScriptedAutomation::default();
        automation.faults.fail("start", 0, 12, limit_exceeded);
        let began = tokio::time::Instant::now();
        let started = start_one(&automation, &request(), Duration::from_secs(1)).await;
        assert!(started.is_ok(), "{started:?}");
        let waited = began.elapsed();
        assert!(
            waited >= Duration::from_secs(4 * 60),
            "12 refusals waited out over minutes, not seconds: {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_start_is_throttled_past_its_retries_then_the_error_is_returned() {
        let automation = ScriptedAutomation::default();
        automation
            .faults
            .fail("start", 0, START_RETRIES as usize + 1, throttled);
        let error = start_one(&automation, &request(), Duration::from_secs(1))
            .await
            .expect_err("throttled every time");
        assert!(error.is_retryable(), "{error}");
        assert!(automation.started().is_empty());
    }
}
