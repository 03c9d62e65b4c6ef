//! The deployed fabric end to end on the local stack: `infra/template.yaml` deployed with the
//! functions' real binaries, driven as users drive it: events put on its buses with
//! `aws events put-events`, its schedules fired, its state machines run by moto's interpreter
//! whose Lambda tasks reach the real functions, its reports read back from S3 and the topic.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod delivery;
mod failures;
mod journeys;
mod long_runs;
mod report_page;

use fabric::runs::RunState;
use fabric_simulator::faults::{FaultSettings, ScriptedError};
use fabric_tests::{Deployed, Organization, run_id, workspace};
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough for any execution here at the tests' time scale.
const EXECUTION_TIMEOUT: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> Value {
    let path = workspace().join("tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture is there"))
        .expect("the fixture is JSON")
}

/// A `PutEvents` entry carrying `event` (a fixture, as EventBridge delivers it) to `bus`.
fn entry(event: &Value, bus: &str) -> Value {
    json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "Resources": event["resources"],
        "EventBusName": bus,
    })
}

/// Every Lambda task of the execution was answered by a function (none failed).
fn every_task_answered(view: &fabric::aws::ExecutionView) {
    assert!(!view.task_answers.is_empty(), "tasks ran: {view:?}");
    for answer in &view.task_answers {
        assert!(
            answer
                .output
                .as_ref()
                .is_some_and(|output| output["StatusCode"] == 200),
            "{} answered by its function: {answer:?}",
            answer.state
        );
    }
}

/// The messages on the deployment's queue `logical_id`, with their attributes, once there are
/// any (at most `timeout`; none after it).
async fn queued(
    deployed: &Deployed,
    logical_id: &str,
    timeout: Duration,
) -> Vec<(Value, std::collections::HashMap<String, String>)> {
    let sdk = fabric_tests::central_config(deployed.world.org.stack.endpoint(), "us-east-1").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&deployed.deployment.queues[logical_id])
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("ReceiveMessage answers");
        if !received.messages().is_empty() || std::time::Instant::now() > deadline {
            return received
                .messages()
                .iter()
                .map(|message| {
                    let attributes = message
                        .message_attributes()
                        .into_iter()
                        .flatten()
                        .map(|(name, value)| {
                            (
                                name.clone(),
                                value.string_value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect();
                    let body = serde_json::from_str(message.body().unwrap_or_default());
                    (body.unwrap_or_default(), attributes)
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The report the run `state` names as published, read back from S3 (its index and parts),
/// as one JSON object: the index's fields and every location.
async fn stored_report(deployed: &Deployed, state: &RunState) -> Value {
    assert!(state.report_uri.is_some(), "the report was stored");
    let key = state
        .report_key
        .as_deref()
        .expect("the report's key is kept");
    let (index, results) = fabric::stored_run::read_run(&deployed.world.runs.store, key)
        .await
        .expect("the stored report reads back")
        .expect("the report is there");
    let mut stored = serde_json::to_value(index).expect("JSON");
    stored["locations"] = serde_json::to_value(results).expect("JSON");
    stored
}

/// The fabric deployed on `accounts` onboarded accounts (the last without the execution role,
/// one instance scripted to fail), its patch window fired and followed to its end, which must
/// be a success.
async fn patch_window_run(accounts: usize) -> (Deployed, fabric::aws::ExecutionView) {
    let world = Organization::of(accounts)
        .onboarded()
        .without_role(1)
        .failing_instances(1)
        .world()
        .await;
    let deployed = Deployed::on(world, &[]).await;
    let execution = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    (deployed, view)
}

/// Changes run profile `profile` of the world's config file with `change`.
fn edit_profile(world: &mut fabric_tests::World, profile: &str, change: impl FnOnce(&mut Value)) {
    world.edit_config(|config| change(&mut config["run_profiles"][profile]));
}

/// Fires the schedule `name` and returns the execution it started.
async fn fired_execution(deployed: &Deployed, name: &str) -> String {
    let fired = deployed.fire(name).await;
    let fabric_simulator::delivery::Delivered::Execution(execution) = fired.delivered else {
        panic!("the schedule started an execution: {fired:?}");
    };
    execution
}
