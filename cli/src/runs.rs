//! `fabric plan`, `run`, `trigger`, `status` and `report`. A run is started on the deployed run
//! state machine (`executions`), or with `--in-process` carried out from the command line by
//! the local driver (`fabric::driver::run`), which walks the multi-location run state machine's
//! graph over the same steps the deployed functions call, against whatever AWS the environment
//! points at.

use crate::Failure;
use crate::output::OutputFormat;
use crate::style::Style;
use crate::table::{Cell, Table};
use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::driver::{self, End, Timing};
use fabric::events::TriggerEvent;
use fabric::model::{RunReport, RunRequest, RunTrigger, status_name};
use fabric::plan::{PlanContext, RunPlan, plan_run};
use fabric::runs::{self, RunState};
use fabric::steps::onboarding::{AccountEventAction, account_event_action};
use fabric::workflow::TriggerDelivery;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How a run is followed from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Follow {
    /// Wait for the end, printing progress.
    pub(crate) wait: bool,
    /// Seconds between polls.
    pub(crate) interval: Duration,
    /// Give up waiting after this long.
    pub(crate) timeout: Duration,
    /// Where the run is carried out.
    pub(crate) engine: Engine,
}

/// Where a run is carried out.
#[derive(Debug, Clone)]
pub(crate) enum Engine {
    /// By the deployed run state machine (its ARN).
    Deployed(String),
    /// In this process, by the local driver over the same steps.
    InProcess,
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

/// Who asks: the local user's name.
pub(crate) fn requested_by() -> String {
    std::env::var("USER").unwrap_or_else(|_| "fabric-cli".to_owned())
}

fn manual_request(config: &Config, profile: &str) -> Result<RunRequest, Failure> {
    let spec = config
        .profile(profile)
        .ok_or_else(|| Failure::BadInput(format!("the config has no run profile {profile:?}")))?;
    Ok(RunRequest {
        profile: Some(profile.to_owned()),
        spec: spec.clone(),
        trigger: RunTrigger::Manual {
            requested_by: requested_by(),
        },
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

/// `fabric plan PROFILE`.
pub(crate) fn plan(
    config: &Path,
    profile: &str,
    format: OutputFormat,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    runtime()?.block_on(async {
        let services = services(&config).await?;
        let request = manual_request(&config, profile)?;
        let plan = make_plan(&config, &services, &format!("plan-{profile}"), request).await?;
        crate::plan_output::print_plan(&plan, format, style, out).map_err(other)
    })
}

/// `fabric run PROFILE`: a manual run input for the profile, carried out as the run state
/// machine carries out its trigger (`--dry-run`: planned and previewed by SSM).
pub(crate) fn run(
    config: &Path,
    profile: &str,
    dry_run: bool,
    follow: &Follow,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    let request = manual_request(&config, profile)?;
    let trigger = serde_json::json!({ "manual": {
        "requested_by": requested_by(),
        "request_id": chrono::Utc::now().to_rfc3339(),
        "profile": profile,
        "dry_run": dry_run,
    }});
    if let (Engine::Deployed(state_machine), false) = (&follow.engine, dry_run) {
        return runtime()?.block_on(crate::executions::start_and_follow(
            &config,
            state_machine,
            &trigger,
            follow,
            style,
            out,
        ));
    }
    if !dry_run {
        needs_wait(&request, follow)?;
    }
    runtime()?.block_on(drive(&config, trigger, follow, style, out))
}

/// A run of several waves needs a workflow to the end: each wave waits on the one before.
fn needs_wait(request: &RunRequest, follow: &Follow) -> Result<(), Failure> {
    if request.spec.waves.len() > 1 && !follow.wait {
        return Err(Failure::BadInput(format!(
            "this run has {} waves, and each waits on the one before: add --wait (or start it through the state machine)",
            request.spec.waves.len()
        )));
    }
    Ok(())
}

/// `fabric trigger EVENT`: what the deployed fabric does with an event: a run trigger carried
/// out as the run state machine does, an account event as `account-events` and the onboarding
/// state machine do.
pub(crate) fn trigger(
    config: &Path,
    event: &Path,
    dry_run: bool,
    follow: &Follow,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    let bytes = crate::explain::read_input(event)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
        Failure::from(fabric::Error::MalformedEvent {
            problem: error.to_string(),
        })
    })?;
    let event = TriggerEvent::from_value(&value)?;
    let Some(request) = runs::run_request_for(&event.trigger, &config)? else {
        if matches!(follow.engine, Engine::Deployed(_)) {
            return Err(Failure::BadInput(
                "account events reach a deployment through its event bus: put this one with `aws events put-events` (README, \"Deploy locally\"), or carry it out here with --in-process".to_owned(),
            ));
        }
        return account_event(&config, &event, dry_run, style, out);
    };
    writeln!(
        out,
        "trigger {} -> run {}",
        event.idempotency_key, event.idempotency_key
    )
    .map_err(other)?;
    runtime()?.block_on(async {
        if dry_run {
            return preview_run(&config, event.idempotency_key.as_str(), request, style, out).await;
        }
        if let Engine::Deployed(state_machine) = &follow.engine {
            return crate::executions::start_and_follow(
                &config,
                state_machine,
                &value,
                follow,
                style,
                out,
            )
            .await;
        }
        needs_wait(&request, follow)?;
        drive(&config, value, follow, style, out).await
    })
}

/// Carries `trigger` out through the local driver, printing each step, then the report.
async fn drive(
    config: &Config,
    trigger: serde_json::Value,
    follow: &Follow,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let ports = services.ports(config);
    let delivery = TriggerDelivery {
        trigger,
        execution: format!(
            "fabric-cli:{}:{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        ),
    };
    let timing = Timing {
        wait: follow.interval,
        retry_interval: Duration::from_secs(1),
        timeout: Some(follow.timeout),
    };
    let until = if follow.wait {
        driver::run::Follow::ToTheEnd
    } else {
        driver::run::Follow::UntilStarted
    };
    let mut printer = crate::progress::Printer::new(&mut *out, style);
    let outcome = driver::run::carry_out(&ports, delivery, timing, until, &mut printer).await?;
    drop(printer);
    let run_id = outcome.run_id().map(ToOwned::to_owned);
    let reason = outcome.accepted.as_ref().and_then(|a| a.reason.clone());
    match (&outcome.end, run_id) {
        (End::Succeeded(_), None) => {
            writeln!(out, "  {}", reason.unwrap_or_default()).map_err(other)
        }
        (End::Detached, Some(run_id)) => {
            writeln!(out, "started; follow it with `fabric status {run_id}`").map_err(other)
        }
        (End::TimedOut, Some(run_id)) => Err(other(format!(
            "run {run_id} has not ended after {} s: follow it with `fabric status {run_id}`",
            follow.timeout.as_secs()
        ))),
        (End::Succeeded(_) | End::Failed { .. }, Some(run_id)) => {
            let state = RunState::load(&services.store, &run_id).await?;
            let report = state.report(&services.sources()).await?;
            print_report(&report, style, out).map_err(other)?;
            if let Some(published) = &outcome.published {
                writeln!(
                    out,
                    "\nreport: {}{}",
                    published.report,
                    published
                        .message_id
                        .as_ref()
                        .map(|id| format!(" (published, SNS message {id})"))
                        .unwrap_or_default()
                )
                .map_err(other)?;
            }
            match (&outcome.end, &outcome.error) {
                (End::Succeeded(_), _) => Ok(()),
                (_, Some(error)) => Err(other(format!("run {run_id} failed: {error}"))),
                (_, None) => Err(other(format!("run {run_id}: its report was not published"))),
            }
        }
        (end, _) => Err(other(format!(
            "the run did not start ({end:?}): {}",
            outcome
                .error
                .map_or_else(|| "no error was reported".to_owned(), |e| e.to_string())
        ))),
    }
}

/// A dry run: the plan printed and SSM's preview of it; nothing starts.
async fn preview_run(
    config: &Config,
    run_id: &str,
    request: RunRequest,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let plan = make_plan(config, &services, run_id, request).await?;
    crate::plan_output::print_plan(&plan, OutputFormat::Table, style, out).map_err(other)?;
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

/// The report as `format` asks: its table between a heading and the totals, JSON, or CSV (a
/// header and one record per location).
fn write_report(
    report: &RunReport,
    format: OutputFormat,
    style: Style,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => print_report(report, style, out),
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(report).map_err(std::io::Error::other)?
        ),
        OutputFormat::Csv => report_table(report).write_csv(out),
    }
}

/// Each location of the report: account, Region, wave, status, and the detail (why it failed,
/// was skipped or was not started, whole; otherwise how many targets it had).
fn report_table(report: &RunReport) -> Table<5> {
    let mut table = Table::new(["ACCOUNT", "REGION", "WAVE", "STATUS", "DETAIL"]);
    for result in report.locations() {
        let detail = result.detail();
        table.push([
            Cell::text(result.location.account_id.as_str()),
            Cell::text(result.location.region.as_str()),
            result.wave.as_deref().map_or(Cell::Absent, Cell::text),
            Cell::status(status_name(&result.status)),
            Cell::text(detail),
        ]);
    }
    table
}

/// The report as a table: one line per location (more where its detail wraps), then the
/// totals.
fn print_report(report: &RunReport, style: Style, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\nrun {} of {}: {}",
        report.run_id,
        report.document,
        style.status(runs::overall_status(report))
    )?;
    report_table(report).write_text(style, out)?;
    writeln!(
        out,
        "  totals: {}",
        style.counts(&report.counts_by_status())
    )
}

/// Prints run `run_id`'s report: as published, or as it stands.
pub(crate) async fn print_run_report(
    config: &Config,
    run_id: &str,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let state = RunState::load(&services.store, run_id).await?;
    let report = state.latest_report(&services.sources()).await?;
    print_report(&report, style, out).map_err(other)?;
    if let Some(uri) = &state.report_uri {
        writeln!(out, "\nreport: {uri}").map_err(other)?;
    }
    Ok(())
}

/// `then`, with the run services and the state of run `run_id`.
pub(crate) fn with_run(
    config: &Path,
    run_id: &str,
    then: impl AsyncFnOnce(&RunServices, RunState) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    runtime()?.block_on(async {
        let services = services(&config).await?;
        let state = RunState::load(&services.store, run_id).await?;
        then(&services, state).await
    })
}

/// `fabric status EXECUTION_ARN --wait`: the execution followed to its end (for at most an
/// hour), then its run's report.
pub(crate) fn follow_execution(
    config: &Path,
    arn: &str,
    interval: Duration,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if !arn.starts_with("arn:aws:states:") {
        return Err(Failure::BadInput(format!(
            "--wait follows a state machine execution: {arn} is not an execution's ARN"
        )));
    }
    let config = Config::load(config)?;
    runtime()?.block_on(crate::executions::follow_execution(
        &config,
        arn,
        interval,
        Duration::from_secs(3600),
        style,
        out,
    ))
}

/// `fabric status RUN` (a run id, or a deployed execution's ARN: where the execution stands,
/// then its run).
pub(crate) fn status(
    config: &Path,
    run_id: &str,
    format: OutputFormat,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if run_id.starts_with("arn:aws:states:") {
        let run = runtime()?.block_on(crate::executions::status(run_id, out))?;
        return match run {
            Some(run) => status(config, &run, format, style, out),
            None => Ok(()),
        };
    }
    with_run(config, run_id, async |services, state| {
        let progress = runs::progress(&services.automation, &state.started).await?;
        if format == OutputFormat::Csv {
            let mut counts = Table::new(["STATUS", "LOCATIONS"]);
            for (status, count) in &progress.counts {
                counts.push([Cell::status(status), Cell::text(count.to_string())]);
            }
            return counts.write_csv(out).map_err(other);
        }
        if format == OutputFormat::Json {
            let value = serde_json::json!({
                "run_id": run_id,
                "done": progress.done && state.next_wave >= state.plan.waves.len(),
                "waves_started": state.next_wave,
                "waves": state.plan.waves.len(),
                "counts": progress.counts,
                "waiting_for_approval": state.pending_approval.as_ref().map(|pending| &pending.wave),
                "deadline_passed": state.deadline_passed.as_ref().map(|passed| passed.at),
                "stopped": state.stopped,
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
            writeln!(out, "  {}: {count}", style.status(status)).map_err(other)?;
        }
        if let Some(pending) = &state.pending_approval {
            writeln!(
                out,
                "  waiting for a person's approval before wave {} (asked {}, {} s to answer): fabric approve {run_id} / fabric reject {run_id} --reason TEXT",
                pending.wave, pending.requested_at, pending.timeout_seconds
            )
            .map_err(other)?;
        }
        if let Some(passed) = &state.deadline_passed {
            writeln!(
                out,
                "  the run's deadline ({}) passed at {}: {} unfinished locations were stopped",
                passed.deadline,
                passed.at,
                passed.unfinished.len()
            )
            .map_err(other)?;
        }
        if let Some(why) = &state.stopped {
            writeln!(out, "  later waves {why}").map_err(other)?;
        }
        if let Some(uri) = &state.report_uri {
            writeln!(out, "  report: {uri}").map_err(other)?;
        }
        Ok(())
    })
}

/// `fabric report RUN`: the published report (read from its stored parts), or the report so
/// far.
pub(crate) fn report(
    config: &Path,
    run_id: &str,
    html: Option<&Path>,
    format: OutputFormat,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if let Some(file) = html {
        return report_page(config, run_id, file, out);
    }
    with_run(config, run_id, async |services, state| {
        let report = state.latest_report(&services.sources()).await?;
        write_report(&report, format, style, out).map_err(other)
    })
}

/// `fabric report RUN --html FILE`: the run's page (as published beside its JSON report, or as
/// the run stands) written to `file`.
fn report_page(
    config: &Path,
    run_id: &str,
    file: &Path,
    out: &mut impl Write,
) -> Result<(), Failure> {
    with_run(config, run_id, async |services, state| {
        let report = state.latest_report(&services.sources()).await?;
        let link = state
            .report_uri
            .as_ref()
            .map(|uri| fabric::report_page::JsonLink {
                href: uri.clone(),
                text: uri.clone(),
            });
        let page = fabric::report_page::RunPage {
            json_report: link.as_ref(),
            ..state.page(&report)
        }
        .render();
        std::fs::write(file, page)
            .map_err(|error| Failure::Other(format!("cannot write {}: {error}", file.display())))?;
        writeln!(
            out,
            "wrote {} ({} locations of run {run_id})",
            file.display(),
            report.locations().len()
        )
        .map_err(other)
    })
}

/// What `account-events` and the onboarding state machine do with an account event: onboard
/// an account that joined, offboard one that left, report a failed creation, nothing for the
/// rest (the central account included).
fn account_event(
    config: &Config,
    event: &TriggerEvent,
    dry_run: bool,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    match account_event_action(config, event) {
        AccountEventAction::Nothing(reason) => writeln!(out, "{reason}").map_err(other),
        AccountEventAction::ReportFailure(notification) => {
            writeln!(out, "{}\n{}", notification.subject, notification.message).map_err(other)
        }
        AccountEventAction::Onboard(mut input) => {
            input.dry_run = dry_run;
            writeln!(
                out,
                "{:?} {} (key {})",
                input.action, input.account_id, event.idempotency_key
            )
            .map_err(other)?;
            runtime()?.block_on(crate::onboarding::carry_out(
                config,
                input,
                OutputFormat::Table,
                style,
                out,
            ))
        }
    }
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
