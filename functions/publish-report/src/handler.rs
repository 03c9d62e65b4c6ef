//! `PublishReport` of both state machines: stores the full report and publishes its summary; a
//! run's is read back from its state, an onboarding's assembled from the steps' outputs, each
//! with the error of a failed path if any.

use fabric::steps::{RunPorts, run};
use fabric::workflow::{PublishRequest, ReportPublished};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Publishes one report.
pub(crate) async fn handle(
    ports: &RunPorts<'_>,
    event: LambdaEvent<PublishRequest>,
) -> Result<ReportPublished, FunctionError> {
    Ok(run::publish_report(ports, event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, started_run, throttled};
    use fabric::workflow::RunStep;
    use fabric_lambda::{error_type, invocation};

    fn run_report(run_id: &str) -> LambdaEvent<PublishRequest> {
        invocation(PublishRequest::Run {
            run: RunStep {
                run_id: run_id.to_owned(),
            },
            error: None,
            verdict: None,
        })
    }

    #[tokio::test]
    async fn when_a_run_ends_then_its_report_is_stored_and_its_summary_published() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        let published = handle(&ports, run_report(&run_id))
            .await
            .expect("published");
        assert!(published.report.contains(&run_id), "{}", published.report);
        assert_eq!(published.message_id.as_deref(), Some("message-1"));
        let notes = fakes.notifier.published.lock().expect("not poisoned");
        assert!(notes[0].message.contains(&run_id), "{}", notes[0].message);
        assert!(
            notes[0].message.contains("Success: 1"),
            "{}",
            notes[0].message
        );
    }

    #[tokio::test]
    async fn when_the_topic_is_throttled_then_the_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let ports = fakes.run_ports(&config);
        let run_id = started_run(&ports).await;
        fakes.notifier.faults.fail("publish", 0, 1, throttled);
        let error = handle(&ports, run_report(&run_id))
            .await
            .expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_run_state_is_corrupt_then_the_error_says_so_and_nothing_is_published() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes.store.insert("state/runs/run-1.json", b"{ not json");
        let error = handle(&fakes.run_ports(&config), run_report("run-1"))
            .await
            .expect_err("corrupt");
        assert_eq!(error_type(error), "Fabric.CorruptState");
        assert!(
            fakes
                .notifier
                .published
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
    }
}
