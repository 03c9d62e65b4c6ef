//! Reads the started parents' steps: locations by status, and whether all have ended.

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
    Ok(RunTracked {
        run_id: event.payload.run_id,
        done: progress.done,
        counts: progress.counts,
    })
}
