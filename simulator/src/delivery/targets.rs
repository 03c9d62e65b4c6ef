//! One event to one target, as EventBridge and Scheduler deliver it: the target's input (the
//! whole event, a constant `Input`, an `InputPath` or an `InputTransformer`), then a Lambda
//! function invoked asynchronously or a state machine's `StartExecution`; a failed attempt is
//! retried with exponential backoff while the `RetryPolicy` allows (client errors are not
//! retried), then the event goes to the target's dead-letter queue.

use super::{Delivery, Routes};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A rule's or schedule's target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The target's id.
    pub id: String,
    /// A Lambda function's or a state machine's ARN.
    pub arn: String,
    /// What the target receives.
    pub input: TargetInput,
    /// How failed deliveries are retried.
    pub retry: RetryPolicy,
    /// The SQS queue of events that could not be delivered.
    pub dead_letter_arn: Option<String>,
}

/// What a target receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetInput {
    /// The matched event.
    Event,
    /// A constant JSON text (`Input`; a schedule's, with its context attributes).
    Constant(String),
    /// A part of the event (`InputPath`, `$.detail`).
    Path(String),
    /// `InputTransformer`: values picked from the event put into a template.
    Transformer {
        /// `InputPathsMap`.
        paths: BTreeMap<String, String>,
        /// `InputTemplate`.
        template: String,
    },
}

/// `RetryPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// `MaximumRetryAttempts` (EventBridge's default: 185).
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds` (default: 86,400).
    pub maximum_event_age_seconds: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            maximum_retry_attempts: 185,
            maximum_event_age_seconds: 86_400,
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivered {
    /// A state machine execution was started.
    Execution(String),
    /// A function accepted the event (its request id).
    Invocation(String),
    /// Every attempt failed; the event went to the dead-letter queue (if there is one).
    DeadLettered {
        /// The last error's code.
        code: String,
        /// Its message.
        message: String,
    },
}

/// A dead letter's message attributes, from the attempt count and the last error's code and
/// message (EventBridge's and Scheduler's differ).
pub(super) type DeadLetterAttributes<'a> =
    dyn Fn(u32, &str, &str) -> Vec<(String, String)> + Sync + 'a;

struct Failure {
    code: String,
    message: String,
    retryable: bool,
}

/// The first retry waits this long (before the time scale), each later one twice as long.
const FIRST_BACKOFF_SECONDS: f64 = 1.0;
/// No retry waits longer than this.
const MAX_BACKOFF_SECONDS: f64 = 60.0;

/// A JSON path of the simple form EventBridge's input paths use (`$`, `$.detail.state`).
fn at_path<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|part| !part.is_empty())
        .try_fold(event, |value, part| value.get(part))
}

impl TargetInput {
    /// What the target receives for `event`.
    pub fn render(&self, event: &Value) -> String {
        match self {
            Self::Event => event.to_string(),
            Self::Constant(text) => text.clone(),
            Self::Path(path) => at_path(event, path).unwrap_or(&Value::Null).to_string(),
            Self::Transformer { paths, template } => {
                paths.iter().fold(template.clone(), |text, (name, path)| {
                    let value = at_path(event, path).unwrap_or(&Value::Null);
                    let inserted = match value {
                        Value::String(text) => {
                            let quoted = Value::String(text.clone()).to_string();
                            quoted[1..quoted.len() - 1].to_owned()
                        }
                        other => other.to_string(),
                    };
                    text.replace(&format!("<{name}>"), &inserted)
                })
            }
        }
    }
}

impl Delivery {
    /// Delivers `input` to `target` for `source` (a rule's or schedule's ARN), retrying and
    /// dead-lettering as the target says.
    pub(super) async fn deliver_input(
        &self,
        routes: &Routes,
        source: &str,
        target: &Target,
        input: &str,
        attributes: &DeadLetterAttributes<'_>,
    ) -> Delivered {
        let started = Instant::now();
        let max_age = Duration::from_secs_f64(
            Duration::from_secs(target.retry.maximum_event_age_seconds).as_secs_f64()
                / routes.time_scale,
        );
        let mut attempt = 0;
        loop {
            match self.attempt(target, input).await {
                Ok(delivered) => {
                    self.count(|stats| {
                        *stats.delivered.entry(target.arn.clone()).or_default() += 1;
                        if let Delivered::Execution(arn) = &delivered {
                            stats.executions.push((source.to_owned(), arn.clone()));
                        }
                    });
                    return delivered;
                }
                Err(failure) => {
                    let backoff = Duration::from_secs_f64(
                        (FIRST_BACKOFF_SECONDS * 2f64.powi(i32::try_from(attempt).unwrap_or(30)))
                            .min(MAX_BACKOFF_SECONDS)
                            / routes.time_scale,
                    );
                    tracing::info!(%source, target = %target.arn, attempt, code = %failure.code, message = %failure.message, "delivery failed");
                    if failure.retryable
                        && attempt < target.retry.maximum_retry_attempts
                        && started.elapsed() + backoff < max_age
                    {
                        attempt += 1;
                        self.count(|stats| {
                            *stats.retried.entry(target.arn.clone()).or_default() += 1;
                        });
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    if let Some(queue) = &target.dead_letter_arn {
                        let attributes = attributes(attempt + 1, &failure.code, &failure.message);
                        let attributes: Vec<(&str, &str)> = attributes
                            .iter()
                            .map(|(name, value)| (name.as_str(), value.as_str()))
                            .collect();
                        match self.moto.send_message(queue, input, &attributes).await {
                            Ok(()) => self.count(|stats| {
                                *stats.dead_lettered.entry(target.arn.clone()).or_default() += 1;
                            }),
                            Err(error) => {
                                tracing::error!(%source, target = %target.arn, %error, "cannot dead-letter the event");
                            }
                        }
                    }
                    return Delivered::DeadLettered {
                        code: failure.code,
                        message: failure.message,
                    };
                }
            }
        }
    }

    /// A rule's delivery of `event` to `target`.
    pub(super) async fn deliver(
        &self,
        routes: &Routes,
        rule_arn: &str,
        target: &Target,
        event: &Value,
    ) {
        let input = target.input.render(event);
        let attributes = |_attempt: u32, code: &str, message: &str| {
            vec![
                ("RULE_ARN".to_owned(), rule_arn.to_owned()),
                ("TARGET_ARN".to_owned(), target.arn.clone()),
                ("ERROR_CODE".to_owned(), code.to_owned()),
                ("ERROR_MESSAGE".to_owned(), message.to_owned()),
            ]
        };
        self.deliver_input(routes, rule_arn, target, &input, &attributes)
            .await;
    }

    async fn attempt(&self, target: &Target, input: &str) -> Result<Delivered, Failure> {
        let parts: Vec<&str> = target.arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "lambda", ..] => self
                .lambda
                .invoke_async(&target.arn, input.as_bytes().to_vec())
                .map(Delivered::Invocation)
                .map_err(|error| Failure {
                    code: match error {
                        crate::lambda::InvokeError::NotFound(_) => "ResourceNotFoundException",
                        crate::lambda::InvokeError::TooLarge { .. } => "RequestTooLargeException",
                    }
                    .to_owned(),
                    message: error.to_string(),
                    retryable: false,
                }),
            ["arn", _, "states", region, account, "stateMachine", ..] => {
                let request = json!({
                    "stateMachineArn": target.arn,
                    "name": uuid::Uuid::new_v4().to_string(),
                    "input": input,
                });
                match self
                    .targets_client()
                    .json_call_as(
                        account,
                        region,
                        "states",
                        "AWSStepFunctions.StartExecution",
                        "application/x-amz-json-1.0",
                        &request,
                    )
                    .await
                {
                    Ok(Ok(answer)) => Ok(Delivered::Execution(
                        answer["executionArn"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )),
                    Ok(Err((code, message))) => Err(Failure {
                        retryable: !matches!(
                            code.as_str(),
                            "StateMachineDoesNotExist"
                                | "InvalidArn"
                                | "InvalidExecutionInput"
                                | "InvalidName"
                                | "ValidationException"
                        ),
                        code,
                        message,
                    }),
                    Err(error) => Err(Failure {
                        code: "InternalException".to_owned(),
                        message: error.to_string(),
                        retryable: true,
                    }),
                }
            }
            _ => Err(Failure {
                code: "InvalidTarget".to_owned(),
                message: format!(
                    "the local stack delivers to Lambda functions and state machines only, not {}",
                    target.arn
                ),
                retryable: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_target_has_an_input_transformer_then_the_values_fill_its_template() {
        let event = json!({"detail": {"alarmName": "cpu \"high\"", "state": {"value": "ALARM"}}, "account": "111122223333"});
        let input = TargetInput::Transformer {
            paths: BTreeMap::from([
                ("alarm".to_owned(), "$.detail.alarmName".to_owned()),
                ("account".to_owned(), "$.account".to_owned()),
                ("detail".to_owned(), "$.detail.state".to_owned()),
            ]),
            template: r#"{"name": "<alarm>", "in": "<account>", "state": <detail>}"#.to_owned(),
        };
        let rendered: Value = serde_json::from_str(&input.render(&event)).unwrap_or_default();
        assert_eq!(
            rendered,
            json!({"name": "cpu \"high\"", "in": "111122223333", "state": {"value": "ALARM"}})
        );
    }

    #[test]
    fn when_a_target_has_an_input_path_then_it_receives_that_part_of_the_event() {
        let event = json!({"detail": {"a": 1}});
        assert_eq!(
            TargetInput::Path("$.detail".to_owned()).render(&event),
            r#"{"a":1}"#
        );
        assert_eq!(TargetInput::Event.render(&event), event.to_string());
        assert_eq!(TargetInput::Constant("{}".to_owned()).render(&event), "{}");
    }
}
