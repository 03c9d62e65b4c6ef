//! The deployed fabric end to end on the local stack: `infra/template.yaml` deployed with the
//! functions' real binaries, driven as users drive it: events put on its buses with
//! `aws events put-events`, its schedules fired, its state machines run by moto's interpreter
//! whose Lambda tasks reach the real functions, its reports read back from S3 and the topic.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use fabric::ports::ReportStore as _;
use fabric::runs::RunState;
use fabric_simulator::faults::{FaultSettings, ScriptedError};
use fabric_simulator::lambda::FunctionFaults;
use fabric_tests::{Deployed, Organization, workspace};
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

/// The run id an execution's `StartRun` task answered.
fn run_id(view: &fabric::aws::ExecutionView) -> String {
    view.task_answers
        .iter()
        .find(|answer| answer.state == "StartRun")
        .and_then(|answer| {
            answer.output.as_ref()?["Payload"]["run_id"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("StartRun answered a run id: {view:?}"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_an_account_created_event_is_put_three_times_then_the_account_is_onboarded_once_and_reported()
 {
    let world = Organization::of(3).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    let newcomer = deployed.world.create_account("deployed-newcomer").await;
    let mut event = fixture("org-create-account-result-succeeded.json");
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!(newcomer.as_str());
    event["detail"]["eventID"] = json!(format!("deployed-{newcomer}"));

    for _ in 0..3 {
        deployed
            .put_events(&json!([entry(&event, "default")]), None)
            .await;
    }
    let executions = deployed
        .wait_for_executions("OnboardingStateMachine", 1, Duration::from_secs(30))
        .await;
    let view = deployed.finished(&executions[0], EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    every_task_answered(&view);
    let functions = deployed.function_stats();
    assert_eq!(
        functions["AccountEventsFunction"].invocations, 3,
        "each delivery reached account-events"
    );
    assert_eq!(
        deployed.executions_of("OnboardingStateMachine").await.len(),
        1,
        "three deliveries of one event start one onboarding"
    );

    let sharing = deployed.world.sharing().await;
    for (document, accounts) in &sharing {
        assert!(
            accounts.contains(&newcomer.to_string()),
            "{document} shared with {newcomer}"
        );
    }
    assert!(
        deployed
            .world
            .onboarding_deployed()
            .await
            .contains(&newcomer),
        "the execution role's stack instance is in {newcomer}"
    );
    let published = deployed.published().await;
    assert!(
        published
            .iter()
            .any(|(_, message)| message.contains(newcomer.as_str())),
        "the onboarding report was published: {published:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_patch_window_fires_then_every_planned_location_is_reported_in_s3_and_on_the_topic()
 {
    let world = Organization::of(4)
        .onboarded()
        .without_role(1)
        .failing_instances(1)
        .world()
        .await;
    let deployed = Deployed::on(world, &[]).await;

    let fired = deployed.fire("patch-window").await;
    let fabric_simulator::delivery::Delivered::Execution(execution) = &fired.delivered else {
        panic!("the schedule started an execution: {fired:?}");
    };
    let view = deployed.finished(execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    every_task_answered(&view);

    let run_id = run_id(&view);
    let state = RunState::load(&deployed.world.runs.store, &run_id)
        .await
        .expect("the run state is kept");
    let report = state
        .report(
            &deployed.world.runs.automation,
            &deployed.world.runs.locations,
            &deployed.world.runs.store,
        )
        .await
        .expect("the report reads back");
    let planned: Vec<_> = state
        .plan
        .waves
        .iter()
        .flat_map(fabric::plan::PlannedWave::locations)
        .collect();
    assert!(!planned.is_empty());
    for location in &planned {
        assert!(
            report
                .locations()
                .any(|result| &result.location == *location),
            "{location:?} is in the report"
        );
    }
    let uri = state.report_uri.clone().expect("the report was stored");
    let prefix = &deployed
        .world
        .config
        .reports
        .as_ref()
        .expect("reports are configured")
        .prefix;
    let key = uri
        .trim_start_matches("s3://")
        .split_once('/')
        .and_then(|(_, key)| key.strip_prefix(prefix.as_str()))
        .expect("s3://BUCKET/PREFIX/KEY")
        .to_owned();
    let stored = deployed
        .world
        .runs
        .store
        .get(&key)
        .await
        .expect("S3 answers")
        .expect("the report object is there");
    let stored: Value = serde_json::from_slice(&stored).expect("the stored report is JSON");
    assert_eq!(stored["run_id"], json!(run_id));
    let published = deployed.published().await;
    assert!(
        published
            .iter()
            .any(|(_, message)| message.contains(&run_id)),
        "the summary was published: {published:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_an_alarm_goes_off_in_a_member_account_then_only_that_location_is_remediated() {
    let world = Organization::of(3).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    let member = deployed.world.org.seed.accounts[0].clone();
    let instance = member.instances["us-west-2"][0].clone();
    let mut event = fixture("cloudwatch-alarm-metric-alarm.json");
    event["resources"] = json!([format!(
        "arn:aws:cloudwatch:us-west-2:{}:alarm:fabric-ServerCpuTooHigh",
        member.id
    )]);
    for metric in event["detail"]["configuration"]["metrics"]
        .as_array_mut()
        .expect("metrics")
    {
        metric["metricStat"]["metric"]["dimensions"]["InstanceId"] = json!(instance);
    }
    let bus = deployed.deployment.outputs["AlarmEventBusArn"]
        .as_str()
        .expect("the bus's ARN")
        .to_owned();

    deployed
        .put_events(
            &json!([entry(&event, &bus)]),
            Some((&member.id, "us-west-2")),
        )
        .await;
    let executions = deployed
        .wait_for_executions("RunStateMachine", 1, Duration::from_secs(30))
        .await;
    let view = deployed.finished(&executions[0], EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");

    let state = RunState::load(&deployed.world.runs.store, &run_id(&view))
        .await
        .expect("the run state");
    let locations: Vec<(String, String)> = state
        .plan
        .waves
        .iter()
        .flat_map(fabric::plan::PlannedWave::locations)
        .map(|location| (location.account_id.to_string(), location.region.to_string()))
        .collect();
    assert_eq!(locations, vec![(member.id.clone(), "us-west-2".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_function_crashes_on_its_first_invocation_then_the_state_machine_retries_it() {
    let world = Organization::of(2).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    deployed
        .world
        .org
        .stack
        .simulator()
        .lambda()
        .inject(&FunctionFaults {
            function: deployed.function("TrackRunFunction"),
            crash: 1,
        })
        .expect("the function is deployed");

    let fired = deployed.fire("patch-window").await;
    let fabric_simulator::delivery::Delivered::Execution(execution) = &fired.delivered else {
        panic!("the schedule started an execution: {fired:?}");
    };
    let view = deployed.finished(execution, EXECUTION_TIMEOUT).await;
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

    let fired = deployed.fire("patch-window").await;
    let fabric_simulator::delivery::Delivered::Execution(execution) = &fired.delivered else {
        panic!("the schedule started an execution: {fired:?}");
    };
    let view = deployed.finished(execution, EXECUTION_TIMEOUT).await;
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

    let fired = deployed.fire("patch-window").await;
    let fabric_simulator::delivery::Delivered::Execution(execution) = &fired.delivered else {
        panic!("the schedule started an execution: {fired:?}");
    };
    let view = deployed.finished(execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "FAILED", "{view:?}");
    assert_eq!(
        view.error.as_ref().map(|(error, _)| error.as_str()),
        Some("Fabric.PublishFailed")
    );
    let kept = queued(&deployed, "UndeliveredReportsQueue", Duration::from_secs(5)).await;
    let (state, _) = kept.first().expect("the workflow's state was kept");
    assert_eq!(state["run"]["run_id"], json!(run_id(&view)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_an_event_matches_no_rule_then_nothing_starts() {
    let world = Organization::of(1).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    let mut event = fixture("cloudwatch-alarm-metric-alarm.json");
    event["detail"]["state"]["value"] = json!("OK");
    let bus = deployed.deployment.outputs["AlarmEventBusArn"]
        .as_str()
        .expect("the bus")
        .to_owned();
    let other = json!({"Source": "com.example.app", "DetailType": "Order Placed", "Detail": "{}", "EventBusName": "default"});
    deployed
        .put_events(&json!([entry(&event, &bus), other]), None)
        .await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(deployed.executions_of("RunStateMachine").await.is_empty());
    assert!(
        deployed
            .executions_of("OnboardingStateMachine")
            .await
            .is_empty()
    );
    let invoked: u64 = deployed
        .function_stats()
        .values()
        .map(|stats| stats.invocations)
        .sum();
    assert_eq!(invoked, 0, "no function ran");
}

/// The canary of the local deployment's one dependency on moto's internals: its Step Functions
/// interpreter sends a Task's Lambda call to `localhost:$MOTO_PORT`, and the stack starts moto
/// with `MOTO_PORT` set to the front door's port. If a moto upgrade changes that, this fails
/// first, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_interpreter_canary_its_lambda_calls_reach_the_front_door() {
    let stack = fabric_tests::seeded_stack(&["--accounts", "1"]).await;
    let sdk = fabric_tests::central_config(stack.stack.endpoint(), "us-east-1").await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    stack
        .stack
        .simulator()
        .api()
        .engine()
        .moto()
        .configure(&json!({ "stepfunctions": { "execute_state_machine": true } }))
        .await
        .expect("moto takes its config");
    let definition = json!({
        "StartAt": "Call",
        "States": { "Call": {
            "Type": "Task",
            "Resource": fabric_tests::LAMBDA_INVOKE,
            "Parameters": { "FunctionName": "canary-function-not-deployed", "Payload": {} },
            "End": true
        }}
    });
    let machine = sfn
        .create_state_machine()
        .name("moto-interpreter-canary")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/canary")
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;
    let execution = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name("canary")
        .send()
        .await
        .expect("StartExecution")
        .execution_arn;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .expect("DescribeExecution");
        if described.status().as_str() != "RUNNING" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the canary execution ends"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let invokes = stack
        .stack
        .simulator()
        .faults()
        .stats()
        .forwarded
        .get("lambda.Invoke")
        .copied();
    assert_eq!(
        invokes,
        Some(1),
        "moto's Step Functions interpreter no longer sends its Lambda calls to localhost:$MOTO_PORT \
         (the front door): the pinned moto (local-stack/requirements.txt) changed how it reaches \
         services; the local deployment cannot run its Lambda tasks until the stack adapts"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_rule_target_is_throttled_then_delivery_retries_and_a_refused_event_is_dead_lettered()
 {
    let world = Organization::of(2).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    let member = deployed.world.org.seed.accounts[0].clone();
    let bus = deployed.deployment.outputs["AlarmEventBusArn"]
        .as_str()
        .expect("the bus")
        .to_owned();
    let alarm = |name: &str| {
        let mut event = fixture("cloudwatch-alarm-metric-alarm.json");
        event["resources"] = json!([format!(
            "arn:aws:cloudwatch:us-west-2:{}:alarm:{name}",
            member.id
        )]);
        event["detail"]["alarmName"] = json!(name);
        entry(&event, &bus)
    };
    let refuse = |code: &str, times: Option<u64>| FaultSettings {
        errors: vec![ScriptedError {
            operation: "AWSStepFunctions.StartExecution".to_owned(),
            matching: None,
            code: code.to_owned(),
            message: format!("injected {code}"),
            status: 400,
            times,
        }],
        ..FaultSettings::default()
    };

    deployed
        .world
        .faults(refuse("ThrottlingException", Some(2)));
    deployed
        .put_events(
            &json!([alarm("fabric-ServerCpuTooHigh")]),
            Some((&member.id, "us-west-2")),
        )
        .await;
    deployed
        .wait_for_executions("RunStateMachine", 1, Duration::from_secs(30))
        .await;
    let run_machine = deployed.state_machine("RunStateMachine");
    let stats = deployed.world.org.stack.simulator().delivery().stats();
    assert_eq!(
        stats.retried.get(&run_machine),
        Some(&2),
        "two throttled attempts retried: {stats:?}"
    );
    assert_eq!(stats.delivered.get(&run_machine), Some(&1));

    deployed
        .world
        .faults(refuse("StateMachineDoesNotExist", None));
    deployed
        .put_events(
            &json!([alarm("fabric-ServerCpuTooHigh")]),
            Some((&member.id, "us-west-2")),
        )
        .await;
    let letters = queued(
        &deployed,
        "AlarmEventsDeadLetterQueue",
        Duration::from_secs(30),
    )
    .await;
    let (event, attributes) = letters
        .first()
        .expect("the refused event was dead-lettered");
    assert_eq!(
        event["account"],
        json!(member.id),
        "the event as delivered, sender's account kept"
    );
    assert_eq!(attributes["ERROR_CODE"], "StateMachineDoesNotExist");
    assert_eq!(attributes["TARGET_ARN"], run_machine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_attempt_of_an_asynchronous_invocation_fails_then_the_event_is_dead_lettered() {
    let world = Organization::of(1).onboarded().world().await;
    let deployed = Deployed::on(world, &[]).await;
    let function = deployed.function("AccountEventsFunction");
    deployed
        .world
        .org
        .stack
        .simulator()
        .lambda()
        .inject(&FunctionFaults {
            function,
            crash: 10,
        })
        .expect("the function is deployed");
    let newcomer = deployed.world.create_account("dead-lettered").await;
    let mut event = fixture("org-create-account-result-succeeded.json");
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!(newcomer.as_str());

    deployed
        .put_events(&json!([entry(&event, "default")]), None)
        .await;
    let letters = queued(
        &deployed,
        "AccountEventsDeadLetterQueue",
        Duration::from_secs(60),
    )
    .await;
    let (dead, attributes) = letters.first().expect("the event was dead-lettered");
    assert_eq!(
        dead["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"],
        json!(newcomer.as_str())
    );
    assert!(
        attributes["ErrorMessage"].contains("Runtime.ExitError"),
        "{attributes:?}"
    );
    let stats = &deployed.function_stats()["AccountEventsFunction"];
    assert_eq!(
        (stats.crashes, stats.dead_lettered),
        (3, 1),
        "one attempt and Lambda's two retries: {stats:?}"
    );
    assert!(
        deployed
            .executions_of("OnboardingStateMachine")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_reconcile_schedule_fires_then_the_function_repairs_a_missing_share() {
    let world = Organization::of(2)
        .onboarded()
        .without_shares(1)
        .world()
        .await;
    let deployed = Deployed::on(world, &[]).await;
    let unshared = deployed
        .world
        .org
        .seed
        .accounts
        .iter()
        .find(|account| !account.shared)
        .expect("an account without shares")
        .id
        .clone();

    let fired = deployed.fire("reconcile").await;
    assert!(
        matches!(
            fired.delivered,
            fabric_simulator::delivery::Delivered::Invocation(_)
        ),
        "the schedule invoked the reconcile function asynchronously: {fired:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let sharing = deployed.world.sharing().await;
        if sharing
            .values()
            .all(|accounts| accounts.contains(&unshared))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{unshared} still lacks shares: {sharing:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stats = &deployed.function_stats()["ReconcileFunction"];
    assert_eq!((stats.invocations, stats.errors), (1, 0), "{stats:?}");
}
