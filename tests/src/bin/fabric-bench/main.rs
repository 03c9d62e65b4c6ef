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

use fabric::model::{AccountOrOu, OuId, TargetLocation};
use fabric::plan::PlanContext;
use fabric::runs;
use fabric_tests::{Deployed, Organization, TEST_TIME_SCALE, World, spec_over};
mod b2;
mod b5;

use b2::fan_out;
use b5::{B5_REGIONS, internet_scale};
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
