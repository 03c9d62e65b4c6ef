//! `TrackRun`: where the started automations stand (locations by status, whether all have
//! ended) and the latest wave's calls, the items the `CollectCalls` map collects; past the
//! run's deadline the run ends, and an execution that followed it long enough hands it over.

use fabric::steps::{RunPorts, run};
use fabric::workflow::{RunTracked, TrackStep};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Tracks one run.
pub(crate) async fn handle(
    ports: &RunPorts<'_>,
    event: LambdaEvent<TrackStep>,
) -> Result<RunTracked, FunctionError> {
    Ok(run::track_run(ports, event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, started_run, throttled};
    use fabric_lambda::{error_type, invocation};

    fn step(run_id: &str) -> LambdaEvent<TrackStep> {
        invocation(TrackStep {
            run_id: run_id.to_owned(),
            execution_started: None,
        })
    }

    #[tokio::test]
    async fn when_the_started_automation_has_ended_then_the_run_is_done_with_its_call() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        let tracked = handle(&ports, step(&run_id)).await.expect("tracked");
        assert!(tracked.done);
        assert_eq!(tracked.calls.len(), 1);
        assert_eq!(tracked.counts.get("Success"), Some(&1));
    }

    #[tokio::test]
    async fn when_the_execution_has_followed_a_running_run_past_hand_over_after_then_it_hands_it_over()
     {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        fakes.automation.keep_running(2);
        let started = |hours_ago: i64| {
            invocation(TrackStep {
                run_id: run_id.clone(),
                execution_started: Some(chrono::Utc::now() - chrono::Duration::hours(hours_ago)),
            })
        };

        let young = handle(&ports, started(5)).await.expect("tracked");
        assert!(!young.done && !young.hand_over, "{young:?}");
        assert_eq!(young.next_execution, "");
        let old = handle(&ports, started(7)).await.expect("tracked");
        assert!(!old.done && old.hand_over, "past the default 6h: {old:?}");
        assert_eq!(old.next_execution, format!("{run_id}-carry-1"));
        let ended = handle(&ports, started(7)).await.expect("tracked");
        assert!(
            ended.done && !ended.hand_over,
            "a run that ended is collected here: {ended:?}"
        );
    }

    #[tokio::test]
    async fn when_ssm_throttles_then_the_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        fakes.automation.faults.fail("execution", 0, 1, throttled);
        let error = handle(&ports, step(&run_id)).await.expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_run_does_not_exist_then_the_error_says_not_found() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let error = handle(&fakes.run_ports(&config), step("no-such-run"))
            .await
            .expect_err("no run");
        assert_eq!(error_type(error), "Fabric.NotFound");
    }
}
