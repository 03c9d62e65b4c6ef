//! Automation Fabric: run an AWS Organization's SSM Automation runbooks in every account and
//! Region they must run in, from one central account.
//!
//! The flow the modules follow: [`events`] turn what AWS sends into a [`events::Trigger`];
//! [`config`] says what to share, where, and which runbooks make up a run profile; [`plan`]
//! resolves a run into locations; [`runs`] starts, follows and collects it; [`report`] stores
//! (as [`stored_run`] lays it out) and publishes the result. [`steps`] are the state machines' tasks over them, one function
//! each, and [`driver`] walks the state machines' graphs over those steps locally. [`model`] holds the values all of them speak in, [`ports`] what
//! they need from AWS, and [`aws`] the adapters that provide it.
#![deny(missing_docs)]

pub mod aws;
pub mod config;
pub mod driver;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod model;
pub mod onboarding;
pub mod plan;
pub mod ports;
pub mod report;
pub mod report_page;
pub mod runs;
pub mod steps;
pub mod stored_run;
pub mod workflow;

pub use error::{Error, Result};

/// Cases per property test: `FABRIC_FUZZ_CASES` when set (the benchmark command's long run),
/// else `default` (CI).
#[cfg(test)]
pub(crate) fn fuzz_cases(default: u32) -> u32 {
    std::env::var("FABRIC_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}
