//! The Automation API's operations (and the adaptive-concurrency service setting): each reads
//! its request, asks the engine, and answers in SSM's shapes. Filters and pagination behave as
//! SSM documents them.

use crate::ssm::engine::{ADAPTIVE_CONCURRENCY_SETTING, Caller, Engine, Execution, Signal};
use crate::wire::{ApiError, StartRequest, metadata, parse_request, step_to_wire, to_wire};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The operations the simulator answers; every other call goes to moto.
pub const OPERATIONS: &[&str] = &[
    "StartAutomationExecution",
    "GetAutomationExecution",
    "DescribeAutomationExecutions",
    "DescribeAutomationStepExecutions",
    "StopAutomationExecution",
    "SendAutomationSignal",
    "StartExecutionPreview",
    "GetExecutionPreview",
    "GetServiceSetting",
    "UpdateServiceSetting",
    "ResetServiceSetting",
];

/// A filter of a Describe call.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ById {
    automation_execution_id: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Listing {
    filters: Vec<Filter>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StepListing {
    automation_execution_id: String,
    #[serde(default)]
    filters: Vec<Filter>,
    #[serde(default)]
    max_results: Option<usize>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    reverse_order: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignalRequest {
    automation_execution_id: String,
    signal_type: String,
    #[serde(default)]
    payload: crate::wire::Parameters,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PreviewRequest {
    document_name: String,
    #[serde(default)]
    execution_inputs: Option<PreviewInputs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PreviewInputs {
    automation: Option<StartRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceSetting {
    setting_id: String,
    #[serde(default)]
    setting_value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PreviewId {
    execution_preview_id: String,
}

/// The operations, over one engine.
#[derive(Debug)]
pub struct Api {
    engine: Arc<Engine>,
    previews: Mutex<HashMap<String, (Caller, Value)>>,
}

impl Api {
    /// The API over `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            previews: Mutex::new(HashMap::new()),
        }
    }

    /// The engine behind the API.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Answers `operation` for `caller`.
    pub async fn call(
        &self,
        operation: &str,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        match operation {
            "StartAutomationExecution" => {
                let request: StartRequest = parse_request(body)?;
                let id = self.engine.start(caller, request).await?;
                Ok(json!({ "AutomationExecutionId": id }))
            }
            "GetAutomationExecution" => {
                let ById {
                    automation_execution_id,
                } = parse_request(body)?;
                let execution =
                    self.engine
                        .with_execution(caller, &automation_execution_id, to_wire)?;
                Ok(json!({ "AutomationExecution": execution }))
            }
            "DescribeAutomationExecutions" => self.describe_executions(caller, body),
            "DescribeAutomationStepExecutions" => self.describe_steps(caller, body),
            "StopAutomationExecution" => {
                let ById {
                    automation_execution_id,
                } = parse_request(body)?;
                self.engine.stop(caller, &automation_execution_id)?;
                Ok(json!({}))
            }
            "SendAutomationSignal" => {
                let request: SignalRequest = parse_request(body)?;
                let signal = Signal::parse(&request.signal_type)?;
                self.engine.signal(
                    caller,
                    &request.automation_execution_id,
                    signal,
                    &request.payload,
                )?;
                Ok(json!({}))
            }
            "StartExecutionPreview" => self.start_preview(caller, body).await,
            "GetExecutionPreview" => {
                let PreviewId {
                    execution_preview_id,
                } = parse_request(body)?;
                let previews = self
                    .previews
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match previews.get(&execution_preview_id) {
                    Some((owner, preview)) if owner == caller => Ok(preview.clone()),
                    _ => Err(ApiError::new(
                        "ResourceNotFoundException",
                        format!("Execution preview {execution_preview_id} was not found."),
                    )),
                }
            }
            "GetServiceSetting" | "UpdateServiceSetting" | "ResetServiceSetting" => {
                self.service_setting(operation, caller, body)
            }
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("{other} is not an operation of the simulator"),
            )),
        }
    }

    /// The one service setting the simulator keeps, adaptive concurrency, per account and
    /// Region ("Allowing Automation to adapt to your concurrency needs": `aws ssm
    /// update-service-setting --setting-id /ssm/automation/enable-adaptive-concurrency
    /// --setting-value True` turns it on "for your account in the requesting Region").
    fn service_setting(
        &self,
        operation: &str,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let ServiceSetting {
            setting_id,
            setting_value,
        } = parse_request(body)?;
        if setting_id != ADAPTIVE_CONCURRENCY_SETTING {
            return Err(ApiError::new(
                "ServiceSettingNotFound",
                format!(
                    "The service setting {setting_id} was not found (the simulator keeps only {ADAPTIVE_CONCURRENCY_SETTING})."
                ),
            ));
        }
        let engine = &self.engine;
        match operation {
            "UpdateServiceSetting" => {
                let enabled = match setting_value.as_deref().map(str::to_ascii_lowercase) {
                    Some(value) if value == "true" => true,
                    Some(value) if value == "false" => false,
                    _ => {
                        return Err(ApiError::validation(format!(
                            "The value of {setting_id} must be True or False."
                        )));
                    }
                };
                engine.set_adaptive_concurrency(&caller.account, &caller.region, enabled);
                return Ok(json!({}));
            }
            "ResetServiceSetting" => {
                engine.set_adaptive_concurrency(&caller.account, &caller.region, false);
            }
            _ => {}
        }
        let enabled = engine.adaptive_concurrency(&caller.account, &caller.region);
        Ok(json!({ "ServiceSetting": {
            "SettingId": setting_id,
            "SettingValue": if enabled { "True" } else { "False" },
            "ARN": format!("arn:aws:ssm:{}:{}:servicesetting{setting_id}", caller.region, caller.account),
            "Status": if enabled { "Customized" } else { "Default" },
        }}))
    }

    /// `DescribeAutomationExecutions`: the caller's executions through its filters, a page.
    fn describe_executions(&self, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
        let listing: Listing = parse_request(body)?;
        let mut matching = self.engine.visible(caller);
        for filter in &listing.filters {
            let mut refused = None;
            matching.retain(|execution| match matches_filter(execution, filter) {
                Ok(keep) => keep,
                Err(error) => {
                    refused = Some(error);
                    false
                }
            });
            if let Some(error) = refused {
                return Err(error);
            }
        }
        let page = paginate(
            &matching,
            listing.max_results,
            listing.next_token.as_deref(),
        )?;
        let mut answer = json!({
            "AutomationExecutionMetadataList": page.items.iter().map(metadata).collect::<Vec<_>>()
        });
        if let Some(token) = page.next_token {
            answer["NextToken"] = json!(token);
        }
        Ok(answer)
    }

    /// `DescribeAutomationStepExecutions`: one execution's steps through the filters, a page.
    fn describe_steps(&self, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
        let listing: StepListing = parse_request(body)?;
        self.engine
            .with_execution(caller, &listing.automation_execution_id, |execution| {
                step_page(execution, &listing)
            })?
    }

    /// Resolves what a run would touch without starting it: accounts, Regions and targets.
    async fn start_preview(&self, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
        let request: PreviewRequest = parse_request(body)?;
        let inputs = request
            .execution_inputs
            .and_then(|inputs| inputs.automation)
            .unwrap_or_default();
        let start = StartRequest {
            document_name: request.document_name,
            ..inputs
        };
        let preview = self.engine.preview(caller, &start).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let answer = json!({
            "ExecutionPreviewId": id,
            "Status": "Success",
            "EndedAt": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |t| t.as_secs_f64()),
            "ExecutionPreview": { "Automation": preview },
        });
        self.previews
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), (caller.clone(), answer));
        Ok(json!({ "ExecutionPreviewId": id }))
    }
}

/// Whether `execution` passes `filter`; SSM's other filter keys are refused by name.
fn matches_filter(execution: &Execution, filter: &Filter) -> Result<bool, ApiError> {
    let any = |value: &str| filter.values.iter().any(|wanted| wanted == value);
    Ok(match filter.key.as_str() {
        "ExecutionId" => any(&execution.id),
        "ParentExecutionId" => execution.parent_id.as_deref().is_some_and(any),
        "DocumentNamePrefix" => filter
            .values
            .iter()
            .any(|prefix| execution.request.document_name.starts_with(prefix.as_str())),
        "ExecutionStatus" => any(&format!("{:?}", execution.status)),
        "AutomationType" => any(execution.automation_type),
        "CurrentAction" => execution
            .current_step()
            .is_some_and(|step| any(&step.action)),
        other => {
            return Err(ApiError::validation(format!(
                "The filter key {other} is not supported by the simulator (it supports ExecutionId, \
                 ParentExecutionId, DocumentNamePrefix, ExecutionStatus, AutomationType, CurrentAction)."
            )));
        }
    })
}

/// One page of `execution`'s steps as `listing` asks: through its filters, in its order.
fn step_page(execution: &Execution, listing: &StepListing) -> Result<Value, ApiError> {
    if listing.filters.is_empty() && !listing.reverse_order {
        // The common listing, a page at a time: only the page's steps are put on the wire
        // (a parent of 200,000 locations is listed in 4,000 pages).
        let page = paginate(
            &execution.steps,
            listing.max_results,
            listing.next_token.as_deref(),
        )?;
        let mut answer =
            json!({ "StepExecutions": page.items.iter().map(step_to_wire).collect::<Vec<_>>() });
        if let Some(token) = page.next_token {
            answer["NextToken"] = json!(token);
        }
        return Ok(answer);
    }
    let mut steps: Vec<Value> = execution.steps.iter().map(step_to_wire).collect();
    for filter in &listing.filters {
        let field = match filter.key.as_str() {
            "StepExecutionStatus" => "StepStatus",
            "StepExecutionId" => "StepExecutionId",
            "StepName" => "StepName",
            "Action" => "Action",
            other => {
                return Err(ApiError::new(
                    "InvalidFilterKey",
                    format!("The filter key {other} is not valid for step executions."),
                ));
            }
        };
        steps.retain(|step| {
            filter
                .values
                .iter()
                .any(|v| step[field].as_str() == Some(v.as_str()))
        });
    }
    if listing.reverse_order {
        steps.reverse();
    }
    let page = paginate(&steps, listing.max_results, listing.next_token.as_deref())?;
    let mut answer = json!({ "StepExecutions": page.items });
    if let Some(token) = page.next_token {
        answer["NextToken"] = json!(token);
    }
    Ok(answer)
}

struct Page<'a, T> {
    items: &'a [T],
    next_token: Option<String>,
}

/// One page of `items`: at most `max_results` (1 to 50, default 50) from the offset in `token`.
fn paginate<'a, T>(
    items: &'a [T],
    max_results: Option<usize>,
    token: Option<&str>,
) -> Result<Page<'a, T>, ApiError> {
    let size = max_results.unwrap_or(50);
    if !(1..=50).contains(&size) {
        return Err(ApiError::validation("MaxResults must be between 1 and 50."));
    }
    let start = match token {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::new("InvalidNextToken", "The specified token is not valid."))?,
        None => 0,
    };
    let start = start.min(items.len());
    let end = (start + size).min(items.len());
    Ok(Page {
        items: &items[start..end],
        next_token: (end < items.len()).then(|| end.to_string()),
    })
}
