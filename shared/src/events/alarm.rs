//! CloudWatch "Alarm State Change" events, metric and composite: a change into ALARM triggers
//! a remediation; every other change is ignored with its reason.

use super::cloudtrail::read_at;
use super::{IdempotencyKey, Trigger, TriggerEvent};
use crate::model::{AccountId, Region};
use crate::{Error, Result};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The `detail` of an alarm state change.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmStateChange {
    alarm_name: String,
    state: AlarmState,
    #[serde(default)]
    previous_state: Option<AlarmState>,
    #[serde(default)]
    configuration: AlarmConfiguration,
}

#[derive(Deserialize)]
struct AlarmState {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    value: String,
    /// When the alarm entered the state: part of the idempotency key.
    #[serde(default)]
    timestamp: Option<String>,
}

/// A metric alarm's configuration lists its metrics; a composite alarm's has an `alarmRule`.
#[derive(Deserialize, Default)]
struct AlarmConfiguration {
    #[serde(default)]
    metrics: Vec<AlarmMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmMetric {
    /// Absent for metric math expressions.
    #[serde(default)]
    metric_stat: Option<MetricStat>,
}

#[derive(Deserialize)]
struct MetricStat {
    metric: Metric,
}

#[derive(Deserialize)]
struct Metric {
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
}

/// Turns an alarm state change into a trigger.
pub(super) fn normalize(envelope: &EventBridgeEvent<Value>) -> Result<TriggerEvent> {
    let event = "CloudWatch Alarm State Change";
    let change: AlarmStateChange = read_at(event, "detail", &envelope.detail)?;
    let missing = |path: &str| Error::EventShape {
        event: event.to_owned(),
        path: path.to_owned(),
        problem: "missing".to_owned(),
    };
    let alarm_arn = envelope
        .resources
        .as_ref()
        .and_then(|resources| resources.first())
        .cloned()
        .ok_or_else(|| missing("resources[0] (the alarm ARN)"))?;
    let identity = format!(
        "{alarm_arn}|{}|{}",
        change.state.value,
        change
            .state
            .timestamp
            .as_deref()
            .or(envelope.id.as_deref())
            .unwrap_or_default()
    );
    let previous = change
        .previous_state
        .as_ref()
        .map(|state| state.value.as_str());
    if change.state.value != "ALARM" || previous == Some("ALARM") {
        return Ok(TriggerEvent {
            idempotency_key: IdempotencyKey::derive("ignored", None, &identity),
            trigger: Trigger::Ignored {
                reason: format!(
                    "alarm {} changed from {} to {}: only a change into ALARM triggers a remediation",
                    change.alarm_name,
                    previous.unwrap_or("(unknown)"),
                    change.state.value
                ),
            },
        });
    }
    let account_id = envelope
        .account
        .as_deref()
        .ok_or_else(|| missing("account"))?;
    let account_id = AccountId::new(account_id).map_err(|error| Error::EventShape {
        event: event.to_owned(),
        path: "account".to_owned(),
        problem: error.to_string(),
    })?;
    let region = envelope
        .region
        .as_deref()
        .ok_or_else(|| missing("region"))?;
    let region = Region::new(region).map_err(|error| Error::EventShape {
        event: event.to_owned(),
        path: "region".to_owned(),
        problem: error.to_string(),
    })?;
    let dimensions = change
        .configuration
        .metrics
        .into_iter()
        .filter_map(|metric| metric.metric_stat)
        .flat_map(|stat| stat.metric.dimensions)
        .collect();
    let changed_at = change
        .state
        .timestamp
        .clone()
        .or_else(|| envelope.time.map(|time| time.to_rfc3339()));
    Ok(TriggerEvent {
        idempotency_key: IdempotencyKey::derive("alarm", Some(&change.alarm_name), &identity),
        trigger: Trigger::Alarm {
            alarm_name: change.alarm_name,
            alarm_arn,
            account_id,
            region,
            dimensions,
            changed_at,
        },
    })
}
