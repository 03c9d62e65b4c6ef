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

/// A step of a run: which run (its state is in the report store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStep {
    /// The run's id.
    pub run_id: String,
}

/// What `start-run` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The run's id (`None` when the trigger was not a run, e.g. an ignored alarm change).
    pub run_id: Option<String>,
    /// How many locations the started wave covers.
    pub locations: usize,
    /// Why nothing was started, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
        error: Option<Value>,
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
        error: Option<Value>,
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
