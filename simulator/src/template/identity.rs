//! Each resource type's physical name, ARN, `Ref` value and `Fn::GetAtt` attributes, from
//! each type's "Return values" in the CloudFormation reference; where the template names no
//! resource, the name CloudFormation would generate is `{stack}-{logical id}` here (without
//! CloudFormation's random suffix, so that a local deployment's names are predictable).

use super::{PARTITION, StackContext, TemplateError};

/// What a resource is called and how other resources refer to it.
#[derive(Debug, Clone)]
pub(super) struct Identity {
    pub(super) name: String,
    pub(super) arn: String,
    /// What `Ref` gives.
    pub(super) reference: String,
    /// The attributes `Fn::GetAtt` gives; `None` for a type not modelled here, whose `Arn` is
    /// its ARN and any other attribute its name.
    attributes: Option<&'static [(&'static str, Part)]>,
}

/// What an attribute is.
#[derive(Debug, Clone, Copy)]
enum Part {
    Name,
    Arn,
    Reference,
    RoleId,
}

impl Identity {
    /// What `Fn::GetAtt` gives for the attribute, if the type returns it.
    pub(super) fn attribute(&self, attribute: &str) -> Option<String> {
        let Some(attributes) = self.attributes else {
            return Some(
                if attribute == "Arn" {
                    &self.arn
                } else {
                    &self.name
                }
                .clone(),
            );
        };
        let (_, part) = attributes.iter().find(|(name, _)| *name == attribute)?;
        Some(match part {
            Part::Name => self.name.clone(),
            Part::Arn => self.arn.clone(),
            Part::Reference => self.reference.clone(),
            // Role ids are AROA and 17 upper-case letters and digits; this one is stable.
            Part::RoleId => {
                let id = stable_id(&self.arn).simple().to_string().to_uppercase();
                format!("AROA{}", &id[..17])
            }
        })
    }
}

/// Each modelled type's name property.
const NAME_PROPERTIES: &[(&str, &str)] = &[
    ("AWS::Serverless::Function", "FunctionName"),
    ("AWS::Lambda::Function", "FunctionName"),
    ("AWS::Serverless::StateMachine", "Name"),
    ("AWS::StepFunctions::StateMachine", "StateMachineName"),
    ("AWS::Serverless::LayerVersion", "LayerName"),
    ("AWS::Lambda::LayerVersion", "LayerName"),
    ("AWS::SQS::Queue", "QueueName"),
    ("AWS::SNS::Topic", "TopicName"),
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::Events::EventBus", "Name"),
    ("AWS::Events::Rule", "Name"),
    ("AWS::Scheduler::Schedule", "Name"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::KMS::Alias", "AliasName"),
];

/// A function resolving one of the resource's properties to text (`None` when the template
/// does not give it).
pub(super) type Property<'p> = dyn FnMut(&str) -> Result<Option<String>, TemplateError> + 'p;

/// The identity of the resource of type `kind`.
pub(super) fn identify(
    kind: &str,
    logical_id: &str,
    stack: &StackContext,
    property: &mut Property<'_>,
) -> Result<Identity, TemplateError> {
    use Part::{Arn, Name, Reference, RoleId};
    let name = name(kind, logical_id, stack, property)?;
    let arn = arn(kind, &name, stack, property)?;
    let (reference, attributes): (_, &'static [_]) = match kind {
        "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
            (arn.clone(), &[("Arn", Arn), ("Name", Name)])
        }
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
            (arn.clone(), &[("LayerVersionArn", Arn)])
        }
        "AWS::SQS::Queue" => {
            let endpoint = stack.endpoint.trim_end_matches('/');
            let url = format!("{endpoint}/{}/{name}", stack.account_id);
            (
                url,
                &[("Arn", Arn), ("QueueName", Name), ("QueueUrl", Reference)],
            )
        }
        "AWS::SNS::Topic" => (arn.clone(), &[("TopicArn", Arn), ("TopicName", Name)]),
        "AWS::Events::EventBus" => (name.clone(), &[("Arn", Arn), ("Name", Name)]),
        "AWS::IAM::Role" => (name.clone(), &[("Arn", Arn), ("RoleId", RoleId)]),
        "AWS::KMS::Key" => (name.clone(), &[("Arn", Arn), ("KeyId", Name)]),
        "AWS::KMS::Alias" => (name.clone(), &[]),
        "AWS::Serverless::Function"
        | "AWS::Lambda::Function"
        | "AWS::S3::Bucket"
        | "AWS::Events::Rule"
        | "AWS::Scheduler::Schedule"
        | "AWS::Logs::LogGroup" => (name.clone(), &[("Arn", Arn)]),
        _ => {
            return Ok(Identity {
                reference: name.clone(),
                name,
                arn,
                attributes: None,
            });
        }
    };
    Ok(Identity {
        name,
        arn,
        reference,
        attributes: Some(attributes),
    })
}

/// The name the template gives, or the one CloudFormation would generate; a KMS key's id.
fn name(
    kind: &str,
    logical_id: &str,
    stack: &StackContext,
    property: &mut Property<'_>,
) -> Result<String, TemplateError> {
    if let Some((_, key)) = NAME_PROPERTIES.iter().find(|(named, _)| *named == kind) {
        if let Some(name) = property(key)? {
            return Ok(name);
        }
    }
    let StackContext { stack_name, .. } = stack;
    let generated = format!("{stack_name}-{logical_id}");
    Ok(match kind {
        "AWS::S3::Bucket" => generated.to_lowercase(),
        "AWS::Logs::LogGroup" => format!("/aws/{stack_name}/{logical_id}"),
        "AWS::KMS::Alias" => format!("alias/{generated}"),
        "AWS::KMS::Key" => {
            let StackContext {
                account_id, region, ..
            } = stack;
            stable_id(&format!("{account_id}/{region}/{generated}")).to_string()
        }
        _ => generated,
    })
}

fn arn(
    kind: &str,
    name: &str,
    stack: &StackContext,
    property: &mut Property<'_>,
) -> Result<String, TemplateError> {
    let StackContext {
        account_id: account,
        region,
        ..
    } = stack;
    let regional = |service: &str, resource: &str| {
        format!("arn:{PARTITION}:{service}:{region}:{account}:{resource}")
    };
    Ok(match kind {
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
            regional("lambda", &format!("function:{name}"))
        }
        "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
            regional("states", &format!("stateMachine:{name}"))
        }
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
            regional("lambda", &format!("layer:{name}:1"))
        }
        "AWS::SQS::Queue" => regional("sqs", name),
        "AWS::SNS::Topic" => regional("sns", name),
        "AWS::S3::Bucket" => format!("arn:{PARTITION}:s3:::{name}"),
        "AWS::Events::EventBus" => regional("events", &format!("event-bus/{name}")),
        // EventBusName is a bus's name or ARN; a rule on a custom bus has the bus in its ARN.
        "AWS::Events::Rule" => match property("EventBusName")? {
            Some(bus) if bus != "default" => {
                let bus = bus.rsplit_once('/').map_or(bus.as_str(), |(_, bus)| bus);
                regional("events", &format!("rule/{bus}/{name}"))
            }
            _ => regional("events", &format!("rule/{name}")),
        },
        "AWS::Scheduler::Schedule" => {
            let group = property("GroupName")?.unwrap_or_else(|| "default".to_owned());
            regional("scheduler", &format!("schedule/{group}/{name}"))
        }
        "AWS::IAM::Role" => {
            let path = property("Path")?.unwrap_or_else(|| "/".to_owned());
            format!("arn:{PARTITION}:iam::{account}:role{path}{name}")
        }
        "AWS::Logs::LogGroup" => regional("logs", &format!("log-group:{name}:*")),
        "AWS::KMS::Key" => regional("kms", &format!("key/{name}")),
        "AWS::KMS::Alias" => regional("kms", name),
        _ => {
            let mut parts = kind.split("::").skip(1).map(str::to_lowercase);
            let service = parts.next().unwrap_or_default();
            let resource = parts.next().unwrap_or_default();
            regional(&service, &format!("{resource}/{name}"))
        }
    })
}

/// A uuid that depends only on `seed`.
fn stable_id(seed: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes())
}
