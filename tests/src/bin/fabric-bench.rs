//! `fabric-bench`: benchmarks B2 (fan-out), B3 (onboarding at scale), B4 (organization size)
//! and the deployed path of BENCHMARKS.md, each against a private local stack with the real SDK clients. Prints one
//! JSON object of figures (and writes it to `--out FILE`); `scripts/bench` runs them all and
//! renders BENCHMARKS.md.
//!
//! ```text
//! fabric-bench b2 [--accounts 1000] [--regions 4] [--latency-ms 20] [--out FILE]
//! fabric-bench b3 [--accounts 1000] [--regions 4] [--documents 10] [--out FILE]
//! fabric-bench b4 [--accounts 10000] [--out FILE]
//! fabric-bench deployed --binaries DIR [--accounts 20] [--regions 3] [--out FILE]
//! fabric-bench b5 --binaries DIR [--accounts 10000] [--regions 20] [--out FILE]
//! ```

#![allow(clippy::expect_used, clippy::panic, clippy::print_stdout)] // a benchmark's report
#![allow(clippy::cast_precision_loss)] // figures are printed, not computed on
#![allow(clippy::too_many_lines)] // a benchmark reads top to bottom

use fabric::model::{AccountOrOu, Concurrency, ErrorThreshold, OuId, Region, TargetLocation};
use fabric::plan::PlanContext;
use fabric::ports::ReportStore;
use fabric::runs;
use fabric_simulator::faults::FaultSettings;
use fabric_tests::{Deployed, LocalRuns, Organization, TEST_TIME_SCALE, World, spec_over};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The Regions the benchmarks seed, in order.
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "ap-southeast-2",
    "ca-central-1",
];

/// The Regions B5 runs in: the 17 every account has, then 3 opt-in ones (enabled in every
/// account before the run).
const B5_REGIONS: [&str; 20] = [
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

/// SSM's rates per account and Region (the simulator enforces them with `tps_limits`).
const STARTS_PER_SECOND: f64 = 1.0;
const READS_PER_SECOND: f64 = 3.0;

/// Organizations' page size for `ListAccountsForParent` and `ListOrganizationalUnitsForParent`.
const ORGANIZATIONS_PAGE: usize = 20;

struct Args {
    bench: String,
    options: BTreeMap<String, String>,
}

impl Args {
    fn parse() -> Self {
        let mut args = std::env::args().skip(1);
        let bench = args.next().unwrap_or_default();
        let mut options = BTreeMap::new();
        while let Some(name) = args.next() {
            let Some(name) = name.strip_prefix("--") else {
                usage(&format!("unexpected argument {name}"));
            };
            let value = args
                .next()
                .unwrap_or_else(|| usage(&format!("--{name} needs a value")));
            options.insert(name.to_owned(), value);
        }
        Self { bench, options }
    }

    fn number(&self, name: &str, default: usize) -> usize {
        self.options.get(name).map_or(default, |value| {
            value
                .parse()
                .unwrap_or_else(|_| usage(&format!("--{name} takes a number, not {value}")))
        })
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "fabric-bench: {problem}\nusage: fabric-bench b2|b3|b4|b5|deployed [--accounts N] [--regions N] [--latency-ms N] [--documents N] [--binaries DIR] [--out FILE]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let figures = match args.bench.as_str() {
        "b2" => {
            fan_out(
                args.number("accounts", 1000),
                args.number("regions", 4),
                args.number("latency-ms", 20),
            )
            .await
        }
        "b3" => {
            onboarding_at_scale(
                args.number("accounts", 1000),
                args.number("regions", 4),
                args.number("documents", 10),
            )
            .await
        }
        "b4" => organization_size(args.number("accounts", 10_000)).await,
        "deployed" => {
            let binaries = args.options.get("binaries").unwrap_or_else(|| {
                usage("deployed needs --binaries DIR (the functions' release binaries)")
            });
            Box::pin(deployed_path(
                args.number("accounts", 20),
                args.number("regions", 3),
                std::path::PathBuf::from(binaries),
            ))
            .await
        }
        "b5" => {
            let binaries = args.options.get("binaries").unwrap_or_else(|| {
                usage("b5 needs --binaries DIR (the functions' release binaries)")
            });
            Box::pin(internet_scale(
                args.number("accounts", 10_000),
                args.number("regions", B5_REGIONS.len()),
                std::path::PathBuf::from(binaries),
            ))
            .await
        }
        "plan-child" => plan_child().await,
        other => usage(&format!("no benchmark {other:?}")),
    };
    let text = serde_json::to_string_pretty(&figures).expect("JSON");
    println!("{text}");
    if let Some(out) = args.options.get("out") {
        std::fs::write(out, text).expect("the figures are written");
    }
}

/// `accounts` member accounts in the first `regions` of [`REGIONS`], without instances.
fn organization(accounts: usize, regions: usize) -> Organization {
    assert!(
        (1..=REGIONS.len()).contains(&regions),
        "1 to {} Regions",
        REGIONS.len()
    );
    Organization::of(accounts)
        .regions(&REGIONS[..regions])
        .without_instances()
}

/// The world `organization` seeds, and how long the seeding took.
async fn seeded(organization: Organization) -> (World, f64) {
    let started = Instant::now();
    let world = organization.world().await;
    (world, started.elapsed().as_secs_f64())
}

fn count(map: &BTreeMap<String, u64>, operation: &str) -> u64 {
    map.get(operation).copied().unwrap_or(0)
}

/// B2: a run over `accounts` x `regions` with the simulator's latency and SSM's TPS limits, from
/// the trigger to the stored and published report.
async fn fan_out(accounts: usize, regions: usize, latency_ms: usize) -> Value {
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

/// What a run's calls cannot go below: one start per call, one step listing per page of 50
/// locations, one child read per location, one `AssumeRole` per account.
#[derive(Clone, Copy)]
struct Minimum {
    calls: usize,
    step_pages: usize,
    locations: usize,
    accounts: usize,
}

/// Each counted call's minimum and measured count; the member accounts' `GetAutomationExecution`
/// reads are the simulator's count less `central_gets` (the tracking polls of the parents).
fn call_counts(
    seen: &fabric_simulator::faults::CallStats,
    minimum: Minimum,
    central_gets: u64,
) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
    let minimum = BTreeMap::from([
        ("StartAutomationExecution", minimum.calls as u64),
        (
            "DescribeAutomationStepExecutions",
            minimum.step_pages as u64,
        ),
        (
            "GetAutomationExecution (member accounts)",
            minimum.locations as u64,
        ),
        ("sts.AssumeRole", minimum.accounts as u64),
    ]);
    let measured = BTreeMap::from([
        (
            "StartAutomationExecution",
            count(&seen.calls, "StartAutomationExecution"),
        ),
        (
            "DescribeAutomationStepExecutions",
            count(&seen.calls, "DescribeAutomationStepExecutions"),
        ),
        (
            "GetAutomationExecution (member accounts)",
            count(&seen.calls, "GetAutomationExecution").saturating_sub(central_gets),
        ),
        ("sts.AssumeRole", count(&seen.forwarded, "sts.AssumeRole")),
    ]);
    (minimum, measured)
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

/// How long SSM ran the started parents: from the first start to the last end.
async fn ssm_run_seconds(world: &World, started: &[runs::StartedCall]) -> f64 {
    let ssm = aws_sdk_ssm::Client::new(
        &fabric_tests::central_config(world.org.stack.endpoint(), "us-east-1").await,
    );
    let mut first = f64::MAX;
    let mut last = f64::MIN;
    for call in started {
        let execution = ssm
            .get_automation_execution()
            .automation_execution_id(&call.execution_id)
            .send()
            .await
            .expect("the parent")
            .automation_execution
            .expect("an execution");
        let seconds = |time: Option<&aws_sdk_ssm::primitives::DateTime>| {
            time.map_or(0.0, aws_sdk_ssm::primitives::DateTime::as_secs_f64)
        };
        first = first.min(seconds(execution.execution_start_time()));
        last = last.max(seconds(execution.execution_end_time()));
    }
    (last - first).max(0.0)
}

/// B3: the reconciler over `accounts` x `documents` x `regions`, nothing shared or deployed yet.
async fn onboarding_at_scale(accounts: usize, regions: usize, documents: usize) -> Value {
    let (world, seeding) =
        seeded(organization(accounts, regions).extra_documents(documents.saturating_sub(2))).await;
    assert_eq!(world.org.seed.documents.len(), documents.max(2));
    world.org.stack.simulator().faults().reset_stats();
    let started = Instant::now();
    let report = world.reconcile(false).await;
    let wall = started.elapsed().as_secs_f64();
    let stats = world.stats();
    let modify = count(&stats.forwarded, "AmazonSSM.ModifyDocumentPermission");
    assert_eq!(
        world.config.sharing_regions().len(),
        regions,
        "the config shares in the seeded Regions"
    );
    let minimum = (documents.max(2)
        * regions
        * accounts.div_ceil(fabric::aws::MAX_ACCOUNTS_PER_CHANGE)) as u64;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    json!({
        "bench": "B3 onboarding at scale",
        "accounts": accounts,
        "documents": documents.max(2),
        "regions": regions,
        "seeding_seconds": seeding,
        "wall_seconds": wall,
        "roles_deployed": report.roles_deployed.len(),
        "ModifyDocumentPermission": modify,
        "ModifyDocumentPermission_minimum": minimum,
        "calls_equal_minimum": modify == minimum,
        "CreateStackInstances": count(&stats.forwarded, "cloudformation.CreateStackInstances"),
        "forwarded_calls": stats.forwarded,
    })
}

/// B4: a plan over `accounts` in nested OUs, in a child process whose peak memory is its own.
async fn organization_size(accounts: usize) -> Value {
    let (world, seeding) = seeded(organization(accounts, 1)).await;
    world.org.stack.simulator().faults().reset_stats();
    let config_path = &world.config_path;
    let output = tokio::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("plan-child")
        .env("AWS_ENDPOINT_URL", world.org.stack.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("FABRIC_BENCH_CONFIG", config_path)
        .env("FABRIC_BENCH_ROOT", &world.org.seed.root_id)
        .output()
        .await
        .expect("the planner runs");
    assert!(
        output.status.success(),
        "the planner failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let child: Value = serde_json::from_slice(&output.stdout).expect("the planner's figures");
    let stats = world.stats();

    // The fewest pages: every parent's accounts and child OUs, 20 a page (at least one page).
    let mut accounts_per_parent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut children_per_parent: BTreeMap<&str, usize> = BTreeMap::new();
    accounts_per_parent.insert(world.org.seed.root_id.as_str(), 0);
    for id in world.org.seed.ous.values() {
        accounts_per_parent.insert(id.as_str(), 0);
    }
    for account in &world.org.seed.accounts {
        *accounts_per_parent
            .entry(account.ou_id.as_str())
            .or_insert(0) += 1;
    }
    for (parent, ou_children) in ou_tree(&world) {
        children_per_parent.insert(parent, ou_children);
    }
    let pages = |counts: &BTreeMap<&str, usize>| -> u64 {
        counts
            .values()
            .map(|n| n.div_ceil(ORGANIZATIONS_PAGE).max(1) as u64)
            .sum()
    };
    let minimum_account_pages = pages(&accounts_per_parent);
    let minimum_ou_pages = pages(&children_per_parent);
    json!({
        "bench": "B4 organization size",
        "accounts": accounts,
        "ous": world.org.seed.ous.len(),
        "seeding_seconds": seeding,
        "planner": child,
        "ListAccountsForParent": count(&stats.forwarded, "AWSOrganizationsV20161128.ListAccountsForParent"),
        "ListAccountsForParent_minimum": minimum_account_pages,
        "ListOrganizationalUnitsForParent": count(&stats.forwarded, "AWSOrganizationsV20161128.ListOrganizationalUnitsForParent"),
        "ListOrganizationalUnitsForParent_minimum": minimum_ou_pages,
        "forwarded_calls": stats.forwarded,
    })
}

/// Each parent (the root and every OU) with its number of child OUs, from the seed.
fn ou_tree(world: &World) -> BTreeMap<&str, usize> {
    let mut children: BTreeMap<&str, usize> = BTreeMap::new();
    children.insert(world.org.seed.root_id.as_str(), 0);
    for id in world.org.seed.ous.values() {
        children.insert(id.as_str(), 0);
    }
    for parent in world.org.seed.ou_parents.values() {
        *children.entry(parent.as_str()).or_insert(0) += 1;
    }
    children
}

/// The planner alone (B4's child process): plans the root of the organization the environment
/// points at, then reports its wall time, what it planned and its own peak memory.
async fn plan_child() -> Value {
    let config_path = std::env::var("FABRIC_BENCH_CONFIG").expect("FABRIC_BENCH_CONFIG");
    let root = std::env::var("FABRIC_BENCH_ROOT").expect("FABRIC_BENCH_ROOT");
    let config = fabric::config::Config::load(std::path::Path::new(&config_path)).expect("config");
    let started = Instant::now();
    let sdk = fabric::aws::sdk_config().await;
    let directory = fabric::aws::directory(&sdk, &config);
    let mut location = TargetLocation::new(
        vec![AccountOrOu::Ou(OuId::new(root).expect("a root id"))],
        vec![config.regions[0].clone()],
    );
    location.include_child_organization_units = true;
    let request = fabric::model::RunRequest {
        profile: None,
        spec: spec_over(&config, "patch-baseline", location),
        trigger: fabric::model::RunTrigger::Manual {
            requested_by: "fabric-bench".to_owned(),
        },
    };
    let context = PlanContext {
        default_regions: &config.regions,
    };
    let plan = fabric::plan::plan_run("bench-plan", request, &directory, &context)
        .await
        .expect("planned");
    let wall = started.elapsed().as_secs_f64();
    json!({
        "wall_seconds": wall,
        "locations_planned": plan.planned_count(),
        "skipped": plan.skipped.len(),
        "calls": plan.waves.iter().map(|wave| wave.calls.len()).sum::<usize>(),
        "peak_rss_kib": peak_rss_kib(),
    })
}

/// This process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The deployed path: the template deployed with the functions' release binaries over an
/// organization of `accounts` x `regions`, driven by its events and schedule; from each event
/// put (or schedule fired) to its report published on the topic, and each function's cold
/// start and peak RSS beside its configured memory.
async fn deployed_path(accounts: usize, regions: usize, binaries: std::path::PathBuf) -> Value {
    let world = Organization::of(accounts)
        .regions(&REGIONS[..regions])
        .onboarded()
        .without_role(2)
        .failing_instances(1)
        .world()
        .await;
    let deploy_started = Instant::now();
    let deployed = Deployed::with_binaries(world, binaries, &[]).await;
    let deploy_seconds = deploy_started.elapsed().as_secs_f64();
    let timeout = Duration::from_secs(300);

    let newcomer = deployed.world.create_account("bench-newcomer").await;
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            fabric_tests::workspace()
                .join("tests/fixtures/events/org-create-account-result-succeeded.json"),
        )
        .expect("the fixture"),
    )
    .expect("JSON");
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        json!(newcomer.as_str());
    let entry = json!([{
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "EventBusName": "default",
    }]);
    let put = Instant::now();
    deployed.put_events(&entry, None).await;
    let onboarding = deployed
        .published_containing(&format!("Account {newcomer} onboarded"), put, timeout)
        .await;

    let fired = Instant::now();
    deployed.fire("patch-window").await;
    let patch = deployed
        .published_containing("Automation-RunPatchBaseline in", fired, timeout)
        .await;
    let executions = deployed.executions_of("RunStateMachine").await;
    let view = deployed.finished(&executions[0], timeout).await;
    let locations = view
        .task_answers
        .iter()
        .find(|answer| answer.state == "StartRun")
        .and_then(|answer| answer.output.as_ref()?["Payload"]["locations"].as_u64())
        .unwrap_or_default();

    let functions: BTreeMap<String, Value> = deployed
        .function_stats()
        .into_iter()
        .map(|(function, stats)| {
            let median_cold_start = {
                let mut starts = stats.cold_start_ms.clone();
                starts.sort_unstable();
                starts.get(starts.len() / 2).copied()
            };
            (
                function,
                json!({
                    "invocations": stats.invocations,
                    "cold_starts": stats.cold_starts,
                    "cold_start_ms_median": median_cold_start,
                    "peak_rss_mib": stats.peak_rss_kib as f64 / 1024.0,
                    "memory_mb": stats.memory_mb,
                    "max_duration_ms": stats.max_duration_ms,
                }),
            )
        })
        .collect();
    json!({
        "accounts": accounts,
        "regions": regions,
        "time_scale": TEST_TIME_SCALE,
        "deploy_seconds": deploy_seconds,
        "onboarding_event_to_report_seconds": onboarding.as_secs_f64(),
        "patch_window_to_report_seconds": patch.as_secs_f64(),
        "patch_window_locations": locations,
        "patch_window_execution": view.status,
        "functions": functions,
    })
}

/// B5: one run over `accounts` x `regions` through the deployed fabric (`infra/template.yaml`
/// on the local stack, the functions' release binaries), at the deployment's time scale: SSM's
/// rates are enforced, that many times faster, and the functions pace their calls to match;
/// no call is left out. Each function's peak RSS, the largest state payload, every call count
/// against its minimum and the stored report's bytes.
async fn internet_scale(accounts: usize, regions: usize, binaries: std::path::PathBuf) -> Value {
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
