//! `fabric explain-event`: what the fabric makes of an event, in words or as JSON.

use crate::Failure;
use fabric::events::{JoinedVia, LeftVia, MAX_EVENT_BYTES, RunSource, Trigger, TriggerEvent};
use std::io::{Read, Write};
use std::path::Path;

/// Reads the event from `path` (`-`: standard input), refusing more than the fabric accepts
/// without reading it all.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let limit = u64::try_from(MAX_EVENT_BYTES).unwrap_or(u64::MAX) + 1;
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|error| Failure::BadInput(format!("cannot read {}: {error}", path.display())))?;
    Ok(bytes)
}

/// Prints the trigger as one JSON object, or as a sentence and what happens next.
pub(crate) fn print(event: &TriggerEvent, json: bool, out: &mut impl Write) -> std::io::Result<()> {
    if json {
        let mut value = serde_json::to_value(event).map_err(std::io::Error::other)?;
        if let (Some(object), Some(account)) = (value.as_object_mut(), event.trigger.account_id()) {
            object
                .entry("account_id")
                .or_insert_with(|| serde_json::Value::String(account.to_string()));
        }
        return writeln!(out, "{value}");
    }
    let (what, next) = describe(&event.trigger);
    writeln!(out, "{what}")?;
    writeln!(out, "  next: {next}")?;
    writeln!(out, "  idempotency key: {}", event.idempotency_key)
}

/// A sentence for the trigger, and what the fabric does about it.
fn describe(trigger: &Trigger) -> (String, String) {
    match trigger {
        Trigger::AccountJoined {
            account_id,
            via,
            ou_id,
        } => {
            let how = match via {
                JoinedVia::CreatedAccount => "was created by Organizations",
                JoinedVia::AcceptedInvitation => "accepted the invitation to the organization",
                JoinedVia::ControlTowerCreated => "was enrolled by Control Tower",
                JoinedVia::ControlTowerUpdated => "was updated by Control Tower",
            };
            let place = ou_id
                .as_ref()
                .map(|ou| format!(" in {ou}"))
                .unwrap_or_default();
            (
                format!("account_joined: account {account_id} {how}{place}"),
                "onboard it: share the configured documents in every configured Region and deploy the execution role".to_owned(),
            )
        }
        Trigger::AccountPending { account_id, reason } => (
            format!(
                "account_pending: account {}: {reason}",
                shown(account_id.as_ref())
            ),
            "nothing yet".to_owned(),
        ),
        Trigger::AccountLeft { account_id, via } => {
            let how = match via {
                LeftVia::Removed => "was removed from the organization",
                LeftVia::Left => "left the organization",
                LeftVia::Closed => "was closed",
            };
            (
                format!("account_left: account {account_id} {how}"),
                "offboard it: unshare the documents and remove the execution role".to_owned(),
            )
        }
        Trigger::AccountMoved {
            account_id,
            from,
            to,
        } => (
            format!("account_moved: account {account_id} moved from {from} to {to}"),
            "nothing to share or remove; runs that target OUs see it in its new place".to_owned(),
        ),
        Trigger::AccountCreationFailed { account_id, reason } => (
            format!(
                "account_creation_failed: account {}: {reason}",
                shown(account_id.as_ref())
            ),
            "report it; nothing is shared or deployed".to_owned(),
        ),
        Trigger::Schedule {
            schedule_name,
            scheduled_time,
            run,
        } => (
            format!("schedule: {schedule_name} fired at {scheduled_time}"),
            format!("start a run of {}", run_source(run)),
        ),
        Trigger::Alarm {
            alarm_name,
            account_id,
            region,
            dimensions,
            ..
        } => {
            let dimensions: Vec<String> =
                dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (
                format!(
                    "alarm: {alarm_name} went into ALARM in {account_id}/{region}{}",
                    if dimensions.is_empty() { String::new() } else { format!(" ({})", dimensions.join(", ")) }
                ),
                "start the run profile of the first alarm rule that matches, in that account and Region".to_owned(),
            )
        }
        Trigger::Manual {
            requested_by,
            run,
            dry_run,
        } => (
            format!(
                "manual: {requested_by} asked for a run{}",
                if *dry_run { " (dry run)" } else { "" }
            ),
            if *dry_run {
                format!(
                    "plan and preview a run of {}; start nothing",
                    run_source(run)
                )
            } else {
                format!("start a run of {}", run_source(run))
            },
        ),
        Trigger::Ignored { reason } => (format!("ignored: {reason}"), "nothing".to_owned()),
    }
}

fn shown(account_id: Option<&fabric::model::AccountId>) -> String {
    account_id.map_or_else(|| "(not assigned yet)".to_owned(), ToString::to_string)
}

fn run_source(run: &RunSource) -> String {
    match run {
        RunSource::Profile { name, parameters } if parameters.is_empty() => {
            format!("run profile {name}")
        }
        RunSource::Profile { name, parameters } => format!(
            "run profile {name} with {}",
            parameters.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        RunSource::Spec(spec) => format!("{} (inline spec)", spec.document),
    }
}
