//! A person's approval between waves. SSM's `aws:approve` "doesn't support multi-account and
//! Region automations" (AWS docs), so the gate is the fabric's own: the state machine waits on
//! a task token, the request (with that token kept in the run's state) is published to the
//! topic, and `fabric approve` / `fabric reject` answer it. An unanswered request times out;
//! either way the run is reported, saying who decided what.

use super::state::RunState;
use crate::model::RunReport;
use crate::ports::Notification;
use crate::report::Timestamp;
use crate::workflow::{Approval, REJECTED, Rejection, StepError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// An approval request waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The wave waiting to start.
    pub wave: String,
    /// The token that answers the waiting task (`SendTaskSuccess` / `SendTaskFailure`).
    pub task_token: String,
    /// When it was asked.
    pub requested_at: Timestamp,
    /// How long it waits, in seconds.
    pub timeout_seconds: u64,
    /// The rejection `fabric reject` recorded before it failed the task (the task's error
    /// cause says the same; moto's `SendTaskFailure` drops causes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// An approval given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The wave it let start.
    pub wave: String,
    /// Who approved, and what they said.
    #[serde(flatten)]
    pub approval: Approval,
}

impl RunState {
    /// How long the approval before the next wave waits at `now`, when the gate of the wave
    /// just collected asks for one: its timeout, but never past the run's deadline (at least a
    /// second), so that a waiting run still ends inside its deadline, and its execution's 24
    /// hours.
    pub fn approval_timeout(&self, now: Timestamp) -> Option<Duration> {
        let wave = self.plan.waves.get(self.next_wave.checked_sub(1)?)?;
        let timeout = wave.gate.as_ref()?.approval.as_ref()?.timeout();
        let left = self.begun_at.map_or(timeout, |begun| {
            let spent = (now - begun).to_std().unwrap_or_default();
            self.plan.request.spec.deadline().saturating_sub(spent)
        });
        Some(timeout.min(left).max(Duration::from_secs(1)))
    }

    /// The name of the wave that starts next.
    fn next_wave_name(&self) -> String {
        self.plan
            .waves
            .get(self.next_wave)
            .map_or_else(|| "the next wave".to_owned(), |wave| wave.name.clone())
    }

    /// Records the request `task_token` answers; returns what to publish to the topic.
    pub fn request_approval(
        &mut self,
        task_token: String,
        now: Timestamp,
        report: &RunReport,
    ) -> Notification {
        let timeout_seconds = self
            .approval_timeout(now)
            .map_or(0, |timeout| timeout.as_secs());
        let wave = self.next_wave_name();
        let run_id = &self.plan.run_id;
        let counts = report
            .counts_by_status()
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!(
            "Run {run_id} waits for a person's approval before its wave {wave} starts.\n\
             So far: {counts}.\n\
             Approve: fabric approve {run_id} [--comment TEXT]\n\
             Reject:  fabric reject {run_id} --reason TEXT\n\
             Without an answer within {timeout_seconds} s the run ends and is reported, and wave {wave} does not start."
        );
        self.pending_approval = Some(PendingApproval {
            wave: wave.clone(),
            task_token,
            requested_at: now,
            timeout_seconds,
            rejection: None,
        });
        Notification {
            subject: crate::report::subject_line(&format!(
                "Approval needed: wave {wave} of run {run_id}"
            )),
            message,
            attributes: BTreeMap::from([
                ("kind".to_owned(), "approval".to_owned()),
                ("run_id".to_owned(), run_id.clone()),
            ]),
        }
    }

    /// Records that `approval` answered the waiting request, once: a retried `StartWave`
    /// (whose request was answered already) records nothing more.
    pub fn approved(&mut self, approval: Approval) {
        let Some(PendingApproval { wave, .. }) = self.pending_approval.take() else {
            return;
        };
        tracing::info!(run_id = %self.plan.run_id, wave, approved_by = approval.approved_by, "wave approved");
        self.approvals.push(ApprovalRecord { wave, approval });
    }

    /// Records how an approval request ended the run (`verdict`: the waiting task's error),
    /// so that the report says why the later waves did not start.
    pub fn not_approved(&mut self, verdict: &StepError) {
        let pending = self.pending_approval.take();
        let wave = pending
            .as_ref()
            .map_or_else(|| self.next_wave_name(), |pending| pending.wave.clone());
        let why = match verdict.error.as_str() {
            REJECTED => {
                let rejection = serde_json::from_str::<Rejection>(&verdict.cause)
                    .ok()
                    .or_else(|| pending.as_ref()?.rejection.clone());
                match rejection {
                    Some(rejection) => format!(
                        "wave {wave} was rejected by {}: {}",
                        rejection.rejected_by, rejection.reason
                    ),
                    None => format!("wave {wave} was rejected: {}", verdict.cause),
                }
            }
            "States.Timeout" => format!(
                "no one answered wave {wave}'s approval request within {} s",
                pending.map_or(0, |pending| pending.timeout_seconds)
            ),
            _ => format!("wave {wave}'s approval request failed: {verdict}"),
        };
        tracing::warn!(run_id = %self.plan.run_id, why, "the run ends before its next wave");
        self.stopped = Some(format!("not started: {why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::deadline::tests::{WAVES, at_minutes, run_state};
    use super::*;
    use crate::fakes::FakeServices;

    #[tokio::test]
    async fn when_a_gate_asks_for_approval_then_it_waits_its_timeout_but_never_past_the_deadline() {
        let fakes = FakeServices::example();
        let gated = WAVES.replace(
            r#""regions": ["us-east-1"]}]},"#,
            r#""regions": ["us-east-1"]}], "gate": {"min_success_percent": 100, "approval": {"timeout": "3m"}}},"#,
        );
        let mut state = run_state(&gated, &fakes).await;
        assert_eq!(
            state.approval_timeout(at_minutes(0)),
            None,
            "no wave collected yet"
        );
        state.next_wave = 1;
        assert_eq!(
            state.approval_timeout(at_minutes(0)),
            Some(Duration::from_secs(180))
        );
        assert_eq!(
            state.approval_timeout(at_minutes(3)),
            Some(Duration::from_secs(120)),
            "the 5m deadline leaves 2 minutes"
        );
        assert_eq!(
            state.approval_timeout(at_minutes(9)),
            Some(Duration::from_secs(1))
        );
    }

    #[tokio::test]
    async fn when_an_approval_is_delivered_twice_then_it_is_recorded_once() {
        let fakes = FakeServices::example();
        let mut state = run_state(WAVES, &fakes).await;
        let report = state.report(&fakes.sources()).await.expect("a report");
        state.next_wave = 1;
        let request = state.request_approval("token".to_owned(), at_minutes(1), &report);
        assert!(
            request.message.contains("fabric approve run-1"),
            "{}",
            request.message
        );
        let approval = Approval {
            approved_by: "alice".to_owned(),
            comment: None,
        };
        state.approved(approval.clone());
        state.approved(approval);
        assert_eq!(state.approvals.len(), 1, "{:?}", state.approvals);
        assert_eq!(state.approvals[0].wave, "second");
        assert!(state.pending_approval.is_none());
    }
}
