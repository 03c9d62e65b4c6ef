//! Events delivered more than once and out of order: one workflow each, no duplicate change.

use super::*;
use fabric::driver::run::Follow;
use fabric::steps::onboarding::handle_account_event;
use fabric::workflow::OnboardingInput;

#[tokio::test]
async fn when_each_run_trigger_is_delivered_three_times_then_one_run_starts_for_each() {
    let world = Organization::of(3).onboarded().world().await;
    let alarm_account = &world.org.seed.accounts[0];
    let alarm_instance = alarm_account.instances["us-west-2"][0].clone();
    let mut alarm = fixture_value(
        "cloudwatch-alarm-metric-alarm.json",
        "444455556666",
        &alarm_account.id,
    );
    alarm["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        alarm_instance.into();
    // The manual run's spec (over the Workloads OU) as a run profile, triggered by name.
    let manual = fixture_value(
        "run-input-manual-spec.json",
        "ou-ab12-cdef3456",
        &world.org.seed.ous["Workloads"],
    );
    let spec: RunSpec =
        serde_json::from_value(manual["manual"]["spec"].clone()).expect("the fixture's spec");
    let mut local = world.local_runs();
    let manual = local.manual_trigger(
        manual["manual"]["request_id"]
            .as_str()
            .expect("a request id"),
        &spec,
    );
    let triggers = [
        fixture_value(
            "run-input-schedule-profile.json",
            "patch-baseline",
            "patch-scan-web",
        ),
        alarm,
        manual,
    ];
    let mut runs_started = BTreeSet::new();
    let mut duplicates = 0;
    // Delivered round-robin, three times, each delivery its own workflow.
    for delivery in 0..3 {
        for (n, trigger) in triggers.iter().enumerate() {
            let execution = format!("workflow-{delivery}-{n}");
            let outcome = local
                .deliver(trigger, &execution, Follow::ToTheEnd, &mut ())
                .await;
            if let Some(run_id) = outcome.run_id() {
                assert_eq!(delivery, 0, "only the first delivery starts {run_id}");
                assert_eq!(outcome.end, End::Succeeded("RunReported"));
                runs_started.insert(run_id.to_owned());
            } else {
                assert_eq!(outcome.end, End::Succeeded("NothingToRun"));
                let reason = outcome.accepted.and_then(|a| a.reason).unwrap_or_default();
                assert!(
                    reason.contains(&format!("workflow-0-{n}")),
                    "the first delivery's workflow owns the run: {reason}"
                );
                duplicates += 1;
            }
        }
    }
    assert_eq!(runs_started.len(), 3);
    assert_eq!(duplicates, 6);
    let starts = world
        .stats()
        .calls
        .get("StartAutomationExecution")
        .copied()
        .unwrap_or(0);
    let mut calls = 0;
    for run_id in &runs_started {
        calls += local.load(run_id).await.0.started.len();
    }
    assert_eq!(
        starts,
        u64::try_from(calls).expect("small"),
        "one start per planned call, none repeated"
    );
    record_figures(
        "duplicate-run-triggers",
        &serde_json::json!({
            "injected": "a schedule, an alarm and a manual trigger, each delivered 3 times round-robin",
            "runs_started": runs_started.len(),
            "duplicates_prevented": duplicates,
            "start_calls": starts,
        }),
    );
}

#[tokio::test]
async fn when_account_events_repeat_and_arrive_out_of_order_then_one_workflow_each_and_no_duplicate_change()
 {
    let world = onboarded_without_instances(2).await;
    let created = world.create_account("created").await;
    let managed = world.create_account("managed").await;
    let invited = world.create_account("invited").await;
    let sdk = fabric_tests::central_config(world.org.stack.endpoint(), "us-east-1").await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let machine = sfn
        .create_state_machine()
        .name("account-onboarding")
        .role_arn("arn:aws:iam::123456789012:role/onboarding")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
        .send()
        .await
        .expect("a state machine")
        .state_machine_arn;
    let workflows = fabric::aws::StepFunctionsWorkflows::new(sfn.clone(), machine.clone());

    // Out of order (Update before Create, AcceptHandshake before Invite), each three times.
    let events = [
        fixture(
            "ct-update-managed-account-succeeded.json",
            "444455556666",
            managed.as_str(),
        ),
        fixture(
            "ct-create-managed-account-succeeded.json",
            "444455556666",
            managed.as_str(),
        ),
        fixture(
            "org-accept-handshake.json",
            "444455556666",
            invited.as_str(),
        ),
        fixture("org-invite-account.json", "444455556666", invited.as_str()),
        account_created(&created),
    ];
    // Each delivery handled by the account-events function. Step Functions answers a
    // repeated name with the running execution (same input) or ExecutionAlreadyExists: either
    // way, one execution per name.
    let mut workflows_started = BTreeSet::new();
    let mut deliveries = 0;
    for _ in 0..3 {
        for event in &events {
            let handled = handle_account_event(&world.config, &workflows, None, event)
                .await
                .expect("handled");
            match handled.workflow {
                Some(arn) if arn.starts_with("arn:") => {
                    workflows_started.insert(arn);
                }
                Some(_) => {}
                // An invitation is pending until it is accepted.
                None => continue,
            }
            deliveries += 1;
        }
    }
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("executions")
        .executions;
    assert_eq!(
        workflows_started.len(),
        4,
        "one workflow per joining event (Create, Update, Accept, CreateAccountResult)"
    );
    assert_eq!(executions.len(), 4);
    assert_eq!(deliveries, 12);
    let duplicates = deliveries - workflows_started.len();

    // Each workflow's onboarding: the second workflow for the same account changes nothing.
    for execution in &executions {
        let input: OnboardingInput = serde_json::from_str(
            &sfn.describe_execution()
                .execution_arn(&execution.execution_arn)
                .send()
                .await
                .expect("described")
                .input
                .expect("an input"),
        )
        .expect("the onboarding state machine's input");
        world.onboard(input).await.expect("onboards");
    }
    let shares_per_account =
        u64::try_from(world.config.sharing_regions().len() * world.org.seed.documents.len())
            .expect("small");
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        3 * shares_per_account,
        "one share per account, document and Region"
    );
    assert_eq!(
        world.forwarded("cloudformation.CreateStackInstances"),
        3,
        "one role per account"
    );
    record_figures(
        "duplicate-account-events",
        &serde_json::json!({
            "injected": "5 account events (Update before Create, Accept before Invite), each delivered 3 times",
            "workflows_started": workflows_started.len(),
            "duplicates_prevented": duplicates,
            "mutating_calls": {
                "ModifyDocumentPermission": world.forwarded("AmazonSSM.ModifyDocumentPermission"),
                "CreateStackInstances": world.forwarded("cloudformation.CreateStackInstances"),
            },
            "minimum_mutating_calls": { "ModifyDocumentPermission": 3 * shares_per_account, "CreateStackInstances": 3 },
        }),
    );
}
