//! `fabric plan`, `run`, `trigger`, `status` and `report`. A run is started on the deployed run
//! state machine (`executions`), or with `--in-process` carried out from the command line by
//! the local driver (`fabric::driver::run`), which walks the multi-location run state machine's
//! graph over the same steps the deployed functions call, against whatever AWS the environment
//! points at.

use crate::Failure;
use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::driver::{self, End, Event, Observer, Timing};
use fabric::events::TriggerEvent;
use fabric::model::{LocationStatus, RunRequest, RunTrigger};
use fabric::plan::{PlanContext, RunPlan, plan_run};
use fabric::runs::{self, RunState};
use fabric::steps::onboarding::{AccountEventAction, account_event_action};
use fabric::workflow::TriggerDelivery;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

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

fn requested_by() -> String {
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
        for (index, call) in wave.calls.iter().enumerate() {
            writeln!(
                out,
                "  call {} of {}: {} locations",
                index + 1,
                wave.calls.len(),
                call.locations.len()
            )?;
            for line in rate_control_lines(call) {
                writeln!(out, "    {line}")?;
            }
        }
        if wave.calls.len() > 1 {
            writeln!(
                out,
                "  SSM applies each call's rate control to that call alone: an entry split over calls (at most 50 accounts and 50 Regions each) runs its calls side by side"
            )?;
        }
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

/// The rate control SSM will apply to a call, one line per target location: how many
/// locations run at once and how many may fail, and the same for each location's targets;
/// SSM's defaults where the spec sets none.
fn rate_control_lines(call: &fabric::plan::PlannedCall) -> Vec<String> {
    call.target_locations
        .iter()
        .map(|location| {
            let or_default = |value: Option<String>, default: &str| {
                value.unwrap_or_else(|| format!("{default} (SSM's default)"))
            };
            let targets = match (&location.targets_max_concurrency, &location.targets_max_errors) {
                (None, None) => String::new(),
                (concurrency, errors) => format!(
                    "; targets: TargetsMaxConcurrency {}, TargetsMaxErrors {}",
                    concurrency.as_ref().map_or_else(|| "not set".to_owned(), ToString::to_string),
                    errors.as_ref().map_or_else(|| "not set".to_owned(), ToString::to_string)
                ),
            };
            format!(
                "{} accounts x {} Regions: TargetLocationMaxConcurrency {}, TargetLocationMaxErrors {}{targets}",
                location.accounts.len(),
                location.regions.len(),
                or_default(
                    location.target_location_max_concurrency.as_ref().map(ToString::to_string),
                    "1"
                ),
                or_default(
                    location.target_location_max_errors.as_ref().map(ToString::to_string),
                    "0"
                ),
            )
        })
        .collect()
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

/// `fabric run PROFILE`: a manual run input for the profile, carried out as the run state
/// machine carries out its trigger (`--dry-run`: planned and previewed by SSM).
pub(crate) fn run(
    config: &Path,
    profile: &str,
    dry_run: bool,
    follow: &Follow,
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
            out,
        ));
    }
    if !dry_run {
        needs_wait(&request, follow)?;
    }
    runtime()?.block_on(drive(&config, trigger, follow, out))
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
        return account_event(&config, &event, dry_run, out);
    };
    writeln!(
        out,
        "trigger {} -> run {}",
        event.idempotency_key, event.idempotency_key
    )
    .map_err(other)?;
    runtime()?.block_on(async {
        if dry_run {
            return preview_run(&config, event.idempotency_key.as_str(), request, out).await;
        }
        if let Engine::Deployed(state_machine) = &follow.engine {
            return crate::executions::start_and_follow(
                &config,
                state_machine,
                &value,
                follow,
                out,
            )
            .await;
        }
        needs_wait(&request, follow)?;
        drive(&config, value, follow, out).await
    })
}

/// Carries `trigger` out through the local driver, printing each step, then the report.
async fn drive(
    config: &Config,
    trigger: serde_json::Value,
    follow: &Follow,
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
    let mut printer = Printer::new(out);
    let outcome = driver::run::carry_out(&ports, delivery, timing, until, &mut printer).await?;
    let out = printer.out;
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
            let report = state
                .report(&services.automation, &services.locations, &services.store)
                .await?;
            print_report(&report, out).map_err(other)?;
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

/// Prints a workflow's progress: each step once as it is entered, what it answered, and the
/// locations by status whenever they change.
pub(crate) struct Printer<'w, W: Write> {
    out: &'w mut W,
    began: Instant,
    last_state: &'static str,
    last_counts: String,
    failed: Option<std::io::Error>,
}

impl<'w, W: Write> Printer<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        Self {
            out,
            began: Instant::now(),
            last_state: "",
            last_counts: String::new(),
            failed: None,
        }
    }

    fn line(&mut self, line: &str) {
        if let Err(error) = writeln!(self.out, "{line}") {
            self.failed.get_or_insert(error);
        }
    }
}

impl<W: Write> Observer for Printer<'_, W> {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Entered(state) => {
                let quiet = state == "Prepare"
                    || state.starts_with("Wait")
                    || driver::run::GRAPH.is_choice(state)
                    || driver::onboarding::GRAPH.is_choice(state);
                if !quiet && state != self.last_state {
                    self.line(&format!("==> {state}"));
                }
                if !quiet {
                    self.last_state = state;
                }
            }
            Event::RunStarted(started) => match (&started.wave, &started.run_id) {
                (Some(wave), _) => self.line(&format!(
                    "  wave {}: {} calls started, {} locations",
                    wave.name,
                    wave.calls.len(),
                    started.locations
                )),
                (None, Some(run_id)) => self.line(&format!(
                    "  run {run_id}: {} locations planned",
                    started.locations
                )),
                (None, None) => {}
            },
            Event::Tracked(tracked) => {
                let counts = tracked
                    .counts
                    .iter()
                    .map(|(status, count)| format!("{status} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if counts != self.last_counts {
                    let elapsed = self.began.elapsed().as_secs_f64();
                    self.line(&format!("  [{elapsed:>4.0}s] {counts}"));
                    self.last_counts = counts;
                }
            }
            Event::CallCollected {
                execution_id,
                collected,
            } => self.line(&format!("  {collected} locations of {execution_id}")),
            Event::Readiness(readiness) => {
                self.line(&format!("  account status: {}", readiness.status));
            }
            Event::Caught { state, error } => self.line(&format!("  {state} failed: {error}")),
            Event::Undelivered(data) => {
                self.line(&format!(
                    "  the report could not be published; the workflow's state: {data}"
                ));
            }
            Event::Collected(_) | Event::Published(_) => {}
        }
    }
}

/// A dry run: the plan printed and SSM's preview of it; nothing starts.
async fn preview_run(
    config: &Config,
    run_id: &str,
    request: RunRequest,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let plan = make_plan(config, &services, run_id, request).await?;
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

/// Prints run `run_id`'s report, its locations' results read again.
pub(crate) async fn print_run_report(
    config: &Config,
    run_id: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let services = services(config).await?;
    let state = RunState::load(&services.store, run_id).await?;
    let report = state
        .report(&services.automation, &services.locations, &services.store)
        .await?;
    print_report(&report, out).map_err(other)?;
    if let Some(uri) = &state.report_uri {
        writeln!(out, "\nreport: {uri}").map_err(other)?;
    }
    Ok(())
}

/// `then`, with the run services and the state of run `run_id`.
fn with_run(
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
        out,
    ))
}

/// `fabric status RUN` (a run id, or a deployed execution's ARN: where the execution stands,
/// then its run).
pub(crate) fn status(
    config: &Path,
    run_id: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if run_id.starts_with("arn:aws:states:") {
        let run = runtime()?.block_on(crate::executions::status(run_id, out))?;
        return match run {
            Some(run) => status(config, &run, json, out),
            None => Ok(()),
        };
    }
    with_run(config, run_id, async |services, state| {
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
    with_run(config, run_id, async |services, state| {
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

/// What `account-events` and the onboarding state machine do with an account event: onboard
/// an account that joined, offboard one that left, report a failed creation, nothing for the
/// rest (the central account included).
fn account_event(
    config: &Config,
    event: &TriggerEvent,
    dry_run: bool,
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
            runtime()?.block_on(crate::onboarding::carry_out(config, input, false, out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rate_control_lines;
    use fabric::model::{
        AccountId, AccountOrOu, Concurrency, ErrorThreshold, Region, TargetLocation,
    };

    #[test]
    fn when_a_call_is_planned_then_its_rate_control_is_shown_with_ssms_defaults_where_unset() {
        let account = AccountOrOu::Account(AccountId::new("111122223333").expect("an account"));
        let mut set = TargetLocation::new(
            vec![account.clone()],
            vec![Region::new("us-east-1").expect("a Region")],
        );
        set.target_location_max_concurrency = Some(Concurrency::parse("20%").expect("valid"));
        set.target_location_max_errors = Some(ErrorThreshold::parse("25%").expect("valid"));
        set.targets_max_concurrency = Some(Concurrency::parse("10%").expect("valid"));
        let unset = TargetLocation::new(
            vec![account],
            vec![Region::new("us-west-2").expect("a Region")],
        );
        let call = fabric::plan::PlannedCall {
            client_token: "token".to_owned(),
            target_locations: vec![set, unset],
            locations: Vec::new(),
        };
        assert_eq!(
            rate_control_lines(&call),
            vec![
                "1 accounts x 1 Regions: TargetLocationMaxConcurrency 20%, TargetLocationMaxErrors 25%; targets: TargetsMaxConcurrency 10%, TargetsMaxErrors not set".to_owned(),
                "1 accounts x 1 Regions: TargetLocationMaxConcurrency 1 (SSM's default), TargetLocationMaxErrors 0 (SSM's default)".to_owned(),
            ]
        );
    }
}
