//! The template's parameters: each one's value, from the overrides or its `Default`, checked
//! as CloudFormation checks it when a stack is deployed (`Type` Number, `AllowedValues`,
//! `AllowedPattern`, `MinValue`, `MaxValue`, `MinLength`, `MaxLength`).

use super::{TemplateError, scalar_text};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;

/// A parameter's value. Values are strings: a `Number`'s is its text.
#[derive(Debug)]
pub(super) struct Parameter {
    pub(super) value: String,
    /// `CommaDelimitedList` and `List<...>`: `Ref` gives the comma-separated items.
    pub(super) list: bool,
}

/// Every declared parameter's value.
pub(super) fn values(
    declared: &[(String, Value)],
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Parameter>, TemplateError> {
    if let Some(name) = overrides
        .keys()
        .find(|name| !declared.iter().any(|(declared, _)| declared == *name))
    {
        return Err(TemplateError::UnknownParameter { name: name.clone() });
    }
    declared
        .iter()
        .map(|(name, declaration)| {
            let value = match (overrides.get(name), declaration.get("Default")) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => {
                    scalar_text(default).ok_or_else(|| TemplateError::NotText {
                        at: format!("Parameters.{name}.Default"),
                        found: "a list or a mapping",
                    })?
                }
                (None, None) => return Err(TemplateError::MissingParameter { name: name.clone() }),
            };
            check(name, declaration, &value)?;
            let kind = declaration
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("String");
            let list = kind == "CommaDelimitedList" || kind.starts_with("List<");
            Ok((name.clone(), Parameter { value, list }))
        })
        .collect()
}

fn check(name: &str, declaration: &Value, value: &str) -> Result<(), TemplateError> {
    let number = value.parse::<f64>().ok();
    if declaration.get("Type").and_then(Value::as_str) == Some("Number") && number.is_none() {
        return Err(TemplateError::NotANumber {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_text).collect();
        if !allowed.iter().any(|allowed| allowed == value) {
            return Err(TemplateError::NotAllowedValue {
                name: name.to_owned(),
                value: value.to_owned(),
                allowed,
            });
        }
    }
    if let Some(pattern) = declaration.get("AllowedPattern").and_then(Value::as_str) {
        // The pattern must match the whole value, as CloudFormation applies it (an unanchored
        // `[a-z]+` refuses `abc1`).
        let whole = Regex::new(&format!("^(?:{pattern})$")).map_err(|source| {
            TemplateError::InvalidPattern {
                name: name.to_owned(),
                pattern: pattern.to_owned(),
                source,
            }
        })?;
        if !whole.is_match(value) {
            return Err(TemplateError::PatternMismatch {
                name: name.to_owned(),
                value: value.to_owned(),
                pattern: pattern.to_owned(),
            });
        }
    }
    let length = f64::from(u32::try_from(value.chars().count()).unwrap_or(u32::MAX));
    for (bound, measured, is_minimum) in [
        ("MinValue", number, true),
        ("MaxValue", number, false),
        ("MinLength", Some(length), true),
        ("MaxLength", Some(length), false),
    ] {
        let Some(limit) = declaration.get(bound).and_then(scalar_text) else {
            continue;
        };
        let (Some(measured), Ok(limit_number)) = (measured, limit.parse::<f64>()) else {
            continue;
        };
        let breaks = if is_minimum {
            measured < limit_number
        } else {
            measured > limit_number
        };
        if breaks {
            return Err(TemplateError::OutOfRange {
                name: name.to_owned(),
                value: value.to_owned(),
                constraint: format!("{bound} {limit}"),
            });
        }
    }
    Ok(())
}
