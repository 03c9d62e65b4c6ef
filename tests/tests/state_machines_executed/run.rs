//! The multi-location run state machine executed: every step sent what its function reads, a
//! failure at any step reported, an unpublishable report kept in the undelivered queue.

use super::onboarding::{onboarding_answers, onboarding_input};
use super::*;

/// What each Lambda task of the run state machine answers: a run of two calls, one wave.
fn run_answers() -> BTreeMap<&'static str, Value> {
    let counts = BTreeMap::from([("Success".to_owned(), 6)]);
    BTreeMap::from([
        (
            "StartRun",
            answer(&RunStarted {
                run_id: Some(RUN_ID.to_owned()),
                locations: 6,
                wave: None,
                reason: None,
            }),
        ),
        // Never reached here: TrackRun answers no hand-over.
        (
            "HandOver",
            answer(&RunStarted {
                run_id: Some(RUN_ID.to_owned()),
                locations: 0,
                wave: None,
                reason: Some("handed over".to_owned()),
            }),
        ),
        (
            "TrackRun",
            answer(&RunTracked {
                run_id: RUN_ID.to_owned(),
                done: true,
                counts: counts.clone(),
                calls: CALLS.map(str::to_owned).to_vec(),
                kept: 0,
                deadline_passed: false,
                hand_over: false,
                next_execution: String::new(),
            }),
        ),
        (
            "CollectCall",
            answer(&RunCollected {
                run_id: RUN_ID.to_owned(),
                next_wave: false,
                collected: 3,
                counts: counts.clone(),
                approval_needed: false,
                approval_timeout_seconds: 0,
            }),
        ),
        (
            "CollectResults",
            answer(&RunCollected {
                run_id: RUN_ID.to_owned(),
                next_wave: false,
                collected: 0,
                counts,
                approval_needed: false,
                approval_timeout_seconds: 0,
            }),
        ),
        (
            "StartWave",
            answer(&RunStarted {
                run_id: Some(RUN_ID.to_owned()),
                locations: 6,
                wave: Some(WaveStarted {
                    name: "all".to_owned(),
                    calls: CALLS.map(str::to_owned).to_vec(),
                }),
                reason: None,
            }),
        ),
        (
            "PublishReport",
            answer(&ReportPublished {
                report: REPORT_URI.to_owned(),
                message_id: Some("message-1".to_owned()),
            }),
        ),
    ])
}

fn run_input() -> Value {
    json!({"manual": {"requested_by": "state-machine-tests", "profile": "patch-baseline"}})
}

/// The run's id and error as `PublishReport` was sent them.
fn published_run(execution: &Execution) -> (String, Option<StepError>) {
    match execution.publish_request() {
        PublishRequest::Run {
            run,
            error,
            verdict: None,
        } => (run.run_id, error),
        other => panic!("a run publishes a run report, with no approval verdict: {other:?}"),
    }
}

#[tokio::test]
async fn when_every_run_step_succeeds_then_each_is_sent_what_its_function_reads_and_the_run_is_reported()
 {
    let interpreter = Interpreter::start().await;
    let answers = run_answers();
    let execution = interpreter
        .execute("multi-location-run", &answers, None, &run_input())
        .await;

    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    assert_eq!(
        execution.steps(),
        [
            "StartRun",
            "StartWave",
            "TrackRun",
            "CollectCall",
            "CollectCall",
            "CollectResults",
            "PublishReport"
        ],
        "the steps in order"
    );
    assert_eq!(execution.map_items, [2], "one CollectCall per started call");
    let mut collected_calls: Vec<CollectRequest> = execution
        .sent
        .iter()
        .filter(|(step, _)| step == "CollectCall")
        .map(|(_, payload)| serde_json::from_value(payload.clone()).expect("a CollectRequest"))
        .collect();
    collected_calls.sort_by(|a, b| a.execution_id.cmp(&b.execution_id));
    assert_eq!(
        collected_calls,
        CALLS.map(|call| CollectRequest {
            run_id: RUN_ID.to_owned(),
            execution_id: Some(call.to_owned())
        }),
        "each started call collected once"
    );
    let start: StartRequest = serde_json::from_value(execution.payload_of("StartRun").clone())
        .expect("start-run reads a StartRun payload");
    let StartRequest::Trigger(delivery) = start else {
        panic!("StartRun is sent a trigger delivery: {start:?}");
    };
    let trigger = TriggerEvent::from_value(&delivery.trigger).expect("start-run reads the trigger");
    assert_eq!(
        trigger,
        TriggerEvent::from_value(&run_input()).expect("the input is a trigger")
    );
    assert_eq!(delivery.execution, execution.arn, "the run's owner");
    let wave: StartRequest = serde_json::from_value(execution.payload_of("StartWave").clone())
        .expect("start-run reads a StartWave payload");
    assert_eq!(
        wave,
        StartRequest::Wave(WaveStep {
            run_id: RUN_ID.to_owned(),
            approval: None,
        })
    );
    let tracked: TrackStep =
        serde_json::from_value(execution.payload_of("TrackRun").clone()).expect("a TrackStep");
    assert_eq!(tracked.run_id, RUN_ID);
    assert!(
        tracked.execution_started.is_some(),
        "TrackRun is sent when its execution started"
    );
    let collected: CollectRequest =
        serde_json::from_value(execution.payload_of("CollectResults").clone())
            .expect("a CollectRequest");
    assert_eq!(
        collected,
        CollectRequest {
            run_id: RUN_ID.to_owned(),
            execution_id: None
        }
    );
    assert_eq!(published_run(&execution), (RUN_ID.to_owned(), None));
    assert!(execution.undelivered.is_empty());
}

#[tokio::test]
async fn when_a_run_step_fails_then_the_report_is_still_published_with_the_error() {
    let interpreter = Interpreter::start().await;
    let answers = run_answers();
    let input = run_input();
    let failing = ["StartWave", "TrackRun", "CollectCall", "CollectResults"];
    let executions = futures_util::future::join_all(
        failing.map(|step| interpreter.execute("multi-location-run", &answers, Some(step), &input)),
    )
    .await;

    for (step, execution) in failing.iter().zip(&executions) {
        assert_eq!(execution.status, "FAILED", "{step}: {execution:?}");
        assert_eq!(
            execution.error.as_deref(),
            Some("Fabric.RunFailed"),
            "{step}"
        );
        let (run_id, error) = published_run(execution);
        assert_eq!(run_id, RUN_ID, "{step}");
        assert!(
            error.is_some_and(|error| !error.error.is_empty()),
            "{step}: the report carries the step's error"
        );
        assert!(execution.undelivered.is_empty(), "{step}");
    }
}

#[tokio::test]
async fn when_a_run_cannot_start_then_it_fails_without_a_report_of_a_run_that_never_was() {
    let interpreter = Interpreter::start().await;
    let execution = interpreter
        .execute(
            "multi-location-run",
            &run_answers(),
            Some("StartRun"),
            &run_input(),
        )
        .await;

    assert_eq!(execution.status, "FAILED");
    assert_eq!(execution.error.as_deref(), Some("Fabric.RunNotStarted"));
    assert!(execution.steps().is_empty(), "{:?}", execution.steps());
}

#[tokio::test]
async fn when_the_report_cannot_be_published_then_it_lands_in_the_undelivered_queue() {
    let interpreter = Interpreter::start().await;
    let input = serde_json::to_value(onboarding_input()).expect("JSON");
    let (run_answers, run_input) = (run_answers(), run_input());
    let onboarding_answers = onboarding_answers(true);
    let (run, onboarding) = tokio::join!(
        interpreter.execute(
            "multi-location-run",
            &run_answers,
            Some("PublishReport"),
            &run_input
        ),
        interpreter.execute(
            "account-onboarding",
            &onboarding_answers,
            Some("PublishReport"),
            &input
        ),
    );

    for execution in [&run, &onboarding] {
        assert_eq!(execution.status, "FAILED", "{execution:?}");
        assert_eq!(execution.error.as_deref(), Some("Fabric.PublishFailed"));
        assert_eq!(execution.undelivered.len(), 1, "kept once: {execution:?}");
        assert!(
            execution.undelivered[0]["publish_error"]["Error"].is_string(),
            "the message says why it was not published"
        );
    }
    assert_eq!(run.undelivered[0]["run"]["run_id"], json!(RUN_ID));
    assert_eq!(onboarding.undelivered[0]["input"], input);
}
