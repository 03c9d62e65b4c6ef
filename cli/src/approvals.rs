//! `fabric approve RUN_ID` and `fabric reject RUN_ID`: answer the approval a run's wave gate
//! waits for. The run's state names the waiting task's token; the answer goes to the deployed
//! state machine, which records an approval as the next wave starts. A rejection is also
//! written into the waiting request first (nothing else writes the state while the run
//! waits), so that the report can name who rejected and why wherever the task's error cause
//! is lost.

use crate::Failure;
use fabric::aws::Executions;
use fabric::runs::RunState;
use fabric::runs::approval::PendingApproval;
use fabric::workflow::{Approval, REJECTED, Rejection};
use std::io::Write;
use std::path::Path;

/// What a person answers.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// Let the next wave start.
    Approve {
        /// What they said.
        comment: Option<String>,
    },
    /// End the run before the next wave.
    Reject {
        /// Why.
        reason: String,
    },
}

/// Answers the approval run `run_id` waits for.
pub(crate) fn answer(
    config: &Path,
    run_id: &str,
    answer: Answer,
    out: &mut impl Write,
) -> Result<(), Failure> {
    crate::runs::with_run(config, run_id, async |services, mut state| {
        let pending = waiting(&state, run_id)?.clone();
        let who = crate::runs::requested_by();
        let executions = Executions::from_sdk(&fabric::aws::sdk_config().await);
        match answer {
            Answer::Approve { comment } => {
                let approval = Approval {
                    approved_by: who,
                    comment,
                };
                let output = serde_json::to_value(&approval)
                    .map_err(|error| Failure::Other(error.to_string()))?;
                executions
                    .succeed_task(&pending.task_token, &output)
                    .await?;
                writeln!(
                    out,
                    "approved: wave {} of run {run_id} starts now",
                    pending.wave
                )
            }
            Answer::Reject { reason } => {
                let rejection = Rejection {
                    rejected_by: who,
                    reason,
                };
                let cause = serde_json::to_string(&rejection)
                    .map_err(|error| Failure::Other(error.to_string()))?;
                if let Some(waiting) = &mut state.pending_approval {
                    waiting.rejection = Some(rejection);
                }
                state.save(&services.store).await?;
                executions
                    .fail_task(&pending.task_token, REJECTED, &cause)
                    .await?;
                writeln!(
                    out,
                    "rejected: wave {} of run {run_id} does not start; the run is reported",
                    pending.wave
                )
            }
        }
        .map_err(|error| Failure::Other(format!("cannot write the output: {error}")))
    })
}

/// The approval run `run_id` waits for, or why there is none to answer.
fn waiting<'a>(state: &'a RunState, run_id: &str) -> Result<&'a PendingApproval, Failure> {
    if let Some(pending) = &state.pending_approval {
        return Ok(pending);
    }
    let why = if state.report_uri.is_some() {
        format!("run {run_id} has ended and been reported")
    } else {
        format!("run {run_id} waits for no approval now")
    };
    Err(Failure::BadInput(format!(
        "{why}: `fabric status {run_id}` shows where it stands"
    )))
}
