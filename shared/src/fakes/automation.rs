//! A scripted SSM Automation for unit tests: parents with one step and one child per location,
//! ending as scripted, in the central account and in every target account.

use super::{Faults, lock};
use crate::model::{AccountId, AccountOrOu, AutomationStatus, Location, Region};
use crate::ports::{
    Automation, ExecutionState, LocationStep, Locations, Preview, STEPS_PER_PAGE, StartAutomation,
    StepCounts, StepPage, TargetExecution,
};
use crate::{Error, Result};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One execution the scripted service started: a parent (with its locations' children) or a
/// child in a target account.
#[derive(Debug, Clone)]
struct Execution {
    client_token: Option<String>,
    status: AutomationStatus,
    failure_message: Option<String>,
    /// A parent's steps: location, status, child id.
    steps: Vec<(Location, AutomationStatus, Option<String>)>,
}

#[derive(Debug, Default)]
struct Book {
    executions: BTreeMap<String, Execution>,
    /// Scripted outcomes by location (default: `Success`).
    outcomes: BTreeMap<Location, AutomationStatus>,
    /// A parent that fails before making any step, with this message.
    parent_failure: Option<String>,
    /// Parents report `InProgress` for this many more `execution` reads.
    running_reads: usize,
    /// How many times each execution was read (`execution`).
    reads: BTreeMap<String, usize>,
    /// How many step pages were read.
    page_reads: usize,
}

/// SSM Automation, scripted: every start makes a parent with one step and one child per
/// explicit account and Region, ending as scripted for its location (`Success` unless told).
/// It also serves the target accounts' Automation ([`Locations`]), where the children are.
#[derive(Debug, Clone, Default)]
pub struct ScriptedAutomation {
    book: Arc<Mutex<Book>>,
    /// Failures to answer (`start`, `execution`, `location_steps`, `automation_in`).
    pub faults: Arc<Faults>,
}

impl ScriptedAutomation {
    /// Makes `location` end with `status`.
    pub fn script(&self, location: Location, status: AutomationStatus) {
        lock(&self.book).outcomes.insert(location, status);
    }

    /// Makes every parent fail before it makes any step, with `message`.
    pub fn fail_parents(&self, message: &str) {
        lock(&self.book).parent_failure = Some(message.to_owned());
    }

    /// Parents answer `InProgress` for the next `reads` reads of their state.
    pub fn keep_running(&self, reads: usize) {
        lock(&self.book).running_reads = reads;
    }

    /// Ends `location`'s step and child, in every parent that has one, with `status`.
    pub fn end_location(&self, location: &Location, status: AutomationStatus) {
        let mut book = lock(&self.book);
        let mut children = Vec::new();
        for execution in book.executions.values_mut() {
            for (at, step_status, child) in &mut execution.steps {
                if at == location {
                    *step_status = status;
                    children.extend(child.clone());
                }
            }
        }
        for child in children {
            if let Some(child) = book.executions.get_mut(&child) {
                child.status = status;
                child.failure_message =
                    (!status.is_success()).then(|| format!("the runbook ended {status:?}"));
            }
        }
    }

    /// How many times execution `id` was read.
    pub fn reads_of(&self, id: &str) -> usize {
        lock(&self.book).reads.get(id).copied().unwrap_or(0)
    }

    /// How many pages of steps were read.
    pub fn page_reads(&self) -> usize {
        lock(&self.book).page_reads
    }

    /// The parents started, in order, with the client token of each.
    pub fn started(&self) -> Vec<(String, String)> {
        lock(&self.book)
            .executions
            .iter()
            .filter_map(|(id, execution)| {
                execution
                    .client_token
                    .clone()
                    .map(|token| (id.clone(), token))
            })
            .collect()
    }
}

#[async_trait]
impl Automation for ScriptedAutomation {
    async fn start(&self, request: &StartAutomation) -> Result<String> {
        self.faults.check("start")?;
        let mut book = lock(&self.book);
        if let Some((id, _)) = book
            .executions
            .iter()
            .find(|(_, e)| e.client_token.as_deref() == Some(request.client_token.as_str()))
        {
            return Ok(id.clone());
        }
        let id = format!("exec-{}", book.executions.len() + 1);
        let mut steps = Vec::new();
        if book.parent_failure.is_none() {
            for target in &request.target_locations {
                for account in &target.accounts {
                    let AccountOrOu::Account(account) = account else {
                        continue;
                    };
                    for region in &target.regions {
                        let location = Location::new(account.clone(), region.clone());
                        let status = book
                            .outcomes
                            .get(&location)
                            .copied()
                            .unwrap_or(AutomationStatus::Success);
                        let child = format!("{id}-child-{}", steps.len() + 1);
                        steps.push((location, status, Some(child)));
                    }
                }
            }
        }
        for (_, status, child) in &steps {
            if let Some(child) = child {
                book.executions.insert(
                    child.clone(),
                    Execution {
                        client_token: None,
                        status: *status,
                        failure_message: (!status.is_success())
                            .then(|| format!("the runbook ended {status:?}")),
                        steps: Vec::new(),
                    },
                );
            }
        }
        let failed = book.parent_failure.clone().or_else(|| {
            steps
                .iter()
                .any(|(_, status, _)| !status.is_success())
                .then(|| "some locations failed".to_owned())
        });
        book.executions.insert(
            id.clone(),
            Execution {
                client_token: Some(request.client_token.clone()),
                status: if failed.is_some() {
                    AutomationStatus::Failed
                } else {
                    AutomationStatus::Success
                },
                failure_message: failed,
                steps,
            },
        );
        Ok(id)
    }

    async fn preview(&self, request: &StartAutomation) -> Result<Preview> {
        let mut preview = Preview::default();
        for target in &request.target_locations {
            preview.accounts += u32::try_from(target.accounts.len()).unwrap_or(u32::MAX);
            preview
                .regions
                .extend(target.regions.iter().map(ToString::to_string));
        }
        Ok(preview)
    }

    async fn execution(&self, id: &str) -> Result<ExecutionState> {
        self.faults.check("execution")?;
        let mut book = lock(&self.book);
        *book.reads.entry(id.to_owned()).or_insert(0) += 1;
        let is_parent = book
            .executions
            .get(id)
            .is_some_and(|execution| execution.client_token.is_some());
        let running = is_parent && book.running_reads > 0;
        if is_parent {
            book.running_reads = book.running_reads.saturating_sub(1);
        }
        let execution = book
            .executions
            .get(id)
            .ok_or_else(|| Error::not_found("execution", id, None))?;
        let count = |wanted: fn(AutomationStatus) -> bool| {
            execution
                .steps
                .iter()
                .filter(|(_, s, _)| wanted(*s))
                .count()
        };
        Ok(ExecutionState {
            status: if running {
                AutomationStatus::InProgress
            } else {
                execution.status
            },
            failure_message: execution.failure_message.clone(),
            outputs: crate::model::Parameters::default(),
            resolved_targets: Vec::new(),
            step_counts: execution.client_token.as_ref().map(|_| StepCounts {
                total: execution.steps.len(),
                success: count(AutomationStatus::is_success),
                failed: count(|s| s == AutomationStatus::Failed),
                cancelled: count(|s| s == AutomationStatus::Cancelled),
                timed_out: count(|s| s == AutomationStatus::TimedOut),
            }),
        })
    }

    async fn location_steps(&self, parent_id: &str) -> Result<Vec<LocationStep>> {
        self.faults.check("location_steps")?;
        let book = lock(&self.book);
        let parent = book
            .executions
            .get(parent_id)
            .ok_or_else(|| Error::not_found("execution", parent_id, None))?;
        Ok(parent
            .steps
            .iter()
            .map(|(location, status, child)| LocationStep {
                location: Some(location.clone()),
                status: *status,
                failure_message: (!status.is_success())
                    .then(|| format!("the location ended {status:?}")),
                child_execution_id: child.clone(),
            })
            .collect())
    }

    async fn location_steps_page(
        &self,
        parent_id: &str,
        next_token: Option<&str>,
    ) -> Result<StepPage> {
        let from = match next_token {
            None => 0,
            Some(token) => token.parse().map_err(|_| Error::Aws {
                region: None,
                service: "ssm",
                operation: "DescribeAutomationStepExecutions",
                code: Some("InvalidNextToken".to_owned()),
                message: "The specified token is not valid.".to_owned(),
                retryable: false,
                failure: crate::error::AwsFailure::Other,
                detail: None,
            })?,
        };
        lock(&self.book).page_reads += 1;
        let steps = self.location_steps(parent_id).await?;
        let end = steps.len().min(from + STEPS_PER_PAGE);
        Ok(StepPage {
            steps: steps.get(from..end).unwrap_or_default().to_vec(),
            next_token: (end < steps.len()).then(|| end.to_string()),
        })
    }

    async fn target_executions(&self, _parent_id: &str) -> Result<Vec<TargetExecution>> {
        Ok(Vec::new())
    }

    async fn stop(&self, id: &str) -> Result<()> {
        let mut book = lock(&self.book);
        let execution = book
            .executions
            .get_mut(id)
            .ok_or_else(|| Error::not_found("execution", id, None))?;
        if !execution.status.is_final() {
            execution.status = AutomationStatus::Cancelled;
        }
        for (_, status, _) in &mut execution.steps {
            if !status.is_final() {
                *status = AutomationStatus::Cancelled;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Locations for ScriptedAutomation {
    async fn automation_in(
        &self,
        _account: &AccountId,
        _region: &Region,
    ) -> Result<Box<dyn Automation>> {
        self.faults.check("automation_in")?;
        Ok(Box::new(self.clone()))
    }
}
