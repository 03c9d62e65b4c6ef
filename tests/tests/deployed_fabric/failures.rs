//! Functions failing inside the deployment: a crash retried by the state machine, a timeout
//! caught and reported with its step, a report that cannot be published kept.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_function_crashes_on_its_first_invocation_then_the_state_machine_retries_it() {
    let world = Organization::of(2).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    deployed.crash("TrackRunFunction", 1);

    let execution = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    let crashed = view
        .task_answers
        .iter()
        .find(|answer| answer.state == "TrackRun" && answer.output.is_none())
        .unwrap_or_else(|| panic!("the first TrackRun failed: {view:#?}"));
    assert_eq!(crashed.error.as_deref(), Some("Runtime.ExitError"));
    assert_eq!(deployed.function_stats()["TrackRunFunction"].crashes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_function_runs_past_its_timeout_then_the_run_is_reported_with_the_step_and_why() {
    let world = Organization::of(2).onboarded().world().await;
    let deployed = Deployed::on(world, &[("TrackRunFunction", 1)]).await;
    deployed.world.faults(FaultSettings {
        latency_ms: 1_500,
        ..FaultSettings::default()
    });

    let execution = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(
        view.status, "FAILED",
        "a run whose tracking failed fails: {view:?}"
    );
    let (state, error, _) = view.failed_state.clone().expect("a task failed");
    assert_eq!(
        (state.as_str(), error.as_str()),
        ("TrackRun", "Sandbox.Timedout")
    );
    assert!(deployed.function_stats()["TrackRunFunction"].timeouts >= 1);
    let published = deployed.published().await;
    assert!(
        published.iter().any(
            |(_, message)| message.contains("TrackRun") && message.contains("Sandbox.Timedout")
        ),
        "the report says which step failed and why: {published:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_publish_report_always_fails_then_the_undelivered_reports_queue_keeps_the_state() {
    let world = Organization::of(2).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    deployed.world.faults(FaultSettings {
        errors: vec![ScriptedError {
            operation: "sns.Publish".to_owned(),
            matching: None,
            code: "AuthorizationError".to_owned(),
            message: "not authorized to publish".to_owned(),
            status: 403,
            times: None,
        }],
        ..FaultSettings::default()
    });

    let execution = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "FAILED", "{view:?}");
    assert_eq!(
        view.error.as_ref().map(|(error, _)| error.as_str()),
        Some("Fabric.PublishFailed")
    );
    let kept = queued(&deployed, "UndeliveredReportsQueue", Duration::from_secs(5)).await;
    let (state, _) = kept.first().expect("the workflow's state was kept");
    assert_eq!(state["run"]["run_id"], json!(run_id(&view)));
}
