//! B2, fan-out: a run over 1,000 accounts x 4 Regions with SSM's TPS limits, from the trigger
//! to the published report: the ratio to the ideal the limits allow, the time from the last
//! location's end to the report, and every call against its minimum.

use super::{
    Minimum, READS_PER_SECOND, STARTS_PER_SECOND, call_counts, organization, seeded,
    ssm_run_seconds,
};
use fabric::model::{AccountOrOu, Concurrency, ErrorThreshold, OuId, Region, TargetLocation};
use fabric::runs;
use fabric_simulator::faults::FaultSettings;
use fabric_tests::{LocalRuns, World, spec_over};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// B2: a run over `accounts` x `regions` with the simulator's latency and SSM's TPS limits, from
/// the trigger to the stored and published report.
pub(crate) async fn fan_out(accounts: usize, regions: usize, latency_ms: usize) -> Value {
    let (world, seeding) = seeded(organization(accounts, regions).onboarded()).await;
    let region_ids: Vec<Region> = world.org.seed.regions[..regions]
        .iter()
        .map(|region| Region::new(region.as_str()).expect("valid"))
        .collect();
    let root = OuId::new(world.org.seed.root_id.as_str()).expect("a root id");
    let mut location = TargetLocation::new(vec![AccountOrOu::Ou(root)], region_ids);
    location.include_child_organization_units = true;
    // The central account is not a target (as in the example config).
    location.exclude_accounts = vec![AccountOrOu::Account(world.config.central_account.clone())];
    location.target_location_max_concurrency = Some(Concurrency::parse("100%").expect("valid"));
    location.target_location_max_errors = Some(ErrorThreshold::parse("100%").expect("valid"));
    let spec = spec_over(&world.config, "patch-baseline", location);
    world.faults(FaultSettings {
        latency_ms: u64::try_from(latency_ms).expect("small"),
        tps_limits: true,
        ..FaultSettings::default()
    });
    world.org.stack.simulator().faults().reset_stats();

    let mut clock = PhaseClock::default();
    let mut local = LocalRuns {
        pacing: runs::START_PACING,
        timing: fabric::driver::Timing {
            wait: Duration::from_secs(1),
            retry_interval: Duration::from_secs(2),
            timeout: None,
        },
        ..world.local_runs()
    };
    let driven = local.drive("bench-fan-out", &spec, &mut clock).await;
    let state = &driven.state;
    let report = &driven.report;
    let planned = state.plan.planned_count();
    let [planned_at, started_at, ended_at, reported_at] =
        [clock.planned, clock.started, clock.ended, clock.published]
            .map(|at| at.expect("the run went through every phase"));
    let started = clock.began;
    let polls = clock.polls;
    let collected: usize = clock.kept_while_running + clock.collected;
    let wall = reported_at.duration_since(started).as_secs_f64();
    assert_eq!(
        driven.outcome.end,
        fabric::driver::End::Succeeded("RunReported")
    );
    assert_eq!(collected, planned, "every location collected once");
    assert_eq!(
        report.locations().len(),
        planned + state.plan.skipped.len(),
        "every location reported, the skipped ones too"
    );

    // What the limits allow: SSM running the locations (the parents' own run time, which the
    // fabric cannot shorten), one start a second, and the central account's step listings at 3
    // reads a second; every location is its own account-Region, so the reads there run side by
    // side within their own limits.
    let seen = world.stats();
    let ssm_run = ssm_run_seconds(&world, &state.started).await;
    let ends = location_ends(&world, &state.started).await;
    let last_end = ends.iter().flatten().copied().fold(f64::MIN, f64::max);
    let published_at = clock
        .published_at
        .expect("published")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs_f64();
    let calls = state.started.len();
    let step_pages: usize = state
        .started
        .iter()
        .map(|call| {
            call.locations
                .len()
                .div_ceil(usize::try_from(fabric::aws::MAX_STEPS_PER_PAGE).expect("positive"))
        })
        .sum();
    // A token bucket lets the first call of each kind through at once.
    let ideal = (calls - 1) as f64 / STARTS_PER_SECOND
        + ssm_run
        + step_pages.saturating_sub(1) as f64 / READS_PER_SECOND;
    let central_gets = polls * calls as u64;
    let (minimum, measured) = call_counts(
        &seen,
        Minimum {
            calls,
            step_pages,
            locations: planned,
            accounts,
        },
        central_gets,
    );
    json!({
        "bench": "B2 fan-out",
        "accounts": accounts,
        "regions": regions,
        "locations": planned,
        "latency_ms": latency_ms,
        "tps_limits": true,
        "seeding_seconds": seeding,
        "wall_seconds": wall,
        "phases_seconds": [
            ["plan", planned_at.duration_since(started).as_secs_f64()],
            ["start", started_at.duration_since(planned_at).as_secs_f64()],
            ["track (SSM running)", ended_at.duration_since(started_at).as_secs_f64()],
            ["collect, store, publish", reported_at.duration_since(ended_at).as_secs_f64()],
        ],
        "ssm_run_seconds": ssm_run,
        "last_location_end_to_report_seconds": published_at - last_end,
        "page_tail": page_tail(&ends, last_end),
        "location_ends_seconds_after_the_first": end_spread(&ends),
        "ideal_seconds": ideal,
        "throughput_locations_per_second": planned as f64 / wall,
        "ideal_throughput_locations_per_second": planned as f64 / ideal,
        "throughput_ratio": ideal / wall,
        "calls_minimum": minimum,
        "calls_measured": measured,
        "state_seconds": clock.state_seconds,
        "state_entries": clock.state_entries,
        "kept_while_running": clock.kept_while_running,
        "kept_after_the_end": clock.collected,
        "tracking_polls": { "polls": polls, "interval_seconds": local.timing.wait.as_secs(), "GetAutomationExecution (central)": central_gets },
        "throttled": seen.throttled,
        "all_calls": seen.calls,
        "forwarded_calls": seen.forwarded,
    })
}

/// When each phase of a run ended, from the driver's events: planned (`StartRun` answered),
/// started (the wave's `StartWave` answered), SSM done (`RunEnded` chose `CollectCalls`),
/// reported (`PublishReport` answered); with the tracking polls and the locations collected.
struct PhaseClock {
    began: Instant,
    planned: Option<Instant>,
    started: Option<Instant>,
    ended: Option<Instant>,
    published: Option<Instant>,
    /// The same moment on the wall clock (SSM's end times are wall-clock times).
    published_at: Option<std::time::SystemTime>,
    polls: u64,
    /// Locations kept by `TrackRun` while SSM ran.
    kept_while_running: usize,
    /// Locations kept by `CollectCall` after.
    collected: usize,
    /// The state entered last, and when.
    entered: Option<(String, Instant)>,
    /// Seconds spent in each state (a Task state's time is its function's duration).
    state_seconds: BTreeMap<String, f64>,
    /// How many times each state was entered.
    state_entries: BTreeMap<String, u64>,
}

impl Default for PhaseClock {
    fn default() -> Self {
        Self {
            began: Instant::now(),
            planned: None,
            started: None,
            ended: None,
            published: None,
            published_at: None,
            polls: 0,
            kept_while_running: 0,
            collected: 0,
            entered: None,
            state_seconds: BTreeMap::new(),
            state_entries: BTreeMap::new(),
        }
    }
}

impl fabric::driver::Observer for PhaseClock {
    fn on(&mut self, event: fabric::driver::Event<'_>) {
        use fabric::driver::Event;
        if let Event::Entered(state) = &event {
            let now = Instant::now();
            if let Some((previous, at)) = self.entered.replace(((*state).to_owned(), now)) {
                *self.state_seconds.entry(previous).or_default() +=
                    now.duration_since(at).as_secs_f64();
            }
            *self.state_entries.entry((*state).to_owned()).or_default() += 1;
        }
        match event {
            Event::RunStarted(started) if started.wave.is_none() => {
                self.planned = Some(Instant::now());
            }
            Event::RunStarted(_) => self.started = Some(Instant::now()),
            Event::Tracked(tracked) => {
                self.polls += 1;
                self.kept_while_running += tracked.kept;
            }
            Event::Entered("CollectCalls") => {
                self.ended.get_or_insert_with(Instant::now);
            }
            Event::CallCollected { collected, .. } => self.collected += collected,
            Event::Published(_) => {
                self.published = Some(Instant::now());
                self.published_at = Some(std::time::SystemTime::now());
            }
            _ => {}
        }
    }
}

/// When the locations of the started parents ended (seconds since the epoch), each parent's
/// in the order of its steps, from their end times (read after the run: these reads are not
/// counted in its calls).
async fn location_ends(world: &World, started: &[runs::StartedCall]) -> Vec<Vec<f64>> {
    let ssm = aws_sdk_ssm::Client::new(
        &fabric_tests::central_config(world.org.stack.endpoint(), "us-east-1").await,
    );
    let mut ends = Vec::new();
    for call in started {
        let mut parent = Vec::new();
        let mut pages = ssm
            .describe_automation_step_executions()
            .automation_execution_id(&call.execution_id)
            .max_results(fabric::aws::MAX_STEPS_PER_PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for step in page.expect("a page of steps").step_executions() {
                parent.push(
                    step.execution_end_time()
                        .map_or(f64::NAN, aws_sdk_ssm::primitives::DateTime::as_secs_f64),
                );
            }
        }
        ends.push(parent);
    }
    ends
}

/// When the locations ended, in seconds after the first ended: the 10th, 50th and 90th
/// percentiles and the last.
fn end_spread(ends: &[Vec<f64>]) -> Value {
    let first = ends.iter().flatten().copied().fold(f64::MAX, f64::min);
    let mut spread: Vec<f64> = ends.iter().flatten().map(|end| end - first).collect();
    spread.sort_by(f64::total_cmp);
    let at = |share: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // an index
        let index = ((spread.len().saturating_sub(1)) as f64 * share) as usize;
        spread.get(index).copied()
    };
    json!({"p10": at(0.1), "p50": at(0.5), "p90": at(0.9), "max": at(1.0)})
}

/// When each page of steps had ended in full, and every page before it (the earliest a page
/// can be kept without reading a page twice), in seconds before `last_end`: the tail that
/// must still be read once the last location has ended.
fn page_tail(ends: &[Vec<f64>], last_end: f64) -> Value {
    let page = usize::try_from(fabric::aws::MAX_STEPS_PER_PAGE).expect("positive");
    let mut before_last_end = Vec::new();
    for parent in ends {
        let mut frontier = f64::MIN;
        for steps in parent.chunks(page) {
            let ended = steps.iter().copied().fold(f64::MIN, f64::max);
            frontier = frontier.max(ended);
            before_last_end.push(last_end - frontier);
        }
    }
    let within = |seconds: f64| {
        before_last_end
            .iter()
            .filter(|gap| **gap <= seconds)
            .count()
    };
    json!({
        "pages": before_last_end.len(),
        "keepable_only_in_the_last_5_s": within(5.0),
        "keepable_only_in_the_last_20_s": within(20.0),
    })
}
