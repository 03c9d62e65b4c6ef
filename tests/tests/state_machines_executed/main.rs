//! The state machines executed: each ASL file runs in moto's Step Functions interpreter on a
//! private local stack, its Lambda tasks stood in for by Pass states that keep what the state
//! machine sends and answer what the function would (the `fabric::workflow` types). So the
//! real control flow runs (Choice, the Wait loops, the Distributed Map, Parallel, Catch, the
//! SQS integration), and these tests check that every step is sent a payload its function
//! reads, that a failure at any step still reaches the report, and that a report that cannot
//! be published lands in the undelivered-reports queue instead of being dropped.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_config::SdkConfig;
use fabric::events::TriggerEvent;
use fabric::model::{AccountId, OnboardingAction, RoleOutcome};
use fabric::workflow::{
    AccountReadiness, CollectRequest, OnboardingInput, PublishRequest, ReportPublished, RoleDone,
    RunCollected, RunStarted, RunTracked, SharesDone, StartRequest, StepError, TrackStep,
    WaveStarted, WaveStep,
};
use fabric_simulator::ssm::engine::Settings;
use fabric_simulator::stack::PrivateStack;
use fabric_tests::{LAMBDA_INVOKE, central_config, state_machine_text, workspace};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where a stood-in step keeps what it was sent (`call`) and what it answers (`result`).
const STAND_IN: &str = "stand_in";
/// A failing step publishes to a topic that does not exist (`SNS.NotFoundException`), an
/// error no Retry matches, so its Catch runs at once.
const MISSING_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:automation-fabric-missing";
const RUN_ID: &str = "run-7f3a";
const CALLS: [&str; 2] = ["exec-call-1", "exec-call-2"];
const REPORT_URI: &str = "s3://automation-fabric-reports/reports/runs/run-7f3a.json";

/// A private local stack with moto's Step Functions interpreter on, and the queue that stands
/// for the template's undelivered-reports queue.
struct Interpreter {
    _stack: PrivateStack,
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Interpreter {
    async fn start() -> Self {
        let stack = PrivateStack::start(&workspace(), Settings::default())
            .await
            .unwrap_or_else(|error| panic!("the local stack did not start: {error}"));
        let switched = reqwest::Client::new()
            .post(format!("{}/moto-api/config", stack.moto_url()))
            .body(r#"{"stepfunctions": {"execute_state_machine": true}}"#)
            .send()
            .await
            .expect("moto answers");
        assert!(switched.status().is_success(), "the interpreter is on");
        let config: SdkConfig = central_config(stack.endpoint(), "us-east-1").await;
        Self {
            sfn: aws_sdk_sfn::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            _stack: stack,
        }
    }

    /// Runs `machine` (its Lambda tasks stood in for, `failing` made to fail) on `input` and
    /// returns how it ended, what each Lambda step was sent and what reached the queue.
    async fn execute(
        &self,
        machine: &str,
        answers: &BTreeMap<&str, Value>,
        failing: Option<&str>,
        input: &Value,
    ) -> Execution {
        let label = failing.unwrap_or("none").to_lowercase();
        let queue_url = self
            .sqs
            .create_queue()
            .queue_name(format!("undelivered-{machine}-{label}"))
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("a queue URL");
        let definition = stood_in(machine, answers, failing, &queue_url);
        let arn = self
            .sfn
            .create_state_machine()
            .name(format!("{machine}-{label}"))
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/automation-fabric-tests")
            .send()
            .await
            .unwrap_or_else(|error| panic!("moto takes {machine}: {error:?}"))
            .state_machine_arn;
        let execution_arn = self
            .sfn
            .start_execution()
            .state_machine_arn(arn)
            .name(format!("failing-{label}"))
            .input(input.to_string())
            .send()
            .await
            .expect("started")
            .execution_arn;
        let started = Instant::now();
        let ended = loop {
            let described = self
                .sfn
                .describe_execution()
                .execution_arn(&execution_arn)
                .send()
                .await
                .expect("described");
            if described.status != aws_sdk_sfn::types::ExecutionStatus::Running {
                break described;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{machine} (failing {label}) ends within a minute"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let history = self
            .sfn
            .get_execution_history()
            .execution_arn(&execution_arn)
            .max_results(1000)
            .send()
            .await
            .expect("history")
            .events;
        let undelivered = self
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("received")
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                serde_json::from_str(message.body().unwrap_or_default()).expect("a JSON body")
            })
            .collect();
        Execution {
            arn: execution_arn,
            status: ended.status.as_str().to_owned(),
            error: ended.error,
            sent: sent_payloads(&history, answers, failing),
            map_items: history
                .iter()
                .filter_map(|event| event.map_state_started_event_details())
                .map(|details| details.length)
                .collect(),
            undelivered,
        }
    }
}

/// How an execution ended.
#[derive(Debug)]
struct Execution {
    arn: String,
    status: String,
    error: Option<String>,
    /// Each Lambda step reached, in order, with the payload it was sent.
    sent: Vec<(String, Value)>,
    /// The item count of each Map state run.
    map_items: Vec<i32>,
    /// The messages in the undelivered-reports queue.
    undelivered: Vec<Value>,
}

impl Execution {
    fn steps(&self) -> Vec<&str> {
        self.sent.iter().map(|(step, _)| step.as_str()).collect()
    }

    fn payload_of(&self, step: &str) -> &Value {
        &self
            .sent
            .iter()
            .find(|(name, _)| name == step)
            .unwrap_or_else(|| panic!("{step} was reached: {:?}", self.steps()))
            .1
    }

    fn publish_request(&self) -> PublishRequest {
        serde_json::from_value(self.payload_of("PublishReport").clone())
            .expect("PublishReport is sent what publish-report reads")
    }
}

/// The payload each stood-in Lambda step was sent, from the history: the step that stands in
/// keeps the evaluated `Parameters` under `stand_in.call` (the failing step sends nothing).
fn sent_payloads(
    history: &[aws_sdk_sfn::types::HistoryEvent],
    answers: &BTreeMap<&str, Value>,
    failing: Option<&str>,
) -> Vec<(String, Value)> {
    history
        .iter()
        .filter_map(|event| event.state_exited_event_details())
        .filter(|details| answers.contains_key(details.name()) && failing != Some(details.name()))
        .map(|details| {
            let output: Value =
                serde_json::from_str(details.output().unwrap_or("null")).expect("JSON output");
            (
                details.name().to_owned(),
                output[STAND_IN]["call"]["Payload"].clone(),
            )
        })
        .collect()
}

/// `statemachines/<machine>.asl.json` as moto's interpreter can run it: every placeholder
/// filled (the queue's URL; a made-up ARN for the functions), Wait states of no length, and
/// every Lambda task stood in for by three Pass states: the first keeps the evaluated
/// `Parameters` (what the function is sent), the second answers `{"Payload": answer}`, the
/// third applies the task's `ResultSelector` and `ResultPath` and goes on as the task did. The
/// `failing` task becomes a task that fails, with the task's own Retry and Catch.
///
/// Two changes for moto's interpreter: a Distributed Map runs `INLINE` (moto reports a
/// distributed map run succeeded without running its items; inline, the same item processor
/// runs in the execution, its payloads are in the history and an item's failure fails the
/// Map as it does in AWS), and `ToleratedFailurePercentage` is dropped (moto's parser does
/// not know it; 0 is the default).
fn stood_in(
    machine: &str,
    answers: &BTreeMap<&str, Value>,
    failing: Option<&str>,
    queue_url: &str,
) -> String {
    let filled = fill_placeholders(&state_machine_text(machine), queue_url);
    let mut definition: Value = serde_json::from_str(&filled).expect("valid JSON");
    stand_in_states(
        definition["States"].as_object_mut().expect("States"),
        answers,
        failing,
    );
    definition.to_string()
}

fn fill_placeholders(text: &str, queue_url: &str) -> String {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').expect("a closed placeholder");
        let name = &rest[start + 2..end];
        filled.push_str(&rest[..start]);
        if name == "UndeliveredReportsQueueUrl" {
            filled.push_str(queue_url);
        } else {
            // Every other placeholder is a function's ARN.
            filled.push_str("arn:aws:lambda:us-east-1:123456789012:function:");
            filled.push_str(name);
        }
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    filled
}

fn stand_in_states(
    states: &mut Map<String, Value>,
    answers: &BTreeMap<&str, Value>,
    failing: Option<&str>,
) {
    let names: Vec<String> = states.keys().cloned().collect();
    for name in names {
        let mut state = states.remove(&name).expect("listed");
        let branches = state.get_mut("Branches").and_then(Value::as_array_mut);
        for branch in branches.into_iter().flatten() {
            stand_in_states(
                branch["States"].as_object_mut().expect("branch States"),
                answers,
                failing,
            );
        }
        if let Some(processor) = state.get_mut("ItemProcessor") {
            processor["ProcessorConfig"] = json!({"Mode": "INLINE"});
            stand_in_states(
                processor["States"]
                    .as_object_mut()
                    .expect("processor States"),
                answers,
                failing,
            );
        }
        let fields = state.as_object_mut().expect("a state is an object");
        fields.remove("ToleratedFailurePercentage");
        if fields["Type"] == "Wait" {
            fields.insert("Seconds".to_owned(), json!(0));
        }
        if fields.get("Resource").and_then(Value::as_str) != Some(LAMBDA_INVOKE) {
            states.insert(name, state);
            continue;
        }
        if failing == Some(name.as_str()) {
            states.insert(name, failing_task(fields));
            continue;
        }
        let answer = answers
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no answer for the Lambda task {name}"));
        for (stand_in_name, stand_in) in stand_ins(&name, fields, answer) {
            states.insert(stand_in_name, stand_in);
        }
    }
}

/// The Lambda task `fields` made to fail (a publish to a topic that does not exist), with its
/// own `Retry`, `Catch`, `ResultPath` and `Next`.
fn failing_task(fields: &Map<String, Value>) -> Value {
    let mut task = fields.clone();
    task.insert("Resource".to_owned(), json!("arn:aws:states:::sns:publish"));
    task.insert(
        "Parameters".to_owned(),
        json!({"TopicArn": MISSING_TOPIC, "Message": "stands in for a failing Lambda task"}),
    );
    task.remove("ResultSelector");
    Value::Object(task)
}

/// The three Pass states that stand in for the Lambda task `name` (see [`stood_in`]): the
/// first keeps the task's name, so the state machine reaches them as it reached the task.
fn stand_ins(name: &str, fields: &Map<String, Value>, answer: &Value) -> [(String, Value); 3] {
    let result = format!("$.{STAND_IN}.result");
    let selector = fields.get("ResultSelector").map_or_else(
        || json!({"Payload.$": format!("{result}.Payload")}),
        |selector| {
            let mut rewritten = Map::new();
            for (key, value) in selector.as_object().expect("ResultSelector") {
                let value = match value.as_str() {
                    Some(path) if key.ends_with(".$") && path.starts_with("$.") => {
                        json!(format!("{result}.{}", &path[2..]))
                    }
                    _ => value.clone(),
                };
                rewritten.insert(key.clone(), value);
            }
            Value::Object(rewritten)
        },
    );
    let mut goes_on = Map::new();
    goes_on.insert("Type".to_owned(), json!("Pass"));
    goes_on.insert("Parameters".to_owned(), selector);
    goes_on.insert(
        "ResultPath".to_owned(),
        fields.get("ResultPath").cloned().unwrap_or(json!("$")),
    );
    for key in ["Next", "End"] {
        if let Some(value) = fields.get(key) {
            goes_on.insert(key.to_owned(), value.clone());
        }
    }
    [
        (
            name.to_owned(),
            json!({
                "Type": "Pass",
                "Parameters": fields["Parameters"],
                "ResultPath": format!("$.{STAND_IN}.call"),
                "Next": format!("{name} answers"),
            }),
        ),
        (
            format!("{name} answers"),
            json!({
                "Type": "Pass",
                "Result": {"Payload": answer},
                "ResultPath": result,
                "Next": format!("{name} goes on"),
            }),
        ),
        (format!("{name} goes on"), Value::Object(goes_on)),
    ]
}

fn answer<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializable")
}

mod onboarding;
mod run;
