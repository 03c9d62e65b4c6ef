//! `CollectCall`: one started call's locations read from their child executions and kept (one
//! item of the Distributed Map). `CollectResults`: the report so far from the kept results, and
//! whether the next wave starts (a failed gate is kept, so the report says why the rest did not).

use fabric::steps::{RunPorts, run};
use fabric::workflow::{CollectRequest, RunCollected};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Collects one call, or assembles one run.
pub(crate) async fn handle(
    ports: &RunPorts<'_>,
    event: LambdaEvent<CollectRequest>,
) -> Result<RunCollected, FunctionError> {
    Ok(run::collect(ports, event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, started_run, throttled};
    use fabric_lambda::{error_type, invocation};

    fn request(run_id: &str, execution_id: Option<&str>) -> LambdaEvent<CollectRequest> {
        invocation(CollectRequest {
            run_id: run_id.to_owned(),
            execution_id: execution_id.map(ToOwned::to_owned),
        })
    }

    #[tokio::test]
    async fn when_a_call_is_collected_then_the_run_counts_its_location_and_no_wave_follows() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        let (call, _) = fakes.automation.started().remove(0);
        let kept = handle(&ports, request(&run_id, Some(&call)))
            .await
            .expect("kept");
        assert_eq!(kept.collected, 1);
        let assembled = handle(&ports, request(&run_id, None))
            .await
            .expect("assembled");
        assert!(!assembled.next_wave);
        assert_eq!(assembled.counts.get("Success"), Some(&1));
    }

    #[tokio::test]
    async fn when_the_child_read_is_throttled_then_the_call_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        let (call, _) = fakes.automation.started().remove(0);
        fakes
            .automation
            .faults
            .fail("location_steps", 0, 1, throttled);
        let error = handle(&ports, request(&run_id, Some(&call)))
            .await
            .expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_call_is_not_the_runs_then_the_error_says_not_found() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        let error = handle(&ports, request(&run_id, Some("exec-of-another-run")))
            .await
            .expect_err("not this run's call");
        assert_eq!(error_type(error), "Fabric.NotFound");
    }
}
