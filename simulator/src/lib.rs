//! The local stack's SSM Automation simulator: moto has no Automation API, so this serves
//! `StartAutomationExecution`, `GetAutomationExecution`, `DescribeAutomationExecutions`,
//! `DescribeAutomationStepExecutions`, `StopAutomationExecution` and the execution preview
//! over AWS JSON 1.1, modelling SSM's multi-account, multi-Region semantics, and forwards every
//! other call to moto, so that one endpoint serves the whole stack.
//!
//! It is a test double: where SSM's exact behaviour or wording is not documented, the
//! simulator's choice is written down where it is made (`engine`). It shares no code with the
//! fabric it judges: SSM's rate-control strings (`rate_control`), statuses (`status`) and
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
pub mod template;
pub mod wire;
