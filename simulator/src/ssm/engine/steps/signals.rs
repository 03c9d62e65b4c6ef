//! `SendAutomationSignal`: the signals an execution's waiting step takes (`Resume` for
//! `aws:pause`, `Approve` and `Reject` for `aws:approve`) and the errors of the API reference
//! for every other one. A signal goes to the execution in the caller's own account and Region:
//! a child in a member account is signalled with that member's credentials.

use super::super::{AutomationStatus, Caller, Engine, Execution, lock};
use crate::wire::{ApiError, Parameters};

/// `SignalType`. The API reference lists "Valid Values: `Approve | Reject | StartStep |
/// StopStep | Resume | Revoke`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Approves an `aws:approve` step.
    Approve,
    /// Rejects an `aws:approve` step.
    Reject,
    /// Starts a step of an `Interactive` execution.
    StartStep,
    /// Stops a step.
    StopStep,
    /// Resumes an `aws:pause` step.
    Resume,
    /// Revokes an approval.
    Revoke,
}

impl Signal {
    /// The signal named `name`, or the `ValidationException` SSM gives for any other value.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        Ok(match name {
            "Approve" => Self::Approve,
            "Reject" => Self::Reject,
            "StartStep" => Self::StartStep,
            "StopStep" => Self::StopStep,
            "Resume" => Self::Resume,
            "Revoke" => Self::Revoke,
            other => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'signalType' failed to satisfy constraint: Member must satisfy enum value set: [Approve, Reject, StartStep, StopStep, Resume, Revoke]"
                )));
            }
        })
    }
}

/// What the signals sent to an execution's waiting step asked for so far (cleared when a
/// step starts to wait).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// A `Resume` reached the waiting `aws:pause` step.
    pub resumed: bool,
    /// `Approve` signals the waiting `aws:approve` step received.
    pub approvals: u32,
    /// A `Reject` reached the waiting `aws:approve` step.
    pub rejected: bool,
    /// The `Comment`s sent with `Approve` and `Reject`.
    pub comments: Vec<String>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new("InvalidAutomationSignalException", message)
}

/// The first value of `key` in a signal's payload.
fn payload_value<'a>(payload: &'a Parameters, key: &str) -> Option<&'a str> {
    payload
        .get(key)
        .and_then(|values| values.first())
        .map(String::as_str)
}

/// Takes `signal` into `execution`, checked as the API reference's errors say:
/// `AutomationStepNotFoundException` ("The specified step name and execution ID don't exist")
/// for a payload naming no step of the execution, `InvalidAutomationSignalException` ("The
/// signal isn't valid for the current Automation execution") when no step waits for it.
/// `StartStep`, `StopStep` and `Revoke` are refused with the latter: the simulator runs no
/// `Interactive` executions and no change requests (its choice).
pub(in crate::ssm::engine) fn accept(
    execution: &mut Execution,
    signal: Signal,
    payload: &Parameters,
) -> Result<(), ApiError> {
    let id = execution.id.clone();
    // The API reference (`Payload`): "For StartStep and Resume signal types, you must send the
    // name of the Automation step to start or resume as the payload. ... For the StopStep
    // signal type, you must send the step execution ID as the payload."
    let step_name = payload_value(payload, "StepName");
    if let Some(name) = step_name {
        if matches!(signal, Signal::Resume | Signal::StartStep)
            && !execution.steps.iter().any(|step| step.name == name)
        {
            return Err(ApiError::new(
                "AutomationStepNotFoundException",
                format!("Step {name} was not found in automation execution {id}."),
            ));
        }
    }
    if signal == Signal::StopStep {
        let step = payload_value(payload, "StepExecutionId").unwrap_or_default();
        if !execution.steps.iter().any(|s| s.id == step) {
            return Err(ApiError::new(
                "AutomationStepNotFoundException",
                format!("Step execution {step} was not found in automation execution {id}."),
            ));
        }
    }
    if execution.status.is_final() || execution.cancel_requested {
        return Err(invalid(format!(
            "Automation execution {id} is {:?}: it takes no more signals.",
            execution.status
        )));
    }
    let waiting = execution
        .steps
        .iter()
        .find(|step| step.status == AutomationStatus::Waiting);
    match signal {
        Signal::Resume => {
            let Some(name) = step_name else {
                return Err(invalid(
                    "The Resume signal must name the step to resume in its payload (StepName)."
                        .to_owned(),
                ));
            };
            if !waiting.is_some_and(|step| step.name == name && step.action == "aws:pause") {
                return Err(invalid(format!(
                    "Step {name} of automation execution {id} is not paused (aws:pause): there is nothing to resume."
                )));
            }
            execution.signals.resumed = true;
        }
        Signal::Approve | Signal::Reject => {
            if waiting.is_none_or(|step| step.action != "aws:approve") {
                return Err(invalid(format!(
                    "No step of automation execution {id} is waiting for approval (aws:approve)."
                )));
            }
            if signal == Signal::Approve {
                execution.signals.approvals += 1;
            } else {
                execution.signals.rejected = true;
            }
            if let Some(comment) = payload_value(payload, "Comment") {
                execution.signals.comments.push(comment.to_owned());
            }
        }
        Signal::StartStep | Signal::StopStep | Signal::Revoke => {
            return Err(invalid(format!(
                "{signal:?} is not valid for automation execution {id}: the simulator runs Auto-mode executions only, without change requests."
            )));
        }
    }
    Ok(())
}

impl Engine {
    /// `SendAutomationSignal` from `caller` to its execution `id`.
    pub fn signal(
        &self,
        caller: &Caller,
        id: &str,
        signal: Signal,
        payload: &Parameters,
    ) -> Result<(), ApiError> {
        self.execution(caller, id)?;
        let mut executions = lock(&self.executions);
        let execution = executions.get_mut(id).ok_or_else(|| {
            ApiError::new(
                "AutomationExecutionNotFoundException",
                format!("Automation execution {id} was not found."),
            )
        })?;
        accept(execution, signal, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::Step;
    use super::*;
    use crate::wire::StartRequest;

    fn waiting_on(action: &str) -> Execution {
        let mut execution = Execution::new(
            "111122223333",
            "us-east-1",
            StartRequest::default(),
            String::new(),
        );
        let mut step = Step::pending("hold".to_owned(), action);
        step.status = AutomationStatus::Waiting;
        execution.steps = vec![step, Step::pending("after".to_owned(), "aws:sleep")];
        execution.status = AutomationStatus::Waiting;
        execution
    }

    fn payload(key: &str, value: &str) -> Parameters {
        [(key.to_owned(), vec![value.to_owned()])].into()
    }

    fn code(result: Result<(), ApiError>) -> &'static str {
        result.err().map_or("ok", |error| error.code)
    }

    #[test]
    fn when_a_paused_step_is_resumed_by_name_then_the_execution_takes_the_signal() {
        // aws:pause: "To continue the automation, use the SendAutomationSignal API operation
        // with the Resume signal type."
        let mut execution = waiting_on("aws:pause");
        let resume = payload("StepName", "hold");
        assert_eq!(code(accept(&mut execution, Signal::Resume, &resume)), "ok");
        assert!(execution.signals.resumed);
    }

    #[test]
    fn when_a_signal_names_no_step_of_the_execution_then_the_step_is_not_found() {
        // AutomationStepNotFoundException: "The specified step name and execution ID don't
        // exist."
        let mut execution = waiting_on("aws:pause");
        let missing = payload("StepName", "nope");
        assert_eq!(
            code(accept(&mut execution, Signal::Resume, &missing)),
            "AutomationStepNotFoundException"
        );
        let stop = payload("StepExecutionId", "97fff367-fc5a-4299-aed8-0123456789ab");
        assert_eq!(
            code(accept(&mut execution, Signal::StopStep, &stop)),
            "AutomationStepNotFoundException"
        );
    }

    #[test]
    fn when_nothing_waits_for_a_signal_then_it_is_not_valid() {
        // InvalidAutomationSignalException: "The signal isn't valid for the current Automation
        // execution."
        let mut paused = waiting_on("aws:pause");
        assert_eq!(
            code(accept(&mut paused, Signal::Approve, &Parameters::new())),
            "InvalidAutomationSignalException"
        );
        assert_eq!(
            code(accept(&mut paused, Signal::Resume, &Parameters::new())),
            "InvalidAutomationSignalException"
        );
        assert_eq!(
            code(accept(
                &mut paused,
                Signal::Resume,
                &payload("StepName", "after")
            )),
            "InvalidAutomationSignalException"
        );
        let mut approving = waiting_on("aws:approve");
        approving.status = AutomationStatus::Success;
        assert_eq!(
            code(accept(&mut approving, Signal::Approve, &Parameters::new())),
            "InvalidAutomationSignalException"
        );
    }

    #[test]
    fn when_an_approval_step_waits_then_approvals_are_counted_and_a_rejection_kept() {
        // aws:approve: "After the required number of approvals is reached, the automation
        // resumes."
        let mut execution = waiting_on("aws:approve");
        let comment = payload("Comment", "Looks good");
        accept(&mut execution, Signal::Approve, &comment).ok();
        accept(&mut execution, Signal::Approve, &Parameters::new()).ok();
        accept(&mut execution, Signal::Reject, &Parameters::new()).ok();
        assert_eq!(execution.signals.approvals, 2);
        assert!(execution.signals.rejected);
        assert_eq!(execution.signals.comments, vec!["Looks good".to_owned()]);
        assert_eq!(
            Signal::parse("Hold").err().map(|error| error.code),
            Some("ValidationException")
        );
    }
}
