//! [`Automation`] over SSM in one account and Region: starts (idempotent by client token),
//! execution state, a parent's per-location steps and a rate-controlled execution's children.

use super::aws_error;
use crate::model::{AccountId, AutomationStatus, Location, Parameters, Region, TargetLocation};
use crate::ports::{
    Automation, ExecutionState, LocationStep, Preview, StartAutomation, StepPage, TargetExecution,
};
use crate::{Error, Result};
use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{
    Alarm, AlarmConfiguration, AutomationExecutionFilter, AutomationExecutionFilterKey,
    AutomationExecutionInputs, ExecutionInputs, ExecutionPreview, ExecutionPreviewStatus, Target,
    TargetLocation as SdkTargetLocation,
};
use std::collections::HashMap;

/// How often, and how many times, a preview is polled.
const PREVIEW_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
const PREVIEW_POLLS: u32 = 120;

/// The most steps `DescribeAutomationStepExecutions` returns a page (SSM's maximum): the fewest
/// pages, each a call against the central account's 3 reads a second.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // 50
pub const MAX_STEPS_PER_PAGE: i32 = crate::ports::STEPS_PER_PAGE as i32;

/// SSM Automation through one client (one account, one Region).
#[derive(Debug, Clone)]
pub struct SsmAutomation {
    client: Client,
}

impl SsmAutomation {
    /// Automation through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// SSM's status as the fabric's; one it does not know is `Unrecognized` (and logged), so a
/// status SSM adds later neither fails the run nor keeps it waiting.
fn status(value: Option<&str>) -> AutomationStatus {
    let value = value.unwrap_or("Pending");
    serde_json::from_value(serde_json::Value::String(value.to_owned())).unwrap_or_else(|_| {
        tracing::warn!(status = %crate::error::shown(value), "SSM reported an automation status the fabric does not know");
        AutomationStatus::Unrecognized
    })
}

fn parameters(map: Option<&HashMap<String, Vec<String>>>) -> Parameters {
    map.map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn sdk_target_location(location: &TargetLocation) -> Result<SdkTargetLocation> {
    let alarm = location
        .target_location_alarm_configuration
        .as_ref()
        .map(|alarm| sdk_alarm(&alarm.alarm, alarm.ignore_poll_alarm_failure))
        .transpose()?;
    Ok(SdkTargetLocation::builder()
        .set_accounts(Some(
            location.accounts.iter().map(ToString::to_string).collect(),
        ))
        .set_regions(Some(
            location.regions.iter().map(ToString::to_string).collect(),
        ))
        .execution_role_name(location.execution_role().as_str())
        .set_target_location_max_concurrency(
            location
                .target_location_max_concurrency
                .map(|c| c.to_string()),
        )
        .set_target_location_max_errors(location.target_location_max_errors.map(|e| e.to_string()))
        .set_target_location_alarm_configuration(alarm)
        .include_child_organization_units(location.include_child_organization_units)
        .set_exclude_accounts((!location.exclude_accounts.is_empty()).then(|| {
            location
                .exclude_accounts
                .iter()
                .map(ToString::to_string)
                .collect()
        }))
        .set_targets(location.targets.clone().map(|target| {
            let target = crate::model::SsmTarget::from(target);
            vec![
                Target::builder()
                    .key(target.key)
                    .set_values(Some(target.values))
                    .build(),
            ]
        }))
        .set_targets_max_concurrency(location.targets_max_concurrency.map(|c| c.to_string()))
        .set_targets_max_errors(location.targets_max_errors.map(|e| e.to_string()))
        .build())
}

/// The request's parameters as the SDK takes them (none when empty).
fn sdk_parameters(request: &StartAutomation) -> Option<HashMap<String, Vec<String>>> {
    (!request.parameters.is_empty()).then(|| {
        request
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// The request's targets as the SDK takes them (none when empty).
fn sdk_targets(request: &StartAutomation) -> Option<Vec<Target>> {
    (!request.targets.is_empty()).then(|| {
        request
            .targets
            .iter()
            .map(|(key, values)| {
                Target::builder()
                    .key(key)
                    .set_values(Some(values.clone()))
                    .build()
            })
            .collect()
    })
}

/// The request's target locations as the SDK takes them (none when empty).
fn sdk_target_locations(request: &StartAutomation) -> Result<Option<Vec<SdkTargetLocation>>> {
    if request.target_locations.is_empty() {
        return Ok(None);
    }
    request
        .target_locations
        .iter()
        .map(sdk_target_location)
        .collect::<Result<_>>()
        .map(Some)
}

/// SSM's alarm configuration for one alarm.
fn sdk_alarm(name: &str, ignore_poll_alarm_failure: bool) -> Result<AlarmConfiguration> {
    let invalid = |error: aws_sdk_ssm::error::BuildError| Error::InvalidValue {
        what: "alarm configuration",
        value: name.to_owned(),
        expected: error.to_string(),
    };
    let alarm = Alarm::builder().name(name).build().map_err(invalid)?;
    AlarmConfiguration::builder()
        .ignore_poll_alarm_failure(ignore_poll_alarm_failure)
        .alarms(alarm)
        .build()
        .map_err(invalid)
}

fn location_of(location: Option<&SdkTargetLocation>) -> Option<Location> {
    let location = location?;
    let account = AccountId::new(location.accounts().first()?.as_str()).ok()?;
    let region = Region::new(location.regions().first()?.as_str()).ok()?;
    Some(Location::new(account, region))
}

#[async_trait]
impl Automation for SsmAutomation {
    #[tracing::instrument(skip(self, request), fields(document = %request.document, client_token = %request.client_token))]
    async fn start(&self, request: &StartAutomation) -> Result<String> {
        let alarm = request
            .alarm
            .as_ref()
            .map(|(name, ignore)| sdk_alarm(name, *ignore))
            .transpose()?;
        let answer = self
            .client
            .start_automation_execution()
            .document_name(&request.document)
            .set_document_version(request.document_version.clone())
            .set_parameters(sdk_parameters(request))
            .set_target_parameter_name(request.target_parameter_name.clone())
            .set_targets(sdk_targets(request))
            .set_max_concurrency(request.max_concurrency.clone())
            .set_max_errors(request.max_errors.clone())
            .set_target_locations(sdk_target_locations(request)?)
            .set_alarm_configuration(alarm)
            .client_token(&request.client_token)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "ssm",
                    "StartAutomationExecution",
                    e,
                )
            })?;
        answer
            .automation_execution_id()
            .map(str::to_owned)
            .ok_or_else(|| Error::Aws {
                region: None,
                service: "ssm",
                operation: "StartAutomationExecution",
                code: None,
                message: "SSM returned no execution id".to_owned(),
                retryable: false,
                failure: crate::error::AwsFailure::Other,
                detail: None,
            })
    }

    #[tracing::instrument(skip(self, request), fields(document = %request.document))]
    async fn preview(&self, request: &StartAutomation) -> Result<Preview> {
        let inputs = AutomationExecutionInputs::builder()
            .set_parameters(sdk_parameters(request))
            .set_target_parameter_name(request.target_parameter_name.clone())
            .set_targets(sdk_targets(request))
            .set_target_locations(sdk_target_locations(request)?)
            .build();
        let started = self
            .client
            .start_execution_preview()
            .document_name(&request.document)
            .set_document_version(request.document_version.clone())
            .execution_inputs(ExecutionInputs::Automation(inputs))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "ssm",
                    "StartExecutionPreview",
                    e,
                )
            })?;
        let id = started
            .execution_preview_id()
            .unwrap_or_default()
            .to_owned();
        for _ in 0..PREVIEW_POLLS {
            let answer = self
                .client
                .get_execution_preview()
                .execution_preview_id(&id)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        self.client.config().region(),
                        "ssm",
                        "GetExecutionPreview",
                        e,
                    )
                })?;
            match answer.status() {
                Some(ExecutionPreviewStatus::Success) => {
                    let Some(ExecutionPreview::Automation(preview)) = answer.execution_preview()
                    else {
                        return Ok(Preview::default());
                    };
                    return Ok(Preview {
                        accounts: u32::try_from(preview.total_accounts()).unwrap_or(0),
                        regions: preview.regions().iter().cloned().collect(),
                        targets: preview
                            .target_previews()
                            .iter()
                            .map(|target| u32::try_from(target.count()).unwrap_or(0))
                            .sum(),
                    });
                }
                Some(ExecutionPreviewStatus::Failed) => {
                    return Err(Error::Unrunnable {
                        problem: format!(
                            "SSM could not preview the run: {}",
                            answer.status_message().unwrap_or("no reason given")
                        ),
                    });
                }
                _ => tokio::time::sleep(PREVIEW_POLL_INTERVAL).await,
            }
        }
        Err(Error::Aws {
            region: None,
            service: "ssm",
            operation: "GetExecutionPreview",
            code: None,
            message: format!("the preview {id} did not end in time"),
            retryable: true,
            failure: crate::error::AwsFailure::Other,
            detail: None,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn execution(&self, id: &str) -> Result<ExecutionState> {
        let answer = self
            .client
            .get_automation_execution()
            .automation_execution_id(id)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "ssm",
                    "GetAutomationExecution",
                    e,
                )
            })?;
        let execution = answer.automation_execution().ok_or_else(|| Error::Aws {
            region: None,
            service: "ssm",
            operation: "GetAutomationExecution",
            code: None,
            message: format!("SSM returned no execution for {id}"),
            retryable: false,
            failure: crate::error::AwsFailure::Other,
            detail: None,
        })?;
        Ok(ExecutionState {
            status: status(
                execution
                    .automation_execution_status()
                    .map(aws_sdk_ssm::types::AutomationExecutionStatus::as_str),
            ),
            failure_message: execution.failure_message().map(str::to_owned),
            outputs: parameters(execution.outputs()),
            resolved_targets: execution
                .resolved_targets()
                .map(|targets| targets.parameter_values().to_vec())
                .unwrap_or_default(),
            step_counts: execution.progress_counters().map(|counters| {
                let count = |n: i32| usize::try_from(n).unwrap_or(0);
                crate::ports::StepCounts {
                    total: count(counters.total_steps()),
                    success: count(counters.success_steps()),
                    failed: count(counters.failed_steps()),
                    cancelled: count(counters.cancelled_steps()),
                    timed_out: count(counters.timed_out_steps()),
                }
            }),
        })
    }

    #[tracing::instrument(skip(self))]
    async fn location_steps(&self, parent_id: &str) -> Result<Vec<LocationStep>> {
        let mut steps = Vec::new();
        let mut next_token = None;
        // Pages are asked no faster than SSM answers them (3 reads a second per account and
        // Region): a long listing is not throttled, and no page is asked twice.
        loop {
            let next_request = tokio::time::Instant::now() + crate::ports::STEP_PAGE_INTERVAL;
            let page = self
                .location_steps_page(parent_id, next_token.as_deref())
                .await?;
            steps.extend(page.steps);
            next_token = page.next_token;
            if next_token.is_none() {
                return Ok(steps);
            }
            tokio::time::sleep_until(next_request).await;
        }
    }

    #[tracing::instrument(skip(self))]
    async fn location_steps_page(
        &self,
        parent_id: &str,
        next_token: Option<&str>,
    ) -> Result<StepPage> {
        let page = self
            .client
            .describe_automation_step_executions()
            .automation_execution_id(parent_id)
            .max_results(MAX_STEPS_PER_PAGE)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "ssm",
                    "DescribeAutomationStepExecutions",
                    e,
                )
            })?;
        Ok(StepPage {
            steps: page
                .step_executions()
                .iter()
                .map(|step| LocationStep {
                    location: location_of(step.target_location()),
                    status: status(
                        step.step_status()
                            .map(aws_sdk_ssm::types::AutomationExecutionStatus::as_str),
                    ),
                    failure_message: step.failure_message().map(str::to_owned),
                    child_execution_id: step
                        .outputs()
                        .and_then(|outputs| outputs.get("ExecutionId"))
                        .and_then(|ids| ids.first())
                        .cloned(),
                })
                .collect(),
            next_token: page.next_token().map(str::to_owned),
        })
    }

    #[tracing::instrument(skip(self))]
    async fn target_executions(&self, parent_id: &str) -> Result<Vec<TargetExecution>> {
        let filter = AutomationExecutionFilter::builder()
            .key(AutomationExecutionFilterKey::ParentExecutionId)
            .values(parent_id)
            .build()
            .map_err(|error| Error::Internal {
                problem: format!("the ParentExecutionId filter: {error}"),
            })?;
        let mut children = Vec::new();
        let mut pages = self
            .client
            .describe_automation_executions()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "ssm",
                    "DescribeAutomationExecutions",
                    e,
                )
            })?;
            for child in page.automation_execution_metadata_list() {
                children.push(TargetExecution {
                    target: child.target().unwrap_or_default().to_owned(),
                    status: status(
                        child
                            .automation_execution_status()
                            .map(aws_sdk_ssm::types::AutomationExecutionStatus::as_str),
                    ),
                    failure_message: child.failure_message().map(str::to_owned),
                });
            }
        }
        Ok(children)
    }

    #[tracing::instrument(skip(self))]
    async fn stop(&self, id: &str) -> Result<()> {
        match self
            .client
            .stop_automation_execution()
            .automation_execution_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match aws_error(
                self.client.config().region(),
                "ssm",
                "StopAutomationExecution",
                error,
            ) {
                // The API reference: "The specified update status operation isn't valid"
                // (the execution has ended meanwhile): nothing is left to stop.
                Error::Aws {
                    code: Some(code), ..
                } if code == ALREADY_ENDED => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// The error `StopAutomationExecution` answers for an execution that has ended.
const ALREADY_ENDED: &str = "InvalidAutomationStatusUpdateException";

#[cfg(test)]
#[path = "ssm_tests.rs"]
mod tests;
