//! Steps killed midway and retried: the same automations, the same report.

use super::*;
use fabric::driver::run::Follow;

#[tokio::test]
async fn when_steps_are_killed_midway_and_retried_then_the_report_is_the_same() {
    let world = Organization::of(4)
        .onboarded()
        .without_role(1)
        .world()
        .await;
    let spec = spec_over(&world, &world.member_accounts(), 3);
    let mut local = world.local_runs();
    let trigger = local.manual_trigger("restart", &spec);
    let store = &world.runs.store;
    let ids = |calls: &[runs::StartedCall]| {
        calls
            .iter()
            .map(|call| call.execution_id.clone())
            .collect::<Vec<_>>()
    };

    // The workflow dies once its wave has started.
    let killed = local
        .deliver(&trigger, "workflow-restart", Follow::UntilStarted, &mut ())
        .await;
    assert_eq!(killed.end, End::Detached);
    let run_id = killed.run_id().expect("the run is accepted").to_owned();
    let first = RunState::load(store, &run_id).await.expect("state").started;
    assert!(!first.is_empty(), "the wave started");

    // StartWave killed after it started the calls and before its saves landed: the retried
    // step loads the state as it was and starts the same calls with the same tokens.
    let mut lost = RunState::load(store, &run_id).await.expect("state");
    lost.started.clear();
    lost.next_wave = 0;
    lost.save(store).await.expect("the saves lost");
    let ports = local.ports();
    let step = fabric::workflow::WaveStep {
        run_id: run_id.clone(),
        approval: None,
    };
    let again = fabric::steps::run::start_wave(&ports, step)
        .await
        .expect("started again");
    assert_eq!(
        again.wave.map(|wave| wave.calls),
        Some(ids(&first)),
        "the retry finds the same automations"
    );

    // The retried workflow (the same execution) carries the run on to its report, starting
    // nothing again.
    let retried = local
        .deliver(&trigger, "workflow-restart", Follow::ToTheEnd, &mut ())
        .await;
    assert_eq!(retried.end, End::Succeeded("RunReported"));
    assert_eq!(retried.run_id(), Some(run_id.as_str()));
    let (state, interrupted) = local.load(&run_id).await;
    assert_eq!(ids(&state.started), ids(&first), "nothing started again");
    assert_eq!(interrupted.locations().len(), 12);

    // A CollectCall item retried after it answered (its answer lost): the kept results are
    // read again, and the report does not change.
    fabric::steps::run::collect_call(&ports, run_id.clone(), &first[0].execution_id)
        .await
        .expect("collected again");
    let (_, recollected) = local.load(&run_id).await;
    assert_eq!(outcomes(&recollected), outcomes(&interrupted));

    // The same run, never interrupted: the same status everywhere.
    let uninterrupted = run(&world, "uninterrupted", &spec).await;
    assert_eq!(statuses(&interrupted), statuses(&uninterrupted));
}
