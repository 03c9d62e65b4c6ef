//! Steps killed midway and retried: the same automations, the same report.

use super::*;

#[tokio::test]
async fn when_steps_are_killed_midway_and_retried_then_the_report_is_the_same() {
    let world = Organization::of(4)
        .onboarded()
        .without_role(1)
        .world()
        .await;
    let accounts = member_accounts(&world);
    let mut request = request_over(&world, &accounts, 3);
    // Two calls, so that collection can be interrupted between them.
    let second = request.spec.target_locations[0].clone();
    request.spec.target_locations[0].accounts.truncate(2);
    request.spec.target_locations.push(TargetLocation {
        accounts: second.accounts[2..].to_vec(),
        ..second
    });
    let plan = fabric_tests::plan(&world.runs, &world.config, "restart", request).await;
    let initial = RunState::new(plan);
    initial.save(&world.runs.store).await.expect("saved");
    let store = &world.runs.store;
    let pacing = Duration::from_millis(50);

    // start-run killed after it started the calls and before its saves landed: the retry
    // loads the state as it was and starts the same calls with the same tokens.
    let first = runs::start_wave(&mut initial.clone(), &world.runs.automation, store, pacing)
        .await
        .expect("started");
    initial.save(store).await.expect("the saves lost");
    let mut retried = RunState::load(store, "restart").await.expect("state");
    let again = runs::start_wave(&mut retried, &world.runs.automation, store, pacing)
        .await
        .expect("started again");
    let ids = |calls: &[runs::StartedCall]| {
        calls
            .iter()
            .map(|c| c.execution_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&first),
        ids(&again),
        "the retry finds the same automations"
    );
    wait_for_end(&world, &retried.started).await;

    // collect-results killed after its first call: the retry collects from the kept state.
    let ports = world.runs.ports(&world.config);
    fabric::steps::run::collect_call(
        &ports,
        "restart".to_owned(),
        &retried.started[0].execution_id,
    )
    .await
    .expect("collected");
    for call in &retried.started {
        fabric::steps::run::collect_call(&ports, "restart".to_owned(), &call.execution_id)
            .await
            .expect("collected");
    }
    let loaded = RunState::load(store, "restart").await.expect("state");
    let interrupted = loaded
        .report(&world.runs.automation, &world.runs.locations, store)
        .await
        .expect("report");
    let mut fresh = Vec::new();
    for call in &loaded.started {
        fresh.extend(
            runs::collect_call(call, &world.runs.automation, &world.runs.locations)
                .await
                .expect("collected"),
        );
    }
    let uninterrupted =
        runs::collect::assemble(&loaded.plan, &loaded.started, None, fresh).expect("report");
    assert_eq!(statuses(&interrupted), statuses(&uninterrupted));
    assert_eq!(interrupted.locations().len(), 12);
}
