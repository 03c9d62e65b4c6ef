//! Rate-controlled executions: `Targets` (by tag, tag key, resource group or parameter values,
//! resolved against moto's EC2 instances and resource groups) or `TargetMaps` expanded to one
//! child per target, run under `MaxConcurrency` and `MaxErrors`.

use super::documents::DocumentSource;
use super::{AutomationStatus, Engine, Execution, Step};
use crate::moto::{GroupQuery, Instance};
use crate::wire::{ApiError, Parameters, StartRequest, WireTarget};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The API reference (`StartAutomationExecution`, `MaxConcurrency`): "The default value is
/// `10`."
const DEFAULT_TARGET_CONCURRENCY: u32 = 10;
/// No `MaxErrors`: every target runs whatever fails (the simulator's choice; the API
/// reference gives no default).
const NO_ERROR_THRESHOLD: u32 = u32::MAX;

/// What a per-target child acts on.
#[derive(Debug, Clone)]
pub(super) struct TargetWork {
    value: String,
    parameters: Parameters,
    tags: BTreeMap<String, String>,
}

impl Engine {
    /// A rate-controlled execution: one child per target, under its concurrency and threshold.
    pub(super) async fn run_targets(
        self: &Arc<Self>,
        execution: &Execution,
        source: &DocumentSource,
    ) -> AutomationStatus {
        let targets = match self.resolve_targets(execution).await {
            Ok(targets) => targets,
            Err(error) => {
                self.finish(&execution.id, AutomationStatus::Failed, Some(error.message));
                return AutomationStatus::Failed;
            }
        };
        if targets.is_empty() {
            let message = "No targets were found: no resource matches the execution's Targets in this account and Region.";
            self.finish(
                &execution.id,
                AutomationStatus::Failed,
                Some(message.to_owned()),
            );
            return AutomationStatus::Failed;
        }
        self.update(&execution.id, |e| {
            e.resolved_targets = targets.iter().map(|t| t.value.clone()).collect();
        });
        let request = &execution.request;
        let (parent, source) = (execution.clone(), source.clone());
        let outcomes = self
            .fan_out(
                &execution.id,
                targets.clone(),
                (
                    request.max_concurrency.as_deref(),
                    request.max_errors.as_deref(),
                ),
                (DEFAULT_TARGET_CONCURRENCY, NO_ERROR_THRESHOLD),
                super::fan_out::Ramp::Exponential,
                move |engine, target| {
                    let (parent, source) = (parent.clone(), source.clone());
                    async move { engine.run_target(&parent, &source, target).await }
                },
            )
            .await;
        let started = outcomes.iter().flatten().count();
        let failed = outcomes
            .iter()
            .flatten()
            .filter(|status| !status.is_success())
            .count();
        let (status, message) = if self.cancelled(&execution.id) {
            (AutomationStatus::Cancelled, None)
        } else if failed == 0 && started == targets.len() {
            (AutomationStatus::Success, None)
        } else {
            let not_started = targets.len() - started;
            let threshold = if not_started > 0 {
                format!(
                    " The error threshold (MaxErrors) was reached: {not_started} targets were not started."
                )
            } else {
                String::new()
            };
            let message = format!("{failed} of {} targets failed.{threshold}", targets.len());
            (AutomationStatus::Failed, Some(message))
        };
        self.finish(&execution.id, status, message);
        status
    }

    /// One target of a rate-controlled execution: an `Invocation-<target>` step on the parent
    /// and the child that acts on the target.
    async fn run_target(
        self: Arc<Self>,
        parent: &Execution,
        source: &DocumentSource,
        target: TargetWork,
    ) -> AutomationStatus {
        let request = StartRequest {
            document_name: parent.request.document_name.clone(),
            document_version: parent.request.document_version.clone(),
            parameters: target.parameters.clone(),
            mode: parent.request.mode.clone(),
            ..StartRequest::default()
        };
        let child = self.create_child(
            parent.into(),
            &parent.account,
            &parent.region,
            request,
            Some(target.value.clone()),
        );
        let mut step = Step::pending(
            format!("Invocation-{}", target.value),
            "aws:executeAutomation",
        );
        step.status = AutomationStatus::InProgress;
        step.start = Some(super::now());
        step.outputs = [("ExecutionId".to_owned(), vec![child.clone()])].into();
        let mut step_index = 0;
        self.update(&parent.id, |execution| {
            execution.steps.push(step);
            step_index = execution.steps.len() - 1;
        });
        self.run_child_step(&parent.id, step_index, &child, source, target.tags)
            .await
    }

    /// The targets of a rate-controlled execution, with each instance's tags.
    pub(super) async fn resolve_targets(
        &self,
        execution: &Execution,
    ) -> Result<Vec<TargetWork>, ApiError> {
        let request = &execution.request;
        let parameter = request
            .target_parameter_name
            .clone()
            .unwrap_or_else(|| "InstanceId".to_owned());
        let with_value = |value: String, tags: BTreeMap<String, String>| {
            let mut parameters = request.parameters.clone();
            parameters.insert(parameter.clone(), vec![value.clone()]);
            TargetWork {
                value,
                parameters,
                tags,
            }
        };
        if !request.target_maps.is_empty() {
            return Ok(request
                .target_maps
                .iter()
                .enumerate()
                .map(|(index, map)| {
                    let mut parameters = request.parameters.clone();
                    parameters.extend(map.clone());
                    TargetWork {
                        value: format!("TargetMap-{index}"),
                        parameters,
                        tags: BTreeMap::new(),
                    }
                })
                .collect());
        }
        let mut resolved = Vec::new();
        for WireTarget { key, values } in &request.targets {
            let instances: Vec<Instance> = if let Some(tag) = key.strip_prefix("tag:") {
                self.moto
                    .instances(
                        &execution.account,
                        &execution.region,
                        &[(tag.to_owned(), values.clone())],
                    )
                    .await?
            } else if key == "tag-key" {
                let mut all = Vec::new();
                for tag in values {
                    all.extend(
                        self.moto
                            .instances(
                                &execution.account,
                                &execution.region,
                                &[(tag.clone(), Vec::new())],
                            )
                            .await?,
                    );
                }
                all
            } else if key == "ResourceGroup" {
                let group = values.first().cloned().unwrap_or_default();
                self.group_instances(execution, &group).await?
            } else if key == "ParameterValues" {
                resolved.extend(
                    values
                        .iter()
                        .map(|value| with_value(value.clone(), BTreeMap::new())),
                );
                continue;
            } else {
                return Err(ApiError::validation(format!(
                    "Target key {key} is not supported."
                )));
            };
            resolved.extend(
                instances
                    .into_iter()
                    .map(|instance| with_value(instance.id, instance.tags)),
            );
        }
        let mut seen = BTreeSet::new();
        resolved.retain(|target| seen.insert(target.value.clone()));
        Ok(resolved)
    }

    /// The instances resource group `group` holds in the execution's account and Region: a tag
    /// query's matches, or a CloudFormation stack query's `AWS::EC2::Instance` resources (the
    /// query's `StackIdentifier`: "All supported resources of the CloudFormation stack are
    /// members of the resource group").
    async fn group_instances(
        &self,
        execution: &Execution,
        group: &str,
    ) -> Result<Vec<Instance>, ApiError> {
        let (account, region) = (&execution.account, &execution.region);
        match self.moto.group_query(account, region, group).await? {
            None => Err(ApiError::validation(format!(
                "Resource group {group} was not found in account {account} in {region}."
            ))),
            Some(GroupQuery::Tags(filters)) => self.moto.instances(account, region, &filters).await,
            Some(GroupQuery::Stack(stack)) => {
                let Some(ids) = self
                    .moto
                    .stack_resources(account, region, &stack, "AWS::EC2::Instance")
                    .await?
                else {
                    return Err(ApiError::validation(format!(
                        "Resource group {group} is based on CloudFormation stack {stack}, which was not found in account {account} in {region}."
                    )));
                };
                let instances = self.moto.instances(account, region, &[]).await?;
                Ok(instances
                    .into_iter()
                    .filter(|instance| ids.contains(&instance.id))
                    .collect())
            }
            // moto's Resource Groups accepts only the two query types above; were another to
            // come, the simulator refuses it rather than guess its members.
            Some(GroupQuery::Other(kind)) => Err(ApiError::validation(format!(
                "Resource group {group} has a {kind} query, which the simulator cannot resolve (it resolves TAG_FILTERS_1_0 and CLOUDFORMATION_STACK_1_0)."
            ))),
        }
    }
}
