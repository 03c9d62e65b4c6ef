//! Reads the started parents' steps: locations by status, whether all have ended, and the
//! latest wave's calls (the items the state machine's `CollectCalls` map collects).

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::runs::{self, RunState};
use fabric::workflow::{RunStep, RunTracked};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Tracks one run.
pub(crate) async fn handle(
    services: &RunServices,
    _config: &Config,
    event: LambdaEvent<RunStep>,
) -> Result<RunTracked, FunctionError> {
    let state = RunState::load(&services.store, &event.payload.run_id).await?;
    let progress = runs::progress(&services.automation, &state.started).await?;
    let latest = state
        .next_wave
        .checked_sub(1)
        .and_then(|wave| state.plan.waves.get(wave));
    let calls = state
        .started
        .iter()
        .filter(|call| latest.is_some_and(|wave| wave.name == call.wave))
        .map(|call| call.execution_id.clone())
        .collect();
    Ok(RunTracked {
        run_id: event.payload.run_id,
        done: progress.done,
        counts: progress.counts,
        calls,
    })
}
