//! Plans the run a trigger asks for (its id is the trigger's idempotency key, so a repeated
//! trigger finds its plan and its started calls: client tokens make the starts idempotent) and
//! starts the first wave; given `{"run_id": ..., "continue": true}`, starts the next wave. A
//! manual dry run is planned and previewed by SSM, and nothing starts.

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::events::TriggerEvent;
use fabric::plan::{PlanContext, plan_run};
use fabric::runs::{self, RunState, START_PACING};
use fabric::workflow::RunStarted;
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Starts a run, or its next wave.
pub(crate) async fn handle(
    services: &RunServices,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<RunStarted, FunctionError> {
    let payload = event.payload;
    let mut state = if let (Some(run_id), Some(true)) =
        (payload["run_id"].as_str(), payload["continue"].as_bool())
    {
        RunState::load(&services.store, run_id).await?
    } else {
        let trigger = TriggerEvent::from_value(&payload)?;
        let dry_run = matches!(
            trigger.trigger,
            fabric::events::Trigger::Manual { dry_run: true, .. }
        );
        let Some(request) = runs::run_request_for(&trigger.trigger, config)? else {
            return Ok(RunStarted {
                run_id: None,
                locations: 0,
                reason: Some("the event is not a run trigger".to_owned()),
            });
        };
        let run_id = trigger.idempotency_key.to_string();
        if dry_run {
            let context = PlanContext {
                default_regions: &config.regions,
            };
            let plan = plan_run(&run_id, request, &services.directory, &context).await?;
            let preview = runs::preview(&services.automation, &plan).await?;
            return Ok(RunStarted {
                run_id: None,
                locations: plan.planned_count(),
                reason: Some(format!(
                    "dry run: {} locations planned, {} skipped; SSM's preview: {} accounts, {} Regions, {} targets",
                    plan.planned_count(),
                    plan.skipped.len(),
                    preview.accounts,
                    preview.regions.len(),
                    preview.targets
                )),
            });
        }
        match RunState::load(&services.store, &run_id).await {
            Ok(state) => state,
            Err(fabric::Error::Run { .. }) => {
                let context = PlanContext {
                    default_regions: &config.regions,
                };
                RunState::new(plan_run(&run_id, request, &services.directory, &context).await?)
            }
            Err(other) => return Err(other.into()),
        }
    };
    let wave = state.next_wave;
    if wave >= state.plan.waves.len() {
        return Ok(RunStarted {
            run_id: Some(state.plan.run_id.clone()),
            locations: 0,
            reason: Some("every wave has started".to_owned()),
        });
    }
    // Saved before starting: a retry after a crash starts the same calls with the same tokens.
    state.save(&services.store).await?;
    let started = runs::start_wave(&services.automation, &state.plan, wave, START_PACING).await?;
    let locations = started.iter().map(|call| call.locations.len()).sum();
    state
        .started
        .retain(|call| call.wave != state.plan.waves[wave].name);
    state.started.extend(started);
    state.next_wave = wave + 1;
    state.save(&services.store).await?;
    Ok(RunStarted {
        run_id: Some(state.plan.run_id),
        locations,
        reason: None,
    })
}
