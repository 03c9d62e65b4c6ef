//! [`keep`](super) over the scripted fakes: each page of a parent's steps kept once its steps
//! have all ended, each child read once, a refused page token read around, a parent that made
//! no step, a step out of time, and what a `TrackRun` poll keeps.

use super::*;
use crate::fakes::FakeServices;
use crate::model::{AutomationStatus, LocationStatus};
use crate::ports::AccountStatus;
use crate::runs::deadline::tests::run_state;
use crate::runs::{RunState, start_wave};

/// A run over 60 accounts x 2 Regions (120 locations: pages of 50, 50 and 20), started,
/// its parent running; the locations at `running` (in the order of the parent's steps)
/// still run.
async fn started(fakes: &FakeServices, running: &[usize]) -> RunState {
    let accounts: Vec<String> = (0..60)
        .map(|i| format!("{:012}", 100_000_000_000_u64 + i))
        .collect();
    for account in &accounts {
        fakes
            .directory
            .add("ou-ab12-workload", account, AccountStatus::Active);
    }
    let spec = serde_json::json!({
        "document": "Fabric-Restart",
        "target_locations": [{"accounts": accounts, "regions": ["us-east-1", "us-west-2"]}],
    });
    let mut state = run_state(&spec.to_string(), fakes).await;
    assert_eq!(state.plan.planned_count(), 120);
    let order = step_order(&state);
    for index in running {
        fakes
            .automation
            .script(order[*index].clone(), AutomationStatus::InProgress);
    }
    fakes.automation.keep_running(usize::MAX);
    start_wave(&mut state, &fakes.automation, &fakes.store, Duration::ZERO)
        .await
        .expect("the wave starts");
    state
}

/// The planned locations in the order the fake's parent makes its steps.
fn step_order(state: &RunState) -> Vec<Location> {
    state.plan.waves[0].locations().cloned().collect()
}

fn children_read_once(fakes: &FakeServices) {
    for child in 1..=120 {
        assert_eq!(
            fakes.automation.reads_of(&format!("exec-1-child-{child}")),
            1,
            "child {child}"
        );
    }
}

#[tokio::test]
async fn when_locations_end_while_the_parent_runs_then_each_ended_page_is_kept_once_and_the_rest_once_it_ends()
 {
    let fakes = FakeServices::example();
    let state = started(&fakes, &[60, 110]).await;
    let call = state.started[0].clone();
    let sources = fakes.sources();

    let first = keep(
        &sources,
        "run-1",
        &call,
        Parent::Running { ended_steps: 118 },
        None,
    )
    .await
    .expect("keeps");
    assert_eq!(
        first,
        Kept {
            locations: 50,
            pages_read: 2
        },
        "page 1 kept, page 2 found running"
    );
    let again = keep(
        &sources,
        "run-1",
        &call,
        Parent::Running { ended_steps: 119 },
        None,
    )
    .await
    .expect("keeps");
    assert_eq!(
        again,
        Kept::default(),
        "no page read again until a page's worth more end"
    );

    let order = step_order(&state);
    for index in [60, 110] {
        fakes
            .automation
            .end_location(&order[index], AutomationStatus::Failed);
    }
    let rest = keep(&sources, "run-1", &call, Parent::Ended, None)
        .await
        .expect("keeps");
    assert_eq!(
        rest,
        Kept {
            locations: 70,
            pages_read: 2
        }
    );
    let cursor = CallCursor::load(&fakes.store, "run-1", &call.execution_id)
        .await
        .expect("a cursor");
    assert!(cursor.complete);
    assert_eq!((cursor.batches, cursor.collected), (2, 120));
    assert_eq!(
        fakes.automation.page_reads(),
        4,
        "3 pages, the running one read twice"
    );
    children_read_once(&fakes);
    assert_eq!(
        keep(&sources, "run-1", &call, Parent::Ended, None)
            .await
            .expect("keeps"),
        Kept::default(),
        "a complete call is not read again"
    );

    let results = results(&sources, "run-1", &call).await.expect("results");
    let distinct: BTreeSet<&Location> = results.iter().map(|result| &result.location).collect();
    assert_eq!((results.len(), distinct.len()), (120, 120));
    let failed = results
        .iter()
        .filter(|result| result.status == LocationStatus::Automation(AutomationStatus::Failed))
        .count();
    assert_eq!(failed, 2);
    children_read_once(&fakes);
}

#[tokio::test]
async fn when_ssm_refuses_a_kept_page_token_then_the_listing_starts_again_and_keeps_nothing_twice()
{
    let fakes = FakeServices::example();
    let state = started(&fakes, &[]).await;
    let call = state.started[0].clone();
    let sources = fakes.sources();
    keep(
        &sources,
        "run-1",
        &call,
        Parent::Running { ended_steps: 60 },
        None,
    )
    .await
    .expect("keeps");
    let key = CallCursor::key("run-1", &call.execution_id);
    let mut cursor = CallCursor::load(&fakes.store, "run-1", &call.execution_id)
        .await
        .expect("a cursor");
    assert_eq!(cursor.collected, 50);
    cursor.next_token = Some("expired".to_owned());
    fakes
        .store
        .insert(&key, &serde_json::to_vec(&cursor).expect("JSON"));

    let rest = keep(&sources, "run-1", &call, Parent::Ended, None)
        .await
        .expect("keeps");
    assert_eq!(rest.locations, 70);
    let results = results(&sources, "run-1", &call).await.expect("results");
    let distinct: BTreeSet<&Location> = results.iter().map(|result| &result.location).collect();
    assert_eq!((results.len(), distinct.len()), (120, 120));
    children_read_once(&fakes);
}

#[tokio::test]
async fn when_the_parent_failed_before_its_steps_then_every_location_is_kept_not_started_with_its_message()
 {
    let fakes = FakeServices::example();
    fakes.automation.fail_parents("the document is not shared");
    let state = started(&fakes, &[]).await;
    let call = state.started[0].clone();
    let kept = keep(&fakes.sources(), "run-1", &call, Parent::Ended, None)
        .await
        .expect("keeps");
    assert_eq!(
        kept,
        Kept {
            locations: 120,
            pages_read: 1
        }
    );
    let results = results(&fakes.sources(), "run-1", &call)
        .await
        .expect("results");
    assert_eq!(results.len(), 120);
    assert!(results.iter().all(|result| result.status
        == LocationStatus::NotStarted(
            "the run's parent execution failed: the document is not shared".to_owned()
        )));
}

#[tokio::test]
async fn when_the_step_has_no_time_left_then_nothing_is_read_and_the_rest_waits() {
    let fakes = FakeServices::example();
    let state = started(&fakes, &[]).await;
    let call = state.started[0].clone();
    let past = Instant::now();
    let kept = keep(&fakes.sources(), "run-1", &call, Parent::Ended, Some(past))
        .await
        .expect("keeps");
    assert_eq!(kept, Kept::default());
    assert_eq!(fakes.automation.page_reads(), 0);
    let results = results(&fakes.sources(), "run-1", &call)
        .await
        .expect("results");
    assert_eq!(
        results.len(),
        120,
        "a report before the end reads what is not kept"
    );
    assert!(
        CallCursor::load(&fakes.store, "run-1", &call.execution_id)
            .await
            .expect("a cursor")
            == CallCursor::default(),
        "a report keeps nothing"
    );
}

#[tokio::test]
async fn when_track_run_polls_a_running_parent_then_it_keeps_the_ended_pages_and_says_how_many() {
    let fakes = FakeServices::example();
    let mut state = started(&fakes, &[110]).await;
    state.begun_at = Some(crate::report::now());
    state.save(&fakes.store).await.expect("saved");
    let config = crate::fakes::example_config();
    let ports = fakes.run_ports(&config);
    let step = crate::workflow::TrackStep {
        run_id: "run-1".to_owned(),
        execution_started: None,
    };
    let tracked = crate::steps::run::track_run(&ports, step.clone())
        .await
        .expect("tracks");
    assert!(!tracked.done);
    assert_eq!(tracked.kept, 100, "pages 1 and 2 ended; page 3 still runs");
    let again = crate::steps::run::track_run(&ports, step)
        .await
        .expect("tracks");
    assert_eq!(again.kept, 0, "nothing new ended");
    assert_eq!(
        fakes.automation.page_reads(),
        2,
        "page 3 is not read until a page's worth more have ended"
    );
}
