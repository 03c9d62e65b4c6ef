//! The Automation API's shapes on the wire (AWS JSON 1.1, `PascalCase`, epoch-second timestamps):
//! the requests it reads, the encoders of its answers (an execution as `GetAutomationExecution`
//! and `DescribeAutomationExecutions` return it, a step as `DescribeAutomationStepExecutions`
//! does) and its error responses (`{"__type": ..., "message": ...}` with HTTP 400).

use crate::ssm::engine::{Execution, Step};
use crate::ssm::status::AutomationStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Runbook parameters and outputs: name -> values.
pub type Parameters = BTreeMap<String, Vec<String>>;

/// SSM's `Target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireTarget {
    /// `tag:<key>`, `tag-key`, `ResourceGroup`, `ParameterValues`.
    pub key: String,
    /// The values.
    #[serde(default)]
    pub values: Vec<String>,
}

/// SSM's `TargetLocation`, every field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireTargetLocation {
    /// Account and OU ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Regions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Location concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_max_concurrency: Option<String>,
    /// Location error threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_max_errors: Option<String>,
    /// The role assumed in each account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_name: Option<String>,
    /// An alarm for the location (watched by the location's automation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_alarm_configuration: Option<Value>,
    /// Walk child OUs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_child_organization_units: Option<bool>,
    /// Accounts and OUs left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_accounts: Vec<String>,
    /// What to act on in each location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<WireTarget>,
    /// Target concurrency in each location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_max_concurrency: Option<String>,
    /// Target error threshold in each location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_max_errors: Option<String>,
}

/// `StartAutomationExecution`'s request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartRequest {
    /// Name or ARN.
    #[serde(default)]
    pub document_name: String,
    /// `$DEFAULT`, `$LATEST` or a number.
    #[serde(default)]
    pub document_version: Option<String>,
    /// Runbook parameters.
    #[serde(default)]
    pub parameters: Parameters,
    /// Idempotency token.
    #[serde(default)]
    pub client_token: Option<String>,
    /// `Auto` or `Interactive`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The parameter targets fill.
    #[serde(default)]
    pub target_parameter_name: Option<String>,
    /// What to act on.
    #[serde(default)]
    pub targets: Vec<WireTarget>,
    /// Explicit parameter maps, one child each.
    #[serde(default)]
    pub target_maps: Vec<BTreeMap<String, Vec<String>>>,
    /// Target concurrency.
    #[serde(default)]
    pub max_concurrency: Option<String>,
    /// Target error threshold.
    #[serde(default)]
    pub max_errors: Option<String>,
    /// Where to run.
    #[serde(default)]
    pub target_locations: Vec<WireTargetLocation>,
    /// Tags (kept, not used).
    #[serde(default)]
    pub tags: Option<Value>,
    /// Alarm configuration (watched while the execution runs).
    #[serde(default)]
    pub alarm_configuration: Option<Value>,
    /// Target locations from S3 (not supported by the simulator).
    #[serde(default, rename = "TargetLocationsURL")]
    pub target_locations_url: Option<String>,
}

/// One error of the API, as it travels on the wire (the crate's failures of its own are
/// [`crate::stack::StackError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error's shape name, e.g. `AutomationExecutionNotFoundException`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ApiError {
    /// An error named `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// SSM's `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// An error of the simulator itself (moto did not answer...): HTTP 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServerError", message)
    }

    /// The HTTP status the error travels with.
    pub fn status(&self) -> u16 {
        if self.code == "InternalServerError" {
            500
        } else {
            400
        }
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> Value {
        json!({ "__type": self.code, "message": self.message })
    }
}

/// Reads a request body as `T`, refusing it as SSM would.
pub fn parse_request<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            "SerializationException",
            format!("cannot read the request: {error}"),
        )
    })
}

/// The most steps `GetAutomationExecution` returns with an execution. The API reference
/// (`AutomationExecution.StepExecutionsTruncated`): "A boolean value that indicates if the
/// response contains the full list of the Automation step executions. If true, use the
/// `DescribeAutomationStepExecutions` API operation to get the full list of step executions."
/// The number is the simulator's: SSM documents none.
pub const STEPS_IN_AN_EXECUTION: usize = 100;

/// The execution as `GetAutomationExecution` returns it.
pub fn to_wire(execution: &Execution) -> Value {
    let mut value = metadata(execution);
    value["Parameters"] = json!(execution.request.parameters);
    value["StepExecutions"] = Value::Array(
        execution
            .steps
            .iter()
            .take(STEPS_IN_AN_EXECUTION)
            .map(step_to_wire)
            .collect(),
    );
    value["StepExecutionsTruncated"] = json!(execution.steps.len() > STEPS_IN_AN_EXECUTION);
    let count = |wanted: &dyn Fn(AutomationStatus) -> bool| {
        execution.steps.iter().filter(|s| wanted(s.status)).count()
    };
    value["ProgressCounters"] = json!({
        "TotalSteps": execution.steps.len(),
        "SuccessSteps": count(&AutomationStatus::is_success),
        "FailedSteps": count(&|s| s == AutomationStatus::Failed),
        "CancelledSteps": count(&|s| s == AutomationStatus::Cancelled),
        "TimedOutSteps": count(&|s| s == AutomationStatus::TimedOut),
    });
    value
}

/// The execution as `DescribeAutomationExecutions` lists it.
pub fn metadata(execution: &Execution) -> Value {
    let request = &execution.request;
    let mut value = json!({
        "AutomationExecutionId": execution.id,
        "DocumentName": request.document_name,
        "DocumentVersion": request.document_version.clone().unwrap_or_else(|| "1".to_owned()),
        "AutomationExecutionStatus": execution.status,
        "ExecutionStartTime": execution.start,
        "ExecutedBy": execution.executed_by,
        "Mode": request.mode.clone().unwrap_or_else(|| "Auto".to_owned()),
        "AutomationType": execution.automation_type,
        "Outputs": {},
    });
    let optional: [(&str, Option<Value>); 13] = [
        ("ExecutionEndTime", execution.end.map(|end| json!(end))),
        (
            "FailureMessage",
            execution.failure_message.clone().map(Value::String),
        ),
        (
            "ParentAutomationExecutionId",
            execution.parent_id.clone().map(Value::String),
        ),
        ("Target", execution.target.clone().map(Value::String)),
        (
            "TargetParameterName",
            request.target_parameter_name.clone().map(Value::String),
        ),
        (
            "Targets",
            (!request.targets.is_empty()).then(|| json!(request.targets)),
        ),
        (
            "TargetMaps",
            (!request.target_maps.is_empty()).then(|| json!(request.target_maps)),
        ),
        (
            "TargetLocations",
            (!request.target_locations.is_empty()).then(|| json!(request.target_locations)),
        ),
        (
            "MaxConcurrency",
            request.max_concurrency.clone().map(Value::String),
        ),
        ("MaxErrors", request.max_errors.clone().map(Value::String)),
        ("AlarmConfiguration", request.alarm_configuration.clone()),
        (
            // The API reference (`AutomationExecution`, `TriggeredAlarms`): "The CloudWatch
            // alarm that was invoked by the automation", each an `AlarmStateInformation`.
            "TriggeredAlarms",
            (!execution.triggered_alarms.is_empty()).then(|| {
                json!(
                    execution
                        .triggered_alarms
                        .iter()
                        .map(|name| json!({ "Name": name, "State": "ALARM" }))
                        .collect::<Vec<_>>()
                )
            }),
        ),
        (
            "ResolvedTargets",
            (!execution.resolved_targets.is_empty()).then(
                || json!({ "ParameterValues": execution.resolved_targets, "Truncated": false }),
            ),
        ),
    ];
    for (key, field) in optional {
        if let Some(field) = field {
            value[key] = field;
        }
    }
    if let Some(step) = execution.current_step() {
        value["CurrentStepName"] = json!(step.name);
        value["CurrentAction"] = json!(step.action);
    }
    value
}

/// A step as `DescribeAutomationStepExecutions` and `GetAutomationExecution` return it.
pub fn step_to_wire(step: &Step) -> Value {
    let mut value = json!({
        "StepExecutionId": step.id,
        "StepName": step.name,
        "Action": step.action,
        "StepStatus": step.status,
        "Outputs": step.outputs,
        "Inputs": step.inputs,
        "IsEnd": false,
        "IsCritical": true,
        "OnFailure": "Abort",
        "MaxAttempts": 1,
    });
    if let Some(spec) = &step.properties {
        value["IsEnd"] = json!(spec.is_end);
        value["IsCritical"] = json!(spec.is_critical);
        value["OnFailure"] = json!(spec.on_failure.wire());
        value["MaxAttempts"] = json!(spec.max_attempts);
        if let Some(seconds) = spec.timeout_seconds {
            value["TimeoutSeconds"] = json!(seconds);
        }
        if let Some(next) = &spec.next_step {
            value["NextStep"] = json!(next);
        }
    }
    if let Some(start) = step.start {
        value["ExecutionStartTime"] = json!(start);
    }
    if let Some(end) = step.end {
        value["ExecutionEndTime"] = json!(end);
    }
    if let Some(message) = &step.failure_message {
        value["FailureMessage"] = json!(message);
        value["FailureDetails"] =
            json!({ "FailureStage": "Execution", "FailureType": "Verification", "Details": {} });
    }
    if let Some(location) = &step.target_location {
        value["TargetLocation"] = json!(location);
    }
    value
}
