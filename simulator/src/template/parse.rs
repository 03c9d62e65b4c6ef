//! The template's text as data: YAML (or JSON) to JSON values, CloudFormation's short tags
//! (`!Ref`, `!Sub`, ...) turned into their long forms (`Ref`, `Fn::Sub`, ...), and each
//! section's entries in template order.

use super::TemplateError;
use serde_json::{Map, Value};
use serde_yaml_ng::{Mapping, Value as Yaml};

/// A template's sections, intrinsic functions still unevaluated.
#[derive(Debug)]
pub(super) struct Template {
    pub(super) parameters: Vec<(String, Value)>,
    pub(super) conditions: Vec<(String, Value)>,
    /// SAM's `Globals`, by section (`Function`, ...).
    pub(super) globals: Map<String, Value>,
    pub(super) resources: Vec<Declared>,
    pub(super) outputs: Vec<(String, Value)>,
}

/// One entry of `Resources`.
#[derive(Debug)]
pub(super) struct Declared {
    pub(super) logical_id: String,
    pub(super) kind: String,
    pub(super) condition: Option<String>,
    /// An empty mapping when the template gives none.
    pub(super) properties: Value,
    /// Null when the template gives none.
    pub(super) metadata: Value,
}

/// Reads a template.
pub(super) fn parse(text: &str) -> Result<Template, TemplateError> {
    let Yaml::Mapping(sections) = serde_yaml_ng::from_str(text)? else {
        return Err(malformed("the template", "must be a mapping of sections"));
    };
    let resources = section(&sections, "Resources")?
        .into_iter()
        .map(|(logical_id, body)| declared(logical_id, body))
        .collect::<Result<_, _>>()?;
    let globals = match sections.get("Globals") {
        None => Map::new(),
        Some(globals) => match json(globals, "Globals")? {
            Value::Object(globals) => globals,
            _ => return Err(malformed("Globals", "must be a mapping of sections")),
        },
    };
    Ok(Template {
        parameters: section(&sections, "Parameters")?,
        conditions: section(&sections, "Conditions")?,
        globals,
        resources,
        outputs: section(&sections, "Outputs")?,
    })
}

/// A section's entries in template order; none when it is absent.
fn section(sections: &Mapping, name: &str) -> Result<Vec<(String, Value)>, TemplateError> {
    match sections.get(name) {
        None => Ok(Vec::new()),
        Some(Yaml::Mapping(entries)) => entries
            .iter()
            .map(|(key, value)| {
                let key = text_key(key, name)?;
                let value = json(value, &format!("{name}.{key}"))?;
                Ok((key, value))
            })
            .collect(),
        Some(_) => Err(malformed(name, "must be a mapping")),
    }
}

fn declared(logical_id: String, body: Value) -> Result<Declared, TemplateError> {
    let at = format!("Resources.{logical_id}");
    let Value::Object(mut body) = body else {
        return Err(malformed(&at, "a resource must be a mapping"));
    };
    let Some(Value::String(kind)) = body.remove("Type") else {
        return Err(malformed(&at, "a resource needs a Type"));
    };
    let condition = match body.remove("Condition") {
        None => None,
        Some(Value::String(condition)) => Some(condition),
        Some(_) => {
            return Err(malformed(
                &at,
                "a resource's Condition must be a condition's name",
            ));
        }
    };
    Ok(Declared {
        logical_id,
        kind,
        condition,
        properties: body
            .remove("Properties")
            .unwrap_or_else(|| Value::Object(Map::new())),
        metadata: body.remove("Metadata").unwrap_or(Value::Null),
    })
}

/// A YAML value as JSON; a short tag as its long form: `!Ref X` is `{"Ref": "X"}`,
/// `!Condition X` is `{"Condition": "X"}`, any other `!F x` is `{"Fn::F": x}`.
fn json(value: &Yaml, at: &str) -> Result<Value, TemplateError> {
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(*flag),
        Yaml::Number(number) => number_json(number),
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .map(|item| json(item, at))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = text_key(key, at)?;
                    let value = json(value, &format!("{at}.{key}"))?;
                    Ok((key, value))
                })
                .collect::<Result<_, TemplateError>>()?,
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let function = match tag.trim_start_matches('!') {
                name @ ("Ref" | "Condition") => name.to_owned(),
                name => format!("Fn::{name}"),
            };
            Value::Object(Map::from_iter([(function, json(&tagged.value, at)?)]))
        }
    })
}

fn number_json(number: &serde_yaml_ng::Number) -> Value {
    if let Some(unsigned) = number.as_u64() {
        Value::from(unsigned)
    } else if let Some(signed) = number.as_i64() {
        Value::from(signed)
    } else {
        number
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(number.to_string()), Value::Number)
    }
}

/// A mapping key as text (YAML allows `1:` or `true:`; JSON keys are strings).
fn text_key(key: &Yaml, at: &str) -> Result<String, TemplateError> {
    match key {
        Yaml::String(text) => Ok(text.clone()),
        Yaml::Number(number) => Ok(number.to_string()),
        Yaml::Bool(flag) => Ok(flag.to_string()),
        _ => Err(malformed(at, "mapping keys must be strings")),
    }
}

fn malformed(at: &str, problem: &'static str) -> TemplateError {
    TemplateError::Malformed {
        at: at.to_owned(),
        problem,
    }
}
