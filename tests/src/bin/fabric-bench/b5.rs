//! B5, internet scale: one run over 10,000 accounts x 20 Regions through the deployed fabric,
//! at the deployment's time scale, with each function's peak RSS, the largest Step Functions
//! payload, every call count against its minimum and the report's bytes.

use super::{Minimum, TEST_TIME_SCALE, call_counts, seeded, ssm_run_seconds};
use fabric::ports::ReportStore;
use fabric::runs;
use fabric_simulator::faults::FaultSettings;
use fabric_tests::{Deployed, Organization};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The Regions B5 runs in: the 17 every account has, then 3 opt-in ones (enabled in every
/// account before the run).
pub(crate) const B5_REGIONS: [&str; 20] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "af-south-1",
    "eu-south-1",
    "me-south-1",
];

/// The run profile B5 adds to the config and runs.
const B5_PROFILE: &str = "organization-trail";

/// How long each runbook step takes in B5 (the simulator's step duration).
const B5_STEP_MS: u64 = 200;

/// B5: one run over `accounts` x `regions` through the deployed fabric (`infra/template.yaml`
/// on the local stack, the functions' release binaries), at the deployment's time scale: SSM's
/// rates are enforced, that many times faster, and the functions pace their calls to match;
/// no call is left out. Each function's peak RSS, the largest state payload, every call count
/// against its minimum and the stored report's bytes.
pub(crate) async fn internet_scale(
    accounts: usize,
    regions: usize,
    binaries: std::path::PathBuf,
) -> Value {
    assert!((1..=B5_REGIONS.len()).contains(&regions), "1 to 20 Regions");
    let regions = &B5_REGIONS[..regions];
    let (mut world, seeding) = seeded(
        // The role in every account; no document shared (an AWS-owned runbook needs none).
        Organization::of(accounts)
            .regions(regions)
            .onboarded()
            .without_shares(accounts)
            .without_instances(),
    )
    .await;
    let central = world.config.central_account.to_string();
    let root = world.org.seed.root_id.clone();
    // An AWS-owned runbook: a private document can be shared with at most 1,000 accounts.
    world.edit_config(|config| {
        config["run_profiles"][B5_PROFILE] = json!({
            "document": "AWS-EnableCloudTrail",
            "parameters": {
                "TrailName": ["organization-trail"],
                "S3BucketName": [format!("automation-fabric-trails-{central}")],
                "AutomationAssumeRole": [format!("arn:aws:iam::{central}:role/AWS-SystemsManager-AutomationAdministrationRole")],
            },
            "target_locations": [{
                "accounts": [root],
                "include_child_organization_units": true,
                "regions": regions,
                "exclude_accounts": [central],
                "target_location_max_concurrency": "100%",
                "target_location_max_errors": "100%",
            }],
        });
    });
    let simulator = world.org.stack.simulator();
    let opt_in: Vec<&str> = regions
        .iter()
        .copied()
        .filter(|region| B5_REGIONS[17..].contains(region))
        .collect();
    for account in world.member_accounts() {
        for region in &opt_in {
            simulator
                .engine()
                .regions()
                .set(fabric_simulator::account::RegionChange {
                    account: account.to_string(),
                    region: (*region).to_owned(),
                    enabled: true,
                });
        }
    }
    simulator
        .engine()
        .change_settings(&fabric_simulator::ssm::engine::SettingsChange {
            step_duration_ms: Some(B5_STEP_MS),
            ..Default::default()
        });
    let deployed = Deployed::with_binaries(world, binaries, &[]).await;
    deployed.world.faults(FaultSettings {
        tps_limits: true,
        tps_scale: TEST_TIME_SCALE,
        ..FaultSettings::default()
    });
    deployed.world.org.stack.simulator().faults().reset_stats();

    let input = json!({"manual": {
        "requested_by": "fabric-bench",
        "request_id": format!("b5-{accounts}x{}", regions.len()),
        "profile": B5_PROFILE,
    }});
    let started = Instant::now();
    let execution = deployed.start("RunStateMachine", &input).await;
    let view = deployed
        .finished(&execution, Duration::from_secs(4 * 3600))
        .await;
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(view.status, "SUCCEEDED", "{view:?}");
    let run_id = fabric_tests::run_id(&view);
    let world = &deployed.world;
    let seen = world.stats();
    let state = runs::RunState::load(&world.runs.store, &run_id)
        .await
        .expect("the run's state");
    let planned = state.plan.planned_count();
    let report_key = state.report_key.clone().expect("the report is stored");
    let (index, results) = fabric::stored_run::read_run(&world.runs.store, &report_key)
        .await
        .expect("the report reads back")
        .expect("the report is there");
    assert_eq!(
        results.len(),
        planned + state.plan.skipped.len(),
        "every location reported"
    );
    let mut report_bytes = world
        .runs
        .store
        .get(&report_key)
        .await
        .expect("the index")
        .map_or(0, |body| body.len());
    for part in &index.parts {
        report_bytes += world
            .runs
            .store
            .get(part)
            .await
            .expect("a part")
            .map_or(0, |body| body.len());
    }

    let functions: BTreeMap<String, Value> = deployed
        .function_stats()
        .into_iter()
        .map(|(function, stats)| {
            (
                function,
                json!({
                    "invocations": stats.invocations,
                    "sandboxes": stats.cold_starts,
                    "peak_rss_mib": stats.peak_rss_kib as f64 / 1024.0,
                    "memory_mb": stats.memory_mb,
                    "max_duration_ms": stats.max_duration_ms,
                }),
            )
        })
        .collect();
    let tracks = deployed
        .function_stats()
        .get("TrackRunFunction")
        .map_or(0, |stats| stats.invocations);
    let calls = state.started.len();
    let step_pages: usize = state
        .started
        .iter()
        .map(|call| call.locations.len().div_ceil(fabric::ports::STEPS_PER_PAGE))
        .sum();
    let (minimum, measured) = call_counts(
        &seen,
        Minimum {
            calls,
            step_pages,
            locations: planned,
            accounts,
        },
        tracks * calls as u64,
    );
    let payloads = largest_payloads(&deployed, &execution).await;
    json!({
        "bench": "B5 internet scale",
        "accounts": accounts,
        "regions": regions.len(),
        "locations": planned,
        "skipped": state.plan.skipped.len(),
        "calls": calls,
        "time_scale": TEST_TIME_SCALE,
        "step_duration_ms": B5_STEP_MS,
        "seeding_seconds": seeding,
        "wall_seconds": wall,
        "ssm_run_seconds": ssm_run_seconds(world, &state.started).await,
        "execution": view.status,
        "statuses": index.counts,
        "report_bytes": report_bytes,
        "report_parts": index.parts.len(),
        "functions": functions,
        "largest_payload": payloads,
        "track_run_invocations": tracks,
        "calls_minimum": minimum,
        "calls_measured": measured,
        "throttled": seen.throttled,
        "all_calls": seen.calls,
        "forwarded_calls": seen.forwarded,
    })
}

/// The largest input or output of any state of execution `arn` (and the state it was), from
/// its history: Step Functions refuses a payload over 256 KiB.
async fn largest_payloads(deployed: &Deployed, arn: &str) -> Value {
    let sdk = fabric_tests::central_config(deployed.world.org.stack.endpoint(), "us-east-1").await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .into_paginator()
        .send();
    let mut largest = (0_usize, String::new());
    let mut events = 0_u64;
    while let Some(page) = pages.next().await {
        for event in page.expect("a page of history").events() {
            events += 1;
            let entered = event
                .state_entered_event_details()
                .and_then(|details| Some((details.input()?.len(), details.name().to_owned())));
            let exited = event
                .state_exited_event_details()
                .and_then(|details| Some((details.output()?.len(), details.name().to_owned())));
            let answered = event
                .task_succeeded_event_details()
                .and_then(|details| details.output())
                .map(|output| (output.len(), "a task's answer".to_owned()));
            let sizes = [entered, exited, answered];
            for (size, state) in sizes.into_iter().flatten() {
                if size > largest.0 {
                    largest = (size, state);
                }
            }
        }
    }
    json!({"bytes": largest.0, "state": largest.1, "history_events": events, "limit_bytes": 256 * 1024})
}
