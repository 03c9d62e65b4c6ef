//! Runs carried out through the local driver (`fabric::driver`), as the CLI and the state
//! machines carry them out: the one way the tests and the benchmarks run a workflow.

use fabric::aws::RunServices;
use fabric::config::{Config, ProfileName};
use fabric::driver::run::{self, Follow, RunOutcome};
use fabric::driver::{Observer, Timing};
use fabric::model::{RunReport, RunSpec, TargetLocation};
use fabric::runs::RunState;
use fabric::steps::RunPorts;
use fabric::workflow::TriggerDelivery;
use std::time::Duration;

/// The pace of the tests' workflows: Wait states of 200 ms, retries from 100 ms, five minutes
/// at most.
pub const TEST_TIMING: Timing = Timing {
    wait: Duration::from_millis(200),
    retry_interval: Duration::from_millis(100),
    timeout: Some(Duration::from_secs(300)),
};

/// The time between two starts in the tests' workflows.
pub const TEST_PACING: Duration = Duration::from_millis(50);

/// `profile`'s spec from `config`, in one wave, over `location` only.
pub fn spec_over(config: &Config, profile: &str, location: TargetLocation) -> RunSpec {
    let mut spec = config
        .profile(profile)
        .unwrap_or_else(|| panic!("the config has the run profile {profile}"))
        .clone();
    spec.waves = Vec::new();
    spec.target_locations = vec![location];
    spec
}

/// The local run workflow as a test or a benchmark delivers triggers to it: the run services,
/// the config (with the run profiles the test adds), starts `pacing` apart, the workflow at
/// `timing`'s pace.
#[allow(missing_debug_implementations)] // the SDK's services are not all Debug
pub struct LocalRuns<'a> {
    /// What the run's steps talk to.
    pub services: &'a RunServices,
    /// The config the steps read.
    pub config: Config,
    /// The time between two starts.
    pub pacing: Duration,
    /// The least time between two pages of a parent's steps.
    pub page_pacing: Duration,
    /// The workflow's pace.
    pub timing: Timing,
}

/// What [`LocalRuns::drive`] leaves: how the workflow ended, the run's state and its report.
#[derive(Debug)]
pub struct Driven {
    /// How the workflow ended.
    pub outcome: RunOutcome,
    /// The run's state, as the workflow left it.
    pub state: RunState,
    /// The run's report, as stored.
    pub report: RunReport,
}

impl<'a> LocalRuns<'a> {
    /// The workflow over `services` and `config`, at [`TEST_PACING`] and [`TEST_TIMING`].
    pub fn new(services: &'a RunServices, config: &Config) -> Self {
        Self {
            services,
            config: config.clone(),
            pacing: TEST_PACING,
            page_pacing: fabric::ports::STEP_PAGE_INTERVAL,
            timing: TEST_TIMING,
        }
    }

    /// The ports the steps are given.
    pub fn ports(&self) -> RunPorts<'_> {
        RunPorts {
            start_pacing: self.pacing,
            page_pacing: self.page_pacing,
            ..self.services.ports(&self.config)
        }
    }

    /// A manual run input (request id `request_id`) of a run profile made of `spec`, which is
    /// added to the config: the run's id is the trigger's idempotency key.
    pub fn manual_trigger(&mut self, request_id: &str, spec: &RunSpec) -> serde_json::Value {
        let profile = ProfileName::new(format!("test-{request_id}")).expect("a profile name");
        self.config
            .run_profiles
            .insert(profile.clone(), spec.clone());
        serde_json::json!({ "manual": {
            "requested_by": "fabric-tests",
            "request_id": request_id,
            "profile": profile.to_string(),
        }})
    }

    /// Delivers `trigger` (a run input or event, as a rule or schedule sends it) to the
    /// workflow as execution `execution`, followed by `observer`.
    pub async fn deliver(
        &self,
        trigger: &serde_json::Value,
        execution: &str,
        follow: Follow,
        observer: &mut dyn Observer,
    ) -> RunOutcome {
        let delivery = TriggerDelivery {
            trigger: trigger.clone(),
            execution: execution.to_owned(),
        };
        run::carry_out(&self.ports(), delivery, self.timing, follow, observer)
            .await
            .expect("the workflow runs")
    }

    /// Run `run_id`'s state and its report, as stored.
    pub async fn load(&self, run_id: &str) -> (RunState, RunReport) {
        let ports = self.ports();
        let state = RunState::load(ports.store, run_id)
            .await
            .expect("the run's state");
        let report = state
            .report(&ports.sources())
            .await
            .expect("the report is assembled");
        (state, report)
    }

    /// Drives a run of `spec` to its end: a manual trigger (request id `request_id`) of a run
    /// profile made of `spec`, followed by `observer`.
    pub async fn drive(
        &mut self,
        request_id: &str,
        spec: &RunSpec,
        observer: &mut dyn Observer,
    ) -> Driven {
        let trigger = self.manual_trigger(request_id, spec);
        let execution = format!("fabric-tests-{request_id}");
        let outcome = self
            .deliver(&trigger, &execution, Follow::ToTheEnd, observer)
            .await;
        let run_id = outcome.run_id().expect("the trigger asks for a run");
        let (state, report) = self.load(run_id).await;
        Driven {
            outcome,
            state,
            report,
        }
    }
}
