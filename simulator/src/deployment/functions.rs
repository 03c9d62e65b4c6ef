//! The template's functions as the local Lambda runs them: the host binary cargo built from
//! the package its `BuildProperties.Binary` names, the template's environment (with the config
//! file for the config layer's `/opt/fabric.yaml`, and the local endpoint), `Timeout`,
//! `MemorySize`, `ReservedConcurrentExecutions`, `EventInvokeConfig` and `DeadLetterQueue`.

use super::{DeployError, DeployRequest};
use crate::lambda::{AsyncInvokeConfig, FunctionSpec};
use crate::template::ResolvedTemplate;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where the template's functions read the config (the config layer's file).
const CONFIG_LAYER_FILE: &str = "/opt/fabric.yaml";

/// A number property, written as a number or a string.
pub(super) fn number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

/// Every function of the template, by logical id.
pub(super) fn specs(
    template: &ResolvedTemplate,
    request: &DeployRequest,
) -> Result<Vec<(String, FunctionSpec)>, DeployError> {
    let config = std::path::absolute(&request.config).map_err(|source| DeployError::Read {
        path: request.config.clone(),
        source,
    })?;
    template
        .of_type("AWS::Serverless::Function")
        .map(|function| {
            let properties = &function.properties;
            let binary_name = function.metadata["BuildProperties"]["Binary"]
                .as_str()
                .ok_or_else(|| DeployError::Unsupported {
                    resource: function.logical_id.clone(),
                    problem: "no Metadata.BuildProperties.Binary: the local stack runs cargo-lambda builds only".to_owned(),
                })?;
            let binary = request.binaries.join(binary_name);
            if !binary.is_file() {
                return Err(DeployError::NotBuilt {
                    function: function.logical_id.clone(),
                    path: binary,
                });
            }
            let mut environment: BTreeMap<String, String> = properties["Environment"]["Variables"]
                .as_object()
                .map(|variables| {
                    variables
                        .iter()
                        .map(|(name, value)| {
                            let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                            (name.clone(), value)
                        })
                        .collect()
                })
                .unwrap_or_default();
            for value in environment.values_mut() {
                if value == CONFIG_LAYER_FILE {
                    *value = config.display().to_string();
                }
            }
            environment.extend([
                ("AWS_ENDPOINT_URL".to_owned(), request.endpoint.clone()),
                ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
                ("AWS_REGION".to_owned(), request.region.clone()),
                ("AWS_DEFAULT_REGION".to_owned(), request.region.clone()),
                // The deployment's time scale: the functions pace their SSM calls as though
                // SSM's rates were this many times faster (a benchmark that enforces SSM's
                // rates scales them by as much).
                ("FABRIC_TIME_SCALE".to_owned(), request.time_scale.to_string()),
                (
                    "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
                    properties["LoggingConfig"]["LogGroup"]
                        .as_str()
                        .map_or_else(|| format!("/aws/lambda/{}", function.name), str::to_owned),
                ),
            ]);
            // Lambda tells the runtime the function's LoggingConfig through these.
            for (variable, setting) in [
                ("AWS_LAMBDA_LOG_FORMAT", "LogFormat"),
                ("AWS_LAMBDA_LOG_LEVEL", "ApplicationLogLevel"),
            ] {
                if let Some(value) = properties["LoggingConfig"][setting].as_str() {
                    environment.insert(variable.to_owned(), value.to_owned());
                }
            }
            let timeout_seconds = request
                .function_timeouts
                .get(&function.logical_id)
                .copied()
                .or_else(|| number(&properties["Timeout"]))
                .unwrap_or(3);
            let asynchronous = AsyncInvokeConfig {
                max_retries: number(&properties["EventInvokeConfig"]["MaximumRetryAttempts"])
                    .and_then(|retries| u32::try_from(retries).ok())
                    .unwrap_or(2),
                max_event_age_seconds: number(
                    &properties["EventInvokeConfig"]["MaximumEventAgeInSeconds"],
                )
                .unwrap_or(21_600),
                dead_letter_arn: properties["DeadLetterQueue"]["TargetArn"]
                    .as_str()
                    .map(str::to_owned),
            };
            let spec = FunctionSpec {
                name: function.name.clone(),
                arn: function.arn.clone(),
                binary,
                environment,
                timeout_seconds,
                memory_mb: number(&properties["MemorySize"]).unwrap_or(128),
                log: request.logs.join(format!("{}.log", function.name)),
                max_concurrency: number(&properties["ReservedConcurrentExecutions"])
                    .and_then(|reserved| usize::try_from(reserved).ok())
                    .unwrap_or(request.max_concurrency)
                    .min(request.max_concurrency),
                asynchronous,
            };
            Ok((function.logical_id.clone(), spec))
        })
        .collect()
}
