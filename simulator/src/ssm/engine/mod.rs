//! The executions and how they run: a multi-location parent with one `aws:executeAutomation`
//! step per location, each child in its target account and Region (failing as SSM's do when
//! the execution role or the shared document is missing), rate-controlled targets resolved
//! against moto's EC2 instances and resource groups, and the documents' own steps.
//!
//! Where SSM documents no exact wording or behaviour, the simulator's choice is stated where it
//! is made: `executions` (the store and each execution's lifecycle), `locations` (the fan-out
//! over accounts and Regions), `targets` (the fan-out over targets), `documents` (where a
//! document is and which steps it has), `steps` (what each step does and the order SSM takes
//! through them, `SendAutomationSignal`), `validation` (the request checks), `fan_out` (running
//! items under a concurrency and an error threshold), `quota` (the account-Region's concurrency
//! quota and its queue) and `alarms` (the CloudWatch alarms that stop an execution).

mod alarms;
mod documents;
mod executions;
mod fan_out;
mod locations;
pub mod parameters;
mod quota;
mod steps;
mod targets;
mod validation;

use crate::lock;
use crate::moto::Moto;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::ssm::status::AutomationStatus;
pub use documents::BEHAVIOUR_TAG;
pub use executions::{Execution, Step};
pub use locations::DEFAULT_EXECUTION_ROLE;
pub use quota::{ADAPTIVE_CONCURRENCY_SETTING, Quotas, SettingsChange};
pub use steps::{OnFailure, Signal, Signals, StepSpec, TIME_SCALE};

/// Who made a call: the account of its credentials and the Region it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The caller's account.
    pub account: String,
    /// The Region of the endpoint.
    pub region: String,
}

/// What the simulator does that is not SSM's business: timing and where the organization is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long each simulated document step takes.
    pub step_duration: Duration,
    /// The organization's management account (default: the caller's account).
    pub organization_account: Option<String>,
    /// The Automation quotas of each account and Region (AWS's defaults unless a test lowers
    /// them).
    pub quotas: Quotas,
    /// How often a running execution's CloudWatch alarms are polled.
    pub alarm_poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            step_duration: Duration::from_millis(20),
            organization_account: None,
            quotas: Quotas::default(),
            alarm_poll: Duration::from_millis(50),
        }
    }
}

/// All executions, and the work that runs them.
#[derive(Debug)]
pub struct Engine {
    moto: Moto,
    settings: Mutex<Settings>,
    executions: Mutex<BTreeMap<String, Execution>>,
    /// The ids of each account-Region's executions, so its quota is checked without scanning
    /// them all. Always locked after `executions`.
    pools: Mutex<HashMap<(String, String), Vec<String>>>,
    client_tokens: Mutex<executions::ClientTokens>,
    step_cache: Mutex<documents::StepCache>,
    regions: crate::account::RegionSettings,
    /// Account-Regions that turned on adaptive concurrency.
    adaptive: Mutex<std::collections::BTreeSet<(String, String)>>,
    /// Bumped whenever a slot may have freed (an execution admitted, ended or stopped).
    slots: tokio::sync::watch::Sender<u64>,
    /// The order executions were created in (the queue is first in, first out).
    sequence: std::sync::atomic::AtomicU64,
}

impl Engine {
    /// An engine that asks `moto` about the world.
    pub fn new(moto: Moto, settings: Settings) -> Arc<Self> {
        Arc::new(Self {
            moto,
            settings: Mutex::new(settings),
            executions: Mutex::new(BTreeMap::new()),
            pools: Mutex::new(HashMap::new()),
            client_tokens: Mutex::new(HashMap::new()),
            step_cache: Mutex::new(HashMap::new()),
            regions: crate::account::RegionSettings::default(),
            adaptive: Mutex::new(std::collections::BTreeSet::new()),
            slots: tokio::sync::watch::Sender::new(0),
            sequence: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The moto server behind the simulator.
    pub fn moto(&self) -> &Moto {
        &self.moto
    }

    /// Which Regions each account has enabled.
    pub fn regions(&self) -> &crate::account::RegionSettings {
        &self.regions
    }

    /// Replaces the settings.
    pub fn configure(&self, settings: Settings) {
        *lock(&self.settings) = settings;
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }
}

/// Now, in epoch seconds (SSM's timestamps on the wire).
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
