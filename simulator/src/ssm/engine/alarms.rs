//! The CloudWatch alarms an execution watches (`AlarmConfiguration`, and a location's
//! `TargetLocationAlarmConfiguration` on its child): polled in the execution's own account and
//! Region while it runs; one in `ALARM` stops it, and everything under it.
//!
//! The user guide ("Configure Automation to monitor CloudWatch alarms"): "If a specified alarm
//! enters the ALARM state, Automation stops the execution. For executions that use rate
//! control or run across multiple accounts, Automation cancels all pending executions." The
//! execution identity needs `cloudwatch:DescribeAlarms` and `ssm:StopAutomationExecution`, so
//! the alarm is read where the execution runs and the stop is `StopAutomationExecution`'s: the
//! execution ends `Cancelled`.

use super::{Engine, lock};
use serde_json::Value;
use std::sync::Arc;

/// An `AlarmConfiguration` as the simulator acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    /// The alarms' names (the API reference's `Alarms`: "Fixed number of 1 item").
    names: Vec<String>,
    /// The API reference (`IgnorePollAlarmFailure`): "When this value is true, your automation
    /// or command continues to run in cases where we can't retrieve alarm status information
    /// from CloudWatch. [...] Default is false."
    ignore_poll_failure: bool,
}

impl Watched {
    /// The configuration in `value`, or `None` when it names no alarm.
    fn from_wire(value: Option<&Value>) -> Option<Self> {
        let value = value?;
        let names: Vec<String> = value["Alarms"]
            .as_array()?
            .iter()
            .filter_map(|alarm| alarm["Name"].as_str().map(str::to_owned))
            .collect();
        (!names.is_empty()).then(|| Self {
            names,
            ignore_poll_failure: value["IgnorePollAlarmFailure"].as_bool().unwrap_or(false),
        })
    }
}

/// What one poll of the alarms decides.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Keep running.
    Continue,
    /// Stop: these alarms are in `ALARM`.
    Triggered(Vec<String>),
    /// Stop: the alarms' state could not be read (and that is not ignored).
    Unreadable(String),
}

/// The verdict on one poll: `states` as CloudWatch answered (alarm -> state), or why it did
/// not. An alarm CloudWatch does not know is one whose state cannot be retrieved.
fn verdict(
    watched: &Watched,
    states: Result<&std::collections::BTreeMap<String, String>, &str>,
) -> Verdict {
    let states = match states {
        Ok(states) => states,
        Err(_) if watched.ignore_poll_failure => return Verdict::Continue,
        Err(reason) => return Verdict::Unreadable(reason.to_owned()),
    };
    let triggered: Vec<String> = watched
        .names
        .iter()
        .filter(|name| states.get(*name).is_some_and(|state| state == "ALARM"))
        .cloned()
        .collect();
    if !triggered.is_empty() {
        return Verdict::Triggered(triggered);
    }
    match watched
        .names
        .iter()
        .find(|name| !states.contains_key(*name))
    {
        Some(missing) if !watched.ignore_poll_failure => {
            Verdict::Unreadable(format!("the alarm {missing} does not exist"))
        }
        _ => Verdict::Continue,
    }
}

impl Engine {
    /// Watches the alarms execution `id` names, if any, until it ends; stops it when one is
    /// in `ALARM` or, unless `IgnorePollAlarmFailure`, when their state cannot be read. The
    /// simulator's choice where SSM documents no timing: the first read is made before the
    /// execution runs (an alarm already in `ALARM`, or unreadable, stops it before its first
    /// step), the next ones every `alarm_poll`.
    pub(super) async fn watch_alarms(self: &Arc<Self>, id: &str) {
        let Some(watched) = self.snapshot(id).and_then(|execution| {
            Watched::from_wire(execution.request.alarm_configuration.as_ref())
        }) else {
            return;
        };
        if !self.check_alarms(id, &watched).await {
            return;
        }
        let (engine, id) = (Arc::clone(self), id.to_owned());
        tokio::spawn(async move {
            loop {
                let poll = lock(&engine.settings).alarm_poll;
                tokio::time::sleep(poll).await;
                if !engine.check_alarms(&id, &watched).await {
                    return;
                }
            }
        });
    }

    /// Reads the alarms `watched` of execution `id` once, and stops it if they say so. False
    /// when there is nothing more to watch: the execution ended, was stopped, or is stopped now.
    async fn check_alarms(&self, id: &str, watched: &Watched) -> bool {
        let Some(execution) = self.snapshot(id) else {
            return false;
        };
        if execution.status.is_final() || execution.cancel_requested {
            return false;
        }
        let read = self
            .moto
            .alarm_states(&execution.account, &execution.region, &watched.names)
            .await;
        let states = read.as_ref().map_err(|error| error.message.as_str());
        let stopped = match verdict(watched, states) {
            Verdict::Continue => return true,
            Verdict::Triggered(alarms) => {
                let mut stopped = false;
                self.update(id, |execution| {
                    if !execution.status.is_final() {
                        execution.triggered_alarms = alarms;
                        stopped = true;
                    }
                });
                stopped
            }
            Verdict::Unreadable(reason) => {
                // The simulator's wording: SSM documents the stop, not its message.
                let message = format!(
                    "The automation was stopped: the state of its CloudWatch alarm could not be retrieved ({reason}) and IgnorePollAlarmFailure is false."
                );
                let mut stopped = false;
                self.update(id, |execution| {
                    if !execution.status.is_final() {
                        execution.failure_message = Some(message);
                        stopped = true;
                    }
                });
                stopped
            }
        };
        if stopped {
            self.stop_tree(id);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn watched(ignore: bool) -> Watched {
        Watched::from_wire(Some(&json!({
            "Alarms": [{"Name": "fleet-errors"}],
            "IgnorePollAlarmFailure": ignore,
        })))
        .expect("an alarm")
    }

    fn states(state: &str) -> BTreeMap<String, String> {
        [("fleet-errors".to_owned(), state.to_owned())].into()
    }

    #[test]
    fn when_the_alarm_is_in_alarm_then_the_execution_stops_whatever_ignore_says() {
        // "If a specified alarm enters the ALARM state, Automation stops the execution."
        for ignore in [false, true] {
            assert_eq!(
                verdict(&watched(ignore), Ok(&states("ALARM"))),
                Verdict::Triggered(vec!["fleet-errors".to_owned()])
            );
        }
    }

    #[test]
    fn when_the_alarm_is_ok_or_lacks_data_then_the_execution_continues() {
        // "In cases where we successfully retrieve an alarm status of OK or INSUFFICIENT_DATA,
        // the automation or command continues to run, regardless of this value."
        for state in ["OK", "INSUFFICIENT_DATA"] {
            assert_eq!(
                verdict(&watched(false), Ok(&states(state))),
                Verdict::Continue
            );
        }
    }

    #[test]
    fn when_the_state_cannot_be_retrieved_then_only_ignore_poll_alarm_failure_keeps_it_running() {
        assert!(matches!(
            verdict(&watched(false), Err("CloudWatch did not answer")),
            Verdict::Unreadable(_)
        ));
        assert!(matches!(
            verdict(&watched(false), Ok(&BTreeMap::new())),
            Verdict::Unreadable(_)
        ));
        assert_eq!(verdict(&watched(true), Err("no answer")), Verdict::Continue);
        assert_eq!(
            verdict(&watched(true), Ok(&BTreeMap::new())),
            Verdict::Continue
        );
    }

    #[test]
    fn when_no_alarm_is_named_then_nothing_is_watched() {
        assert_eq!(Watched::from_wire(None), None);
        assert_eq!(Watched::from_wire(Some(&json!({"Alarms": []}))), None);
    }
}
