//! What a runbook acts on inside a location: resources by tag, a resource group, or explicit
//! parameter values, each fanned out over the document's target parameter.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// SSM's limit on the values of one target.
const MAX_VALUES: usize = 50;
/// SSM's limit on the length of a target key.
const MAX_KEY_LEN: usize = 163;

/// One entry of SSM's `Targets`, typed. In files and on the wire it keeps SSM's own form,
/// `{ "key": "tag:Patch", "values": ["true"] }`, so that examples from the SSM docs work as-is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "SsmTarget", into = "SsmTarget")]
#[schemars(with = "SsmTarget")]
pub enum Target {
    /// Resources whose tag `key` has one of `values` (`tag:<key>`).
    Tag {
        /// The tag key.
        key: String,
        /// The accepted tag values.
        values: Vec<String>,
    },
    /// Resources that carry any of these tag keys (`tag-key`).
    TagKey {
        /// The tag keys.
        keys: Vec<String>,
    },
    /// The members of a resource group (`ResourceGroup`).
    ResourceGroup {
        /// The group's name.
        name: String,
    },
    /// These values of the target parameter, one child automation each (`ParameterValues`).
    ParameterValues {
        /// The values, e.g. instance ids.
        values: Vec<String>,
    },
}

/// SSM's `Target` structure, as written in files and sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsmTarget {
    /// `tag:<key>`, `tag-key`, `ResourceGroup` or `ParameterValues`.
    #[schemars(length(min = 1, max = 163))]
    pub key: String,
    /// The values for that key (at most 50).
    #[schemars(length(min = 1, max = 50))]
    pub values: Vec<String>,
}

impl TryFrom<SsmTarget> for Target {
    type Error = Error;

    fn try_from(SsmTarget { key, values }: SsmTarget) -> Result<Self> {
        let invalid = |expected: &str| Error::invalid_value("target", &key, expected);
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(invalid("a key of 1-163 characters"));
        }
        if values.is_empty() || values.len() > MAX_VALUES {
            return Err(Error::invalid_value(
                "target values",
                &values.len().to_string(),
                format!("1 to {MAX_VALUES} values for target {key}"),
            ));
        }
        if let Some(tag) = key.strip_prefix("tag:") {
            if tag.is_empty() {
                return Err(invalid("tag:<key> with a non-empty tag key"));
            }
            return Ok(Self::Tag {
                key: tag.to_owned(),
                values,
            });
        }
        match key.as_str() {
            "tag-key" => Ok(Self::TagKey { keys: values }),
            "ResourceGroup" => match <[String; 1]>::try_from(values) {
                Ok([name]) => Ok(Self::ResourceGroup { name }),
                Err(_) => Err(invalid("exactly one resource group name")),
            },
            "ParameterValues" => Ok(Self::ParameterValues { values }),
            _ => Err(invalid(
                "tag:<key>, tag-key, ResourceGroup or ParameterValues",
            )),
        }
    }
}

impl From<Target> for SsmTarget {
    fn from(target: Target) -> Self {
        match target {
            Target::Tag { key, values } => Self {
                key: format!("tag:{key}"),
                values,
            },
            Target::TagKey { keys } => Self {
                key: "tag-key".to_owned(),
                values: keys,
            },
            Target::ResourceGroup { name } => Self {
                key: "ResourceGroup".to_owned(),
                values: vec![name],
            },
            Target::ParameterValues { values } => Self {
                key: "ParameterValues".to_owned(),
                values,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(json: &str) -> Result<Target, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn when_targets_use_ssm_keys_then_each_becomes_its_kind_and_round_trips() {
        for json in [
            r#"{"key":"tag:Patch","values":["true"]}"#,
            r#"{"key":"tag-key","values":["Patch"]}"#,
            r#"{"key":"ResourceGroup","values":["WebServers"]}"#,
            r#"{"key":"ParameterValues","values":["i-0123456789abcdef0"]}"#,
        ] {
            let parsed = target(json).expect(json);
            assert_eq!(serde_json::to_string(&parsed).expect("serializes"), json);
        }
        assert!(matches!(
            target(r#"{"key":"tag:Patch","values":["true"]}"#),
            Ok(Target::Tag { key, .. }) if key == "Patch"
        ));
    }

    #[test]
    fn when_a_target_is_not_one_ssm_accepts_then_it_is_refused() {
        for json in [
            r#"{"key":"InstanceIds","values":["i-1"]}"#,
            r#"{"key":"tag:","values":["x"]}"#,
            r#"{"key":"ResourceGroup","values":["a","b"]}"#,
            r#"{"key":"tag:Patch","values":[]}"#,
        ] {
            assert!(target(json).is_err(), "{json}");
        }
    }
}
