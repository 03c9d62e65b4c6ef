//! A document's steps as SSM runs them: each `mainSteps` entry with the properties shared by
//! all actions (`timeoutSeconds`, `onFailure`, `isCritical`, `maxAttempts`, `nextStep`,
//! `isEnd`), read from JSON or YAML content, and the order SSM takes through them.
//!
//! Time: a document's seconds (`timeoutSeconds`, an `aws:sleep` `Duration`, the 7-day default
//! of `aws:pause` and `aws:approve`) pass [`TIME_SCALE`] times faster than wall time, so one
//! document second lasts one millisecond; the simulator's step duration and the behaviour tag's
//! milliseconds are wall time, as before. (The simulator's choice: the local stack answers in
//! seconds what SSM takes hours or days to do.)

mod actions;
mod inputs;
mod run;
mod signals;

use crate::wire::Parameters;
use serde_json::Value;
use std::time::Duration;

pub use signals::{Signal, Signals};

/// How many times faster than wall time a document's seconds pass.
pub const TIME_SCALE: u32 = 1000;

/// Wall time for `seconds` of a document's time.
pub(super) fn scaled(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.max(0.0) / f64::from(TIME_SCALE))
}

/// What to do when a step fails. "Properties shared by all actions", `onFailure`: "Indicates
/// whether the workflow should abort, continue, or go to a different step on failure. The
/// default value for this option is abort. ... Valid values: `Abort | Continue |
/// step:step_name`".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// End the execution.
    #[default]
    Abort,
    /// Go on with the next step.
    Continue,
    /// Go to the named step.
    Step(String),
}

impl OnFailure {
    fn parse(value: &str) -> Self {
        match value.trim() {
            "Continue" => Self::Continue,
            other => other
                .strip_prefix("step:")
                .map_or(Self::Abort, |step| Self::Step(step.trim().to_owned())),
        }
    }

    /// As `StepExecution.OnFailure` shows it.
    pub fn wire(&self) -> String {
        match self {
            Self::Abort => "Abort".to_owned(),
            Self::Continue => "Continue".to_owned(),
            Self::Step(step) => format!("step:{step}"),
        }
    }
}

/// One `mainSteps` entry: its action, its shared properties and its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    /// `name`.
    pub name: String,
    /// `action`, e.g. `aws:sleep`.
    pub action: String,
    /// `timeoutSeconds`, when the step sets it.
    pub timeout_seconds: Option<u64>,
    /// `onFailure`.
    pub on_failure: OnFailure,
    /// `isCritical` ("The default value for this option is true").
    pub is_critical: bool,
    /// `maxAttempts` ("The default value is 1").
    pub max_attempts: u32,
    /// `nextStep`.
    pub next_step: Option<String>,
    /// `isEnd` ("The default value is false").
    pub is_end: bool,
    /// `inputs`, as written (placeholders unresolved).
    pub inputs: Value,
}

/// A document's steps and the defaults of its parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub(in crate::ssm::engine) struct DocumentSteps {
    /// The `mainSteps`, in order.
    pub(in crate::ssm::engine) steps: Vec<StepSpec>,
    /// Each declared parameter's `default`, as values.
    pub(in crate::ssm::engine) defaults: Parameters,
}

impl DocumentSteps {
    /// The steps of `content` (JSON or YAML), or `None` when it has no readable `mainSteps`.
    pub(in crate::ssm::engine) fn parse(content: &str) -> Option<Self> {
        let document = super::parameters::document_value(content);
        let steps: Vec<StepSpec> = document["mainSteps"]
            .as_array()?
            .iter()
            .filter_map(StepSpec::parse)
            .collect();
        if steps.is_empty() {
            return None;
        }
        let defaults = document["parameters"]
            .as_object()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter_map(|(name, spec)| {
                        Some((name.clone(), inputs::values_of(spec.get("default")?)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self { steps, defaults })
    }

    /// One generic step, for documents whose steps the simulator cannot read.
    pub(in crate::ssm::engine) fn generic() -> Self {
        Self {
            steps: vec![StepSpec::generic("RunDocument", "aws:executeScript")],
            defaults: Parameters::new(),
        }
    }

    /// The index of the step named `name`.
    pub(in crate::ssm::engine) fn index_of(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|step| step.name == name)
    }
}

impl StepSpec {
    /// A step with no properties set.
    pub fn generic(name: &str, action: &str) -> Self {
        Self {
            name: name.to_owned(),
            action: action.to_owned(),
            timeout_seconds: None,
            on_failure: OnFailure::Abort,
            is_critical: true,
            max_attempts: 1,
            next_step: None,
            is_end: false,
            inputs: Value::Object(serde_json::Map::new()),
        }
    }

    /// Reads one `mainSteps` entry; numbers and booleans may be written as strings (the
    /// actions reference's own JSON examples write `"timeoutSeconds": "1209600"`).
    fn parse(step: &Value) -> Option<Self> {
        let number = |key: &str| match &step[key] {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        let flag = |key: &str, default: bool| match &step[key] {
            Value::Bool(flag) => *flag,
            Value::String(text) => text.trim().eq_ignore_ascii_case("true"),
            _ => default,
        };
        Some(Self {
            name: step["name"].as_str()?.to_owned(),
            action: step["action"].as_str()?.to_owned(),
            timeout_seconds: number("timeoutSeconds"),
            on_failure: step["onFailure"]
                .as_str()
                .map(OnFailure::parse)
                .unwrap_or_default(),
            is_critical: flag("isCritical", true),
            max_attempts: number("maxAttempts")
                .and_then(|attempts| u32::try_from(attempts).ok())
                .unwrap_or(1)
                .max(1),
            next_step: step["nextStep"].as_str().map(str::to_owned),
            is_end: flag("isEnd", false),
            inputs: step
                .get("inputs")
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_json_document_sets_shared_properties_then_each_step_keeps_them() {
        // The actions reference's JSON example of an aws:pause step writes
        // `"timeoutSeconds": "1209600"`; "Properties shared by all actions" lists maxAttempts,
        // timeoutSeconds, onFailure, isEnd, nextStep, isCritical.
        let content = r#"{
            "schemaVersion": "0.3",
            "parameters": { "Wait": { "type": "String", "default": "PT1S" } },
            "mainSteps": [
                { "name": "pauseThis", "action": "aws:pause", "timeoutSeconds": "1209600", "inputs": {} },
                { "name": "InstallMsiPackage", "action": "aws:runCommand", "onFailure": "step:PostFailure",
                  "maxAttempts": 2, "isCritical": "false", "nextStep": "TestPackage",
                  "inputs": { "InstanceIds": ["i-1"] } },
                { "name": "TestPackage", "action": "aws:sleep", "isEnd": true, "inputs": { "Duration": "{{Wait}}" } },
                { "name": "PostFailure", "action": "aws:sleep", "onFailure": "Continue", "inputs": { "Duration": "PT1S" } }
            ]
        }"#;
        let document = DocumentSteps::parse(content).expect("has steps");
        let [pause, install, test, post] = document.steps.as_slice() else {
            panic!("four steps: {:?}", document.steps);
        };
        assert_eq!(pause.timeout_seconds, Some(1_209_600));
        assert_eq!((pause.max_attempts, pause.is_critical), (1, true));
        assert_eq!(pause.on_failure, OnFailure::Abort);
        assert_eq!(
            install.on_failure,
            OnFailure::Step("PostFailure".to_owned())
        );
        assert_eq!((install.max_attempts, install.is_critical), (2, false));
        assert_eq!(install.next_step.as_deref(), Some("TestPackage"));
        assert!(test.is_end && !post.is_end);
        assert_eq!(post.on_failure, OnFailure::Continue);
        assert_eq!(
            document.defaults.get("Wait"),
            Some(&vec!["PT1S".to_owned()])
        );
        assert_eq!(document.index_of("PostFailure"), Some(3));
    }

    #[test]
    fn when_a_document_is_yaml_then_its_steps_are_read_too() {
        // The actions reference gives each example in YAML and JSON.
        let content = "schemaVersion: '0.3'\nmainSteps:\n- name: sleep\n  action: aws:sleep\n  timeoutSeconds: 5\n  inputs:\n    Duration: PT10M\n";
        let document = DocumentSteps::parse(content).expect("has steps");
        assert_eq!(document.steps[0].action, "aws:sleep");
        assert_eq!(document.steps[0].timeout_seconds, Some(5));
        assert_eq!(document.steps[0].inputs["Duration"], "PT10M");
        assert_eq!(DocumentSteps::parse("{}"), None);
        assert_eq!(DocumentSteps::parse("not: [a document"), None);
    }

    #[test]
    fn when_document_time_is_scaled_then_a_second_lasts_a_millisecond() {
        assert_eq!(scaled(1.0), Duration::from_millis(1));
        assert_eq!(scaled(604_800.0), Duration::from_millis(604_800));
        assert_eq!(scaled(-3.0), Duration::ZERO);
    }
}
