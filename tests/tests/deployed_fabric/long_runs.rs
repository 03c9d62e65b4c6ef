//! Runs that outlive what they may: a run past its deadline is stopped and reported, every
//! location in it; a wave gate that waits for a person's approval.

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
    set_in_profile(&mut world, "patch-baseline", "deadline", json!("3s"));
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
