//! What each action does in one attempt of a step: `aws:sleep` waits, `aws:pause` and
//! `aws:approve` wait for signals, `aws:changeInstanceState` and `aws:executeAwsApi` (EC2
//! `StartInstances`, `StopInstances`, `RebootInstances`) act on moto's EC2 in the execution's
//! account and Region, `aws:runCommand` runs on each instance (its behaviour tag deciding the
//! command's fate there), and every other action takes the simulator's step duration.

use super::super::documents::{BEHAVIOUR_TAG, Behaviour};
use super::super::{AutomationStatus, Engine, Execution};
use super::inputs::{iso_duration, seconds_until, strings};
use super::{Signals, StepSpec, scaled};
use crate::wire::Parameters;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often a waiting step looks for signals and an EC2 step for the state it wants.
const POLL: Duration = Duration::from_millis(5);
/// aws:sleep: "Automation supports a maximum delay of 604799 seconds (7 days)."
const MAX_SLEEP_SECONDS: f64 = 604_799.0;

/// One attempt of one step.
pub(super) struct Attempt<'a> {
    pub(super) execution: &'a Execution,
    pub(super) index: usize,
    pub(super) spec: &'a StepSpec,
    pub(super) inputs: &'a Value,
    /// 1 for the first try.
    pub(super) number: u32,
    /// The tags of the execution's target instance (rate-controlled children).
    pub(super) tags: &'a BTreeMap<String, String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Outcome {
    pub(super) status: AutomationStatus,
    pub(super) message: Option<String>,
    pub(super) outputs: Parameters,
}

impl Outcome {
    pub(super) fn success(outputs: Parameters) -> Self {
        Self {
            status: AutomationStatus::Success,
            message: None,
            outputs,
        }
    }

    pub(super) fn failed(message: impl Into<String>) -> Self {
        Self {
            status: AutomationStatus::Failed,
            message: Some(message.into()),
            outputs: Parameters::new(),
        }
    }

    pub(super) fn cancelled() -> Self {
        Self {
            status: AutomationStatus::Cancelled,
            message: None,
            outputs: Parameters::new(),
        }
    }
}

fn output(pairs: &[(&str, Vec<String>)]) -> Parameters {
    pairs
        .iter()
        .map(|(key, values)| ((*key).to_owned(), values.clone()))
        .collect()
}

impl Engine {
    /// Runs one attempt of a step.
    pub(super) async fn attempt(&self, attempt: &Attempt<'_>) -> Outcome {
        let inputs = attempt.inputs;
        match attempt.spec.action.as_str() {
            "aws:sleep" => self.sleep_step(attempt).await,
            "aws:pause" => self.wait_for_signals(attempt, None).await,
            "aws:approve" => {
                // aws:approve, MinRequiredApprovals: "If you don't specify a value, the system
                // defaults to one."
                let required = strings(inputs, "MinRequiredApprovals")
                    .first()
                    .and_then(|value| value.parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1);
                self.wait_for_signals(attempt, Some(required)).await
            }
            "aws:changeInstanceState" => self.change_instance_state(attempt).await,
            "aws:executeAwsApi" => {
                let api = inputs["Api"].as_str().unwrap_or_default();
                let service = inputs["Service"].as_str().unwrap_or_default();
                match (service, api) {
                    ("ec2", "StartInstances" | "StopInstances" | "RebootInstances") => {
                        self.ec2_api(attempt, api).await
                    }
                    _ => self.generic_step(attempt).await,
                }
            }
            "aws:runCommand" => self.run_command(attempt).await,
            _ => self.generic_step(attempt).await,
        }
    }

    /// Waits `duration` of wall time; false when the execution was stopped meanwhile.
    pub(super) async fn hold(&self, id: &str, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.cancelled(id) {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            tokio::time::sleep((end - now).min(Duration::from_millis(10))).await;
        }
    }

    /// Any other action: the simulator's step duration; on the document's first step the
    /// target's behaviour tag adds its delay (first attempt) and can make it fail (`fail`,
    /// `fail-after`: every attempt; `fail-once`: the first attempt only).
    async fn generic_step(&self, attempt: &Attempt<'_>) -> Outcome {
        let behaviour = if attempt.index == 0 {
            Behaviour::from_tags(attempt.tags)
        } else {
            Behaviour::default()
        };
        let delay = if attempt.number == 1 {
            behaviour.delay
        } else {
            Duration::ZERO
        };
        let id = &attempt.execution.id;
        if !self.hold(id, self.settings().step_duration + delay).await {
            return Outcome::cancelled();
        }
        if behaviour.fails(attempt.number) {
            let target = attempt.execution.target.as_deref().unwrap_or("the target");
            return Outcome::failed(told_to_fail(target));
        }
        Outcome::success(Parameters::new())
    }

    /// aws:sleep: "Delays an automation for a specified amount of time." (`Duration`, or
    /// `Timestamp`: "If you don't specify a value for this parameter, then you must specify a
    /// value for the Duration parameter.")
    async fn sleep_step(&self, attempt: &Attempt<'_>) -> Outcome {
        let inputs = attempt.inputs;
        let seconds = match (inputs["Duration"].as_str(), inputs["Timestamp"].as_str()) {
            (Some(duration), _) => iso_duration(duration).ok_or_else(|| {
                format!("Duration {duration} is not an ISO 8601 duration such as PT10M.")
            }),
            (None, Some(timestamp)) => seconds_until(timestamp, super::super::now())
                .ok_or_else(|| format!("Timestamp {timestamp} is not an ISO 8601 timestamp.")),
            (None, None) => Err("aws:sleep needs a Duration or a Timestamp input.".to_owned()),
        };
        match seconds {
            Ok(seconds) => {
                if self
                    .hold(
                        &attempt.execution.id,
                        scaled(seconds.min(MAX_SLEEP_SECONDS)),
                    )
                    .await
                {
                    Outcome::success(Parameters::new())
                } else {
                    Outcome::cancelled()
                }
            }
            Err(message) => Outcome::failed(message),
        }
    }

    /// aws:pause ("Once paused, the automation status is Waiting") and aws:approve
    /// (`required` approvals): the step and the execution wait until the signals they need
    /// arrive. A rejected approval fails the step with `ApprovalStatus` `Rejected` (the
    /// output the reference lists: "Approved, Rejected, or Waiting"); the step's status on
    /// rejection is the simulator's choice, the reference not naming it.
    async fn wait_for_signals(&self, attempt: &Attempt<'_>, required: Option<u32>) -> Outcome {
        let id = &attempt.execution.id;
        self.update(id, |execution| {
            execution.signals = Signals::default();
            if let Some(step) = execution.steps.get_mut(attempt.index) {
                step.status = AutomationStatus::Waiting;
            }
            if !execution.cancel_requested {
                execution.status = AutomationStatus::Waiting;
            }
        });
        loop {
            let Some(signals) = self.snapshot(id).map(|execution| execution.signals) else {
                return Outcome::cancelled();
            };
            match required {
                None if signals.resumed => return Outcome::success(Parameters::new()),
                Some(_) if signals.rejected => {
                    let mut outcome = Outcome::failed(format!(
                        "Step {} was rejected by an approver.",
                        attempt.spec.name
                    ));
                    outcome.outputs = output(&[
                        ("ApprovalStatus", vec!["Rejected".to_owned()]),
                        ("Comments", signals.comments),
                    ]);
                    return outcome;
                }
                Some(needed) if signals.approvals >= needed => {
                    return Outcome::success(output(&[
                        ("ApprovalStatus", vec!["Approved".to_owned()]),
                        ("Comments", signals.comments),
                    ]));
                }
                _ => {}
            }
            if !self.hold(id, POLL).await {
                return Outcome::cancelled();
            }
        }
    }

    /// aws:changeInstanceState: "Changes or asserts the state of the instance." With
    /// `CheckStateOnly` ("If true, asserts the desired state using polling") no call is made;
    /// either way the step ends once every instance is in `DesiredState` (its timeout, 3600
    /// seconds by default, bounds the wait).
    async fn change_instance_state(&self, attempt: &Attempt<'_>) -> Outcome {
        let inputs = attempt.inputs;
        let desired = inputs["DesiredState"].as_str().unwrap_or_default();
        let api = match desired {
            "running" => "StartInstances",
            "stopped" => "StopInstances",
            "terminated" => "TerminateInstances",
            other => {
                return Outcome::failed(format!(
                    "DesiredState {other:?} is not one of running, stopped, terminated."
                ));
            }
        };
        let check_only = strings(inputs, "CheckStateOnly")
            .first()
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        if !check_only {
            let outcome = self.ec2_api(attempt, api).await;
            if outcome.status != AutomationStatus::Success {
                return outcome;
            }
        }
        let execution = attempt.execution;
        let ids = strings(inputs, "InstanceIds");
        loop {
            match self
                .moto
                .instances_by_id(&execution.account, &execution.region, &ids)
                .await
            {
                Ok(Ok(instances)) if instances.iter().all(|i| i.state == desired) => {
                    return Outcome::success(Parameters::new());
                }
                Ok(Ok(_)) => {}
                Ok(Err((code, message))) => return Outcome::failed(format!("{code}: {message}")),
                Err(error) => return Outcome::failed(error.message),
            }
            if !self.hold(&execution.id, POLL).await {
                return Outcome::cancelled();
            }
        }
    }

    /// An EC2 call on the step's `InstanceIds`, made in the execution's own account and
    /// Region after the simulator's step duration; EC2's error fails the step.
    async fn ec2_api(&self, attempt: &Attempt<'_>, api: &str) -> Outcome {
        let execution = attempt.execution;
        let ids = strings(attempt.inputs, "InstanceIds");
        if ids.is_empty() {
            return Outcome::failed(format!("{api} needs InstanceIds."));
        }
        if !self
            .hold(&execution.id, self.settings().step_duration)
            .await
        {
            return Outcome::cancelled();
        }
        let force = strings(attempt.inputs, "Force")
            .first()
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        match self
            .moto
            .change_instances(&execution.account, &execution.region, api, &ids, force)
            .await
        {
            Ok(Ok(())) => Outcome::success(Parameters::new()),
            Ok(Err((code, message))) => Outcome::failed(format!("{code}: {message}")),
            Err(error) => Outcome::failed(error.message),
        }
    }

    /// aws:runCommand: "Runs the specified commands." on each of `InstanceIds` ("The instance
    /// IDs where you want the command to run"), one invocation per instance. An instance's
    /// behaviour tag decides its invocation (`fail`, `fail-after`, `fail-once` on the first
    /// attempt; its delay on the first attempt); an instance EC2 does not know fails its
    /// invocation. Outputs: `CommandId` and `Status`, and, the simulator's own keys,
    /// `<instance id>.Status` for each invocation.
    async fn run_command(&self, attempt: &Attempt<'_>) -> Outcome {
        let execution = attempt.execution;
        let ids = strings(attempt.inputs, "InstanceIds");
        if ids.is_empty() {
            return Outcome::failed(
                "aws:runCommand needs InstanceIds (the simulator resolves no Targets here).",
            );
        }
        let mut known: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for id in &ids {
            if execution.target.as_deref() == Some(id.as_str()) {
                known.insert(id.clone(), attempt.tags.clone());
            } else if let Ok(Ok(found)) = self
                .moto
                .instances_by_id(
                    &execution.account,
                    &execution.region,
                    std::slice::from_ref(id),
                )
                .await
            {
                known.extend(
                    found
                        .into_iter()
                        .map(|instance| (instance.id, instance.tags)),
                );
            }
        }
        let behaviours: BTreeMap<&String, Behaviour> = known
            .iter()
            .map(|(id, tags)| (id, Behaviour::from_tags(tags)))
            .collect();
        let delay = if attempt.number == 1 {
            behaviours
                .values()
                .map(|b| b.delay)
                .max()
                .unwrap_or_default()
        } else {
            Duration::ZERO
        };
        if !self
            .hold(&execution.id, self.settings().step_duration + delay)
            .await
        {
            return Outcome::cancelled();
        }
        let mut outputs = output(&[("CommandId", vec![uuid::Uuid::new_v4().to_string()])]);
        let (mut failed, mut unknown) = (Vec::new(), Vec::new());
        for id in &ids {
            let status = match behaviours.get(id) {
                None => {
                    unknown.push(id.clone());
                    "Failed"
                }
                Some(behaviour) if behaviour.fails(attempt.number) => {
                    failed.push(id.clone());
                    "Failed"
                }
                Some(_) => "Success",
            };
            outputs.insert(format!("{id}.Status"), vec![status.to_owned()]);
        }
        let status = if failed.is_empty() && unknown.is_empty() {
            "Success"
        } else {
            "Failed"
        };
        outputs.insert("Status".to_owned(), vec![status.to_owned()]);
        let mut outcome = if !unknown.is_empty() {
            Outcome::failed(format!(
                "InvalidInstanceId: Instances [{}] not in a valid state for account {}.",
                unknown.join(", "),
                execution.account
            ))
        } else if !failed.is_empty() {
            Outcome::failed(told_to_fail(&failed.join(", ")))
        } else {
            Outcome::success(Parameters::new())
        };
        outcome.outputs = outputs;
        outcome
    }
}

/// The failure message of a step the behaviour tag failed.
fn told_to_fail(target: &str) -> String {
    format!(
        "Step fails when it is Executing. Fail message: the simulator was told to fail {target} (instance tag {BEHAVIOUR_TAG})."
    )
}
