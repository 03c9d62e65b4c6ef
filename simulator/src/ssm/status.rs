//! SSM's automation statuses (`AutomationExecutionStatus` and `StepStatus`), the simulator's own
//! copy: which of them are final and which count as success.

use serde::Serialize;

/// SSM's `AutomationExecutionStatus`. The API reference (`AutomationExecution`,
/// `StepExecution`) lists them: "Valid Values: `Pending | InProgress | Waiting | Success |
/// TimedOut | Cancelling | Cancelled | Failed | PendingApproval | Approved | Rejected |
/// Scheduled | RunbookInProgress | PendingChangeCalendarOverride |
/// ChangeCalendarOverrideApproved | ChangeCalendarOverrideRejected | CompletedWithSuccess |
/// CompletedWithFailure | Exited`".
/// The simulator itself reaches `Pending`, `InProgress`, `Waiting` (`aws:pause`,
/// `aws:approve`), `Success`, `TimedOut`, `Cancelling`, `Cancelled` and `Failed`; the others
/// are here so that every documented value has a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AutomationStatus {
    /// Queued, not started.
    Pending,
    /// Running.
    InProgress,
    /// Waiting for a step.
    Waiting,
    /// Ended in success.
    Success,
    /// A step ran past its timeout.
    TimedOut,
    /// Being stopped.
    Cancelling,
    /// Stopped.
    Cancelled,
    /// Ended in failure.
    Failed,
    /// Waiting for an approver.
    PendingApproval,
    /// An approver approved.
    Approved,
    /// An approver rejected.
    Rejected,
    /// Scheduled for later.
    Scheduled,
    /// A runbook step is running.
    RunbookInProgress,
    /// Waiting for a change calendar override.
    PendingChangeCalendarOverride,
    /// A change calendar override was approved.
    ChangeCalendarOverrideApproved,
    /// A change calendar override was rejected.
    ChangeCalendarOverrideRejected,
    /// A change request completed successfully.
    CompletedWithSuccess,
    /// A change request completed with failures.
    CompletedWithFailure,
    /// Exited early.
    Exited,
}

impl AutomationStatus {
    /// True once the status can no longer change: `StopAutomationExecution` refuses such an
    /// execution, and a parent is done when all its steps are.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Success
                | Self::TimedOut
                | Self::Cancelled
                | Self::Failed
                | Self::Rejected
                | Self::ChangeCalendarOverrideRejected
                | Self::CompletedWithSuccess
                | Self::CompletedWithFailure
                | Self::Exited
        )
    }

    /// True for the statuses that do not count against an error threshold (`MaxErrors`,
    /// `TargetLocationMaxErrors`) and that `ProgressCounters.SuccessSteps` counts.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::CompletedWithSuccess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_status_is_written_then_it_is_ssm_name_for_it() {
        let written = serde_json::to_value(AutomationStatus::InProgress).expect("serializes");
        assert_eq!(written, "InProgress");
        assert_eq!(format!("{:?}", AutomationStatus::Cancelled), "Cancelled");
    }

    #[test]
    fn when_a_status_succeeded_then_it_is_also_final() {
        for status in [
            AutomationStatus::Success,
            AutomationStatus::CompletedWithSuccess,
        ] {
            assert!(status.is_success() && status.is_final(), "{status:?}");
        }
        assert!(!AutomationStatus::Cancelling.is_final());
        assert!(!AutomationStatus::Failed.is_success());
    }
}
