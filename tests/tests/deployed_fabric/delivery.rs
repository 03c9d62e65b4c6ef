//! Delivery as the services do it: EventBridge's retries and dead letters, Lambda's
//! asynchronous retries and dead letters, and the canary of moto's interpreter reaching the
//! front door.

use super::*;

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
    deployed.crash("AccountEventsFunction", 10);
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
