//! `fabric plan`, `run`, `trigger`, `status` and `report`: a run carried out from the command
//! line with the same steps, in the same order, as the multi-location run state machine
//! (plan, start wave, track until done, collect, gate, ..., publish), against whatever AWS the
//! environment points at (the local stack by default in this project).

use crate::Failure;
use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::events::{IdempotencyKey, TriggerEvent};
use fabric::model::{LocationStatus, RunRequest, RunTrigger};
use fabric::plan::{PlanContext, RunPlan, plan_run};
use fabric::runs::{self, Delivery, RUN_STEPS, RunState, START_PACING};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How a run is followed from the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Follow {
    /// Wait for the end, printing progress.
    pub(crate) wait: bool,
    /// Seconds between polls.
    pub(crate) interval: Duration,
    /// Give up waiting after this long.
    pub(crate) timeout: Duration,
}

fn other(what: impl std::fmt::Display) -> Failure {
    Failure::Other(what.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(other)
}

async fn services(config: &Config) -> Result<RunServices, Failure> {
    let sdk = fabric::aws::sdk_config().await;
    Ok(RunServices::new(&sdk, config)?)
}

fn manual_request(config: &Config, profile: &str) -> Result<RunRequest, Failure> {
    let spec = config
        .profile(profile)
        .ok_or_else(|| Failure::BadInput(format!("the config has no run profile {profile:?}")))?;
    let requested_by = std::env::var("USER").unwrap_or_else(|_| "fabric-cli".to_owned());
    Ok(RunRequest {
        profile: Some(profile.to_owned()),
        spec: spec.clone(),
        trigger: RunTrigger::Manual { requested_by },
    })
}

async fn make_plan(
    config: &Config,
    services: &RunServices,
    run_id: &str,
    request: RunRequest,
) -> Result<RunPlan, Failure> {
    let context = PlanContext {
        default_regions: &config.regions,
    };
    Ok(plan_run(run_id, request, &services.directory, &context).await?)
}

fn print_plan(plan: &RunPlan, json: bool, out: &mut impl Write) -> std::io::Result<()> {
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(plan).map_err(std::io::Error::other)?
        );
    }
    writeln!(
        out,
        "run {}: {} locations planned, {} skipped",
        plan.run_id,
        plan.planned_count(),
        plan.skipped.len()
    )?;
    for wave in &plan.waves {
        let gate = wave
            .gate
            .map(|g| format!(", gate {}% success", g.min_success_percent))
            .unwrap_or_default();
        writeln!(
            out,
            "\nwave {} ({} calls{gate})",
            wave.name,
            wave.calls.len()
        )?;
        writeln!(out, "  {:<14} REGION", "ACCOUNT")?;
        for location in wave.locations() {
            writeln!(out, "  {:<14} {}", location.account_id, location.region)?;
        }
    }
    if !plan.skipped.is_empty() {
        writeln!(out, "\nskipped")?;
        for skip in &plan.skipped {
            writeln!(
                out,
                "  {:<14} {:<14} {}",
                skip.location.account_id, skip.location.region, skip.reason
            )?;
        }
    }
    Ok(())
}

/// `fabric plan PROFILE`.
pub(crate) fn plan(
    config: &Path,
    profile: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    runtime()?.block_on(async {
        let services = services(&config).await?;
        let request = manual_request(&config, profile)?;
        let plan = make_plan(&config, &services, &format!("plan-{profile}"), request).await?;
        print_plan(&plan, json, out).map_err(other)
    })
}

/// `fabric run PROFILE`.
pub(crate) fn run(
    config: &Path,
    profile: &str,
    dry_run: bool,
    follow: Follow,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    let request = manual_request(&config, profile)?;
    let now = chrono::Utc::now().to_rfc3339();
    let run_id =
        IdempotencyKey::derive("run", Some(profile), &format!("{profile}|{now}")).to_string();
    runtime()?.block_on(carry_out(&config, run_id, request, dry_run, follow, out))
}

/// `fabric trigger EVENT`: what the start-run function does with an event, then the run.
pub(crate) fn trigger(
    config: &Path,
    event: &Path,
    dry_run: bool,
    follow: Follow,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    let bytes = crate::explain::read_input(event)?;
    let event = TriggerEvent::from_slice(&bytes)?;
    let Some(request) = runs::run_request_for(&event.trigger, &config)? else {
        return account_event(&config, &event, dry_run, out);
    };
    writeln!(
        out,
        "trigger {} -> run {}",
        event.idempotency_key, event.idempotency_key
    )
    .map_err(other)?;
    runtime()?.block_on(carry_out(
        &config,
        event.idempotency_key.to_string(),
        request,
        dry_run,
        follow,
        out,
    ))
}

async fn carry_out(
    config: &Config,
    run_id: String,
    request: RunRequest,
    dry_run: bool,
    follow: Follow,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let [
        start_run,
        track_run,
        collect_call,
        collect_results,
        start_next_wave,
        publish_report,
    ] = RUN_STEPS
    else {
        return Err(other(
            "the run's steps are not the six the state machine has",
        ));
    };
    step(out, start_run)?;
    if dry_run {
        return preview_run(config, &services, &run_id, request, out).await;
    }
    if request.spec.waves.len() > 1 && !follow.wait {
        return Err(Failure::BadInput(format!(
            "this run has {} waves, and each waits on the one before: add --wait (or start it through the state machine)",
            request.spec.waves.len()
        )));
    }
    let Some(mut state) = deliver(config, &services, run_id, request, out).await? else {
        return Ok(());
    };
    let plan = &state.plan;
    writeln!(
        out,
        "  run {}: {} locations planned, {} skipped",
        plan.run_id,
        plan.planned_count(),
        plan.skipped.len()
    )
    .map_err(other)?;
    start_next(&services, &mut state, out).await?;
    if !follow.wait {
        return writeln!(
            out,
            "started; follow it with `fabric status {}`",
            state.plan.run_id
        )
        .map_err(other);
    }
    loop {
        step(out, track_run)?;
        track(&services, &state, follow, out).await?;
        collect_calls(&services, &state, collect_call, out).await?;
        step(out, collect_results)?;
        let report = state
            .report(&services.automation, &services.locations, &services.store)
            .await?;
        if state.next_wave >= state.plan.waves.len() {
            break;
        }
        if let Err(reason) = runs::gate(&report, &state.plan, state.next_wave - 1) {
            writeln!(out, "  gate: {reason}").map_err(other)?;
            state.stopped = Some(reason);
            state.save(&services.store).await?;
            break;
        }
        writeln!(out, "  gate passed").map_err(other)?;
        step(out, start_next_wave)?;
        start_next(&services, &mut state, out).await?;
    }
    step(out, publish_report)?;
    let report = state
        .report(&services.automation, &services.locations, &services.store)
        .await?;
    let published = fabric::report::publish_run(
        &report,
        &services.store,
        services.notifier(),
        chrono::Utc::now(),
    )
    .await?;
    state.report_uri = Some(published.report_uri.clone());
    state.save(&services.store).await?;
    print_report(&report, out).map_err(other)?;
    writeln!(
        out,
        "\nreport: {}{}",
        published.report_uri,
        published
            .message_id
            .map(|id| format!(" (published, SNS message {id})"))
            .unwrap_or_default()
    )
    .map_err(other)
}

/// A dry run: the plan printed and SSM's preview of it; nothing starts.
async fn preview_run(
    config: &Config,
    services: &RunServices,
    run_id: &str,
    request: RunRequest,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let plan = make_plan(config, services, run_id, request).await?;
    print_plan(&plan, false, out).map_err(other)?;
    let preview = runs::preview(&services.automation, &plan).await?;
    writeln!(
        out,
        "\nSSM's preview: {} accounts, {} Regions, {} targets\ndry run: nothing was started",
        preview.accounts,
        preview.regions.len(),
        preview.targets
    )
    .map_err(other)
}

/// The `StartRun` step's delivery check: this process becomes the run's workflow, unless an
/// earlier delivery of the same trigger owns the run (then nothing starts, and `None`).
async fn deliver(
    config: &Config,
    services: &RunServices,
    run_id: String,
    request: RunRequest,
    out: &mut impl Write,
) -> Result<Option<RunState>, Failure> {
    let context = PlanContext {
        default_regions: &config.regions,
    };
    let owner = format!(
        "fabric-cli:{}:{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let delivery = runs::accept_delivery(
        &run_id,
        request,
        &owner,
        &services.directory,
        &context,
        &services.store,
    )
    .await?;
    match delivery {
        Delivery::Start(state) => Ok(Some(*state)),
        Delivery::Duplicate { run_id, owner } => {
            writeln!(
                out,
                "  run {run_id} was started by an earlier delivery of this trigger ({}): nothing started; follow it with `fabric status {run_id}`",
                owner.as_deref().unwrap_or("unknown workflow")
            )
            .map_err(other)?;
            Ok(None)
        }
    }
}

/// The `CollectCall` step for each call of the latest wave: its locations' results kept.
async fn collect_calls(
    services: &RunServices,
    state: &RunState,
    name: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let wave = &state.plan.waves[state.next_wave - 1].name;
    for call in state.started.iter().filter(|call| &call.wave == wave) {
        step(out, name)?;
        let collected = state
            .collect_call(
                &call.execution_id,
                &services.automation,
                &services.locations,
                &services.store,
            )
            .await?;
        writeln!(out, "  {collected} locations of {}", call.execution_id).map_err(other)?;
    }
    Ok(())
}

/// Starts the run's next wave and saves its state (before and after, as start-run does).
async fn start_next(
    services: &RunServices,
    state: &mut RunState,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let wave = state.next_wave;
    state.save(&services.store).await?;
    let started = runs::start_wave(&services.automation, &state.plan, wave, START_PACING).await?;
    writeln!(
        out,
        "  wave {}: {} calls started",
        state.plan.waves[wave].name,
        started.len()
    )
    .map_err(other)?;
    state.started.extend(started);
    state.next_wave += 1;
    state.save(&services.store).await?;
    Ok(())
}

fn step(out: &mut impl Write, name: &str) -> Result<(), Failure> {
    writeln!(out, "==> {name}").map_err(other)
}

/// Polls until every started parent has ended, printing the locations by status.
async fn track(
    services: &RunServices,
    state: &RunState,
    follow: Follow,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let progress = runs::progress(&services.automation, &state.started).await?;
        let line = progress
            .counts
            .iter()
            .map(|(status, count)| format!("{status} {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        if line != last {
            writeln!(out, "  [{:>4.0}s] {line}", started.elapsed().as_secs_f64()).map_err(other)?;
            last = line;
        }
        if progress.done {
            return Ok(());
        }
        if started.elapsed() > follow.timeout {
            return Err(other(format!(
                "run {} has not ended after {} s: follow it with `fabric status {}`",
                state.plan.run_id,
                follow.timeout.as_secs(),
                state.plan.run_id
            )));
        }
        tokio::time::sleep(follow.interval).await;
    }
}

/// The report as a table: one line per location.
fn print_report(report: &fabric::model::RunReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\nrun {} of {}: {}",
        report.run_id,
        report.document,
        runs::overall_status(report)
    )?;
    writeln!(
        out,
        "  {:<14} {:<14} {:<12} {:<12} DETAIL",
        "ACCOUNT", "REGION", "WAVE", "STATUS"
    )?;
    for result in report.locations() {
        let (status, detail) = match &result.status {
            LocationStatus::Automation(status) => (
                format!("{status:?}"),
                result.failure_message.clone().unwrap_or_else(|| {
                    if result.targets.is_empty() {
                        String::new()
                    } else {
                        format!("{} targets", result.targets.len())
                    }
                }),
            ),
            LocationStatus::Skipped(reason) => ("Skipped".to_owned(), reason.clone()),
            LocationStatus::NotStarted(reason) => ("NotStarted".to_owned(), reason.clone()),
        };
        let detail: String = detail.chars().take(110).collect();
        writeln!(
            out,
            "  {:<14} {:<14} {:<12} {:<12} {detail}",
            result.location.account_id,
            result.location.region,
            result.wave.as_deref().unwrap_or("-"),
            status
        )?;
    }
    let counts = report.counts_by_status();
    writeln!(
        out,
        "  totals: {}",
        counts
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `fabric status RUN`.
pub(crate) fn status(
    config: &Path,
    run_id: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    runtime()?.block_on(async {
        let services = services(&config).await?;
        let state = RunState::load(&services.store, run_id).await?;
        let progress = runs::progress(&services.automation, &state.started).await?;
        if json {
            let value = serde_json::json!({
                "run_id": run_id,
                "done": progress.done && state.next_wave >= state.plan.waves.len(),
                "waves_started": state.next_wave,
                "waves": state.plan.waves.len(),
                "counts": progress.counts,
                "report": state.report_uri,
            });
            return writeln!(out, "{value}").map_err(other);
        }
        writeln!(
            out,
            "run {run_id}: {} of {} waves started, {}",
            state.next_wave,
            state.plan.waves.len(),
            if progress.done {
                "all started automations have ended"
            } else {
                "running"
            }
        )
        .map_err(other)?;
        for (status, count) in &progress.counts {
            writeln!(out, "  {status}: {count}").map_err(other)?;
        }
        if let Some(uri) = &state.report_uri {
            writeln!(out, "  report: {uri}").map_err(other)?;
        }
        Ok(())
    })
}

/// `fabric report RUN`.
pub(crate) fn report(
    config: &Path,
    run_id: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    runtime()?.block_on(async {
        let services = services(&config).await?;
        let state = RunState::load(&services.store, run_id).await?;
        let report = state
            .report(&services.automation, &services.locations, &services.store)
            .await?;
        if json {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).map_err(other)?
            )
            .map_err(other)
        } else {
            print_report(&report, out).map_err(other)
        }
    })
}

/// What the account-events function and the onboarding state machine do with an account
/// event: onboard an account that joined, offboard one that left, nothing for the rest.
fn account_event(
    config: &Config,
    event: &TriggerEvent,
    dry_run: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let Some((account, action)) = fabric::onboarding::onboarding_action(&event.trigger) else {
        let value = serde_json::to_value(&event.trigger).unwrap_or_default();
        let reason = value["reason"]
            .as_str()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        return writeln!(
            out,
            "{}: nothing to do{reason}",
            value["trigger"].as_str().unwrap_or("event")
        )
        .map_err(other_failure);
    };
    writeln!(
        out,
        "{:?} {account} (key {})",
        action, event.idempotency_key
    )
    .map_err(other_failure)?;
    runtime()?.block_on(crate::onboarding::carry_out(
        config,
        &account,
        action,
        event.idempotency_key.as_str(),
        dry_run,
        false,
        out,
    ))
}

fn other_failure(error: std::io::Error) -> Failure {
    other(error)
}
