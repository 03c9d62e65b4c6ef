//! A run's stored report read by a real SQL engine: a run over a seeded organization on the
//! local stack is published (index and JSON-lines parts in S3), its parts are copied out as
//! they are laid out in the bucket, and `DuckDB` (`tests/sql/run_counts.py`), reading them as
//! Athena reads the `run_locations` table, counts the same locations by status as the run.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use fabric::model::{AccountOrOu, Target, TargetLocation};
use fabric::ports::ReportStore as _;
use fabric_simulator::stack::local_dir;
use fabric_tests::{Organization, unique_path, workspace};

#[tokio::test]
async fn when_a_run_is_published_then_duckdb_reads_its_parts_and_counts_what_the_run_counts() {
    let world = Organization::of(4)
        .onboarded()
        .without_role(1)
        .failing_instances(1)
        .world()
        .await;
    let mut location = TargetLocation::new(
        world
            .member_accounts()
            .into_iter()
            .map(AccountOrOu::Account)
            .collect(),
        world.config.regions.clone(),
    );
    location.targets = Some(Target::Tag {
        key: "Patch".to_owned(),
        values: vec!["true".to_owned()],
    });
    location.target_location_max_concurrency =
        Some(fabric::model::Concurrency::parse("100%").expect("valid"));
    location.target_location_max_errors =
        Some(fabric::model::ErrorThreshold::parse("100%").expect("valid"));
    let spec = fabric_tests::spec_over(&world.config, "patch-baseline", location);
    let driven = world.local_runs().drive("sql", &spec, &mut ()).await;
    let key = driven
        .state
        .report_key
        .clone()
        .expect("the report was published");
    let (index, _) = fabric::stored_run::read_run(&world.runs.store, &key)
        .await
        .expect("the index reads")
        .expect("the index is there");

    // The parts, copied out with the bucket's layout (keys below the report prefix).
    let root = unique_path("stored-run", "d");
    for part in &index.parts {
        let body = world
            .runs
            .store
            .get(part)
            .await
            .expect("S3 answers")
            .expect("the part is there");
        let path = root.join(part);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
        std::fs::write(&path, body).expect("the part is written");
    }
    let output = std::process::Command::new(local_dir(&workspace()).join("venv/bin/python"))
        .arg(workspace().join("tests/sql/run_counts.py"))
        .arg(&root)
        .arg(&driven.state.plan.run_id)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "DuckDB read the parts: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    let expected = driven.report.counts_by_status();
    assert!(
        expected.len() >= 2,
        "a run with several outcomes: {expected:?}"
    );
    assert_eq!(
        read["counts"],
        serde_json::to_value(&expected).expect("JSON"),
        "SQL counts the run's locations by status as the run does"
    );
    assert_eq!(
        read["counts"],
        serde_json::to_value(&index.counts).expect("JSON")
    );
    let locations = driven.report.locations().len();
    assert_eq!(read["rows"], locations, "one row per location");
    assert_eq!(read["distinct_locations"], locations, "none twice");
    let partition = key.split('/').skip(1).take(3).collect::<Vec<_>>().join("/");
    assert_eq!(read["partitions"], serde_json::json!([partition]));
    let _ = std::fs::remove_dir_all(&root);
}
