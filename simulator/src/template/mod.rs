//! A CloudFormation (SAM) template resolved for a local deployment: parameter values,
//! conditions, SAM's `Globals`, every resource's physical name, ARN and `Ref` value, and its
//! properties with every intrinsic function evaluated, so that the local stack can create what
//! the template describes, named as CloudFormation would name it.
//!
//! The flow: `parse` (YAML, short tags to long forms) -> `globals` (SAM) -> `parameters`
//! (values, checked) -> `intrinsics` (conditions, then each resource's `identity` and
//! properties, then the outputs).

mod error;
mod globals;
mod identity;
mod intrinsics;
mod parameters;
mod parse;
#[cfg(test)]
mod tests;

pub use error::TemplateError;

use serde_json::Value;
use std::collections::BTreeMap;

/// `AWS::Partition`.
const PARTITION: &str = "aws";
/// `AWS::URLSuffix`.
const URL_SUFFIX: &str = "amazonaws.com";

/// What the template is deployed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackContext {
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `AWS::AccountId`.
    pub account_id: String,
    /// `AWS::Region`.
    pub region: String,
    /// The local endpoint, e.g. `http://127.0.0.1:4566`: SQS queue URLs start with it.
    pub endpoint: String,
}

/// A template resolved for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTemplate {
    /// Every parameter's value (an override, or its Default).
    pub parameters: BTreeMap<String, String>,
    /// The resources whose Condition holds, in template order.
    pub resources: Vec<ResolvedResource>,
    /// The outputs whose Condition holds, by name: their `Value`s.
    pub outputs: BTreeMap<String, Value>,
}

/// One resource as deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedResource {
    /// Its logical id.
    pub logical_id: String,
    /// Its type, e.g. `AWS::SQS::Queue`.
    pub kind: String,
    /// Its physical name (a KMS key's: its key id).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// What `Ref` gives: a name, an ARN or (SQS) a queue URL, as its type documents.
    pub reference: String,
    /// Its properties, every intrinsic function evaluated; SAM's `Globals` merged in.
    pub properties: Value,
    /// Its `Metadata`, every intrinsic function evaluated; null when it has none.
    pub metadata: Value,
}

impl ResolvedTemplate {
    /// The resource with that logical id, if it exists in this deployment.
    pub fn resource(&self, logical_id: &str) -> Option<&ResolvedResource> {
        self.resources
            .iter()
            .find(|resource| resource.logical_id == logical_id)
    }

    /// The resources of that type (`AWS::SQS::Queue`), in template order.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a ResolvedResource> {
        self.resources
            .iter()
            .filter(move |resource| resource.kind == kind)
    }
}

/// Resolves the template (YAML or JSON) for a deployment as `context`, with the given
/// parameter values over the template's defaults.
pub fn resolve(
    template_text: &str,
    context: &StackContext,
    parameter_overrides: &BTreeMap<String, String>,
) -> Result<ResolvedTemplate, TemplateError> {
    let mut template = parse::parse(template_text)?;
    globals::apply(&mut template);
    let parameters = parameters::values(&template.parameters, parameter_overrides)?;
    let mut scope = intrinsics::Scope::new(context, &parameters, &template)?;
    let mut resources = Vec::new();
    for declared in &template.resources {
        if scope.exists(&declared.logical_id) {
            resources.push(scope.resource(declared)?);
        }
    }
    let mut outputs = BTreeMap::new();
    for (name, output) in &template.outputs {
        if let Some(value) = scope.output(name, output)? {
            outputs.insert(name.clone(), value);
        }
    }
    Ok(ResolvedTemplate {
        parameters: parameters
            .into_iter()
            .map(|(name, parameter)| (name, parameter.value))
            .collect(),
        resources,
        outputs,
    })
}

/// A scalar as CloudFormation turns it into a string: strings as they are, numbers and
/// booleans as written.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
