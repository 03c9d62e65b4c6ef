//! `CollectCall`: collects one started call's locations from their child executions and keeps
//! the results (one item of the Distributed Map). `CollectResults`: assembles the run's report
//! from the kept results and decides, by the wave's gate, whether the next wave starts; a failed
//! gate is kept in the run state so the report says why the rest did not.

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::runs::{self, RunState};
use fabric::workflow::{CollectRequest, RunCollected};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Collects one call, or assembles one run.
pub(crate) async fn handle(
    services: &RunServices,
    _config: &Config,
    event: LambdaEvent<CollectRequest>,
) -> Result<RunCollected, FunctionError> {
    let CollectRequest {
        run_id,
        execution_id,
    } = event.payload;
    let mut state = RunState::load(&services.store, &run_id).await?;
    if let Some(execution_id) = execution_id {
        let collected = state
            .collect_call(
                &execution_id,
                &services.automation,
                &services.locations,
                &services.store,
            )
            .await?;
        return Ok(RunCollected {
            run_id,
            next_wave: false,
            collected,
            counts: std::collections::BTreeMap::default(),
        });
    }
    let report = state
        .report(&services.automation, &services.locations, &services.store)
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
        run_id,
        next_wave,
        collected: 0,
        counts: report.counts_by_status(),
    })
}
