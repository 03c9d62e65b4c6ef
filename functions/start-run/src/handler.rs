//! Plans the run a trigger asks for and starts its first wave; given `{"run_id": ...,
//! "continue": true}`, starts the next wave. The run's id is the trigger's idempotency key and
//! its owner the workflow that delivered it (the state machine passes
//! `{"trigger": ..., "execution": $$.Execution.Id}`; a bare trigger is owned by the Lambda
//! request): a retried step carries its own run on, another delivery of the same trigger finds
//! the run started and starts nothing. A manual dry run is planned and previewed by SSM, and
//! nothing starts.

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::events::{Trigger, TriggerEvent};
use fabric::plan::{PlanContext, plan_run};
use fabric::runs::{self, Delivery, RunState, START_PACING};
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
    let (payload, context) = event.into_parts();
    let mut state = if let (Some(run_id), Some(true)) =
        (payload["run_id"].as_str(), payload["continue"].as_bool())
    {
        RunState::load(&services.store, run_id).await?
    } else {
        let (trigger, owner) = match (&payload["trigger"], payload["execution"].as_str()) {
            (trigger @ Value::Object(_), Some(execution)) => (trigger, execution),
            _ => (&payload, context.request_id.as_str()),
        };
        let trigger = TriggerEvent::from_value(trigger)?;
        let Some(request) = runs::run_request_for(&trigger.trigger, config)? else {
            return Ok(RunStarted {
                run_id: None,
                locations: 0,
                reason: Some("the event is not a run trigger".to_owned()),
            });
        };
        let run_id = trigger.idempotency_key.to_string();
        let context = PlanContext {
            default_regions: &config.regions,
        };
        if matches!(trigger.trigger, Trigger::Manual { dry_run: true, .. }) {
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
        let delivery = runs::accept_delivery(
            &run_id,
            request,
            owner,
            &services.directory,
            &context,
            &services.store,
        )
        .await?;
        match delivery {
            Delivery::Start(state) => *state,
            Delivery::Duplicate { run_id, owner } => {
                lambda_runtime::tracing::info!(
                    run_id,
                    ?owner,
                    "a repeated delivery: the run is started"
                );
                return Ok(RunStarted {
                    run_id: None,
                    locations: 0,
                    reason: Some(format!(
                        "run {run_id} was started by an earlier delivery of this trigger ({})",
                        owner.as_deref().unwrap_or("unknown workflow")
                    )),
                });
            }
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
