//! The template's queues, topics, buckets, buses, state machines and rules created in moto
//! (each creation may be repeated: a second deploy updates what the first made), and its
//! rules' and schedules' targets as the local delivery routes them.

use super::time_scale::scale_definition;
use super::{DeployError, DeployRequest};
use crate::delivery::{RetryPolicy, RuleRoute, ScheduleRoute, Target, TargetInput};
use crate::moto::Moto;
use crate::template::{ResolvedResource, ResolvedTemplate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The target id of each rule's tap.
const TAP_TARGET_ID: &str = "local-stack-tap";

/// Creates resources in moto as the deployment's account and Region.
pub(super) struct Maker<'a> {
    moto: &'a Moto,
    request: &'a DeployRequest,
}

impl<'a> Maker<'a> {
    pub(super) fn new(moto: &'a Moto, request: &'a DeployRequest) -> Self {
        Self { moto, request }
    }

    async fn json(
        &self,
        resource: &str,
        service: &str,
        target: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<Result<Value, (String, String)>, DeployError> {
        self.moto
            .json_call_as(
                &self.request.account,
                &self.request.region,
                service,
                target,
                content_type,
                body,
            )
            .await
            .map_err(|error| DeployError::Create {
                resource: resource.to_owned(),
                message: error.to_string(),
            })
    }

    async fn created(
        &self,
        resource: &str,
        service: &str,
        target: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<Value, DeployError> {
        self.json(resource, service, target, content_type, body)
            .await?
            .map_err(|(code, message)| DeployError::Create {
                resource: resource.to_owned(),
                message: format!("{target}: {code}: {message}"),
            })
    }

    /// Creates the queue `name`: its URL at the front door.
    async fn queue(&self, resource: &str, name: &str) -> Result<String, DeployError> {
        self.created(
            resource,
            "sqs",
            "AmazonSQS.CreateQueue",
            "application/x-amz-json-1.0",
            &json!({ "QueueName": name }),
        )
        .await?;
        Ok(format!(
            "{}/{}/{name}",
            self.request.endpoint.trim_end_matches('/'),
            self.request.account
        ))
    }

    fn queue_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{name}",
            self.request.region, self.request.account
        )
    }

    /// Every `AWS::SQS::Queue`: URL by logical id.
    pub(super) async fn queues(
        &self,
        template: &ResolvedTemplate,
    ) -> Result<BTreeMap<String, String>, DeployError> {
        let mut queues = BTreeMap::new();
        for queue in template.of_type("AWS::SQS::Queue") {
            self.queue(&queue.logical_id, &queue.name).await?;
            queues.insert(queue.logical_id.clone(), queue.reference.clone());
        }
        Ok(queues)
    }

    /// Every `AWS::SNS::Topic`: ARN by logical id.
    pub(super) async fn topics(
        &self,
        template: &ResolvedTemplate,
    ) -> Result<BTreeMap<String, String>, DeployError> {
        let mut topics = BTreeMap::new();
        for topic in template.of_type("AWS::SNS::Topic") {
            self.query(
                &topic.logical_id,
                "sns",
                &[
                    ("Action", "CreateTopic"),
                    ("Version", "2010-03-31"),
                    ("Name", &topic.name),
                ],
            )
            .await?;
            topics.insert(topic.logical_id.clone(), topic.arn.clone());
        }
        Ok(topics)
    }

    /// A queue subscribed to every topic, where what is published can be read.
    pub(super) async fn messages_queue(
        &self,
        topics: &BTreeMap<String, String>,
    ) -> Result<String, DeployError> {
        let name = format!("{}-published-messages", self.request.stack_name);
        let url = self.queue("published messages", &name).await?;
        let queue_arn = self.queue_arn(&name);
        for (logical_id, topic_arn) in topics {
            self.query(
                logical_id,
                "sns",
                &[
                    ("Action", "Subscribe"),
                    ("Version", "2010-03-31"),
                    ("TopicArn", topic_arn),
                    ("Protocol", "sqs"),
                    ("Endpoint", &queue_arn),
                ],
            )
            .await?;
        }
        Ok(url)
    }

    async fn query(
        &self,
        resource: &str,
        service: &str,
        params: &[(&str, &str)],
    ) -> Result<String, DeployError> {
        let (status, body) = self
            .moto
            .query_call(&self.request.account, &self.request.region, service, params)
            .await
            .map_err(|error| DeployError::Create {
                resource: resource.to_owned(),
                message: error.to_string(),
            })?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(DeployError::Create {
                resource: resource.to_owned(),
                message: format!("HTTP {status}: {body}"),
            })
        }
    }

    /// Every `AWS::S3::Bucket` (one that already exists is kept).
    pub(super) async fn buckets(&self, template: &ResolvedTemplate) -> Result<(), DeployError> {
        for bucket in template.of_type("AWS::S3::Bucket") {
            let status = self
                .moto
                .create_bucket(&self.request.account, &self.request.region, &bucket.name)
                .await
                .map_err(|error| DeployError::Create {
                    resource: bucket.logical_id.clone(),
                    message: error.to_string(),
                })?;
            if !(200..300).contains(&status) && status != 409 {
                return Err(DeployError::Create {
                    resource: bucket.logical_id.clone(),
                    message: format!("CreateBucket answered HTTP {status}"),
                });
            }
        }
        Ok(())
    }

    /// Every `AWS::Events::EventBus`.
    pub(super) async fn buses(&self, template: &ResolvedTemplate) -> Result<(), DeployError> {
        for bus in template.of_type("AWS::Events::EventBus") {
            let answer = self
                .json(
                    &bus.logical_id,
                    "events",
                    "AWSEvents.CreateEventBus",
                    "application/x-amz-json-1.1",
                    &json!({ "Name": bus.name }),
                )
                .await?;
            if let Err((code, message)) = answer {
                if code != "ResourceAlreadyExistsException" {
                    return Err(DeployError::Create {
                        resource: bus.logical_id.clone(),
                        message: format!("{code}: {message}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every state machine, from its ASL file with its substitutions and the time scale: ARN by
    /// logical id.
    pub(super) async fn state_machines(
        &self,
        template: &ResolvedTemplate,
        folder: &Path,
        time_scale: f64,
    ) -> Result<BTreeMap<String, String>, DeployError> {
        self.moto
            .configure(&json!({ "stepfunctions": { "execute_state_machine": true } }))
            .await
            .map_err(|error| DeployError::Create {
                resource: "moto's Step Functions interpreter".to_owned(),
                message: error.to_string(),
            })?;
        let mut machines = BTreeMap::new();
        for machine in template.of_type("AWS::Serverless::StateMachine") {
            let definition = definition(machine, folder, time_scale)?;
            let created = self
                .json(
                    &machine.logical_id,
                    "states",
                    "AWSStepFunctions.CreateStateMachine",
                    "application/x-amz-json-1.0",
                    &json!({
                        "name": machine.name,
                        "definition": definition,
                        "roleArn": machine.properties["Role"],
                        "type": machine.properties["Type"].as_str().unwrap_or("STANDARD"),
                    }),
                )
                .await?;
            if let Err((code, message)) = created {
                if code != "StateMachineAlreadyExists" {
                    return Err(DeployError::Create {
                        resource: machine.logical_id.clone(),
                        message: format!("{code}: {message}"),
                    });
                }
                self.created(
                    &machine.logical_id,
                    "states",
                    "AWSStepFunctions.UpdateStateMachine",
                    "application/x-amz-json-1.0",
                    &json!({ "stateMachineArn": machine.arn, "definition": definition }),
                )
                .await?;
            }
            machines.insert(machine.logical_id.clone(), machine.arn.clone());
        }
        Ok(machines)
    }

    /// Every `AWS::Events::Rule` with its real pattern and an SQS tap target: name -> ARN,
    /// and the routes from each tap to the rule's real targets.
    pub(super) async fn rules(
        &self,
        template: &ResolvedTemplate,
    ) -> Result<(BTreeMap<String, String>, Vec<RuleRoute>), DeployError> {
        let mut rules = BTreeMap::new();
        let mut routes = Vec::new();
        for rule in template.of_type("AWS::Events::Rule") {
            let properties = &rule.properties;
            let bus = properties["EventBusName"].as_str().unwrap_or("default");
            let pattern = properties["EventPattern"].to_string();
            self.created(
                &rule.logical_id,
                "events",
                "AWSEvents.PutRule",
                "application/x-amz-json-1.1",
                &json!({
                    "Name": rule.name,
                    "EventBusName": bus,
                    "EventPattern": pattern,
                    "State": properties["State"].as_str().unwrap_or("ENABLED"),
                    "Description": properties["Description"],
                }),
            )
            .await?;
            let tap = format!("{}-tap-{}", self.request.stack_name, rule.logical_id);
            let tap_url = self.queue(&rule.logical_id, &tap).await?;
            self.created(
                &rule.logical_id,
                "events",
                "AWSEvents.PutTargets",
                "application/x-amz-json-1.1",
                &json!({
                    "Rule": rule.name,
                    "EventBusName": bus,
                    // The whole event: moto's default input leaves out `account`.
                    "Targets": [{
                        "Id": TAP_TARGET_ID,
                        "Arn": self.queue_arn(&tap),
                        "InputTransformer": {
                            "InputPathsMap": {},
                            "InputTemplate": "<aws.events.event.json>",
                        },
                    }],
                }),
            )
            .await?;
            let targets = properties["Targets"]
                .as_array()
                .map(|targets| targets.iter().map(target).collect())
                .unwrap_or_default();
            rules.insert(rule.name.clone(), rule.arn.clone());
            routes.push(RuleRoute {
                name: rule.name.clone(),
                arn: rule.arn.clone(),
                tap_url,
                targets,
            });
        }
        Ok((rules, routes))
    }
}

/// A state machine's definition: its ASL file, substituted and time-scaled.
fn definition(
    machine: &ResolvedResource,
    folder: &Path,
    time_scale: f64,
) -> Result<String, DeployError> {
    let uri = machine.properties["DefinitionUri"]
        .as_str()
        .ok_or_else(|| DeployError::Unsupported {
            resource: machine.logical_id.clone(),
            problem: "no DefinitionUri file (an inline Definition is not deployed locally)"
                .to_owned(),
        })?;
    let path = folder.join(uri);
    let mut text =
        std::fs::read_to_string(&path).map_err(|source| DeployError::Read { path, source })?;
    if let Some(substitutions) = machine.properties["DefinitionSubstitutions"].as_object() {
        for (name, value) in substitutions {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            text = text.replace(&format!("${{{name}}}"), &value);
        }
    }
    let mut definition: Value =
        serde_json::from_str(&text).map_err(|error| DeployError::Unsupported {
            resource: machine.logical_id.clone(),
            problem: format!("its definition is not JSON: {error}"),
        })?;
    scale_definition(&mut definition, time_scale);
    Ok(definition.to_string())
}

/// A rule's or schedule's target as the local delivery routes it.
fn target(properties: &Value) -> Target {
    let input = if let Some(text) = properties["Input"].as_str() {
        TargetInput::Constant(text.to_owned())
    } else if let Some(path) = properties["InputPath"].as_str() {
        TargetInput::Path(path.to_owned())
    } else if let Some(transformer) = properties["InputTransformer"].as_object() {
        TargetInput::Transformer {
            paths: transformer
                .get("InputPathsMap")
                .and_then(Value::as_object)
                .map(|paths| {
                    paths
                        .iter()
                        .filter_map(|(name, path)| Some((name.clone(), path.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
            template: transformer
                .get("InputTemplate")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }
    } else {
        TargetInput::Event
    };
    let defaults = RetryPolicy::default();
    let retry = &properties["RetryPolicy"];
    Target {
        id: properties["Id"].as_str().unwrap_or("target").to_owned(),
        arn: properties["Arn"].as_str().unwrap_or_default().to_owned(),
        input,
        retry: RetryPolicy {
            maximum_retry_attempts: super::functions::number(&retry["MaximumRetryAttempts"])
                .and_then(|attempts| u32::try_from(attempts).ok())
                .unwrap_or(defaults.maximum_retry_attempts),
            maximum_event_age_seconds: super::functions::number(&retry["MaximumEventAgeInSeconds"])
                .unwrap_or(defaults.maximum_event_age_seconds),
        },
        dead_letter_arn: properties["DeadLetterConfig"]["Arn"]
            .as_str()
            .map(str::to_owned),
    }
}

/// Every `AWS::Scheduler::Schedule`, by name.
pub(super) fn schedules(template: &ResolvedTemplate) -> BTreeMap<String, ScheduleRoute> {
    template
        .of_type("AWS::Scheduler::Schedule")
        .map(|schedule| {
            let properties = &schedule.properties;
            (
                schedule.name.clone(),
                ScheduleRoute {
                    arn: schedule.arn.clone(),
                    expression: properties["ScheduleExpression"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    state: properties["State"].as_str().unwrap_or("ENABLED").to_owned(),
                    target: target(&properties["Target"]),
                },
            )
        })
        .collect()
}
