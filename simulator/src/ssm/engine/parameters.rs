//! A runbook's declared parameters, and `StartAutomationExecution`'s parameters checked against
//! them as SSM checks them: every required parameter given (the target parameter counts as given
//! when `Targets` supply it), no undeclared one, each value among the allowed ones. The answers
//! are SSM's `InvalidAutomationExecutionParametersException` in the wording CloudTrail records
//! for them (`Missing required parameter: InstanceIds in user inputs.`, `Undefined execution
//! inputs: [incidentARN, Environment, resources].`, `Parameter "Action" has value "install"
//! not found in [Install, Uninstall].`).
//!
//! The AWS-owned runbooks the seeds and the example config use are catalogued here with their
//! parameters, from the Systems Manager Automation runbook reference; any other `AWS-` name
//! (seed 001's `AWS-RestartEC2Instances`, or a Command document such as `AWS-RunPatchBaseline`)
//! is not an Automation runbook, and SSM answers `AutomationDefinitionNotFoundException`.

use crate::wire::ApiError;
use serde_json::Value;
use std::collections::BTreeMap;

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Its name.
    pub name: String,
    /// Whether a value must be given (no `default`).
    pub required: bool,
    /// `allowedValues`, when the runbook lists them.
    pub allowed: Vec<String>,
}

fn declared(name: &str, required: bool) -> Declared {
    Declared {
        name: name.to_owned(),
        required,
        allowed: Vec::new(),
    }
}

/// The parameters of the AWS-owned Automation runbook `name`, or `None` when AWS owns no
/// Automation runbook by that name. From the runbook reference: AWS-RestartEC2Instance,
/// AWS-StartEC2Instance and AWS-StopEC2Instance take `InstanceId` (`StringList`, required) and
/// `AutomationAssumeRole` (optional); AWS-PatchInstanceWithRollback takes `InstanceId`
/// (required), `ReportS3Bucket` and `AutomationAssumeRole` (optional); AWS-EnableCloudTrail
/// takes `TrailName` and `S3BucketName` (required) and `AutomationAssumeRole` (optional).
pub fn aws_runbook(name: &str) -> Option<Vec<Declared>> {
    let assume_role = declared("AutomationAssumeRole", false);
    match name {
        "AWS-RestartEC2Instance" | "AWS-StartEC2Instance" | "AWS-StopEC2Instance" => {
            Some(vec![declared("InstanceId", true), assume_role])
        }
        "AWS-PatchInstanceWithRollback" => Some(vec![
            declared("InstanceId", true),
            declared("ReportS3Bucket", false),
            assume_role,
        ]),
        "AWS-EnableCloudTrail" => Some(vec![
            declared("TrailName", true),
            declared("S3BucketName", true),
            assume_role,
        ]),
        _ => None,
    }
}

/// The parameters a document's content declares (`parameters`: name -> {type, default,
/// allowedValues}); JSON or YAML, as SSM stores either.
pub fn declared_in(content: &str) -> Vec<Declared> {
    let document = document_value(content);
    document["parameters"]
        .as_object()
        .map(|parameters| {
            parameters
                .iter()
                .map(|(name, spec)| Declared {
                    name: name.clone(),
                    required: spec.get("default").is_none(),
                    allowed: spec["allowedValues"]
                        .as_array()
                        .map(|values| {
                            values
                                .iter()
                                .map(|value| {
                                    value
                                        .as_str()
                                        .map_or_else(|| value.to_string(), str::to_owned)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A document's content (JSON or YAML, as SSM stores either) as a value; `Null` when it is
/// neither.
pub(super) fn document_value(content: &str) -> Value {
    serde_json::from_str(content)
        .ok()
        .or_else(|| serde_yaml_ng::from_str(content).ok())
        .unwrap_or(Value::Null)
}

fn invalid(message: String) -> ApiError {
    ApiError::new("InvalidAutomationExecutionParametersException", message)
}

/// Checks the parameters of a start against the runbook's declared ones; `target_parameter`
/// is the `TargetParameterName` whose values `Targets` supply.
pub fn check(
    declared: &[Declared],
    given: &BTreeMap<String, Vec<String>>,
    target_parameter: Option<&str>,
) -> Result<(), ApiError> {
    let undefined: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|name| !declared.iter().any(|parameter| parameter.name == *name))
        .collect();
    if !undefined.is_empty() {
        return Err(invalid(format!(
            "Undefined execution inputs: [{}].",
            undefined.join(", ")
        )));
    }
    if let Some(target) = target_parameter {
        if !declared.iter().any(|parameter| parameter.name == target) {
            return Err(invalid(format!("Undefined execution inputs: [{target}].")));
        }
    }
    for parameter in declared {
        let supplied = given.contains_key(&parameter.name)
            || target_parameter == Some(parameter.name.as_str());
        if parameter.required && !supplied {
            return Err(invalid(format!(
                "Missing required parameter: {} in user inputs.",
                parameter.name
            )));
        }
        if parameter.allowed.is_empty() {
            continue;
        }
        for value in given.get(&parameter.name).into_iter().flatten() {
            if !parameter.allowed.contains(value) {
                return Err(invalid(format!(
                    "Parameter \"{}\" has value \"{value}\" not found in [{}].",
                    parameter.name,
                    parameter.allowed.join(", ")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), vec![(*value).to_owned()]))
            .collect()
    }

    fn message(result: Result<(), ApiError>) -> String {
        let error = result.expect_err("refused");
        assert_eq!(error.code, "InvalidAutomationExecutionParametersException");
        error.message
    }

    /// CloudTrail records SSM refusing a start without a required parameter as `Missing
    /// required parameter: InstanceIds in user inputs.`
    #[test]
    fn when_a_required_parameter_is_missing_then_the_start_is_refused_naming_it() {
        let restart = aws_runbook("AWS-RestartEC2Instance").expect("catalogued");
        let text = message(check(
            &restart,
            &given(&[("AutomationAssumeRole", "arn")]),
            None,
        ));
        assert_eq!(
            text,
            "Missing required parameter: InstanceId in user inputs."
        );
        assert!(
            check(
                &restart,
                &given(&[("AutomationAssumeRole", "arn")]),
                Some("InstanceId")
            )
            .is_ok(),
            "the seeds' commands: the target parameter is supplied by Targets"
        );
    }

    /// CloudTrail: `Undefined execution inputs: [incidentARN, Environment, resources].`
    #[test]
    fn when_a_parameter_is_not_declared_then_the_start_is_refused_listing_it() {
        let restart = aws_runbook("AWS-RestartEC2Instance").expect("catalogued");
        let text = message(check(
            &restart,
            &given(&[("InstanceId", "i-1"), ("Force", "yes")]),
            None,
        ));
        assert_eq!(text, "Undefined execution inputs: [Force].");
    }

    /// CloudTrail: `Parameter "Action" has value "install" not found in [Install, Uninstall].`
    #[test]
    fn when_a_value_is_not_allowed_then_the_start_is_refused_listing_the_allowed_ones() {
        let declared = declared_in(
            r#"{"parameters": {"Operation": {"type": "String", "allowedValues": ["Scan", "Install"]}, "InstanceId": {"type": "String", "default": ""}}}"#,
        );
        let text = message(check(&declared, &given(&[("Operation", "scan")]), None));
        assert_eq!(
            text,
            "Parameter \"Operation\" has value \"scan\" not found in [Scan, Install]."
        );
        assert!(check(&declared, &given(&[("Operation", "Scan")]), None).is_ok());
    }

    #[test]
    fn when_a_name_is_not_an_aws_automation_runbook_then_it_is_not_catalogued() {
        assert!(
            aws_runbook("AWS-RestartEC2Instances").is_none(),
            "seed 001's typo"
        );
        assert!(
            aws_runbook("AWS-RunPatchBaseline").is_none(),
            "a Command document"
        );
        assert!(aws_runbook("AWS-StopEC2Instance").is_some());
    }
}
