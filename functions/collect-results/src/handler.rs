//! Collects every location's result so far and decides, by the wave's gate, whether the next
//! wave starts; a failed gate is kept in the run state so the report says why the rest did not.

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::runs::{self, RunState};
use fabric::workflow::{RunCollected, RunStep};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Collects one run.
pub(crate) async fn handle(
    services: &RunServices,
    _config: &Config,
    event: LambdaEvent<RunStep>,
) -> Result<RunCollected, FunctionError> {
    let mut state = RunState::load(&services.store, &event.payload.run_id).await?;
    let report = state
        .report(&services.automation, &services.locations)
        .await?;
    let waves_left = state.next_wave < state.plan.waves.len();
    let next_wave = waves_left
        && state.stopped.is_none()
        && match runs::gate(&report, &state.plan, state.next_wave - 1) {
            Ok(()) => true,
            Err(reason) => {
                state.stopped = Some(reason);
                state.save(&services.store).await?;
                false
            }
        };
    Ok(RunCollected {
        run_id: event.payload.run_id,
        next_wave,
        counts: report.counts_by_status(),
    })
}
