//! Alarm rules: which alarms start which run profile, and how the alarm's dimensions (such as
//! `InstanceId`) become the run's target and parameters; and the policy every alarm meets
//! first (`AlarmPolicy`): its name starts with the configured prefix, each dimension value the
//! run uses has the shape its dimension's values have, and one alarm starts at most one run
//! per location in each interval.

use super::ProfileName;
use crate::model::Parameters;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One rule: alarms whose name matches `alarm_name` start `profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmRule {
    /// The alarm names this rule matches; `*` stands for any run of characters.
    pub alarm_name: String,
    /// The run profile to start.
    pub profile: ProfileName,
    /// The dimension whose value becomes the target parameter's value (the profile's
    /// `target_parameter_name`), e.g. `InstanceId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_dimension: Option<String>,
    /// Dimensions copied into document parameters: dimension name -> parameter name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters_from_dimensions: BTreeMap<String, String>,
}

/// What every alarm must meet before a rule is even looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmPolicy {
    /// Every alarm the fabric acts on has a name starting with this (and so does every
    /// rule's pattern); the template's `AlarmNamePrefix` filters on it too. Anyone who can
    /// create an alarm in a member account can send the fabric an alarm: the prefix is the
    /// naming convention that only the alarms made for it follow.
    pub name_prefix: String,
    /// One alarm starts at most one run per location in each window of this many seconds;
    /// the alarm going off again within the window finds that run.
    #[serde(default = "default_alarm_interval")]
    pub min_interval_seconds: u64,
}

fn default_alarm_interval() -> u64 {
    300
}

/// Why a dimension's value cannot be used: its expected shape.
fn dimension_shape(dimension: &str) -> (&'static str, fn(&str) -> bool) {
    fn instance_id(value: &str) -> bool {
        value.strip_prefix("i-").is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
    }
    fn name(value: &str) -> bool {
        (1..=255).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+=".contains(&b))
    }
    match dimension {
        "InstanceId" => ("i- and 8 or 17 lowercase hex digits", instance_id),
        _ => ("1-255 letters, digits or -_./:@+=", name),
    }
}

/// Checks a dimension value a run would use (as its target or a parameter).
pub(crate) fn check_dimension(dimension: &str, value: &str) -> crate::Result<()> {
    let (expected, valid) = dimension_shape(dimension);
    if valid(value) {
        Ok(())
    } else {
        Err(crate::Error::NotPermitted {
            what: format!("the alarm's dimension {}", crate::error::shown(dimension)),
            rule: format!("{} is not {expected}", crate::error::shown(value)),
        })
    }
}

/// What an alarm rule makes of one alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmMatch<'a> {
    /// The rule that matched.
    pub rule: &'a AlarmRule,
    /// The value for the target parameter, when the rule names a target dimension.
    pub target_value: Option<String>,
    /// Parameters taken from the alarm's dimensions.
    pub parameters: Parameters,
}

impl AlarmRule {
    /// True when `alarm_name` matches the rule's pattern.
    pub fn matches(&self, alarm_name: &str) -> bool {
        glob_matches(&self.alarm_name, alarm_name)
    }
}

/// The first rule of `rules` that matches the alarm, with what it takes from the dimensions.
/// A rule whose target dimension the alarm lacks does not match: the run would have no target.
pub(crate) fn match_alarm<'a>(
    rules: &'a [AlarmRule],
    alarm_name: &str,
    dimensions: &BTreeMap<String, String>,
) -> Option<AlarmMatch<'a>> {
    rules.iter().find_map(|rule| {
        if !rule.matches(alarm_name) {
            return None;
        }
        let target_value = match &rule.target_dimension {
            Some(dimension) => Some(dimensions.get(dimension)?.clone()),
            None => None,
        };
        let parameters = rule
            .parameters_from_dimensions
            .iter()
            .filter_map(|(dimension, parameter)| {
                dimensions
                    .get(dimension)
                    .map(|value| (parameter.clone(), vec![value.clone()]))
            })
            .collect();
        Some(AlarmMatch {
            rule,
            target_value,
            parameters,
        })
    })
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters (linear time:
/// on a mismatch it backtracks only to the last `*`).
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            last_star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, matched)) = last_star {
            p = star + 1;
            t = matched + 1;
            last_star = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

impl super::Config {
    /// The alarm's rule, after the policy: `None` when no rule matches; an error when the
    /// alarm's name lacks the prefix or a dimension value the run would use is malformed.
    pub fn admit_alarm(
        &self,
        alarm_name: &str,
        dimensions: &BTreeMap<String, String>,
    ) -> crate::Result<Option<AlarmMatch<'_>>> {
        if let Some(policy) = &self.alarm_policy {
            if !alarm_name.starts_with(&policy.name_prefix) {
                return Err(crate::Error::NotPermitted {
                    what: format!("alarm {}", crate::error::shown(alarm_name)),
                    rule: format!(
                        "the fabric acts only on alarms named {}* (alarm_policy.name_prefix)",
                        policy.name_prefix
                    ),
                });
            }
        }
        let Some(matched) = self.match_alarm(alarm_name, dimensions) else {
            return Ok(None);
        };
        if let (Some(dimension), Some(value)) =
            (&matched.rule.target_dimension, &matched.target_value)
        {
            check_dimension(dimension, value)?;
        }
        for (dimension, parameter) in &matched.rule.parameters_from_dimensions {
            if let Some(values) = matched.parameters.get(parameter) {
                for value in values {
                    check_dimension(dimension, value)?;
                }
            }
        }
        Ok(Some(matched))
    }

    /// The first alarm rule that matches, with the target value and parameters it derives.
    pub fn match_alarm(
        &self,
        alarm_name: &str,
        dimensions: &BTreeMap<String, String>,
    ) -> Option<AlarmMatch<'_>> {
        match_alarm(&self.alarm_rules, alarm_name, dimensions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_patterns_have_stars_then_they_match_any_run_of_characters() {
        assert!(glob_matches("ServerCpu*", "ServerCpuTooHigh"));
        assert!(glob_matches("*Cpu*", "ServerCpuTooHigh"));
        assert!(glob_matches("exact", "exact"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("ServerCpu*", "DiskFull"));
        assert!(!glob_matches("a*b", "a"));
        assert!(glob_matches("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn when_an_alarm_matches_a_rule_then_its_dimension_becomes_the_target() {
        let rules = vec![
            AlarmRule {
                alarm_name: "Disk*".to_owned(),
                profile: ProfileName::new("clean-disk").expect("valid"),
                target_dimension: Some("InstanceId".to_owned()),
                parameters_from_dimensions: BTreeMap::new(),
            },
            AlarmRule {
                alarm_name: "ServerCpu*".to_owned(),
                profile: ProfileName::new("restart").expect("valid"),
                target_dimension: Some("InstanceId".to_owned()),
                parameters_from_dimensions: [("InstanceId".to_owned(), "InstanceId".to_owned())]
                    .into(),
            },
        ];
        let dimensions = [("InstanceId".to_owned(), "i-0abc".to_owned())].into();
        let matched = match_alarm(&rules, "ServerCpuTooHigh", &dimensions).expect("matches");
        assert_eq!(matched.rule.profile.as_str(), "restart");
        assert_eq!(matched.target_value.as_deref(), Some("i-0abc"));
        assert_eq!(
            matched.parameters.get("InstanceId"),
            Some(&vec!["i-0abc".to_owned()])
        );
        assert!(match_alarm(&rules, "ServerCpuTooHigh", &BTreeMap::new()).is_none());
        assert!(match_alarm(&rules, "Unrelated", &dimensions).is_none());
    }
}
