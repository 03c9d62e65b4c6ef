//! Runs that outlive what they may: a run past its deadline is stopped and reported, every
//! location in it; a wave gate that waits for a person's approval (approved, rejected, or
//! left unanswered).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_run_passes_its_deadline_then_it_is_published_with_every_location_and_the_unfinished_timed_out()
 {
    // The first account's first instance takes a minute: its canary location cannot end
    // inside the profile's 3 s deadline.
    let mut world = Organization::of(3)
        .onboarded()
        .failing_instances(1)
        .behaving("sleep=60000")
        .world()
        .await;
    edit_profile(&mut world, "patch-baseline", |profile| {
        profile["deadline"] = json!("3s");
    });
    let deployed = Deployed::on(world, &[]).await;

    let execution = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(
        view.status, "SUCCEEDED",
        "a run past its deadline is reported: {view:?}"
    );
    let ended = view
        .task_answers
        .iter()
        .filter(|answer| answer.state == "TrackRun")
        .filter_map(|answer| answer.output.as_ref())
        .any(|output| output["Payload"]["deadline_passed"] == json!(true));
    assert!(ended, "TrackRun saw the deadline pass: {view:#?}");

    let state = RunState::load(&deployed.world.runs.store, &run_id(&view))
        .await
        .expect("the run state is kept");
    let stored = stored_report(&deployed, &state).await;
    let locations = stored["locations"].as_array().expect("locations");
    let planned = state.plan.planned_count() + state.plan.skipped.len();
    assert_eq!(
        locations.len(),
        planned,
        "every location is reported: {stored:#}"
    );
    let slow = &deployed.world.org.seed.failing_instances[0];
    let status_of = |account: &str, region: &str| {
        locations
            .iter()
            .find(|result| {
                result["location"]["account_id"] == json!(account)
                    && result["location"]["region"] == json!(region)
            })
            .unwrap_or_else(|| panic!("{account}/{region} is reported: {stored:#}"))
    };
    let timed_out = status_of(&slow.account, &slow.region);
    assert_eq!(timed_out["status"], json!("TimedOut"), "{timed_out:#}");
    assert!(
        timed_out["failure_message"]
            .as_str()
            .is_some_and(|why| why.contains("deadline (3s) passed while this location was")),
        "{timed_out:#}"
    );
    // The slow instance is in the last wave: its locations still queued or running at the
    // deadline are TimedOut, each saying what it was; the rest ended before it.
    for result in locations {
        let status = result["status"].as_str().unwrap_or_default();
        match status {
            "TimedOut" => {
                assert!(
                    result["failure_message"].as_str().is_some_and(
                        |why| why.contains("deadline (3s) passed while this location was")
                    ),
                    "{result:#}"
                );
            }
            "Success" | "Skipped" => {}
            other => panic!("{other}: a location either ended or timed out: {result:#}"),
        }
    }
    let published = deployed.published().await;
    assert!(
        published
            .iter()
            .any(|(_, message)| message.contains("TimedOut")),
        "the summary counts the TimedOut location: {published:?}"
    );
}

/// A world whose patch-baseline canary gate also asks for a person's approval, deployed.
async fn gated(timeout: &str) -> Deployed {
    let mut world = Organization::of(3).onboarded().world().await;
    edit_profile(&mut world, "patch-baseline", |profile| {
        profile["waves"][0]["gate"]["approval"] = json!({"timeout": timeout});
    });
    Deployed::on(world, &[]).await
}

/// Fires the patch window and waits until its run asks for approval: the run's id.
async fn awaiting_approval(deployed: &Deployed) -> (String, String) {
    let execution = fired_execution(deployed, "patch-window").await;
    let limit = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view = deployed.execution_view(&execution).await;
        if let Some(answer) = view.task_answers.iter().find(|a| a.state == "StartRun") {
            let run_id = answer
                .output
                .as_ref()
                .and_then(|output| output["Payload"]["run_id"].as_str().map(str::to_owned));
            if let Some(run_id) = run_id {
                let state = RunState::load(&deployed.world.runs.store, &run_id)
                    .await
                    .expect("the run state is kept");
                if state.pending_approval.is_some() {
                    return (execution, run_id);
                }
            }
        }
        assert!(
            std::time::Instant::now() < limit,
            "the run asked for approval within a minute: {view:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_gate_asks_for_approval_and_fabric_approve_answers_then_the_next_wave_runs_and_the_approval_is_kept()
 {
    let deployed = Box::pin(gated("5m")).await;
    let (execution, run_id) = awaiting_approval(&deployed).await;
    // The request is published after it is kept: wait for it, saying how to answer.
    deployed
        .published_containing(
            &format!("fabric approve {run_id}"),
            std::time::Instant::now(),
            Duration::from_secs(10),
        )
        .await;

    let answered = deployed
        .fabric(&["approve", &run_id, "--comment", "canary looks fine"])
        .await;
    assert!(answered.status.success(), "{answered:?}");
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    let state = RunState::load(&deployed.world.runs.store, &run_id)
        .await
        .expect("the run state is kept");
    assert_eq!(state.approvals.len(), 1, "{:?}", state.approvals);
    assert_eq!(state.approvals[0].wave, "organization");
    assert_eq!(
        state.approvals[0].approval.comment.as_deref(),
        Some("canary looks fine")
    );
    assert!(state.pending_approval.is_none());
    let stored = stored_report(&deployed, &state).await;
    let organization = stored["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .filter(|result| result["wave"] == json!("organization"))
        .collect::<Vec<_>>();
    let ran: Vec<_> = organization
        .iter()
        .filter(|result| result["status"] != json!("Skipped"))
        .collect();
    assert!(!ran.is_empty(), "{organization:#?}");
    assert!(
        ran.iter()
            .all(|result| result["status"] == json!("Success")),
        "the approved wave ran: {organization:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_gate_is_rejected_or_left_unanswered_then_the_run_ends_reported_without_its_next_wave()
 {
    let deployed = Box::pin(gated("5m")).await;
    let (execution, run_id) = awaiting_approval(&deployed).await;
    let answered = deployed
        .fabric(&["reject", &run_id, "--reason", "canary CPU too high"])
        .await;
    assert!(answered.status.success(), "{answered:?}");
    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(
        view.status, "SUCCEEDED",
        "a rejected run is reported: {view:?}"
    );
    assert_not_started(&deployed, &run_id, "rejected by").await;
    assert_not_started(&deployed, &run_id, "canary CPU too high").await;
    let again = deployed.fabric(&["approve", &run_id]).await;
    assert_eq!(
        again.status.code(),
        Some(2),
        "nothing waits any more: {again:?}"
    );

    let unanswered = Box::pin(gated("2s")).await;
    let (execution, run_id) = awaiting_approval(&unanswered).await;
    let view = unanswered.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(
        view.status, "SUCCEEDED",
        "an unanswered run is reported: {view:?}"
    );
    assert_not_started(
        &unanswered,
        &run_id,
        "no one answered wave organization's approval request within 2 s",
    )
    .await;
}

/// Every location of run `run_id`'s organization wave is reported not started, for `why`.
async fn assert_not_started(deployed: &Deployed, run_id: &str, why: &str) {
    let state = RunState::load(&deployed.world.runs.store, run_id)
        .await
        .expect("the run state is kept");
    let stored = stored_report(deployed, &state).await;
    let organization: Vec<_> = stored["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .filter(|result| result["wave"] == json!("organization"))
        .collect();
    assert!(!organization.is_empty());
    let planned = organization
        .iter()
        .filter(|result| result["status"] != json!("Skipped"));
    for result in planned {
        assert_eq!(result["status"], json!("NotStarted"), "{result:#}");
        assert!(
            result["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains(why)),
            "{why}: {result:#}"
        );
    }
}

/// A runbook that waits for a person (`aws:pause`: SSM's `aws:approve` is refused in
/// multi-account runs), then goes on.
const HOLD_FOR_REVIEW: &str = r#"{
  "schemaVersion": "0.3",
  "description": "Waits for a Resume signal, then ends.",
  "mainSteps": [
    {"name": "hold", "action": "aws:pause", "inputs": {}},
    {"name": "after", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_runbook_waits_for_a_person_then_the_run_reports_it_waiting_and_after_the_signal_success()
 {
    let mut world = Organization::of(2).onboarded().world().await;
    let member = world.org.seed.accounts[0].id.clone();
    let endpoint = world.org.stack.endpoint().to_owned();
    let central =
        aws_sdk_ssm::Client::new(&fabric_tests::central_config(&endpoint, "us-east-1").await);
    central
        .create_document()
        .name("Fabric-HoldForReview")
        .document_type(aws_sdk_ssm::types::DocumentType::Automation)
        .content(HOLD_FOR_REVIEW)
        .send()
        .await
        .expect("the runbook is created");
    central
        .modify_document_permission()
        .name("Fabric-HoldForReview")
        .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
        .account_ids_to_add(&member)
        .send()
        .await
        .expect("the runbook is shared with the member");
    edit_profile(&mut world, "hold-for-review", |profile| {
        *profile = json!({
            "document": "Fabric-HoldForReview",
            "target_locations": [{"accounts": [member], "regions": ["us-east-1"]}],
        });
    });
    let deployed = Deployed::on(world, &[]).await;

    let execution = deployed
        .start(
            "RunStateMachine",
            &json!({"manual": {"requested_by": "test", "profile": "hold-for-review"}}),
        )
        .await;
    let limit = std::time::Instant::now() + Duration::from_secs(60);
    let (run_id, child) = loop {
        let view = deployed.execution_view(&execution).await;
        if let Some(run_id) = view.run_id() {
            let shown = deployed.fabric(&["report", &run_id, "--json"]).await;
            let report: Value = serde_json::from_slice(&shown.stdout).unwrap_or_default();
            let location = &report["locations"][0];
            if location["status"] == json!("Waiting") {
                let child = location["execution_id"].as_str().map(str::to_owned);
                break (run_id, child.expect("the waiting child is named"));
            }
        }
        assert!(
            std::time::Instant::now() < limit,
            "fabric report shows the location Waiting within a minute: {view:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        deployed.execution_view(&execution).await.status,
        "RUNNING",
        "the run waits with its runbook"
    );

    let member_ssm = aws_sdk_ssm::Client::new(
        &fabric_tests::member_config(&endpoint, &member, "us-east-1").await,
    );
    member_ssm
        .send_automation_signal()
        .automation_execution_id(&child)
        .signal_type(aws_sdk_ssm::types::SignalType::Resume)
        .payload("StepName", vec!["hold".to_owned()])
        .send()
        .await
        .expect("the member's runbook takes the signal");

    let view = deployed.finished(&execution, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    let state = RunState::load(&deployed.world.runs.store, &run_id)
        .await
        .expect("the run state is kept");
    let stored = stored_report(&deployed, &state).await;
    assert_eq!(
        stored["locations"][0]["status"],
        json!("Success"),
        "{stored:#}"
    );
    assert_eq!(stored["locations"][0]["execution_id"], json!(child));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_run_outlives_hand_over_after_then_fresh_executions_carry_it_on_to_one_report() {
    // The first account's first instance takes 8 s; each execution follows the run for 2 s.
    let mut world = Organization::of(3)
        .onboarded()
        .failing_instances(1)
        .behaving("sleep=8000")
        .world()
        .await;
    world.edit_config(|config| config["hand_over_after"] = json!("2s"));
    let deployed = Deployed::on(world, &[]).await;

    let first = fired_execution(&deployed, "patch-window").await;
    let view = deployed.finished(&first, EXECUTION_TIMEOUT).await;
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    let run_id = run_id(&view);
    assert!(
        view.task_answers
            .iter()
            .any(|answer| answer.state == "HandOver"),
        "the first execution handed the run over: {view:#?}"
    );
    // Follow the chain of hand-overs to the execution that reported.
    let limit = std::time::Instant::now() + EXECUTION_TIMEOUT;
    let mut carried = 0;
    let state = loop {
        let state = RunState::load(&deployed.world.runs.store, &run_id)
            .await
            .expect("the run state is kept");
        if state.report_uri.is_some() {
            break state;
        }
        assert!(
            std::time::Instant::now() < limit,
            "the run was reported: {state:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let owner = state
        .owner
        .clone()
        .expect("the reporting execution owns the run");
    assert!(
        owner.ends_with(&format!("-carry-{}", state.hand_overs)),
        "{owner}"
    );
    assert!(
        state.hand_overs >= 2,
        "8 s outlive 2 s more than once: {}",
        state.hand_overs
    );
    let last = deployed.finished(&owner, EXECUTION_TIMEOUT).await;
    assert_eq!(last.status, "SUCCEEDED", "{last:?}");
    for answer in &last.task_answers {
        carried += usize::from(answer.state == "StartRun");
    }
    assert_eq!(
        carried, 1,
        "the last execution accepted the run once: {last:#?}"
    );

    let stored = stored_report(&deployed, &state).await;
    let locations = stored["locations"].as_array().expect("locations");
    assert_eq!(
        locations.len(),
        state.plan.planned_count() + state.plan.skipped.len(),
        "every location is in the one report: {stored:#}"
    );
    assert!(
        locations.iter().all(|result| ["Success", "Skipped"]
            .contains(&result["status"].as_str().unwrap_or_default())),
        "the run ran to its end across executions: {stored:#}"
    );
    let published = deployed.published().await;
    let reports = published
        .iter()
        .filter(|(_, message)| message.contains(&run_id) && !message.contains("approval"))
        .count();
    assert_eq!(
        reports, 1,
        "one report, however many executions: {published:?}"
    );
}
