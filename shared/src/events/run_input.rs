//! The fabric's own inputs: what an EventBridge Scheduler schedule (a patch window) or a manual
//! invocation sends to start a run, by run profile name or with an inline spec.

use super::{IdempotencyKey, RunSource, Trigger, TriggerEvent};
use crate::model::{Parameters, RunSpec};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The longest name or free-text field of a run input.
const MAX_NAME_LEN: usize = 256;

/// A run input: `{"schedule": {...}}` or `{"manual": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RunInput {
    /// Sent by a schedule: set it as the schedule target's input, with
    /// `"scheduled_time": "<aws.scheduler.scheduled-time>"` so that each firing has its own key.
    Schedule(ScheduledRun),
    /// Sent by a person or a tool (the `fabric run` command).
    Manual(ManualRun),
}

/// What a schedule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledRun {
    /// The schedule's name.
    pub schedule_name: String,
    /// When it fired (the scheduler's `<aws.scheduler.scheduled-time>`).
    pub scheduled_time: String,
    /// A run profile of the config; give this or `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// An inline spec; give this or `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<RunSpec>,
    /// Parameter values for the profile: only those the config declares overridable.
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    pub parameters: Parameters,
}

/// What a manual invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualRun {
    /// Who asks.
    pub requested_by: String,
    /// Makes the request unique: the same id is the same run, however often it is sent. Without
    /// one, identical requests are the same run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// A run profile of the config; give this or `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// An inline spec; give this or `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<RunSpec>,
    /// Parameter values for the profile: only those the config declares overridable.
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    pub parameters: Parameters,
    /// Plan and preview only: start nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl RunInput {
    /// Checks the input and turns it into a trigger.
    pub fn into_trigger(self) -> Result<TriggerEvent> {
        // Serializing a value that was just deserialized cannot fail; the fallback keeps the
        // key deterministic all the same.
        let identity = serde_json::to_string(&self).unwrap_or_default();
        match self {
            Self::Schedule(run) => {
                checked_name("schedule.schedule_name", &run.schedule_name)?;
                checked_name("schedule.scheduled_time", &run.scheduled_time)?;
                let source = run_source("schedule", run.profile, run.spec, run.parameters)?;
                Ok(TriggerEvent {
                    idempotency_key: IdempotencyKey::derive(
                        "schedule",
                        Some(&run.schedule_name),
                        &format!("{}|{}", run.schedule_name, run.scheduled_time),
                    ),
                    trigger: Trigger::Schedule {
                        schedule_name: run.schedule_name,
                        scheduled_time: run.scheduled_time,
                        run: source,
                    },
                })
            }
            Self::Manual(run) => {
                checked_name("manual.requested_by", &run.requested_by)?;
                if let Some(request_id) = &run.request_id {
                    checked_name("manual.request_id", request_id)?;
                }
                let identity = run.request_id.clone().unwrap_or(identity);
                let source = run_source("manual", run.profile, run.spec, run.parameters)?;
                Ok(TriggerEvent {
                    idempotency_key: IdempotencyKey::derive("manual", None, &identity),
                    trigger: Trigger::Manual {
                        requested_by: run.requested_by,
                        run: source,
                        dry_run: run.dry_run,
                    },
                })
            }
        }
    }
}

fn checked_name(path: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.len() > MAX_NAME_LEN {
        return Err(Error::EventShape {
            event: "run input".to_owned(),
            path: path.to_owned(),
            problem: format!("must be 1 to {MAX_NAME_LEN} characters"),
        });
    }
    Ok(())
}

fn run_source(
    kind: &str,
    profile: Option<String>,
    spec: Option<RunSpec>,
    parameters: Parameters,
) -> Result<RunSource> {
    match (profile, spec) {
        (Some(profile), None) => {
            checked_name(&format!("{kind}.profile"), &profile)?;
            Ok(RunSource::Profile {
                name: profile,
                parameters,
            })
        }
        (None, Some(_)) if !parameters.is_empty() => Err(Error::EventShape {
            event: "run input".to_owned(),
            path: format!("{kind}.parameters"),
            problem: "parameters go with a profile; an inline spec carries its own".to_owned(),
        }),
        (None, Some(spec)) => {
            spec.check()?;
            Ok(RunSource::Spec(Box::new(spec)))
        }
        (profile, _) => Err(Error::EventShape {
            event: "run input".to_owned(),
            path: kind.to_owned(),
            problem: if profile.is_some() {
                "give either profile or spec, not both".to_owned()
            } else {
                "give a profile (a run profile of the config) or a spec".to_owned()
            },
        }),
    }
}
