//! The user journeys through the deployment: an account joins, the patch window fires, a
//! member's alarm goes off, the reconcile schedule fires, an event no rule matches.

use super::*;

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
    // Its page is stored beside it, and the summary names it.
    let page_uri = published
        .iter()
        .filter(|(_, message)| message.contains(newcomer.as_str()))
        .find_map(|(_, message)| {
            message
                .lines()
                .find_map(|line| line.strip_prefix("Report page: "))
                .map(str::to_owned)
        })
        .expect("the summary names the report's page");
    let page_key = page_uri
        .split_once("/onboarding/")
        .map(|(_, key)| format!("onboarding/{key}"))
        .expect("the page is stored with the onboarding reports");
    assert_eq!(
        std::path::Path::new(&page_key)
            .extension()
            .and_then(|e| e.to_str()),
        Some("html"),
        "{page_key}"
    );
    let page = fabric::ports::ReportStore::get(&deployed.world.runs.store, &page_key)
        .await
        .expect("the store answers")
        .expect("the page is stored");
    let page = String::from_utf8(page).expect("the page is UTF-8");
    assert!(
        page.contains(&format!("Account {newcomer} onboarded")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_patch_window_fires_then_every_planned_location_is_reported_in_s3_and_on_the_topic()
 {
    let (deployed, view) = Box::pin(patch_window_run(4)).await;
    every_task_answered(&view);

    let run_id = run_id(&view);
    let state = RunState::load(&deployed.world.runs.store, &run_id)
        .await
        .expect("the run state is kept");
    let report = state
        .report(&deployed.world.runs.sources())
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
    let stored = stored_report(&deployed, &state).await;
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
