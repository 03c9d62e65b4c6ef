//! The local driver: walks a state machine's graph over the [`crate::steps`], branching as the
//! ASL's Choice states do, catching as its Catch rules do, retrying as its Retry rules do and
//! waiting as its Wait states do (at the caller's pace). The CLI, the test support, the
//! benchmarks and the reliability suite carry runs and onboardings out through it; nothing else
//! sequences the steps. Each graph ([`run::GRAPH`], [`onboarding::GRAPH`]) is data, and a test
//! derives the same graph from the ASL files and checks that the two are equal.

pub mod graph;
pub mod onboarding;
pub mod run;

use crate::Result;
use crate::workflow::{
    AccountReadiness, ReportPublished, RunCollected, RunStarted, RunTracked, StepError,
};
use std::time::Duration;

/// How many times the state machines retry a step that failed with a retryable error (their
/// `Retry` rules' `MaxAttempts`), and so the driver.
pub const RETRY_ATTEMPTS: u32 = 6;

/// The pace of a local workflow: the ASL's Wait states and retry intervals, scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long each Wait state waits (the ASL waits 30 s).
    pub wait: Duration,
    /// The first retry interval (the ASL's `IntervalSeconds`, 2 s), doubled at each retry.
    pub retry_interval: Duration,
    /// How long the workflow may take before it is given up (the ASL's `TimeoutSeconds`).
    pub timeout: Option<Duration>,
}

impl Timing {
    /// The deployed state machines' own pace.
    pub const DEPLOYED: Self = Self {
        wait: Duration::from_secs(30),
        retry_interval: Duration::from_secs(2),
        timeout: None,
    };
}

/// What a workflow reports as it goes, for a person to follow or a test to measure.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A state is entered.
    Entered(&'static str),
    /// `StartRun` or `StartWave` answered.
    RunStarted(&'a RunStarted),
    /// `TrackRun` answered.
    Tracked(&'a RunTracked),
    /// A `CollectCall` item answered.
    CallCollected {
        /// The call.
        execution_id: &'a str,
        /// How many locations it covered.
        collected: usize,
    },
    /// `CollectResults` answered.
    Collected(&'a RunCollected),
    /// `CheckAccount` answered.
    Readiness(&'a AccountReadiness),
    /// `PublishReport` answered.
    Published(&'a ReportPublished),
    /// A step failed, after its retries, and its Catch took over.
    Caught {
        /// The step.
        state: &'static str,
        /// The error.
        error: &'a StepError,
    },
    /// The report could not be published: the whole workflow state, as the deployed state
    /// machine sends it to the undelivered-reports queue.
    Undelivered(&'a serde_json::Value),
}

/// Follows a workflow.
pub trait Observer {
    /// Called at each [`Event`].
    fn on(&mut self, event: Event<'_>);
}

/// Follows nothing.
impl Observer for () {
    fn on(&mut self, _event: Event<'_>) {}
}

/// How a workflow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A Succeed state.
    Succeeded(&'static str),
    /// A Fail state, with its error.
    Failed {
        /// The state.
        state: &'static str,
        /// Its `Error`.
        error: &'static str,
    },
    /// Left running after the first wave started (the caller follows it with `fabric status`).
    Detached,
    /// Given up after [`Timing::timeout`].
    TimedOut,
}

/// The state after `state`, whose step `answered`: its `Next`, or when the step failed its
/// `Catch`, with the error told to `observer` and returned for the workflow's `$.error`
/// (`None` from `PublishReport`, whose Catch keeps its error apart, in `$.publish_error`).
pub(crate) fn after(
    graph: &graph::Graph,
    state: &'static str,
    answered: Result<()>,
    observer: &mut dyn Observer,
) -> Result<(&'static str, Option<StepError>)> {
    match answered {
        Ok(()) => Ok((graph.next(state)?, None)),
        Err(error) => {
            let mut caught = StepError::from(&error);
            observer.on(Event::Caught {
                state,
                error: &caught,
            });
            if state == "PublishReport" {
                tracing::error!(%error, "the report could not be published");
                return Ok((graph.caught(state)?, None));
            }
            caught.step = Some(state.to_owned());
            Ok((graph.caught(state)?, Some(caught)))
        }
    }
}

/// A workflow's data as the JSON its Choice rules read.
pub(crate) fn to_value(data: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(data)
        .map_err(|error| crate::Error::unserializable("the workflow's data", &error))
}

/// `step`, retried as the state machines' `Retry` rules retry it: a retryable error
/// (`Fabric.Retryable`) is tried again up to [`RETRY_ATTEMPTS`] times, backing off from
/// `timing.retry_interval`; any other error is returned at once (the Catch takes it).
pub(crate) async fn retried<T, F>(timing: Timing, mut step: impl FnMut() -> F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match step().await {
            Err(error) if error.is_retryable() && attempt < RETRY_ATTEMPTS => {
                tracing::warn!(%error, attempt, "step failed with a retryable error; retrying");
                tokio::time::sleep(timing.retry_interval * 2_u32.pow(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests;
