//! Triggers: every event the fabric reacts to (Organizations and Control Tower account events,
//! CloudWatch alarm state changes, schedules, manual runs), read as its typed shape and
//! normalized into one [`Trigger`] with a deterministic [`IdempotencyKey`].

mod alarm;
mod cloudtrail;
mod control_tower;
mod idempotency;
mod organizations;
mod run_input;

pub use idempotency::IdempotencyKey;
pub use run_input::{ManualRun, RunInput, ScheduledRun};

use crate::model::{AccountId, OuId, Region, RunSpec};
use crate::{Error, Result};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest event the fabric reads. EventBridge events are at most 256 KiB; a manual run
/// with an inline spec may be larger, but never this large.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// How an account came to be in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinedVia {
    /// Organizations created it (`CreateAccountResult` SUCCEEDED).
    CreatedAccount,
    /// It accepted an invitation (`AcceptHandshake`).
    AcceptedInvitation,
    /// Control Tower enrolled it (`CreateManagedAccount` SUCCEEDED).
    ControlTowerCreated,
    /// Control Tower updated it (`UpdateManagedAccount` SUCCEEDED): onboard again, idempotently.
    ControlTowerUpdated,
}

/// How an account left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeftVia {
    /// The management account removed it (`RemoveAccountFromOrganization`).
    Removed,
    /// It left on its own (`LeaveOrganization`).
    Left,
    /// It was closed (`CloseAccount`).
    Closed,
}

/// Which runbooks a schedule or a manual invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunSource {
    /// A run profile of the config, by name, with the parameters the input sets (each must be
    /// one the config declares overridable for the profile).
    Profile {
        /// The profile's name.
        name: String,
        /// The input's parameter values.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        parameters: crate::model::Parameters,
    },
    /// A spec given inline.
    Spec(Box<RunSpec>),
}

/// What the fabric makes of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    /// An account is in the organization and ready: share documents, deploy the role.
    AccountJoined {
        /// The account.
        account_id: AccountId,
        /// How it joined.
        via: JoinedVia,
        /// The OU it was placed in, when the event says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ou_id: Option<OuId>,
    },
    /// An account is on its way but not ready: nothing is done yet.
    AccountPending {
        /// The account, when already known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// What it waits for.
        reason: String,
    },
    /// An account left or was closed: unshare documents, remove the role.
    AccountLeft {
        /// The account.
        account_id: AccountId,
        /// How it left.
        via: LeftVia,
    },
    /// An account moved between OUs: run profiles that target OUs see it in its new place.
    AccountMoved {
        /// The account.
        account_id: AccountId,
        /// Where it was.
        from: OuId,
        /// Where it is now.
        to: OuId,
    },
    /// Creating (or enrolling) an account failed: reported, not acted on.
    AccountCreationFailed {
        /// The account, when one was assigned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// Why it failed, as AWS said.
        reason: String,
    },
    /// A schedule fired.
    Schedule {
        /// The schedule's name.
        schedule_name: String,
        /// When it fired.
        scheduled_time: String,
        /// What to run.
        run: RunSource,
    },
    /// A CloudWatch alarm went into ALARM.
    Alarm {
        /// The alarm's name.
        alarm_name: String,
        /// The alarm's ARN.
        alarm_arn: String,
        /// The account the alarm is in.
        account_id: AccountId,
        /// The Region the alarm is in.
        region: Region,
        /// The dimensions of the alarm's metrics (e.g. `InstanceId`); empty for composite alarms.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        dimensions: BTreeMap<String, String>,
        /// When the alarm changed state (the state's timestamp, else the event's time).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changed_at: Option<String>,
    },
    /// Someone asked for a run.
    Manual {
        /// Who asked.
        requested_by: String,
        /// What to run.
        run: RunSource,
        /// Plan and preview only: start nothing.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dry_run: bool,
    },
    /// An event the fabric receives but has nothing to do for.
    Ignored {
        /// Why nothing is done.
        reason: String,
    },
}

impl Trigger {
    /// What kind of trigger this is (`account_joined`, `schedule`, `ignored`...) and, when the
    /// trigger carries one, its reason: one line for a person.
    pub fn summary(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        let kind = value["trigger"].as_str().unwrap_or("event");
        match value["reason"].as_str() {
            Some(reason) => format!("{kind}: {reason}"),
            None => kind.to_owned(),
        }
    }

    /// The account the trigger is about, when there is one.
    pub fn account_id(&self) -> Option<&AccountId> {
        match self {
            Self::AccountJoined { account_id, .. }
            | Self::AccountLeft { account_id, .. }
            | Self::AccountMoved { account_id, .. }
            | Self::Alarm { account_id, .. } => Some(account_id),
            Self::AccountPending { account_id, .. }
            | Self::AccountCreationFailed { account_id, .. } => account_id.as_ref(),
            Self::Schedule { .. } | Self::Manual { .. } | Self::Ignored { .. } => None,
        }
    }
}

/// A normalized trigger and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TriggerEvent {
    /// The same for every delivery of the same event.
    pub idempotency_key: IdempotencyKey,
    /// What the event means to the fabric.
    #[serde(flatten)]
    pub trigger: Trigger,
}

impl TriggerEvent {
    /// Reads any event the fabric accepts, as raw bytes (a file, a Lambda payload).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(Error::TooLarge {
                what: "the event",
                size: bytes.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|error| Error::MalformedEvent {
                problem: error.to_string(),
            })?;
        Self::from_value(&value)
    }

    /// Reads any event the fabric accepts, already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Self> {
        let Value::Object(object) = value else {
            return Err(Error::MalformedEvent {
                problem: format!("expected a JSON object, found {}", json_kind(value)),
            });
        };
        if object.contains_key("detail-type") || object.contains_key("source") {
            let envelope: EventBridgeEvent<Value> = cloudtrail::read_at("EventBridge", "", value)?;
            return Self::from_eventbridge(&envelope);
        }
        if object.contains_key("schedule") || object.contains_key("manual") {
            let input: RunInput = cloudtrail::read_at("run input", "", value)?;
            return input.into_trigger();
        }
        let keys: Vec<&str> = object.keys().take(5).map(String::as_str).collect();
        Err(Error::UnsupportedEvent {
            description: format!(
                "a JSON object with keys {keys:?}, neither an EventBridge event (source, detail-type, \
                 detail) nor a fabric run input (schedule or manual)"
            ),
        })
    }

    /// Reads an EventBridge event by its source and detail type.
    pub fn from_eventbridge(envelope: &EventBridgeEvent<Value>) -> Result<Self> {
        match (envelope.source.as_str(), envelope.detail_type.as_str()) {
            (
                "aws.organizations",
                "AWS API Call via CloudTrail" | "AWS Service Event via CloudTrail",
            ) => organizations::normalize(envelope),
            ("aws.controltower", "AWS Service Event via CloudTrail") => {
                control_tower::normalize(envelope)
            }
            ("aws.cloudwatch", "CloudWatch Alarm State Change") => alarm::normalize(envelope),
            ("aws.events", "Scheduled Event") => Ok(Self {
                idempotency_key: IdempotencyKey::derive(
                    "ignored",
                    None,
                    envelope.id.as_deref().unwrap_or_default(),
                ),
                trigger: Trigger::Ignored {
                    reason: "a scheduled rule event carries no run profile: give the schedule's \
                             target an input such as {\"schedule\": {\"schedule_name\": ..., \
                             \"scheduled_time\": ..., \"profile\": ...}}"
                        .to_owned(),
                },
            }),
            (source, detail_type) => Err(Error::UnsupportedEvent {
                description: format!("source {source:?}, detail-type {detail_type:?}"),
            }),
        }
    }
}

/// A trigger about one account, keyed by the record that reported it.
fn account_trigger(
    kind: &str,
    account: Option<&AccountId>,
    identity: &str,
    trigger: Trigger,
) -> TriggerEvent {
    TriggerEvent {
        idempotency_key: IdempotencyKey::derive(kind, account.map(AccountId::as_str), identity),
        trigger,
    }
}

/// The name of a JSON value's type, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
