//! The domain's values, each valid by construction: where (accounts, OUs, Regions, locations),
//! what (documents, targets, rate control, run specs) and how it went (run and onboarding reports).

mod document;
mod ids;
mod onboarding_report;
mod rate_control;
mod run_report;
mod run_request;
mod span;
mod targets;
pub(crate) mod validated;

pub use document::{DocumentName, DocumentRef, DocumentVersion};
pub use ids::{AccountId, AccountOrOu, Location, OuId, Region, RoleName};
pub use onboarding_report::{
    DocumentShare, OnboardingAction, OnboardingReport, RoleOutcome, ShareOutcome,
};
pub use rate_control::{
    CONCURRENCY_PATTERN, Concurrency, ERROR_THRESHOLD_PATTERN, ErrorThreshold, Percent,
};
pub use run_report::{
    AutomationStatus, LocationResult, LocationStatus, RunReport, TargetResult, status_name,
};
pub use run_request::{
    AlarmConfiguration, ApprovalGate, DEFAULT_EXECUTION_ROLE, Parameters, RunRequest, RunSpec,
    RunTrigger, TargetLocation, Wave, WaveGate,
};
pub use span::Span;
pub use targets::{SsmTarget, Target};
