//! The execution store and each execution's lifecycle: `StartAutomationExecution` (with its
//! client tokens), the parent and child executions it creates, their steps' and their own
//! status changes, and `StopAutomationExecution`.

use super::documents::DocumentSource;
use super::steps::{Signals, StepSpec};
use super::{AutomationStatus, Caller, Engine, lock, now};
use crate::wire::{ApiError, Parameters, StartRequest, WireTargetLocation};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Client tokens already used: (account, Region, token) -> (request fingerprint, execution id).
pub(super) type ClientTokens =
    std::collections::HashMap<(String, String, String), (String, String)>;

/// One step of an execution.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique id.
    pub id: String,
    /// The step's name.
    pub name: String,
    /// The action, e.g. `aws:executeAutomation`.
    pub action: String,
    /// Its status.
    pub status: AutomationStatus,
    /// When it started.
    pub start: Option<f64>,
    /// When it ended.
    pub end: Option<f64>,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// Its outputs (for `aws:executeAutomation`: `ExecutionId`).
    pub outputs: Parameters,
    /// The location it ran in (multi-location parents only).
    pub target_location: Option<WireTargetLocation>,
    /// The document step it runs (`None`: a step of the simulator's own, such as a parent's
    /// `aws:executeAutomation` steps).
    pub properties: Option<StepSpec>,
    /// Its inputs, resolved.
    pub inputs: BTreeMap<String, String>,
}

/// One automation execution, in one account and Region.
#[derive(Debug, Clone)]
pub struct Execution {
    /// `AutomationExecutionId`.
    pub id: String,
    /// The account it lives in.
    pub account: String,
    /// The Region it lives in.
    pub region: String,
    /// What the caller started it with (for children: derived from the parent's).
    pub request: StartRequest,
    /// `CrossAccount` for a multi-location parent, else `Local`.
    pub automation_type: &'static str,
    /// The parent, for children.
    pub parent_id: Option<String>,
    /// The target value of a per-target child.
    pub target: Option<String>,
    /// The target values a rate-controlled execution resolved.
    pub resolved_targets: Vec<String>,
    /// Its status.
    pub status: AutomationStatus,
    /// When it started.
    pub start: f64,
    /// When it ended.
    pub end: Option<f64>,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// Its steps.
    pub steps: Vec<Step>,
    /// The ARN of the caller.
    pub executed_by: String,
    /// Set by `StopAutomationExecution` (and by a triggered alarm).
    pub cancel_requested: bool,
    /// The signals its waiting step received.
    pub signals: Signals,
    /// Given a slot of its account-Region's concurrency quota (until then it is `Pending`).
    pub admitted: bool,
    /// Its place in the order of creation (the quota's queue is first in, first out).
    pub sequence: u64,
    /// The alarms in `ALARM` state that stopped it.
    pub triggered_alarms: Vec<String>,
}

impl Step {
    /// A step not started yet, with a fresh id.
    pub(super) fn pending(name: String, action: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            action: action.to_owned(),
            status: AutomationStatus::Pending,
            start: None,
            end: None,
            failure_message: None,
            outputs: Parameters::new(),
            target_location: None,
            properties: None,
            inputs: BTreeMap::new(),
        }
    }
}

/// What a child takes from its parent: the parent's id, and who started the parent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parentage<'a> {
    /// The parent's execution id.
    pub id: &'a str,
    /// Who started the parent (the child is started by the same).
    pub executed_by: &'a str,
}

impl<'a> From<&'a Execution> for Parentage<'a> {
    fn from(parent: &'a Execution) -> Self {
        Self {
            id: &parent.id,
            executed_by: &parent.executed_by,
        }
    }
}

impl Execution {
    /// The step running or waiting now; before any has started, the first one not final; none
    /// once the execution is over (steps that `nextStep`, `isEnd` or `onFailure` skipped stay
    /// `Pending`).
    pub fn current_step(&self) -> Option<&Step> {
        let active = |status| {
            matches!(
                status,
                AutomationStatus::InProgress | AutomationStatus::Waiting
            )
        };
        if self.status.is_final() {
            return None;
        }
        self.steps
            .iter()
            .find(|step| active(step.status))
            .or_else(|| self.steps.iter().find(|step| !step.status.is_final()))
    }

    /// A `Local` execution of `request` in `account` and `region`, with a fresh id, `Pending`
    /// until its account-Region's concurrency quota admits it.
    pub(super) fn new(
        account: &str,
        region: &str,
        request: StartRequest,
        executed_by: String,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            account: account.to_owned(),
            region: region.to_owned(),
            request,
            automation_type: "Local",
            parent_id: None,
            target: None,
            resolved_targets: Vec::new(),
            status: AutomationStatus::Pending,
            start: now(),
            end: None,
            failure_message: None,
            steps: Vec::new(),
            executed_by,
            cancel_requested: false,
            signals: Signals::default(),
            admitted: false,
            sequence: 0,
            triggered_alarms: Vec::new(),
        }
    }
}

impl Engine {
    /// A copy of execution `id` when `caller` may see it (same account and Region).
    pub fn execution(&self, caller: &Caller, id: &str) -> Result<Execution, ApiError> {
        self.with_execution(caller, id, Execution::clone)
    }

    /// `read` of execution `id`, which `caller` must be able to see, in place: a parent of
    /// thousands of locations is not copied to answer one call.
    pub fn with_execution<R>(
        &self,
        caller: &Caller,
        id: &str,
        read: impl FnOnce(&Execution) -> R,
    ) -> Result<R, ApiError> {
        lock(&self.executions)
            .get(id)
            .filter(|execution| {
                execution.account == caller.account && execution.region == caller.region
            })
            .map(read)
            .ok_or_else(|| {
                ApiError::new(
                    "AutomationExecutionNotFoundException",
                    format!("Automation execution {id} was not found."),
                )
            })
    }

    /// Every execution `caller` may see, newest first.
    pub fn visible(&self, caller: &Caller) -> Vec<Execution> {
        let mut visible: Vec<Execution> = lock(&self.executions)
            .values()
            .filter(|execution| {
                execution.account == caller.account && execution.region == caller.region
            })
            .cloned()
            .collect();
        visible.sort_by(|a, b| b.start.total_cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        visible
    }

    /// A copy of execution `id`, whoever owns it.
    pub(super) fn snapshot(&self, id: &str) -> Option<Execution> {
        self.read(id, Execution::clone)
    }

    /// `read` of execution `id`, in place.
    pub(super) fn read<R>(&self, id: &str, read: impl FnOnce(&Execution) -> R) -> Option<R> {
        lock(&self.executions).get(id).map(read)
    }

    pub(super) fn update(&self, id: &str, change: impl FnOnce(&mut Execution)) {
        if let Some(execution) = lock(&self.executions).get_mut(id) {
            change(execution);
        }
    }

    pub(super) fn cancelled(&self, id: &str) -> bool {
        lock(&self.executions)
            .get(id)
            .is_some_and(|execution| execution.cancel_requested)
    }

    /// `StartAutomationExecution`: checks the request, creates the execution and runs it in
    /// the background.
    pub async fn start(
        self: &Arc<Self>,
        caller: &Caller,
        request: StartRequest,
    ) -> Result<String, ApiError> {
        super::validation::check_request(&request)?;
        if let Some(token) = &request.client_token {
            // The API reference: the token "is case insensitive".
            let token = token.to_ascii_lowercase();
            let key = (caller.account.clone(), caller.region.clone(), token.clone());
            let fingerprint = serde_json::to_string(&StartRequest {
                client_token: Some(token),
                ..request.clone()
            })
            .unwrap_or_default();
            if let Some((seen, id)) = lock(&self.client_tokens).get(&key) {
                return if *seen == fingerprint {
                    Ok(id.clone())
                } else {
                    Err(ApiError::new(
                        "IdempotentParameterMismatch",
                        "Error occurred during operation 'StartAutomationExecution'. The client token was used with different parameters.",
                    ))
                };
            }
            let source = self.checked_source(caller, &request).await?;
            let id = self.create(caller, request, source)?;
            lock(&self.client_tokens).insert(key, (fingerprint, id.clone()));
            return Ok(id);
        }
        let source = self.checked_source(caller, &request).await?;
        self.create(caller, request, source)
    }

    /// Stores a new execution (refused when its account-Region's queue is full) and runs it in
    /// the background once the concurrency quota admits it.
    fn create(
        self: &Arc<Self>,
        caller: &Caller,
        request: StartRequest,
        source: DocumentSource,
    ) -> Result<String, ApiError> {
        let multi_location = !request.target_locations.is_empty();
        let executed_by = format!("arn:aws:iam::{}:root", caller.account);
        let mut execution = Execution::new(&caller.account, &caller.region, request, executed_by);
        if multi_location {
            execution.automation_type = "CrossAccount";
        }
        let id = self.enqueue(execution)?;
        let engine = Arc::clone(self);
        let run_id = id.clone();
        tokio::spawn(async move {
            if !engine.admit(&run_id).await {
                return;
            }
            engine.watch_alarms(&run_id).await;
            if multi_location {
                engine.run_parent(&run_id, &source).await;
            } else {
                engine
                    .run_execution(&run_id, &source, BTreeMap::new())
                    .await;
            }
        });
        Ok(id)
    }

    /// Stores a child of `parent` (a location's execution, or a target's) and returns its id.
    pub(super) fn create_child(
        &self,
        parent: Parentage<'_>,
        account: &str,
        region: &str,
        request: StartRequest,
        target: Option<String>,
    ) -> String {
        let mut child = Execution::new(account, region, request, parent.executed_by.to_owned());
        child.parent_id = Some(parent.id.to_owned());
        child.target = target;
        child.sequence = self.next_sequence();
        self.store(&mut lock(&self.executions), child)
    }

    /// `StopAutomationExecution`: asks the execution and all its descendants to stop.
    pub fn stop(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let execution = self.execution(caller, id)?;
        if execution.status.is_final() {
            return Err(ApiError::new(
                "InvalidAutomationStatusUpdateException",
                format!(
                    "Automation execution {id} is {:?} and can no longer be stopped.",
                    execution.status
                ),
            ));
        }
        self.stop_tree(id);
        Ok(())
    }

    /// Asks execution `id` and all its descendants to stop; those still queued end
    /// `Cancelled` without starting.
    pub(super) fn stop_tree(&self, id: &str) {
        let mut executions = lock(&self.executions);
        let mut pending = vec![id.to_owned()];
        while let Some(next) = pending.pop() {
            pending.extend(
                executions
                    .values()
                    .filter(|child| child.parent_id.as_deref() == Some(next.as_str()))
                    .map(|child| child.id.clone()),
            );
            if let Some(execution) = executions.get_mut(&next) {
                if !execution.status.is_final() {
                    execution.cancel_requested = true;
                    if execution.admitted {
                        execution.status = AutomationStatus::Cancelling;
                    }
                }
            }
        }
        drop(executions);
        self.slot_freed();
    }

    pub(super) fn set_step(
        &self,
        id: &str,
        index: usize,
        status: AutomationStatus,
        failure_message: Option<String>,
    ) {
        self.update(id, |execution| {
            if let Some(step) = execution.steps.get_mut(index) {
                if step.start.is_none() && status != AutomationStatus::Cancelled {
                    step.start = Some(now());
                }
                step.status = status;
                if status.is_final() {
                    step.end = Some(now());
                }
                if failure_message.is_some() {
                    step.failure_message = failure_message;
                }
            }
        });
    }

    pub(super) fn finish(
        &self,
        id: &str,
        status: AutomationStatus,
        failure_message: Option<String>,
    ) {
        self.update(id, |execution| {
            execution.status = status;
            execution.end = Some(now());
            if failure_message.is_some() {
                execution.failure_message = failure_message;
            }
        });
        self.slot_freed();
    }

    /// Runs child `child` to its end and reports it on step `index` of `parent_id`: the step
    /// takes the child's status and failure message.
    pub(super) async fn run_child_step(
        self: &Arc<Self>,
        parent_id: &str,
        index: usize,
        child: &str,
        source: &DocumentSource,
        tags: BTreeMap<String, String>,
    ) -> AutomationStatus {
        // A child counts against its own account-Region's quota like any automation.
        let status = if self.admit(child).await {
            self.watch_alarms(child).await;
            self.run_execution(child, source, tags).await
        } else {
            AutomationStatus::Cancelled
        };
        let message = self.snapshot(child).and_then(|child| child.failure_message);
        self.set_step(parent_id, index, status, message);
        status
    }

    /// Runs one execution in its own account and Region: fanned out over its targets when it
    /// has any, else the document's steps.
    /// (Boxed: a rate-controlled execution runs its per-target children through it again.)
    pub(super) fn run_execution<'a>(
        self: &'a Arc<Self>,
        id: &'a str,
        source: &'a DocumentSource,
        tags: BTreeMap<String, String>,
    ) -> Pin<Box<dyn Future<Output = AutomationStatus> + Send + 'a>> {
        Box::pin(async move {
            let Some(execution) = self.snapshot(id) else {
                return AutomationStatus::Failed;
            };
            if execution.request.targets.is_empty() && execution.request.target_maps.is_empty() {
                self.run_document(&execution, source, &tags).await
            } else {
                self.run_targets(&execution, source).await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_step_runs_after_a_skipped_one_then_it_is_the_current_step() {
        // `AutomationExecution.CurrentStepName`: "The name of the step that is currently
        // running."
        let mut execution =
            Execution::new("1", "us-east-1", StartRequest::default(), String::new());
        execution.steps = ["first", "skipped", "third"]
            .map(|name| Step::pending(name.to_owned(), "aws:sleep"))
            .to_vec();
        assert_eq!(
            execution.current_step().map(|s| s.name.as_str()),
            Some("first")
        );
        execution.steps[0].status = AutomationStatus::Success;
        execution.steps[2].status = AutomationStatus::Waiting;
        assert_eq!(
            execution.current_step().map(|s| s.name.as_str()),
            Some("third")
        );
        execution.status = AutomationStatus::Success;
        assert!(execution.current_step().is_none());
    }
}
