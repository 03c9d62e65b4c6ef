//! A run between its steps, kept in the report store so that no step holds it only in memory:
//! the plan, each call as it starts, a gate's verdict, the report's location and the workflow
//! that owns the run. What a delivery of the run's trigger finds is decided here.

use super::collect::assemble;
use super::keep::{Kept, Parent, Sources, keep};
use crate::model::{Location, RunReport, RunRequest};
use crate::plan::{PlanContext, RunPlan, plan_run};
use crate::ports::{Directory, ReportStore};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A call that was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedCall {
    /// The wave it belongs to.
    pub wave: String,
    /// The parent execution's id.
    pub execution_id: String,
    /// The planned call's client token (which planned call this is).
    #[serde(default)]
    pub client_token: String,
    /// The locations it covers.
    pub locations: Vec<Location>,
}

/// A run's state between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// The plan.
    pub plan: RunPlan,
    /// Calls started so far, in order, each saved as it started.
    pub started: Vec<StartedCall>,
    /// The next wave to start (a wave counts as started once all its calls are).
    pub next_wave: usize,
    /// How many waves were collected and passed their gate (or had none): the next wave may
    /// start only once every wave before it is cleared, whichever workflow carries the run.
    #[serde(default)]
    pub cleared: usize,
    /// Why the remaining waves were not started, when a gate stopped them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Why the workflow that owned the run failed, when one did (a later delivery of the
    /// trigger carries the run on, and clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Where the final report is, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_uri: Option<String>,
    /// The published report's key in the report store (its index: [`crate::stored_run`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_key: Option<String>,
    /// The workflow that carries the run out (a state machine execution, a CLI process): a
    /// later delivery of the same trigger, by another workflow, finds the run started. `None`
    /// once a workflow gave the run up after a failure: the next delivery carries it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When the run was accepted: its deadline counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begun_at: Option<crate::report::Timestamp>,
    /// What was still running when the run's deadline passed, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_passed: Option<super::deadline::DeadlinePassed>,
    /// The approval request the run waits on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_approval: Option<super::approval::PendingApproval>,
    /// The approvals that let waves start, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<super::approval::ApprovalRecord>,
    /// When the final report was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<crate::report::Timestamp>,
    /// How many times the run was handed over to a fresh execution.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hand_overs: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// What a delivery of a run trigger finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The run to carry out: new, left unfinished by an earlier attempt of the same workflow,
    /// or given up by a failed workflow.
    Start(Box<RunState>),
    /// Another workflow (an earlier delivery of the same trigger) owns the run.
    Duplicate {
        /// The run's id.
        run_id: String,
        /// The workflow that owns it.
        owner: Option<String>,
    },
}

/// Accepts one delivery of a run trigger by workflow `owner`: the run `run_id` (the trigger's
/// idempotency key) planned and saved, owned by `owner`; or, when it exists, carried on if
/// `owner` owns it (a retried step) or nobody does (a workflow gave it up after a failure),
/// and reported as a duplicate if another workflow owns it. Events are delivered at least
/// once: three deliveries make one run, one set of starts, one report. A stored state that
/// cannot be read is an error, never planned over.
pub async fn accept_delivery(
    run_id: &str,
    request: RunRequest,
    owner: &str,
    directory: &dyn Directory,
    context: &PlanContext<'_>,
    store: &dyn ReportStore,
) -> Result<Delivery> {
    match RunState::find(store, run_id).await? {
        Some(state) if state.owner.as_deref() == Some(owner) => {
            Ok(Delivery::Start(Box::new(state)))
        }
        Some(mut state) if state.owner.is_none() => {
            tracing::info!(
                run_id,
                owner,
                "carrying on a run its earlier workflow gave up"
            );
            state.owner = Some(owner.to_owned());
            state.failure = None;
            state.save(store).await?;
            Ok(Delivery::Start(Box::new(state)))
        }
        Some(state) => Ok(Delivery::Duplicate {
            run_id: run_id.to_owned(),
            owner: state.owner,
        }),
        None => {
            let mut state = RunState::new(plan_run(run_id, request, directory, context).await?);
            state.owner = Some(owner.to_owned());
            state.save(store).await?;
            Ok(Delivery::Start(Box::new(state)))
        }
    }
}

/// Hands run `run_id` over from the execution that owns it (`carry_on.from`) to `owner`, the
/// execution that carries it on; refused unless `from` owns it.
pub async fn carry_on(
    carry_on: &crate::workflow::CarryOn,
    owner: &str,
    store: &dyn ReportStore,
) -> Result<RunState> {
    let mut state = RunState::load(store, &carry_on.run_id).await?;
    if state.owner.as_deref() == Some(owner) {
        return Ok(state);
    }
    if state.owner.as_deref() != Some(carry_on.from.as_str()) {
        return Err(Error::NotPermitted {
            what: format!("carry_on.from ({})", carry_on.from),
            rule: format!(
                "only the execution that owns run {} may hand it over, and {} does",
                carry_on.run_id,
                state.owner.as_deref().unwrap_or("no workflow")
            ),
        });
    }
    tracing::info!(run_id = %carry_on.run_id, from = %carry_on.from, owner, "the run is handed over");
    state.owner = Some(owner.to_owned());
    state.hand_overs += 1;
    state.save(store).await?;
    Ok(state)
}

impl RunState {
    /// The name of the execution this run is handed over to next: its id (cut to fit Step
    /// Functions' 80 characters) and the hand-over's number.
    pub fn next_execution_name(&self) -> String {
        let suffix = format!("-carry-{}", self.hand_overs + 1);
        let id: String = self
            .plan
            .run_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(80 - suffix.len())
            .collect();
        id + &suffix
    }

    /// The state of a run that has not started.
    pub fn new(plan: RunPlan) -> Self {
        Self {
            plan,
            started: Vec::new(),
            next_wave: 0,
            cleared: 0,
            stopped: None,
            failure: None,
            report_uri: None,
            report_key: None,
            owner: None,
            begun_at: Some(crate::report::now()),
            deadline_passed: None,
            pending_approval: None,
            approvals: Vec::new(),
            hand_overs: 0,
            published_at: None,
        }
    }

    /// Where the state of run `run_id` is kept.
    pub fn key(run_id: &str) -> String {
        format!("state/runs/{run_id}.json")
    }

    /// Saves the state.
    pub async fn save(&self, store: &dyn ReportStore) -> Result<String> {
        let body = serde_json::to_vec(self)
            .map_err(|error| Error::unserializable("the run state", &error))?;
        store.put(&Self::key(&self.plan.run_id), body).await
    }

    /// The state of run `run_id`, `None` when there is none; [`Error::CorruptState`] when
    /// there is one that cannot be read.
    pub async fn find(store: &dyn ReportStore, run_id: &str) -> Result<Option<Self>> {
        let key = Self::key(run_id);
        let Some(body) = store.get(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|error| Error::CorruptState {
                key,
                problem: error.to_string(),
            })
    }

    /// The state of run `run_id`; [`Error::NotFound`] when there is none.
    pub async fn load(store: &dyn ReportStore, run_id: &str) -> Result<Self> {
        Self::find(store, run_id).await?.ok_or_else(|| {
            Error::not_found(
                "run",
                run_id,
                Some("runs are named by their trigger's key; `fabric status` takes one".to_owned()),
            )
        })
    }

    /// The calls started for wave `wave_index`.
    pub fn calls_of_wave(&self, wave_index: usize) -> impl Iterator<Item = &StartedCall> {
        let name = self
            .plan
            .waves
            .get(wave_index)
            .map(|wave| wave.name.as_str());
        self.started
            .iter()
            .filter(move |call| Some(call.wave.as_str()) == name)
    }

    /// The calls of the latest wave that started in full.
    pub fn latest_wave_calls(&self) -> impl Iterator<Item = &StartedCall> {
        self.calls_of_wave(self.next_wave.wrapping_sub(1))
    }

    /// True when the next wave may start: every wave before it was collected and passed its
    /// gate.
    pub fn next_wave_cleared(&self) -> bool {
        self.cleared >= self.next_wave
    }

    /// True when every wave has started (or a gate stopped the rest).
    pub fn all_started(&self) -> bool {
        self.next_wave >= self.plan.waves.len() || self.stopped.is_some()
    }

    /// Keeps what can be kept now of the started call `execution_id`, whose parent stands
    /// as `parent` (the `CollectCall` step when it has ended, `TrackRun` while it runs), until
    /// `until`.
    pub async fn keep_call(
        &self,
        execution_id: &str,
        parent: Parent,
        sources: &Sources<'_>,
        until: Option<tokio::time::Instant>,
    ) -> Result<Kept> {
        let call = self
            .started
            .iter()
            .find(|call| call.execution_id == execution_id)
            .ok_or_else(|| {
                Error::not_found(
                    "started call",
                    execution_id,
                    Some(format!("run {} did not start it", self.plan.run_id)),
                )
            })?;
        keep(sources, &self.plan.run_id, call, parent, until).await
    }

    /// Keeps the locations of the latest wave's calls that have ended since the last poll, as
    /// `progress` finds their parents, until `until` (the `TrackRun` step). Returns how many
    /// locations were kept.
    pub async fn keep_ended(
        &self,
        progress: &super::Progress,
        sources: &Sources<'_>,
        until: tokio::time::Instant,
    ) -> Result<usize> {
        let mut kept = 0;
        for call in self.latest_wave_calls() {
            if tokio::time::Instant::now() >= until {
                break;
            }
            if let Some(parent) = progress.parents.get(&call.execution_id) {
                kept += keep(sources, &self.plan.run_id, call, *parent, Some(until))
                    .await?
                    .locations;
            }
        }
        Ok(kept)
    }

    /// The run's report as it stands: once published, read back from its stored parts (the
    /// child executions may be gone: SSM keeps them 30 days); before, [`Self::report`].
    pub async fn latest_report(&self, sources: &Sources<'_>) -> Result<RunReport> {
        if let Some(key) = &self.report_key {
            if let Some((index, results)) = crate::stored_run::read_run(sources.store, key).await? {
                return Ok(index.into_report(results));
            }
        }
        self.report(sources).await
    }

    /// The page of `report` (this run's): its plan, when it began and, once published, when
    /// it ended.
    pub fn page<'a>(&'a self, report: &'a RunReport) -> crate::report_page::RunPage<'a> {
        crate::report_page::RunPage {
            report,
            plan: &self.plan,
            begun_at: self.begun_at,
            finished_at: self.published_at,
            json_report: None,
        }
    }

    /// The report so far (every planned and skipped location), from the kept results of each
    /// call (what is not kept yet read now), with the reason the rest did not
    /// start when a gate, the deadline or a failed workflow stopped the run, and the locations
    /// unfinished at the deadline `TimedOut`. Kept results that cannot be read are
    /// [`Error::CorruptState`].
    pub async fn report(&self, sources: &Sources<'_>) -> Result<RunReport> {
        let mut results = Vec::new();
        for call in &self.started {
            results.extend(super::keep::results(sources, &self.plan.run_id, call).await?);
        }
        let not_started = self.stopped.as_deref().or(self.failure.as_deref());
        let mut report = assemble(&self.plan, &self.started, not_started, results)?;
        self.mark_timed_out(&mut report)?;
        Ok(report)
    }
}
