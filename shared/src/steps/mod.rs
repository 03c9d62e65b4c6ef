//! The state machines' tasks: one async function per Task state, over the typed
//! [`crate::workflow`] input and output of that task and the [`crate::ports`] it needs. The
//! Lambda handlers call them (one call each), and so does the local [`crate::driver`], which
//! every other driver (the CLI, the tests, the benchmarks) goes through.

pub mod onboarding;
pub mod run;

use crate::config::Config;
use crate::ports::{Automation, Directory, Documents, Locations, Notifier, ReportStore, Roles};
use std::time::Duration;

/// What a run's steps talk to.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)] // trait objects
pub struct RunPorts<'a> {
    /// The fabric's config (run profiles, alarm rules, default Regions).
    pub config: &'a Config,
    /// The organization.
    pub directory: &'a dyn Directory,
    /// Automation in the central account and Region.
    pub automation: &'a dyn Automation,
    /// Automation in the target accounts.
    pub locations: &'a dyn Locations,
    /// Where run state and reports are kept.
    pub store: &'a dyn ReportStore,
    /// Where summaries are published, when configured.
    pub notifier: Option<&'a dyn Notifier>,
    /// The time between two starts ([`crate::runs::START_PACING`] against SSM).
    pub start_pacing: Duration,
    /// The least time between two pages of a parent's steps
    /// ([`crate::ports::STEP_PAGE_INTERVAL`] against SSM).
    pub page_pacing: Duration,
    /// The run state machine, for handing a long run over to a fresh execution (only the
    /// deployed `start-run` function has it).
    pub hand_over: Option<&'a dyn crate::ports::Workflows>,
}

impl<'a> RunPorts<'a> {
    /// Where a run's results are read from and kept.
    pub fn sources(&self) -> crate::runs::keep::Sources<'a> {
        crate::runs::keep::Sources {
            automation: self.automation,
            locations: self.locations,
            store: self.store,
            page_pacing: self.page_pacing,
        }
    }

    /// Where this run's reports go.
    pub fn reports(&self) -> ReportSink<'a> {
        ReportSink {
            store: self.store,
            notifier: self.notifier,
        }
    }
}

/// What onboarding's steps talk to.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)] // trait objects
pub struct OnboardingPorts<'a> {
    /// The fabric's config (documents, Regions, the role's StackSet, the central account).
    pub config: &'a Config,
    /// The organization.
    pub directory: &'a dyn Directory,
    /// The central account's documents and their sharing.
    pub documents: &'a dyn Documents,
    /// The execution role's StackSet.
    pub roles: &'a dyn Roles,
}

/// Where reports are stored and their summaries published.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)] // trait objects
pub struct ReportSink<'a> {
    /// The report bucket.
    pub store: &'a dyn ReportStore,
    /// The topic, when configured.
    pub notifier: Option<&'a dyn Notifier>,
}
