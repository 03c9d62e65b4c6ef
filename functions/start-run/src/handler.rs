//! `StartRun`: accepts the run a trigger asks for (plans and saves it, owned by the delivering
//! execution; a repeated delivery finds it started; a dry run is previewed); `StartWave`: starts
//! the run's next wave, each call saved as it starts.

use fabric::steps::{RunPorts, run};
use fabric::workflow::{RunStarted, StartRequest};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Accepts a run, or starts its next wave.
pub(crate) async fn handle(
    ports: &RunPorts<'_>,
    event: LambdaEvent<StartRequest>,
) -> Result<RunStarted, FunctionError> {
    Ok(run::start(ports, event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{ALARM_EVENT as ALARM, FakeServices, example_config, throttled};
    use fabric_lambda::{error_type, invocation};

    fn start_request(trigger: &str) -> LambdaEvent<StartRequest> {
        let trigger: serde_json::Value = serde_json::from_str(trigger).expect("a fixture");
        let payload = serde_json::json!({ "trigger": trigger, "execution": "exec-1" });
        invocation(serde_json::from_value(payload).expect("what the state machine sends"))
    }

    #[tokio::test]
    async fn when_an_alarm_matches_a_rule_then_its_run_is_accepted_and_its_wave_starts() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let accepted = handle(&ports, start_request(ALARM))
            .await
            .expect("accepted");
        let run_id = accepted.run_id.expect("a run");
        assert_eq!(accepted.locations, 1);

        let wave = serde_json::json!({ "run_id": run_id });
        let wave = invocation(serde_json::from_value(wave).expect("a wave"));
        let started = handle(&ports, wave).await.expect("started");
        assert_eq!(started.wave.expect("a wave").calls.len(), 1);
        assert_eq!(fakes.automation.started().len(), 1);
    }

    #[tokio::test]
    async fn when_the_store_is_throttled_then_the_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes.store.faults.fail("get", 0, 1, throttled);
        let error = handle(&fakes.run_ports(&config), start_request(ALARM))
            .await
            .expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_trigger_is_malformed_then_the_error_type_is_stable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let broken = ALARM.replace("\"account\": \"", "\"account\": \"x");
        let error = handle(&fakes.run_ports(&config), start_request(&broken))
            .await
            .expect_err("a bad account id");
        assert_eq!(error_type(error), "Fabric.EventShape");
        assert!(fakes.store.keys().is_empty(), "nothing was saved");
    }

    #[tokio::test]
    async fn when_a_run_is_handed_over_then_only_the_execution_its_owner_started_carries_it_on() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = handle(&ports, start_request(ALARM))
            .await
            .expect("accepted")
            .run_id
            .expect("a run");
        let step = |payload: serde_json::Value| {
            invocation(serde_json::from_value(payload).expect("what the state machine sends"))
        };

        let hand_over =
            serde_json::json!({"hand_over": {"run_id": run_id, "from": "exec-1", "name": "next"}});
        handle(&ports, step(hand_over.clone()))
            .await
            .expect("handed over");
        handle(&ports, step(hand_over))
            .await
            .expect("a retried hand-over starts nothing more");
        let started = fakes
            .workflows
            .started
            .lock()
            .expect("not poisoned")
            .clone();
        assert_eq!(started.len(), 1, "{started:?}");
        let (name, input) = &started[0];
        assert_eq!(name, "next");
        assert_eq!(input["carry_on"]["from"], "exec-1");

        let stranger = serde_json::json!({"trigger": {"carry_on": {"run_id": run_id, "from": "exec-9"}}, "execution": "exec-3"});
        let refused = handle(&ports, step(stranger))
            .await
            .expect_err("exec-9 does not own it");
        assert_eq!(error_type(refused), "Fabric.NotPermitted");
        let carried = serde_json::json!({"trigger": input, "execution": "exec-2"});
        let accepted = handle(&ports, step(carried)).await.expect("carried on");
        assert_eq!(accepted.run_id.as_deref(), Some(run_id.as_str()));
        let state = fabric::runs::RunState::load(&fakes.store, &run_id)
            .await
            .expect("kept");
        assert_eq!(state.owner.as_deref(), Some("exec-2"));
        assert_eq!(state.hand_overs, 1);
    }
}
