//! The local stack's front door: one endpoint in front of moto that serves what moto lacks, by
//! the service each part emulates:
//! - `ssm`: SSM Automation (`StartAutomationExecution`, `GetAutomationExecution`,
//!   `DescribeAutomationExecutions`, `DescribeAutomationStepExecutions`,
//!   `StopAutomationExecution`, `SendAutomationSignal` and the execution preview over AWS JSON
//!   1.1), modelling SSM's multi-account, multi-Region semantics and its runbooks' step
//!   semantics; `account`: the Account API's `ListRegions`;
//! - `lambda`: Lambda's Invoke API and Runtime API, running a deployment's functions as their
//!   host binaries;
//! - `delivery`: EventBridge's delivery to Lambda and Step Functions targets, and Scheduler's
//!   schedules fired on demand;
//! - `template` and `deployment`: `infra/template.yaml` resolved and made real on the stack.
//!
//! Every other call is forwarded to moto (`server`, `moto`), so one endpoint serves the whole
//! stack; `faults` injects errors, latency and throttling, and counts calls.
//!
//! It is a test double: where AWS's exact behaviour or wording is not documented, the
//! simulator's choice is written down where it is made. It shares no code with the fabric it
//! judges: SSM's rate-control strings (`ssm::rate_control`), statuses (`ssm::status`) and
//! defaults are read here from the API reference, independently.
#![deny(missing_docs)]

pub mod account;
pub mod delivery;
pub mod deployment;
pub mod faults;
pub mod lambda;
pub mod moto;
pub mod server;
pub mod ssm;
pub mod stack;
pub mod sts_answer;
pub mod template;
pub mod wire;

/// The guard of `mutex`, poisoned or not: every critical section here is one assignment or
/// collection change, so a holder that panicked leaves the data whole.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
