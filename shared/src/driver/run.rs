//! The multi-location run state machine (`statemachines/multi-location-run.asl.json`), walked
//! locally over the run's steps.

use super::graph::{Graph, On, Terminal, Test, choice, edge};
use super::{End, Event, Observer, Timing, retried, to_value};
use crate::steps::RunPorts;
use crate::steps::run as steps;
use crate::workflow::{
    Approval, PublishRequest, ReportPublished, RunCollected, RunStarted, RunStep, RunTracked,
    StepError, TrackStep, TriggerDelivery, WaveStep,
};
use crate::{Error, Result};
use futures_util::StreamExt;
use serde::Serialize;
use std::time::Instant;

const PREPARE: &str = "Prepare";
const START_RUN: &str = "StartRun";
const HAS_RUN: &str = "HasRun";
const NOTHING_TO_RUN: &str = "NothingToRun";
const START_RUN_CAUGHT: &str = "StartRunCaught";
const START_FAILED: &str = "StartFailed";
const RUN_NOT_STARTED: &str = "RunNotStarted";
const START_WAVE: &str = "StartWave";
const START_WAVE_CAUGHT: &str = "StartWaveCaught";
const WAIT_FOR_RUN: &str = "WaitForRun";
const TRACK_RUN: &str = "TrackRun";
const TRACK_RUN_CAUGHT: &str = "TrackRunCaught";
const RUN_ENDED: &str = "RunEnded";
const HAND_OVER: &str = "HandOver";
const HAND_OVER_CAUGHT: &str = "HandOverCaught";
const HANDED_OVER: &str = "HandedOver";
const COLLECT_CALLS: &str = "CollectCalls";
const COLLECT_CALLS_CAUGHT: &str = "CollectCallsCaught";
const COLLECT_RESULTS: &str = "CollectResults";
const COLLECT_RESULTS_CAUGHT: &str = "CollectResultsCaught";
const MORE_WAVES: &str = "MoreWaves";
const NEEDS_APPROVAL: &str = "NeedsApproval";
const REQUEST_APPROVAL: &str = "RequestApproval";
const PUBLISH_REPORT: &str = "PublishReport";
const OUTCOME: &str = "Outcome";
const RUN_FAILED: &str = "RunFailed";
const RUN_REPORTED: &str = "RunReported";
const KEEP_UNDELIVERED: &str = "KeepUndelivered";
const PUBLISH_FAILED: &str = "PublishFailed";

/// The error the local driver ends a run with at a wave gate that needs a person's approval.
pub const APPROVAL_NEEDS_DEPLOYMENT: &str = "Fabric.ApprovalNeedsDeployment";

/// How many `CollectCall` items run at once (the deployed Distributed Map runs 40).
const COLLECT_CALLS_AT_ONCE: usize = 8;

/// The run state machine's graph.
pub const GRAPH: Graph = Graph {
    start_at: PREPARE,
    edges: &[
        edge(PREPARE, On::Next, START_RUN),
        edge(START_RUN, On::Next, HAS_RUN),
        edge(START_RUN, On::Catch, START_RUN_CAUGHT),
        edge(START_RUN_CAUGHT, On::Next, START_FAILED),
        choice(HAS_RUN, "$.run.run_id", Test::IsNull(true), NOTHING_TO_RUN),
        edge(HAS_RUN, On::Default, START_WAVE),
        choice(
            START_FAILED,
            "$.run.run_id",
            Test::IsNull(false),
            PUBLISH_REPORT,
        ),
        edge(START_FAILED, On::Default, RUN_NOT_STARTED),
        edge(START_WAVE, On::Next, WAIT_FOR_RUN),
        edge(START_WAVE, On::Catch, START_WAVE_CAUGHT),
        edge(START_WAVE_CAUGHT, On::Next, PUBLISH_REPORT),
        edge(WAIT_FOR_RUN, On::Next, TRACK_RUN),
        edge(TRACK_RUN, On::Next, RUN_ENDED),
        edge(TRACK_RUN, On::Catch, TRACK_RUN_CAUGHT),
        edge(TRACK_RUN_CAUGHT, On::Next, PUBLISH_REPORT),
        choice(
            RUN_ENDED,
            "$.progress.done",
            Test::BooleanEquals(true),
            COLLECT_CALLS,
        ),
        choice(
            RUN_ENDED,
            "$.progress.hand_over",
            Test::BooleanEquals(true),
            HAND_OVER,
        ),
        edge(HAND_OVER, On::Next, HANDED_OVER),
        edge(HAND_OVER, On::Catch, HAND_OVER_CAUGHT),
        edge(HAND_OVER_CAUGHT, On::Next, PUBLISH_REPORT),
        edge(RUN_ENDED, On::Default, WAIT_FOR_RUN),
        edge(COLLECT_CALLS, On::Next, COLLECT_RESULTS),
        edge(COLLECT_CALLS, On::Catch, COLLECT_CALLS_CAUGHT),
        edge(COLLECT_CALLS_CAUGHT, On::Next, PUBLISH_REPORT),
        edge(COLLECT_RESULTS, On::Next, MORE_WAVES),
        edge(COLLECT_RESULTS, On::Catch, COLLECT_RESULTS_CAUGHT),
        edge(COLLECT_RESULTS_CAUGHT, On::Next, PUBLISH_REPORT),
        choice(
            MORE_WAVES,
            "$.collected.next_wave",
            Test::BooleanEquals(true),
            NEEDS_APPROVAL,
        ),
        choice(
            NEEDS_APPROVAL,
            "$.collected.approval_needed",
            Test::BooleanEquals(true),
            REQUEST_APPROVAL,
        ),
        edge(NEEDS_APPROVAL, On::Default, START_WAVE),
        edge(REQUEST_APPROVAL, On::Next, START_WAVE),
        edge(REQUEST_APPROVAL, On::Catch, PUBLISH_REPORT),
        edge(MORE_WAVES, On::Default, PUBLISH_REPORT),
        edge(PUBLISH_REPORT, On::Next, OUTCOME),
        edge(PUBLISH_REPORT, On::Catch, KEEP_UNDELIVERED),
        choice(OUTCOME, "$.error", Test::IsNull(false), RUN_FAILED),
        edge(OUTCOME, On::Default, RUN_REPORTED),
        edge(KEEP_UNDELIVERED, On::Next, PUBLISH_FAILED),
        edge(KEEP_UNDELIVERED, On::Catch, PUBLISH_FAILED),
    ],
    terminals: &[
        (NOTHING_TO_RUN, Terminal::Succeed),
        (RUN_NOT_STARTED, Terminal::Fail("Fabric.RunNotStarted")),
        (RUN_FAILED, Terminal::Fail("Fabric.RunFailed")),
        (RUN_REPORTED, Terminal::Succeed),
        (HANDED_OVER, Terminal::Succeed),
        (PUBLISH_FAILED, Terminal::Fail("Fabric.PublishFailed")),
    ],
};

/// The state machine's data, shaped as the ASL's paths read it.
#[derive(Debug, Default, Serialize)]
struct Data {
    trigger: serde_json::Value,
    run: RunRef,
    progress: Option<RunTracked>,
    collected: Option<RunCollected>,
    error: Option<StepError>,
    approval: Option<Approval>,
    verdict: Option<StepError>,
    published: Option<ReportPublished>,
}

#[derive(Debug, Default, Serialize)]
struct RunRef {
    run_id: Option<String>,
}

/// How a run's workflow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Its end.
    pub end: End,
    /// `StartRun`'s answer, when it answered.
    pub accepted: Option<RunStarted>,
    /// Where the report is, when it was published.
    pub published: Option<ReportPublished>,
    /// The error of a failed path.
    pub error: Option<StepError>,
}

impl RunOutcome {
    /// The run's id, when this workflow carried a run out.
    pub fn run_id(&self) -> Option<&str> {
        self.accepted.as_ref()?.run_id.as_deref()
    }
}

/// Whether the workflow goes on after the first wave has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// To the end: tracked, collected, every wave, published.
    ToTheEnd,
    /// Only until the first wave has started.
    UntilStarted,
}

/// Carries out the run `delivery`'s trigger asks for, as the run state machine does.
#[allow(clippy::too_many_lines)] // one arm per state: the state machine reads top to bottom
pub async fn carry_out(
    ports: &RunPorts<'_>,
    delivery: TriggerDelivery,
    timing: Timing,
    follow: Follow,
    observer: &mut dyn Observer,
) -> Result<RunOutcome> {
    let began = Instant::now();
    let mut data = Data {
        trigger: delivery.trigger.clone(),
        ..Data::default()
    };
    let mut accepted = None;
    let mut state = GRAPH.start_at;
    loop {
        if let Some(end) = GRAPH.end(state) {
            return Ok(outcome(end, accepted, data));
        }
        observer.on(Event::Entered(state));
        let answered: Result<()> = match state {
            // Prepare's data is built above; a …Caught state's step name was put beside the
            // caught error as the Catch took it.
            PREPARE
            | START_RUN_CAUGHT
            | START_WAVE_CAUGHT
            | TRACK_RUN_CAUGHT
            | HAND_OVER_CAUGHT
            | COLLECT_CALLS_CAUGHT
            | COLLECT_RESULTS_CAUGHT => Ok(()),
            START_RUN => retried(timing, || steps::start_run(ports, delivery.clone()))
                .await
                .map(|started| {
                    observer.on(Event::RunStarted(&started));
                    data.run.run_id.clone_from(&started.run_id);
                    accepted = Some(started);
                }),
            REQUEST_APPROVAL => {
                // Only the deployed state machine can wait for `fabric approve` (a task
                // token): the local driver ends the run here, reported, as a rejection would.
                data.verdict = Some(StepError {
                    error: APPROVAL_NEEDS_DEPLOYMENT.to_owned(),
                    cause: "only the deployed fabric's state machine can wait for `fabric approve`: deploy it (`fabric local deploy` locally) and start the run there".to_owned(),
                    step: Some(REQUEST_APPROVAL.to_owned()),
                });
                state = PUBLISH_REPORT;
                continue;
            }
            START_WAVE => {
                let step = WaveStep {
                    run_id: run_step(&data)?.run_id,
                    approval: data.approval.take(),
                };
                match retried(timing, || steps::start_wave(ports, step.clone())).await {
                    Ok(started) => {
                        observer.on(Event::RunStarted(&started));
                        if follow == Follow::UntilStarted {
                            return Ok(outcome(End::Detached, accepted, data));
                        }
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }
            WAIT_FOR_RUN => {
                if timing.timeout.is_some_and(|limit| began.elapsed() > limit) {
                    return Ok(outcome(End::TimedOut, accepted, data));
                }
                tokio::time::sleep(timing.wait).await;
                Ok(())
            }
            HAND_OVER => {
                // The local driver keeps no history: it never hands over (TrackRun is sent no
                // execution start), and would carry on itself.
                state = WAIT_FOR_RUN;
                continue;
            }
            TRACK_RUN => {
                let step = TrackStep {
                    run_id: run_step(&data)?.run_id,
                    execution_started: None,
                };
                retried(timing, || steps::track_run(ports, step.clone()))
                    .await
                    .map(|tracked| {
                        observer.on(Event::Tracked(&tracked));
                        data.progress = Some(tracked);
                    })
            }
            COLLECT_CALLS => collect_calls(ports, &data, timing, observer).await,
            COLLECT_RESULTS => {
                let step = run_step(&data)?;
                retried(timing, || steps::collect_results(ports, step.clone()))
                    .await
                    .map(|collected| {
                        observer.on(Event::Collected(&collected));
                        data.collected = Some(collected);
                    })
            }
            PUBLISH_REPORT => match run_step(&data) {
                Ok(step) => retried(timing, || {
                    steps::publish_report(
                        ports,
                        PublishRequest::Run {
                            run: step.clone(),
                            error: data.error.clone(),
                            verdict: data.verdict.clone(),
                        },
                    )
                })
                .await
                .map(|published| {
                    observer.on(Event::Published(&published));
                    data.published = Some(published);
                }),
                Err(error) => Err(error),
            },
            KEEP_UNDELIVERED => {
                observer.on(Event::Undelivered(&to_value(&data)?));
                Ok(())
            }
            choice if GRAPH.is_choice(choice) => {
                state = GRAPH.choose(choice, &to_value(&data)?)?;
                continue;
            }
            unknown => {
                return Err(Error::Internal {
                    problem: format!("the run driver has no state {unknown}"),
                });
            }
        };
        let (next, error) = super::after(&GRAPH, state, answered, observer)?;
        if error.is_some() {
            data.error = error;
        }
        state = next;
    }
}

/// The `CollectCalls` map: a `CollectCall` per call of the latest wave; any item's failure
/// fails the map (its `ToleratedFailurePercentage` is the default, 0).
async fn collect_calls(
    ports: &RunPorts<'_>,
    data: &Data,
    timing: Timing,
    observer: &mut dyn Observer,
) -> Result<()> {
    let run_id = run_step(data)?.run_id;
    let calls = data
        .progress
        .as_ref()
        .map(|progress| progress.calls.clone())
        .unwrap_or_default();
    let mut answers = futures_util::stream::iter(calls)
        .map(|execution_id| {
            let run_id = run_id.clone();
            async move {
                let collected = retried(timing, || {
                    steps::collect_call(ports, run_id.clone(), &execution_id)
                })
                .await?;
                Ok::<_, Error>((execution_id, collected.collected))
            }
        })
        .buffer_unordered(COLLECT_CALLS_AT_ONCE);
    while let Some(answer) = answers.next().await {
        let (execution_id, collected) = answer?;
        observer.on(Event::CallCollected {
            execution_id: &execution_id,
            collected,
        });
    }
    Ok(())
}

fn run_step(data: &Data) -> Result<RunStep> {
    data.run
        .run_id
        .clone()
        .map(|run_id| RunStep { run_id })
        .ok_or_else(|| Error::Internal {
            problem: "a run step was reached without a run id".to_owned(),
        })
}

fn outcome(end: End, accepted: Option<RunStarted>, data: Data) -> RunOutcome {
    RunOutcome {
        end,
        accepted,
        published: data.published,
        error: data.error,
    }
}
