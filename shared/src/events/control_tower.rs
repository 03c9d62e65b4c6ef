//! Control Tower lifecycle events (its home Region): `CreateManagedAccount` and
//! `UpdateManagedAccount`, each SUCCEEDED (onboard) or FAILED (report, do nothing).

use super::cloudtrail::{CloudTrailRecord, Section, read_at};
use super::{JoinedVia, Trigger, TriggerEvent, account_trigger};
use crate::Result;
use crate::model::{AccountId, OuId};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

/// `serviceEventDetails` of a lifecycle event: one of the two statuses.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LifecycleDetails {
    #[serde(default)]
    create_managed_account_status: Option<ManagedAccountStatus>,
    #[serde(default)]
    update_managed_account_status: Option<ManagedAccountStatus>,
}

/// `createManagedAccountStatus` / `updateManagedAccountStatus`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagedAccountStatus {
    organizational_unit: OrganizationalUnit,
    account: ManagedAccount,
    /// `SUCCEEDED` or `FAILED`.
    state: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationalUnit {
    organizational_unit_id: OuId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagedAccount {
    account_id: AccountId,
}

/// Turns a Control Tower lifecycle event into a trigger.
pub(super) fn normalize(envelope: &EventBridgeEvent<Value>) -> Result<TriggerEvent> {
    let record: CloudTrailRecord = read_at("Control Tower", "detail", &envelope.detail)?;
    let event = format!("Control Tower {}", record.event_name);
    let identity = record.identity(envelope.id.as_deref());
    let (via, status_field) = match record.event_name.as_str() {
        "CreateManagedAccount" => (JoinedVia::ControlTowerCreated, "createManagedAccountStatus"),
        "UpdateManagedAccount" => (JoinedVia::ControlTowerUpdated, "updateManagedAccountStatus"),
        other => {
            return Ok(account_trigger(
                "ignored",
                None,
                identity,
                Trigger::Ignored {
                    reason: format!("Control Tower {other} is not an account lifecycle event"),
                },
            ));
        }
    };
    let details: LifecycleDetails = record.part(&event, Section::ServiceEvent)?;
    let status = match via {
        JoinedVia::ControlTowerCreated => details.create_managed_account_status,
        _ => details.update_managed_account_status,
    }
    .ok_or_else(|| crate::Error::EventShape {
        event: event.clone(),
        path: format!("detail.serviceEventDetails.{status_field}"),
        problem: "missing".to_owned(),
    })?;
    let account_id = status.account.account_id;
    let trigger = match status.state.as_str() {
        "SUCCEEDED" => Trigger::AccountJoined {
            account_id: account_id.clone(),
            via,
            ou_id: Some(status.organizational_unit.organizational_unit_id),
        },
        "FAILED" => Trigger::AccountCreationFailed {
            account_id: Some(account_id.clone()),
            reason: format!(
                "{} FAILED: {}",
                record.event_name,
                status.message.as_deref().unwrap_or("no message given")
            ),
        },
        state => Trigger::AccountPending {
            account_id: Some(account_id.clone()),
            reason: format!("{} is {state}", record.event_name),
        },
    };
    let kind = match trigger {
        Trigger::AccountJoined { .. } => "account-joined",
        Trigger::AccountCreationFailed { .. } => "account-creation-failed",
        _ => "account-pending",
    };
    Ok(account_trigger(kind, Some(&account_id), identity, trigger))
}
