//! CloudFormation's intrinsic functions, pseudo parameters and conditions, evaluated for one
//! deployment (stack, account, Region and parameter values), and the resources and outputs
//! they resolve.
//!
//! Supported: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`,
//! `Fn::Or`, `Condition` (within `Fn::Not`, `Fn::And`, `Fn::Or`), `Fn::Join`, `Fn::Select`,
//! `Fn::Split` and `Fn::Base64`; any other function is refused.

use super::identity::{Identity, identify};
use super::parameters::Parameter;
use super::parse::{Declared, Template};
use super::{PARTITION, ResolvedResource, StackContext, TemplateError, URL_SUFFIX, scalar_text};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The intrinsic function a mapping is, if it is one: a single key, `Ref` or `Fn::...`.
pub(super) fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((function, argument)), None) if function == "Ref" || function.starts_with("Fn::") => {
            Some((function, argument))
        }
        _ => None,
    }
}

/// What the template's expressions are evaluated against.
#[derive(Debug)]
pub(super) struct Scope<'t> {
    stack: &'t StackContext,
    parameters: &'t BTreeMap<String, Parameter>,
    conditions: &'t [(String, Value)],
    condition_values: BTreeMap<String, bool>,
    /// The resources that exist (their Condition holds), by logical id; none while the
    /// conditions are evaluated, which may refer to parameters only.
    resources: BTreeMap<&'t str, &'t Declared>,
    identities: BTreeMap<String, Identity>,
    /// The conditions and resource names being evaluated, innermost last: a circle's trace.
    pending: Vec<String>,
}

impl<'t> Scope<'t> {
    /// Evaluates every condition, and admits the resources whose Condition holds.
    pub(super) fn new(
        stack: &'t StackContext,
        parameters: &'t BTreeMap<String, Parameter>,
        template: &'t Template,
    ) -> Result<Self, TemplateError> {
        let mut scope = Scope {
            stack,
            parameters,
            conditions: &template.conditions,
            condition_values: BTreeMap::new(),
            resources: BTreeMap::new(),
            identities: BTreeMap::new(),
            pending: Vec::new(),
        };
        for (name, _) in &template.conditions {
            scope.condition(name, "Conditions")?;
        }
        for declared in &template.resources {
            let exists = match &declared.condition {
                None => true,
                Some(condition) => {
                    scope.condition(condition, &format!("{}.Condition", declared.logical_id))?
                }
            };
            if exists {
                scope.resources.insert(&declared.logical_id, declared);
            }
        }
        Ok(scope)
    }

    /// Whether the resource exists in this deployment.
    pub(super) fn exists(&self, logical_id: &str) -> bool {
        self.resources.contains_key(logical_id)
    }

    /// The resource with its identity and every intrinsic function of its properties and
    /// metadata evaluated.
    pub(super) fn resource(
        &mut self,
        declared: &Declared,
    ) -> Result<ResolvedResource, TemplateError> {
        let logical_id = &declared.logical_id;
        let Identity {
            name,
            arn,
            reference,
            ..
        } = self.identity(logical_id, logical_id)?;
        let properties = self
            .eval(&declared.properties, &format!("{logical_id}.Properties"))?
            .unwrap_or_else(|| Value::Object(Map::new()));
        let metadata = self
            .eval(&declared.metadata, &format!("{logical_id}.Metadata"))?
            .unwrap_or(Value::Null);
        Ok(ResolvedResource {
            logical_id: logical_id.clone(),
            kind: declared.kind.clone(),
            name,
            arn,
            reference,
            properties,
            metadata,
        })
    }

    /// The output's value, or `None` when its Condition is false.
    pub(super) fn output(
        &mut self,
        name: &str,
        output: &Value,
    ) -> Result<Option<Value>, TemplateError> {
        let at = format!("Outputs.{name}");
        let holds = match output.get("Condition") {
            None => true,
            Some(Value::String(condition)) => self.condition(condition, &at)?,
            Some(_) => {
                return Err(TemplateError::Malformed {
                    at,
                    problem: "an output's Condition must be a condition's name",
                });
            }
        };
        if !holds {
            return Ok(None);
        }
        let Some(value) = output.get("Value") else {
            return Err(TemplateError::Malformed {
                at,
                problem: "an output needs a Value",
            });
        };
        self.eval(value, &format!("{at}.Value"))
    }

    /// The value with every intrinsic function evaluated; `None` where it is `AWS::NoValue`,
    /// which also removes the mapping entry or list item it is in.
    fn eval(&mut self, value: &Value, at: &str) -> Result<Option<Value>, TemplateError> {
        match value {
            Value::Object(map) => {
                if let Some((function, argument)) = intrinsic(map) {
                    return self.function(function, argument, at);
                }
                let mut resolved = Map::new();
                for (key, value) in map {
                    if let Some(value) = self.eval(value, &format!("{at}.{key}"))? {
                        resolved.insert(key.clone(), value);
                    }
                }
                Ok(Some(Value::Object(resolved)))
            }
            Value::Array(items) => {
                let mut resolved = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    resolved.extend(self.eval(item, &format!("{at}[{index}]"))?);
                }
                Ok(Some(Value::Array(resolved)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// One intrinsic function's value.
    fn function(
        &mut self,
        function: &str,
        argument: &Value,
        at: &str,
    ) -> Result<Option<Value>, TemplateError> {
        let at = &format!("{at}.{function}");
        Ok(Some(match function {
            "Ref" => {
                let name = self.text(argument, at)?;
                return self.reference(&name, at);
            }
            "Fn::GetAtt" => Value::String(self.get_att(argument, at)?),
            "Fn::Sub" => Value::String(self.sub(argument, at)?),
            "Fn::If" => return self.choose(argument, at),
            "Fn::Equals" => {
                let [left, right] = arguments("Fn::Equals", argument, at, "[value, value]")?;
                let (left, right) = (self.eval(left, at)?, self.eval(right, at)?);
                // Parameter values are strings: "90" equals 90.
                let text = |value: &Option<Value>| value.as_ref().and_then(scalar_text);
                Value::Bool(match (text(&left), text(&right)) {
                    (Some(left), Some(right)) => left == right,
                    _ => left == right,
                })
            }
            "Fn::Not" => {
                let [condition] = arguments("Fn::Not", argument, at, "[condition]")?;
                Value::Bool(!self.boolean(condition, at)?)
            }
            "Fn::And" => Value::Bool(
                self.booleans("Fn::And", argument, at)?
                    .iter()
                    .all(|value| *value),
            ),
            "Fn::Or" => Value::Bool(
                self.booleans("Fn::Or", argument, at)?
                    .iter()
                    .any(|value| *value),
            ),
            "Fn::Join" => {
                let [delimiter, items] = arguments("Fn::Join", argument, at, "[delimiter, list]")?;
                let delimiter = self.text(delimiter, at)?;
                let items = self.list("Fn::Join", items, at)?;
                let items = items
                    .iter()
                    .map(|item| text_of(Some(item), at))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::String(items.join(&delimiter))
            }
            "Fn::Select" => self.select(argument, at)?,
            "Fn::Split" => {
                let [delimiter, source] =
                    arguments("Fn::Split", argument, at, "[delimiter, string]")?;
                let delimiter = self.text(delimiter, at)?;
                let source = self.text(source, at)?;
                Value::Array(
                    source
                        .split(delimiter.as_str())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                )
            }
            "Fn::Base64" => Value::String(base64(self.text(argument, at)?.as_bytes())),
            _ => {
                return Err(TemplateError::UnsupportedIntrinsic {
                    at: at.clone(),
                    function: function.to_owned(),
                });
            }
        }))
    }

    /// `Fn::GetAtt`: `[resource, attribute]` or `resource.attribute`.
    fn get_att(&mut self, argument: &Value, at: &str) -> Result<String, TemplateError> {
        let target = self.eval(argument, at)?;
        let (resource, attribute) = match &target {
            Some(Value::String(dotted)) => dotted.split_once('.'),
            Some(Value::Array(pair)) => match pair.as_slice() {
                [Value::String(resource), Value::String(attribute)] => {
                    Some((resource.as_str(), attribute.as_str()))
                }
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| {
            invalid(
                "Fn::GetAtt",
                at,
                "[resource, attribute] or \"resource.attribute\"",
            )
        })?;
        self.attribute(resource, attribute, at)
    }

    /// `Fn::If`: the value its condition chooses.
    fn choose(&mut self, argument: &Value, at: &str) -> Result<Option<Value>, TemplateError> {
        let [condition, if_true, if_false] = arguments(
            "Fn::If",
            argument,
            at,
            "[condition name, value if true, value if false]",
        )?;
        let condition = condition
            .as_str()
            .ok_or_else(|| invalid("Fn::If", at, "a condition's name first"))?;
        let chosen = if self.condition(condition, at)? {
            if_true
        } else {
            if_false
        };
        self.eval(chosen, at)
    }

    /// `Fn::Select`: the list's item at the index.
    fn select(&mut self, argument: &Value, at: &str) -> Result<Value, TemplateError> {
        let [index, items] = arguments("Fn::Select", argument, at, "[index, list]")?;
        let index = self.text(index, at)?;
        let items = self.list("Fn::Select", items, at)?;
        let count = items.len();
        index
            .parse::<usize>()
            .ok()
            .and_then(|index| items.into_iter().nth(index))
            .ok_or_else(|| {
                invalid(
                    "Fn::Select",
                    at,
                    &format!("an index below the list's length {count}, not {index}"),
                )
            })
    }

    /// What `Ref` gives: `AWS::NoValue` is nothing.
    fn reference(&mut self, name: &str, at: &str) -> Result<Option<Value>, TemplateError> {
        let stack = self.stack;
        let pseudo = match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::StackName" => Some(stack.stack_name.clone()),
            "AWS::AccountId" => Some(stack.account_id.clone()),
            "AWS::Region" => Some(stack.region.clone()),
            "AWS::Partition" => Some(PARTITION.to_owned()),
            "AWS::URLSuffix" => Some(URL_SUFFIX.to_owned()),
            _ => None,
        };
        if let Some(pseudo) = pseudo {
            return Ok(Some(Value::String(pseudo)));
        }
        if let Some(parameter) = self.parameters.get(name) {
            return Ok(Some(if parameter.list {
                parameter
                    .value
                    .split(',')
                    .map(|item| Value::String(item.to_owned()))
                    .collect()
            } else {
                Value::String(parameter.value.clone())
            }));
        }
        Ok(Some(Value::String(self.identity(name, at)?.reference)))
    }

    /// What `Fn::GetAtt` gives.
    fn attribute(
        &mut self,
        resource: &str,
        attribute: &str,
        at: &str,
    ) -> Result<String, TemplateError> {
        let identity = self.identity(resource, at)?;
        identity
            .attribute(attribute)
            .ok_or_else(|| TemplateError::UnknownAttribute {
                at: at.to_owned(),
                resource: resource.to_owned(),
                kind: self
                    .resources
                    .get(resource)
                    .map(|declared| declared.kind.clone())
                    .unwrap_or_default(),
                attribute: attribute.to_owned(),
            })
    }

    /// `Fn::Sub`: `${Parameter}`, `${AWS::Region}`, `${Resource}` (its `Ref`),
    /// `${Resource.Attribute}` and the given variables are replaced; `${!Literal}` is written
    /// `${Literal}`.
    fn sub(&mut self, argument: &Value, at: &str) -> Result<String, TemplateError> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Array(parts) => match parts.as_slice() {
                [Value::String(text), Value::Object(variables)] => (text.as_str(), Some(variables)),
                _ => {
                    return Err(invalid(
                        "Fn::Sub",
                        at,
                        "a string, or [string, {variable: value}]",
                    ));
                }
            },
            _ => {
                return Err(invalid(
                    "Fn::Sub",
                    at,
                    "a string, or [string, {variable: value}]",
                ));
            }
        };
        let mut substituted = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("${") {
            substituted.push_str(before);
            let Some((variable, after)) = after.split_once('}') else {
                substituted.push_str("${");
                rest = after;
                break;
            };
            if let Some(literal) = variable.strip_prefix('!') {
                substituted.push_str("${");
                substituted.push_str(literal);
                substituted.push('}');
            } else if let Some(value) = variables.and_then(|variables| variables.get(variable)) {
                substituted.push_str(&self.text(value, at)?);
            } else if let Some((resource, attribute)) = variable.split_once('.') {
                substituted.push_str(&self.attribute(resource, attribute, at)?);
            } else {
                let value = self.reference(variable, at)?;
                substituted.push_str(&text_of(value.as_ref(), at)?);
            }
            rest = after;
        }
        substituted.push_str(rest);
        Ok(substituted)
    }

    /// The named condition's value, evaluated once.
    fn condition(&mut self, name: &str, at: &str) -> Result<bool, TemplateError> {
        if let Some(value) = self.condition_values.get(name) {
            return Ok(*value);
        }
        let Some((_, expression)) = self
            .conditions
            .iter()
            .find(|(declared, _)| declared == name)
        else {
            return Err(TemplateError::UnknownCondition {
                at: at.to_owned(),
                name: name.to_owned(),
            });
        };
        let at = format!("Conditions.{name}");
        self.enter(&at)?;
        let value = self.boolean(expression, &at);
        self.pending.pop();
        let value = value?;
        self.condition_values.insert(name.to_owned(), value);
        Ok(value)
    }

    /// A condition expression's value: `{"Condition": name}` or a function giving a boolean.
    fn boolean(&mut self, expression: &Value, at: &str) -> Result<bool, TemplateError> {
        if let Some(Value::String(name)) = expression
            .as_object()
            .filter(|map| map.len() == 1)
            .and_then(|map| map.get("Condition"))
        {
            return self.condition(name, at);
        }
        match self.eval(expression, at)? {
            Some(Value::Bool(value)) => Ok(value),
            Some(Value::String(text)) if text == "true" || text == "false" => Ok(text == "true"),
            _ => Err(TemplateError::Malformed {
                at: at.to_owned(),
                problem: "expected a condition: Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition",
            }),
        }
    }

    /// The resource's identity, computed once: its name properties may refer to other
    /// resources' names.
    fn identity(&mut self, logical_id: &str, at: &str) -> Result<Identity, TemplateError> {
        if let Some(identity) = self.identities.get(logical_id) {
            return Ok(identity.clone());
        }
        let Some(&declared) = self.resources.get(logical_id) else {
            return Err(TemplateError::UnknownReference {
                at: at.to_owned(),
                name: logical_id.to_owned(),
            });
        };
        self.enter(logical_id)?;
        let stack = self.stack;
        let identity = identify(&declared.kind, logical_id, stack, &mut |key| match declared
            .properties
            .get(key)
        {
            None => Ok(None),
            Some(value) => {
                let at = format!("{logical_id}.Properties.{key}");
                match self.eval(value, &at)? {
                    None => Ok(None),
                    value => text_of(value.as_ref(), &at).map(Some),
                }
            }
        });
        self.pending.pop();
        let identity = identity?;
        self.identities
            .insert(logical_id.to_owned(), identity.clone());
        Ok(identity)
    }

    /// Marks `name` as being evaluated; refused if it already is.
    fn enter(&mut self, name: &str) -> Result<(), TemplateError> {
        if let Some(start) = self.pending.iter().position(|pending| pending == name) {
            let mut cycle = self.pending[start..].to_vec();
            cycle.push(name.to_owned());
            return Err(TemplateError::Cycle {
                cycle: cycle.join(" -> "),
            });
        }
        self.pending.push(name.to_owned());
        Ok(())
    }

    /// The value as text: a string, number or boolean.
    fn text(&mut self, value: &Value, at: &str) -> Result<String, TemplateError> {
        let value = self.eval(value, at)?;
        text_of(value.as_ref(), at)
    }

    /// The values of a list of conditions.
    fn booleans(
        &mut self,
        function: &'static str,
        argument: &Value,
        at: &str,
    ) -> Result<Vec<bool>, TemplateError> {
        let conditions = argument
            .as_array()
            .filter(|conditions| !conditions.is_empty());
        let conditions = conditions.ok_or_else(|| invalid(function, at, "a list of conditions"))?;
        conditions
            .iter()
            .map(|condition| self.boolean(condition, at))
            .collect()
    }

    /// The value as a list.
    fn list(
        &mut self,
        function: &'static str,
        value: &Value,
        at: &str,
    ) -> Result<Vec<Value>, TemplateError> {
        match self.eval(value, at)? {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(invalid(function, at, "a list")),
        }
    }
}

/// The function's arguments, a list of `N`.
fn arguments<'v, const N: usize>(
    function: &'static str,
    argument: &'v Value,
    at: &str,
    expected: &str,
) -> Result<&'v [Value; N], TemplateError> {
    argument
        .as_array()
        .and_then(|items| <&[Value; N]>::try_from(items.as_slice()).ok())
        .ok_or_else(|| invalid(function, at, expected))
}

fn invalid(function: &'static str, at: &str, expected: &str) -> TemplateError {
    TemplateError::InvalidArguments {
        at: at.to_owned(),
        function,
        expected: expected.to_owned(),
    }
}

fn text_of(value: Option<&Value>, at: &str) -> Result<String, TemplateError> {
    if let Some(text) = value.and_then(scalar_text) {
        return Ok(text);
    }
    Err(TemplateError::NotText {
        at: at.to_owned(),
        found: match value {
            None => "nothing (AWS::NoValue)",
            Some(Value::Array(_)) => "a list",
            Some(Value::Object(_)) => "a mapping",
            Some(_) => "null",
        },
    })
}

/// `Fn::Base64`: standard alphabet, padded (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits = chunk.iter().enumerate().fold(0_u32, |bits, (index, byte)| {
            bits | (u32::from(*byte) << (16 - 8 * index))
        });
        for sextet in 0..4 {
            if sextet <= chunk.len() {
                let index = (bits >> (18 - 6 * sextet)) & 0x3f;
                encoded.push(char::from(ALPHABET[index as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}
