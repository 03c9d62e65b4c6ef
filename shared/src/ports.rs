//! What the domain needs from AWS, as small traits named for the need: the organization's
//! accounts (`Directory`), SSM Automation (`Automation`), a per-location view of Automation
//! through the target account's role (`Locations`), the documents and their sharing
//! (`Documents`), the execution role's StackSet (`Roles`), the report bucket (`ReportStore`)
//! and the topic (`Notifier`). Adapters in [`crate::aws`] implement them; tests may too.

use crate::Result;
use crate::model::{
    AccountId, AutomationStatus, DocumentName, Location, OuId, Parameters, Region, TargetLocation,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};

/// An account's state in the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    /// A working member.
    Active,
    /// Closed or suspended: nothing runs there.
    Suspended,
    /// Being closed.
    PendingClosure,
    /// Anything else Organizations may say.
    Other(String),
}

/// A member account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    /// Its id.
    pub id: AccountId,
    /// Its name.
    pub name: String,
    /// Its state.
    pub status: AccountStatus,
    /// The OU (or root) it is directly in, when the listing that found it says.
    pub parent: Option<OuId>,
}

/// The organization's accounts.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The accounts directly in `parent` (an OU or the root), and with `recursive` in its child
    /// OUs at any depth.
    async fn accounts_under(&self, parent: &OuId, recursive: bool) -> Result<Vec<OrgAccount>>;

    /// One account, or `None` when it is not a member.
    async fn account(&self, id: &AccountId) -> Result<Option<OrgAccount>>;

    /// The organization's root.
    async fn root(&self) -> Result<OuId>;

    /// The Regions enabled in `account` (opt-in Regions are not, until someone enables them);
    /// `None` when that cannot be known, and every Region is then taken as enabled.
    async fn enabled_regions(&self, account: &AccountId) -> Result<Option<BTreeSet<Region>>>;
}

/// The central account's SSM documents and who they are shared with, in any Region.
#[async_trait]
pub trait Documents: Send + Sync {
    /// The names of the documents the central account owns in `region`.
    async fn owned(&self, region: &Region) -> Result<Vec<DocumentName>>;

    /// The accounts (or `all`) document `name` is shared with in `region`.
    async fn shared_with(&self, name: &DocumentName, region: &Region) -> Result<Vec<String>>;

    /// Adds and removes accounts from the document's sharing, at most 20 of each per call.
    async fn modify_sharing(
        &self,
        name: &DocumentName,
        region: &Region,
        add: &[AccountId],
        remove: &[AccountId],
    ) -> Result<()>;
}

/// The execution role in member accounts, through its StackSet.
#[async_trait]
pub trait Roles: Send + Sync {
    /// The accounts that have a stack instance of the role.
    async fn deployed(&self) -> Result<BTreeSet<AccountId>>;

    /// Creates stack instances in `accounts` and waits for the operation to end.
    async fn deploy(&self, accounts: &[AccountId]) -> Result<()>;

    /// Deletes the stack instances of `accounts` and waits for the operation to end.
    async fn remove(&self, accounts: &[AccountId]) -> Result<()>;
}

/// One `StartAutomationExecution` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartAutomation {
    /// Name or ARN.
    pub document: String,
    /// Version, when pinned.
    pub document_version: Option<String>,
    /// Parameters.
    pub parameters: Parameters,
    /// The parameter targets fill.
    pub target_parameter_name: Option<String>,
    /// Targets (SSM takes one), as `(key, values)`.
    pub targets: Vec<(String, Vec<String>)>,
    /// Target concurrency.
    pub max_concurrency: Option<String>,
    /// Target error threshold.
    pub max_errors: Option<String>,
    /// Where to run (explicit accounts, at most 100 entries).
    pub target_locations: Vec<TargetLocation>,
    /// The idempotency token (a UUID derived from the run id).
    pub client_token: String,
    /// An alarm that stops the run.
    pub alarm: Option<(String, bool)>,
}

/// An execution's state, as `GetAutomationExecution` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionState {
    /// Its status.
    pub status: AutomationStatus,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// Its outputs.
    pub outputs: Parameters,
    /// The targets it resolved, when rate-controlled.
    pub resolved_targets: Vec<String>,
    /// Its steps by status (SSM's `ProgressCounters`), when SSM reports them.
    pub step_counts: Option<StepCounts>,
}

/// SSM's `ProgressCounters` of an execution: its steps (for a multi-location parent, one per
/// location) by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepCounts {
    /// Every step.
    pub total: usize,
    /// Steps that succeeded.
    pub success: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Steps that were cancelled.
    pub cancelled: usize,
    /// Steps that timed out.
    pub timed_out: usize,
}

/// One step of a multi-location parent: one location's `aws:executeAutomation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationStep {
    /// The location it ran in, when the step says.
    pub location: Option<Location>,
    /// The step's status.
    pub status: AutomationStatus,
    /// Why it failed or was not run.
    pub failure_message: Option<String>,
    /// The child execution's id in the target account, once started.
    pub child_execution_id: Option<String>,
}

/// The most steps one page of a parent's steps holds: SSM's maximum `MaxResults` for
/// `DescribeAutomationStepExecutions`, so that a listing takes the fewest calls against the
/// central account's 3 reads a second.
pub const STEPS_PER_PAGE: usize = 50;

/// The least time between two reads of one listing in the central account: SSM answers 3
/// reads a second per account and Region.
pub const STEP_PAGE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(334);

/// One page of a multi-location parent's steps, in the order SSM started them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepPage {
    /// The page's steps.
    pub steps: Vec<LocationStep>,
    /// Where the next page starts; `None` after the last page (as the listing stands now: a
    /// running parent may still add steps after it).
    pub next_token: Option<String>,
}

/// One per-target child of a rate-controlled execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetExecution {
    /// The target (e.g. the instance id).
    pub target: String,
    /// Its status.
    pub status: AutomationStatus,
    /// Why it failed.
    pub failure_message: Option<String>,
}

/// What SSM's execution preview says a start would touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// Accounts.
    pub accounts: u32,
    /// Regions.
    pub regions: BTreeSet<String>,
    /// Targets (e.g. instances), all types together.
    pub targets: u32,
}

/// SSM Automation in one account and Region.
#[async_trait]
pub trait Automation: Send + Sync {
    /// Starts an execution; the same `client_token` never starts a second one.
    async fn start(&self, request: &StartAutomation) -> Result<String>;

    /// Previews what `request` would touch, starting nothing.
    async fn preview(&self, request: &StartAutomation) -> Result<Preview>;

    /// An execution's state.
    async fn execution(&self, id: &str) -> Result<ExecutionState>;

    /// The steps of a multi-location parent, one per location.
    async fn location_steps(&self, parent_id: &str) -> Result<Vec<LocationStep>>;

    /// One page (at most [`STEPS_PER_PAGE`] steps) of a multi-location parent's steps, from
    /// `next_token` (the first page when `None`). A token SSM no longer accepts is
    /// [`crate::Error::Aws`] with code `InvalidNextToken`.
    async fn location_steps_page(
        &self,
        parent_id: &str,
        next_token: Option<&str>,
    ) -> Result<StepPage>;

    /// The per-target children of a rate-controlled execution.
    async fn target_executions(&self, parent_id: &str) -> Result<Vec<TargetExecution>>;

    /// Stops an execution and everything it started; one that has ended already is left as
    /// it is.
    async fn stop(&self, id: &str) -> Result<()>;
}

/// Automation in any location, through the role the fabric assumes in the target account.
#[async_trait]
pub trait Locations: Send + Sync {
    /// Automation in `account` and `region`.
    async fn automation_in(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Box<dyn Automation>>;
}

/// Where full reports are kept.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores `body` under `key`; returns where it is (`s3://bucket/key`).
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String>;

    /// Reads what is stored under `key`: `None` when nothing is (a missing object is an
    /// answer, not an error; a failed read is an error).
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
}

/// A summary to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The subject line (at most 100 characters).
    pub subject: String,
    /// The message.
    pub message: String,
    /// Message attributes for subscription filters.
    pub attributes: BTreeMap<String, String>,
}

/// Where summaries are published.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes `notification`; returns the message id.
    async fn publish(&self, notification: &Notification) -> Result<String>;
}

/// Whether a workflow was started now or had been started before under the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowStart {
    /// Started now; its execution ARN.
    Started(String),
    /// A workflow of that name exists already (the event was delivered before).
    AlreadyStarted,
}

/// The state machines the fabric starts.
#[async_trait]
pub trait Workflows: Send + Sync {
    /// Starts an execution named `name` (unique per state machine for 90 days) with `input`.
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<WorkflowStart>;
}
