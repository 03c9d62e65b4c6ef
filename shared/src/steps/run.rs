//! The multi-location run state machine's tasks: `StartRun` (accept the trigger's run: plan
//! and save it, or find it started), `StartWave`, `TrackRun`, `CollectCall` (one Distributed
//! Map item), `CollectResults` (the report so far and the next wave's gate) and
//! `PublishReport`.

use super::{ReportSink, RunPorts};
use crate::events::{Trigger, TriggerEvent};
use crate::plan::{PlanContext, plan_run};
use crate::runs::keep::Parent;
use crate::runs::{self, Delivery, RunState};
use crate::workflow::{
    CollectRequest, HandOverStep, PublishRequest, ReportPublished, RunCollected, RunStarted,
    RunStep, RunTracked, StartRequest, StepError, TrackStep, TriggerDelivery, WaveStarted,
    WaveStep,
};
use crate::{Error, Result};

/// The `start-run` function: [`start_run`] or [`start_wave`], as the request says.
pub async fn start(ports: &RunPorts<'_>, request: StartRequest) -> Result<RunStarted> {
    match request {
        StartRequest::Trigger(delivery) => start_run(ports, delivery).await,
        StartRequest::Wave(step) => start_wave(ports, step).await,
        StartRequest::HandOver(request) => hand_over(ports, request.hand_over).await,
    }
}

/// `HandOver`: starts the fresh execution that carries the run on (its `StartRun` takes the
/// run over from this one). Started twice under the same name, it is started once.
pub async fn hand_over(ports: &RunPorts<'_>, step: HandOverStep) -> Result<RunStarted> {
    let workflows = ports.hand_over.ok_or_else(|| Error::Internal {
        problem: "this function cannot hand runs over: RUN_STATE_MACHINE_ARN is not set".to_owned(),
    })?;
    let input = serde_json::json!({"carry_on": crate::workflow::CarryOn {
        run_id: step.run_id.clone(),
        from: step.from,
    }});
    let started = workflows.start(&step.name, &input).await?;
    tracing::info!(
        run_id = step.run_id,
        name = step.name,
        ?started,
        "the run is handed over"
    );
    Ok(RunStarted {
        run_id: Some(step.run_id),
        locations: 0,
        wave: None,
        reason: Some(format!("handed over to execution {}", step.name)),
    })
}

/// A [`RunStarted`] that leaves this workflow nothing to run, for `reason`.
fn nothing_to_run(locations: usize, reason: String) -> RunStarted {
    RunStarted {
        run_id: None,
        locations,
        wave: None,
        reason: Some(reason),
    }
}

/// `StartRun`: the run the trigger asks for, planned and saved and owned by the delivering
/// workflow, or found started by an earlier delivery (then `run_id` is `None` and nothing
/// starts). A manual dry run is planned and previewed by SSM, and nothing is saved or started.
pub async fn start_run(ports: &RunPorts<'_>, delivery: TriggerDelivery) -> Result<RunStarted> {
    if let Some(carry_on) = delivery.trigger.get("carry_on") {
        let carry_on: crate::workflow::CarryOn =
            serde_json::from_value(carry_on.clone()).map_err(|error| Error::InvalidRunRequest {
                problem: format!("carry_on: {error}"),
            })?;
        let state = runs::carry_on(&carry_on, &delivery.execution, ports.store).await?;
        return Ok(RunStarted {
            run_id: Some(state.plan.run_id.clone()),
            locations: state.plan.planned_count(),
            wave: None,
            reason: Some(format!("carried on from {}", carry_on.from)),
        });
    }
    let trigger = TriggerEvent::from_value(&delivery.trigger)?;
    let Some(request) = runs::run_request_for(&trigger.trigger, ports.config)? else {
        return Ok(nothing_to_run(
            0,
            "the event is not a run trigger".to_owned(),
        ));
    };
    let run_id = runs::run_id_for(&trigger, ports.config);
    let context = PlanContext {
        default_regions: &ports.config.regions,
    };
    if matches!(trigger.trigger, Trigger::Manual { dry_run: true, .. }) {
        let plan = plan_run(&run_id, request, ports.directory, &context).await?;
        let preview = runs::preview(ports.automation, &plan).await?;
        return Ok(nothing_to_run(
            plan.planned_count(),
            format!(
                "dry run: {} locations planned, {} skipped; SSM's preview: {} accounts, {} Regions, {} targets; nothing was started",
                plan.planned_count(),
                plan.skipped.len(),
                preview.accounts,
                preview.regions.len(),
                preview.targets
            ),
        ));
    }
    let delivered = runs::accept_delivery(
        &run_id,
        request,
        &delivery.execution,
        ports.directory,
        &context,
        ports.store,
    )
    .await?;
    match delivered {
        Delivery::Start(state) => Ok(RunStarted {
            run_id: Some(state.plan.run_id.clone()),
            locations: state.plan.planned_count(),
            wave: None,
            reason: None,
        }),
        Delivery::Duplicate { run_id, owner } => {
            tracing::info!(run_id, ?owner, "a repeated delivery: the run is started");
            Ok(nothing_to_run(
                0,
                format!(
                    "run {run_id} was started by an earlier delivery of this trigger ({})",
                    owner.as_deref().unwrap_or("unknown workflow")
                ),
            ))
        }
    }
}

/// `StartWave`: starts the run's next wave (the calls an earlier attempt did not start), each
/// call saved as it starts, with the approval that let it start recorded first.
pub async fn start_wave(ports: &RunPorts<'_>, step: WaveStep) -> Result<RunStarted> {
    let mut state = RunState::load(ports.store, &step.run_id).await?;
    if let Some(approval) = step.approval {
        state.approved(approval);
        state.save(ports.store).await?;
    }
    if state.all_started() {
        return Ok(RunStarted {
            run_id: Some(step.run_id),
            locations: 0,
            wave: None,
            reason: Some("every wave has started".to_owned()),
        });
    }
    if !state.next_wave_cleared() {
        // A workflow that carries the run on after its predecessor died between starting a
        // wave and judging it: the started wave is tracked, collected and gated first.
        return Ok(RunStarted {
            run_id: Some(step.run_id),
            locations: 0,
            wave: None,
            reason: Some(
                "the started wave is collected and gated before the next starts".to_owned(),
            ),
        });
    }
    let calls = runs::start_wave(
        &mut state,
        ports.automation,
        ports.store,
        ports.start_pacing,
    )
    .await?;
    let name = state
        .latest_wave_calls()
        .next()
        .map_or_else(String::new, |call| call.wave.clone());
    Ok(RunStarted {
        run_id: Some(step.run_id),
        locations: calls.iter().map(|call| call.locations.len()).sum(),
        wave: Some(WaveStarted {
            name,
            calls: calls.into_iter().map(|call| call.execution_id).collect(),
        }),
        reason: None,
    })
}

/// `TrackRun`: locations by status, whether every started automation has ended, and the
/// latest wave's calls (the items of the `CollectCalls` map). Past the run's deadline, what
/// still runs is stopped and the run counts as done: it is collected and reported. An
/// execution that has followed the run for the config's `hand_over_after` hands it over to a
/// fresh one (before Step Functions' history limit).
pub async fn track_run(ports: &RunPorts<'_>, step: TrackStep) -> Result<RunTracked> {
    let mut state = RunState::load(ports.store, &step.run_id).await?;
    let progress = runs::progress(ports.automation, &state.started).await?;
    let kept = state
        .keep_ended(
            &progress,
            &ports.sources(),
            tokio::time::Instant::now() + runs::keep::TRACK_KEEP_BUDGET,
        )
        .await?;
    if kept > 0 {
        tracing::info!(run_id = step.run_id, kept, "kept the locations that ended");
    }
    let now = crate::report::now();
    let deadline_passed =
        state.deadline_passed.is_some() || (!progress.done && state.past_deadline(now));
    if deadline_passed && state.deadline_passed.is_none() {
        state.end_at_deadline(ports.automation, now).await?;
        state.save(ports.store).await?;
    }
    let done = progress.done || deadline_passed;
    let hand_over = !done
        && step.execution_started.is_some_and(|started| {
            chrono::Duration::from_std(ports.config.hand_over_after())
                .is_ok_and(|limit| now >= started + limit)
        });
    Ok(RunTracked {
        run_id: step.run_id,
        done,
        counts: progress.counts,
        calls: state
            .latest_wave_calls()
            .map(|call| call.execution_id.clone())
            .collect(),
        kept,
        deadline_passed,
        hand_over,
        next_execution: if hand_over {
            state.next_execution_name()
        } else {
            String::new()
        },
    })
}

/// The `collect-results` function: [`collect_call`] for a request that names a call, else
/// [`collect_results`].
pub async fn collect(ports: &RunPorts<'_>, request: CollectRequest) -> Result<RunCollected> {
    match request.execution_id {
        Some(execution_id) => collect_call(ports, request.run_id, &execution_id).await,
        None => {
            collect_results(
                ports,
                RunStep {
                    run_id: request.run_id,
                },
            )
            .await
        }
    }
}

/// `CollectCall`: one started call's locations read from their child executions and kept.
pub async fn collect_call(
    ports: &RunPorts<'_>,
    run_id: String,
    execution_id: &str,
) -> Result<RunCollected> {
    let state = RunState::load(ports.store, &run_id).await?;
    let collected = state
        .keep_call(execution_id, Parent::Ended, &ports.sources(), None)
        .await?
        .locations;
    Ok(RunCollected {
        run_id,
        next_wave: false,
        collected,
        counts: std::collections::BTreeMap::default(),
        approval_needed: false,
        approval_timeout_seconds: 0,
    })
}

/// `CollectResults`: the report so far from the kept results, and whether the next wave
/// starts: waves remain and the latest one passed its gate (a failed gate is saved, so the
/// report says why the rest did not start).
pub async fn collect_results(ports: &RunPorts<'_>, step: RunStep) -> Result<RunCollected> {
    let mut state = RunState::load(ports.store, &step.run_id).await?;
    let report = state.report(&ports.sources()).await?;
    let next_wave = !state.all_started()
        && match runs::gate(&report, &state.plan, state.next_wave.saturating_sub(1)) {
            Ok(()) => {
                state.cleared = state.next_wave;
                state.save(ports.store).await?;
                true
            }
            Err(reason) => {
                state.stopped = Some(reason);
                state.save(ports.store).await?;
                false
            }
        };
    let approval_timeout = state
        .approval_timeout(crate::report::now())
        .filter(|_| next_wave);
    Ok(RunCollected {
        run_id: step.run_id,
        next_wave,
        collected: 0,
        counts: report.counts_by_status(),
        approval_needed: approval_timeout.is_some(),
        approval_timeout_seconds: approval_timeout.map_or(0, |timeout| timeout.as_secs()),
    })
}

/// The `publish-report` function: a run's report ([`publish_run_report`]) or an onboarding's
/// ([`super::onboarding::publish_onboarding_report`]).
pub async fn publish_report(
    ports: &RunPorts<'_>,
    request: PublishRequest,
) -> Result<ReportPublished> {
    match request {
        PublishRequest::Run {
            run,
            error,
            verdict,
        } => publish_run_report(ports, run, error, verdict).await,
        PublishRequest::Approval { run_id, task_token } => {
            request_approval(ports, &run_id, task_token).await
        }
        PublishRequest::Onboarding {
            input,
            shares,
            role,
            error,
        } => {
            let dry_run = input.dry_run;
            let report = super::onboarding::onboarding_report(input, shares, role, error);
            super::onboarding::publish_onboarding_report(ports.reports(), &report, dry_run).await
        }
    }
}

/// `RequestApproval`: keeps the waiting task's token in the run's state and publishes the
/// request, with the report so far, to the topic. Answers where the state is and the
/// message's id (the task itself waits for `fabric approve` or `fabric reject`).
pub async fn request_approval(
    ports: &RunPorts<'_>,
    run_id: &str,
    task_token: String,
) -> Result<ReportPublished> {
    let mut state = RunState::load(ports.store, run_id).await?;
    let report = state.report(&ports.sources()).await?;
    let notification = state.request_approval(task_token, crate::report::now(), &report);
    let stored = state.save(ports.store).await?;
    let message_id = match ports.reports().notifier {
        Some(notifier) => Some(notifier.publish(&notification).await?),
        None => None,
    };
    Ok(ReportPublished {
        report: stored,
        message_id,
    })
}

/// `PublishReport` of a run: every location's result stored and the summary published. After
/// a failed step the report says so, and the workflow gives the run up: a later delivery of
/// its trigger carries it on. After an approval request that ended the run (`verdict`:
/// rejected or unanswered), the report says why the later waves did not start.
pub async fn publish_run_report(
    ports: &RunPorts<'_>,
    run: RunStep,
    error: Option<StepError>,
    verdict: Option<StepError>,
) -> Result<ReportPublished> {
    let mut state = RunState::load(ports.store, &run.run_id).await?;
    if let Some(verdict) = &verdict {
        state.not_approved(verdict);
    }
    if let Some(error) = &error {
        state.failure = Some(format!("the run failed: {error}"));
        state.owner = None;
    }
    let report = state.report(&ports.sources()).await?;
    let ReportSink { store, notifier } = ports.reports();
    let finished = crate::report::now();
    let published =
        crate::report::publish_run(&state.page(&report), store, notifier, finished).await?;
    state.report_uri = Some(published.report_uri.clone());
    state.report_key = Some(published.report_key.clone());
    state.published_at = Some(finished);
    state.save(ports.store).await?;
    Ok(ReportPublished {
        report: published.report_uri,
        message_id: published.message_id,
    })
}
