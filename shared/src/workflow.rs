//! The payloads the state machines pass between their steps: one type per step input and
//! output, shared by the functions (which read and write them) and the tests (which check the
//! state machines against them). Kept small: run state lives in the report store, not here.

use crate::model::{AccountId, DocumentShare, OnboardingAction, RoleOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The input of the onboarding state machine and of each of its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingInput {
    /// The account.
    pub account_id: AccountId,
    /// Onboard or offboard.
    pub action: OnboardingAction,
    /// The trigger's idempotency key (also the execution's name).
    pub trigger_key: String,
    /// Check and report what would change, changing nothing (the CLI's `--dry-run`; the
    /// deployed state machine never sets it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// What `account-status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReadiness {
    /// True when the account is an active member.
    pub ready: bool,
    /// Its status, as Organizations says (`ACTIVE`, `SUSPENDED`, `NOT_A_MEMBER`...).
    pub status: String,
}

/// What `share-documents` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharesDone {
    /// Each document in each Region.
    pub shares: Vec<DocumentShare>,
    /// Regions whose documents could not be listed.
    pub errors: Vec<String>,
}

/// What `deploy-roles` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDone {
    /// The role's outcome.
    pub role: RoleOutcome,
}

/// What a failed step leaves in the state machine's `$.error` (a `Catch` with `ResultPath`
/// `$.error`, or a Pass state that names the failure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    /// The error's type: a `Fabric.*` name, a Lambda or `States.*` error.
    #[serde(rename = "Error", default)]
    pub error: String,
    /// What happened (for a Lambda error, its JSON diagnostic; empty when the error came
    /// with none, e.g. a `SendTaskFailure` without a cause).
    #[serde(rename = "Cause", default, deserialize_with = "null_as_empty")]
    pub cause: String,
    /// The step that failed (a `…Caught` Pass state names it after the Catch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// A string that may be sent as `null`: empty then.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.step {
            Some(step) => write!(f, "{step} failed: {}: {}", self.error, self.cause),
            None => write!(f, "{}: {}", self.error, self.cause),
        }
    }
}

impl From<&crate::Error> for StepError {
    fn from(error: &crate::Error) -> Self {
        Self {
            error: error.error_type().to_owned(),
            cause: error.to_string(),
            step: None,
        }
    }
}

/// What the `StartRun` step is sent: the state machine's input (the trigger) and the
/// execution that delivers it (the run's owner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerDelivery {
    /// The trigger, as the rule or schedule sent it.
    pub trigger: Value,
    /// The delivering workflow (`$$.Execution.Id`).
    pub execution: String,
}

/// A run handed over by the execution that followed it (`from`) to the one that carries it on:
/// the input a `HandOver` state starts the next execution with (`{"carry_on": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarryOn {
    /// The run.
    pub run_id: String,
    /// The execution that owned it (`$$.Execution.Id`).
    pub from: String,
}

/// `HandOver`'s input: `{"hand_over": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    /// The hand-over.
    pub hand_over: HandOverStep,
}

/// A run to hand over to a fresh execution of its state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverStep {
    /// The run.
    pub run_id: String,
    /// The execution that owns it (`$$.Execution.Id`).
    pub from: String,
    /// The fresh execution's name (`TrackRun`'s `next_execution`).
    pub name: String,
}

/// `TrackRun`'s input: the run, and when the execution following it started (`null` for a
/// workflow with no history limit, which never hands over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackStep {
    /// The run's id.
    pub run_id: String,
    /// `$$.Execution.StartTime`.
    #[serde(default)]
    pub execution_started: Option<crate::report::Timestamp>,
}

/// What the `start-run` function is sent: a trigger to accept (`StartRun`) or a run whose next
/// wave to start (`StartWave`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StartRequest {
    /// `HandOver`.
    HandOver(HandOverRequest),
    /// `StartRun`.
    Trigger(TriggerDelivery),
    /// `StartWave`.
    Wave(WaveStep),
}

/// `StartWave`'s input: the run, and the approval that let its next wave start when the gate
/// before it asked for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveStep {
    /// The run's id.
    pub run_id: String,
    /// The answer to the gate's approval request (`null` when the gate asked for none).
    #[serde(default)]
    pub approval: Option<Approval>,
}

/// A person's approval of a wave's gate: what `fabric approve` sends the waiting task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved, as their credentials name them.
    pub approved_by: String,
    /// What they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A person's rejection of a wave's gate: the cause of the `Fabric.Rejected` error that
/// `fabric reject` sends the waiting task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Who rejected, as their credentials name them.
    pub rejected_by: String,
    /// Why.
    pub reason: String,
}

/// The error `fabric reject` answers a waiting approval with.
pub const REJECTED: &str = "Fabric.Rejected";

/// A step of a run: which run (its state is in the report store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStep {
    /// The run's id.
    pub run_id: String,
}

/// What `start-run` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The run's id (`None` when there is no run for this workflow to carry out: the trigger
    /// was not a run, a dry run, or another delivery's workflow owns it).
    pub run_id: Option<String>,
    /// `StartRun`: how many locations the run plans; `StartWave`: how many the wave covers.
    pub locations: usize,
    /// `StartWave`: the wave, and how many calls it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<WaveStarted>,
    /// Why nothing was started, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A wave that started in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveStarted {
    /// Its name.
    pub name: String,
    /// Its calls' parent execution ids.
    pub calls: Vec<String>,
}

/// What `track-run` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTracked {
    /// The run's id.
    pub run_id: String,
    /// True when every started automation has ended.
    pub done: bool,
    /// Locations by status.
    pub counts: BTreeMap<String, usize>,
    /// The started calls' parent execution ids of the latest wave: the items of the
    /// `CollectCalls` Distributed Map.
    pub calls: Vec<String>,
    /// How many locations' results this poll kept (those that ended since the last one, a
    /// page of steps at a time).
    #[serde(default)]
    pub kept: usize,
    /// True when the run's deadline passed: what still ran was stopped, and the run goes on
    /// to its report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deadline_passed: bool,
    /// True when this execution has followed the run long enough: it hands the run over to a
    /// fresh execution, named `next_execution`.
    #[serde(default)]
    pub hand_over: bool,
    /// The name of the execution the run is handed over to (empty when it is not).
    #[serde(default)]
    pub next_execution: String,
}

/// What `collect-results` takes: a run, and for the `CollectCall` step one of its calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectRequest {
    /// The run's id.
    pub run_id: String,
    /// One started call's parent execution id (`CollectCall`); absent for `CollectResults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// What `collect-results` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCollected {
    /// The run's id.
    pub run_id: String,
    /// True when another wave is to start (the gate passed and waves remain).
    pub next_wave: bool,
    /// For `CollectCall`: how many locations' results were kept.
    pub collected: usize,
    /// The report so far, by status.
    pub counts: BTreeMap<String, usize>,
    /// True when the next wave starts only once a person approves it.
    #[serde(default)]
    pub approval_needed: bool,
    /// How long the approval request waits for an answer, in seconds (0 when none is needed).
    #[serde(default)]
    pub approval_timeout_seconds: u64,
}

/// What `publish-report` takes: which report to store and publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishRequest {
    /// A run's report.
    Run {
        /// Which run.
        #[serde(flatten)]
        run: RunStep,
        /// The error of a failed path.
        #[serde(default)]
        error: Option<StepError>,
        /// How a wave's approval request ended when it ended the run: rejected
        /// (`Fabric.Rejected`) or unanswered (`States.Timeout`).
        #[serde(default)]
        verdict: Option<StepError>,
    },
    /// A wave's approval request (the `RequestApproval` task): kept in the run's state with
    /// the token that answers it, and published to the topic.
    Approval {
        /// Which run.
        run_id: String,
        /// The waiting task's token.
        task_token: String,
    },
    /// An onboarding's report.
    Onboarding {
        /// The state machine's input.
        input: OnboardingInput,
        /// The sharing step's output, when it ran.
        #[serde(default)]
        shares: Option<SharesDone>,
        /// The role step's output, when it ran.
        #[serde(default)]
        role: Option<RoleDone>,
        /// The error of a failed path.
        #[serde(default)]
        error: Option<StepError>,
    },
}

/// What `publish-report` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPublished {
    /// Where the full report is stored (`s3://...`).
    pub report: String,
    /// The SNS message id of its summary, when a topic is configured.
    pub message_id: Option<String>,
}

/// What `account-events` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEventHandled {
    /// The event's idempotency key (the onboarding execution's name).
    pub trigger_key: String,
    /// The onboarding execution started (its ARN, or "already started"), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Why no onboarding started, when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when a failed account creation was reported on the topic.
    pub reported: bool,
}

/// What the reconciler's schedule sends: `{"reconcile": {"schedule_name": ...,
/// "scheduled_time": ...}}` (or nothing: `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// The schedule that fired, when a schedule did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<ScheduledReconcile>,
}

/// A firing of the reconciler's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReconcile {
    /// The schedule's name.
    pub schedule_name: String,
    /// When it fired.
    pub scheduled_time: String,
}
