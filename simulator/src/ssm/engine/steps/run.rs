//! The order SSM takes through a document's steps in one execution: each step tried up to
//! `maxAttempts` times within its `timeoutSeconds`, then `nextStep`, `isEnd` and `onFailure`
//! choose what runs next, and `isCritical` whether a failure is the execution's.

use super::super::{AutomationStatus, Engine, Execution, Step};
use super::actions::{Attempt, Outcome};
use super::{DocumentSteps, StepSpec, inputs, scaled};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where an execution goes after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::ssm::engine) enum Next {
    /// Run the step at this index.
    Step(usize),
    /// The execution is over.
    End,
    /// `nextStep` or `onFailure` named a step the document does not have.
    Missing(String),
}

/// `aws:pause`, `aws:approve`: "The default timeout for this action is 7 days (604800
/// seconds) and the maximum value is 30 days (2592000 seconds)."
const WAIT_DEFAULT_SECONDS: u64 = 604_800;
const WAIT_MAX_SECONDS: u64 = 2_592_000;
/// `timeoutSeconds`: "The aws:changeInstanceState action has a default timeoutSeconds value
/// of 3600. For all other actions, there is no default value."
const CHANGE_STATE_DEFAULT_SECONDS: u64 = 3_600;

impl StepSpec {
    /// The step's timeout in a document's seconds, defaults included.
    pub(super) fn timeout(&self) -> Option<u64> {
        match self.action.as_str() {
            "aws:pause" | "aws:approve" => Some(
                self.timeout_seconds
                    .unwrap_or(WAIT_DEFAULT_SECONDS)
                    .min(WAIT_MAX_SECONDS),
            ),
            "aws:changeInstanceState" => {
                Some(self.timeout_seconds.unwrap_or(CHANGE_STATE_DEFAULT_SECONDS))
            }
            _ => self.timeout_seconds,
        }
    }
}

impl DocumentSteps {
    /// What runs after step `index` ended in `status`. "Properties shared by all actions":
    /// `isEnd` "stops an Automation execution at the end of a specific step. The Automation
    /// execution stops if the step execution failed or succeeded."; `nextStep` "Specifies
    /// which step in an Automation workflow to process next after successfully completing a
    /// step."; `onFailure` "Indicates whether the workflow should abort, continue, or go to a
    /// different step on failure."
    pub(in crate::ssm::engine) fn after(&self, index: usize, status: AutomationStatus) -> Next {
        let Some(step) = self.steps.get(index) else {
            return Next::End;
        };
        let following = || {
            if index + 1 < self.steps.len() {
                Next::Step(index + 1)
            } else {
                Next::End
            }
        };
        let go_to = |name: &String| {
            self.index_of(name)
                .map_or_else(|| Next::Missing(name.clone()), Next::Step)
        };
        if step.is_end {
            return Next::End;
        }
        if status.is_success() {
            return step.next_step.as_ref().map_or_else(following, go_to);
        }
        match &step.on_failure {
            super::OnFailure::Abort => Next::End,
            super::OnFailure::Continue => following(),
            super::OnFailure::Step(name) => go_to(name),
        }
    }
}

impl Step {
    /// A step of `spec`, not started yet.
    pub(in crate::ssm::engine) fn of(spec: &StepSpec) -> Self {
        Self {
            properties: Some(spec.clone()),
            ..Self::pending(spec.name.clone(), &spec.action)
        }
    }
}

/// Inputs as `StepExecution.Inputs` shows them: "Fully-resolved values passed into the step
/// before execution." (a string to string map: text as is, anything else as JSON).
fn wire_inputs(inputs: &Value) -> BTreeMap<String, String> {
    inputs
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    (key.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Engine {
    /// Runs `document`'s steps in `execution`, as its properties say, to the execution's end.
    /// isCritical: "Designates a step as critical for the successful completion of the
    /// Automation. If a step with this designation fails, then Automation reports the final
    /// status of the Automation as Failed." A critical step that timed out ends the execution
    /// `TimedOut` ("By default, if an action times out, the automation execution status will
    /// be Timed Out. To prevent a timeout from affecting the automation execution status,
    /// specify false for the isCritical property."); a failure of a step that is not critical
    /// leaves the execution's status alone, even when `onFailure: Abort` ends it there.
    pub(in crate::ssm::engine) async fn run_steps(
        &self,
        execution: &Execution,
        document: &DocumentSteps,
        tags: &BTreeMap<String, String>,
    ) -> AutomationStatus {
        let id = &execution.id;
        let mut parameters = document.defaults.clone();
        parameters.extend(execution.request.parameters.clone());
        self.update(id, |e| {
            e.steps = document.steps.iter().map(Step::of).collect();
        });
        let mut verdict: Option<(AutomationStatus, Option<String>)> = None;
        let mut index = 0;
        while let Some(spec) = document.steps.get(index) {
            if self.cancelled(id) {
                self.finish(id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            let inputs = inputs::resolve(&spec.inputs, &parameters);
            self.update(id, |e| {
                if let Some(step) = e.steps.get_mut(index) {
                    step.inputs = wire_inputs(&inputs);
                    (step.start, step.end, step.failure_message) = (None, None, None);
                }
            });
            self.set_step(id, index, AutomationStatus::InProgress, None);
            let outcome = self.try_step(execution, index, spec, &inputs, tags).await;
            self.update(id, |e| {
                if let Some(step) = e.steps.get_mut(index) {
                    step.outputs = outcome.outputs.clone();
                }
                if e.status == AutomationStatus::Waiting {
                    e.status = AutomationStatus::InProgress;
                }
            });
            self.set_step(id, index, outcome.status, outcome.message.clone());
            if outcome.status == AutomationStatus::Cancelled {
                self.finish(id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            if !outcome.status.is_success() && spec.is_critical && verdict.is_none() {
                verdict = Some((outcome.status, outcome.message));
            }
            match document.after(index, outcome.status) {
                Next::Step(next) => index = next,
                Next::End => break,
                Next::Missing(name) => {
                    verdict = Some((
                        AutomationStatus::Failed,
                        Some(format!(
                            "Step {} names step {name} to run next, and the document has no step by that name.",
                            spec.name
                        )),
                    ));
                    break;
                }
            }
        }
        // A stop asked for while the last step ran ends the execution `Cancelled`, as the
        // stop said it would ("Cancelling").
        if self.cancelled(id) {
            self.finish(id, AutomationStatus::Cancelled, None);
            return AutomationStatus::Cancelled;
        }
        let (status, message) = verdict.unwrap_or((AutomationStatus::Success, None));
        self.finish(id, status, message);
        status
    }

    /// A step tried up to `maxAttempts` times ("If the value is greater than 1, the step is
    /// not considered to have failed until all retry attempts have failed."), each within
    /// the step's timeout ("If the timeout is reached and the value of maxAttempts is greater
    /// than 1, then the step is not considered to have timed out until all retries have been
    /// attempted.").
    async fn try_step(
        &self,
        execution: &Execution,
        index: usize,
        spec: &StepSpec,
        inputs: &Value,
        tags: &BTreeMap<String, String>,
    ) -> Outcome {
        let mut last = Outcome::failed("The step was not attempted.");
        for number in 1..=spec.max_attempts {
            let attempt = Attempt {
                execution,
                index,
                spec,
                inputs,
                number,
                tags,
            };
            last = match spec.timeout() {
                Some(seconds) => {
                    #[allow(clippy::cast_precision_loss)]
                    let limit = scaled(seconds as f64);
                    tokio::time::timeout(limit, self.attempt(&attempt))
                        .await
                        .unwrap_or_else(|_| Outcome {
                            status: AutomationStatus::TimedOut,
                            // The simulator's wording: SSM documents the status, not a message.
                            message: Some(format!(
                                "Step timed out: it ran past its timeout of {seconds} seconds (timeoutSeconds)."
                            )),
                            outputs: crate::wire::Parameters::new(),
                        })
                }
                None => self.attempt(&attempt).await,
            };
            if last.status.is_success()
                || last.status == AutomationStatus::Cancelled
                || self.cancelled(&execution.id)
            {
                break;
            }
        }
        if self.cancelled(&execution.id) {
            return Outcome::cancelled();
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::engine::steps::OnFailure;

    fn document(steps: &[(&str, OnFailure, Option<&str>, bool)]) -> DocumentSteps {
        DocumentSteps {
            steps: steps
                .iter()
                .map(|(name, on_failure, next, is_end)| StepSpec {
                    on_failure: on_failure.clone(),
                    next_step: next.map(str::to_owned),
                    is_end: *is_end,
                    ..StepSpec::generic(name, "aws:sleep")
                })
                .collect(),
            defaults: crate::wire::Parameters::new(),
        }
    }

    const OK: AutomationStatus = AutomationStatus::Success;
    const FAILED: AutomationStatus = AutomationStatus::Failed;

    #[test]
    fn when_a_step_fails_then_on_failure_aborts_continues_or_jumps() {
        // onFailure: "Indicates whether the workflow should abort, continue, or go to a
        // different step on failure. The default value for this option is abort."
        let doc = document(&[
            ("abort", OnFailure::Abort, None, false),
            ("continue", OnFailure::Continue, None, false),
            ("jump", OnFailure::Step("abort".to_owned()), None, false),
            ("lost", OnFailure::Step("nowhere".to_owned()), None, false),
        ]);
        assert_eq!(doc.after(0, FAILED), Next::End);
        assert_eq!(doc.after(0, AutomationStatus::TimedOut), Next::End);
        assert_eq!(doc.after(1, FAILED), Next::Step(2));
        assert_eq!(doc.after(2, FAILED), Next::Step(0));
        assert_eq!(doc.after(3, FAILED), Next::Missing("nowhere".to_owned()));
        assert_eq!(doc.after(0, OK), Next::Step(1));
        assert_eq!(doc.after(3, OK), Next::End);
    }

    #[test]
    fn when_a_step_has_next_step_or_is_end_then_the_execution_follows_them() {
        // nextStep: "Specifies which step in an Automation workflow to process next after
        // successfully completing a step." isEnd: "The Automation execution stops if the step
        // execution failed or succeeded."
        let doc = document(&[
            ("first", OnFailure::Continue, Some("third"), false),
            ("second", OnFailure::Continue, None, true),
            ("third", OnFailure::Continue, None, false),
        ]);
        assert_eq!(doc.after(0, OK), Next::Step(2));
        assert_eq!(
            doc.after(0, FAILED),
            Next::Step(1),
            "nextStep is for success"
        );
        assert_eq!(doc.after(1, OK), Next::End);
        assert_eq!(doc.after(1, FAILED), Next::End);
    }

    #[test]
    fn when_a_wait_sets_no_timeout_then_seven_days_apply_and_thirty_at_most() {
        // aws:pause / aws:approve: "The default timeout for this action is 7 days (604800
        // seconds) and the maximum value is 30 days (2592000 seconds)."
        let pause = StepSpec::generic("p", "aws:pause");
        assert_eq!(pause.timeout(), Some(604_800));
        let long = StepSpec {
            timeout_seconds: Some(9_999_999),
            ..StepSpec::generic("a", "aws:approve")
        };
        assert_eq!(long.timeout(), Some(2_592_000));
        assert_eq!(StepSpec::generic("s", "aws:sleep").timeout(), None);
        assert_eq!(
            StepSpec::generic("c", "aws:changeInstanceState").timeout(),
            Some(3_600)
        );
    }
}
