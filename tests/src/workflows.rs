//! Runs carried out through the local driver (`fabric::driver`), as the CLI and the state
//! machines carry them out: the one way the tests and the benchmarks run a workflow.

use fabric::config::Config;
use std::time::Duration;

/// Plans `request` as run `run_id` with the config's default Regions.
pub async fn plan(
    services: &fabric::aws::RunServices,
    config: &fabric::config::Config,
    run_id: &str,
    request: fabric::model::RunRequest,
) -> fabric::plan::RunPlan {
    let context = fabric::plan::PlanContext {
        default_regions: &config.regions,
    };
    fabric::plan::plan_run(run_id, request, &services.directory, &context)
        .await
        .expect("the run plans")
}

/// Carries out `plan`'s request through the local driver (`fabric::driver::run`), as the CLI
/// and the state machine do: a manual trigger of a run profile made of the request's spec, each
/// wave started, tracked to its end, collected and gated, the report published; then the
/// report as stored.
pub async fn carry_out(
    services: &fabric::aws::RunServices,
    config: &Config,
    plan: fabric::plan::RunPlan,
) -> fabric::model::RunReport {
    let driven = drive(
        services,
        config,
        &plan.run_id,
        &plan.request.spec,
        Duration::from_millis(50),
        TEST_TIMING,
        &mut (),
    )
    .await;
    assert_eq!(
        driven.state.plan.planned_count(),
        plan.planned_count(),
        "the driver planned what the test planned"
    );
    driven.report
}

/// The pace of the tests' workflows: Wait states of 200 ms, retries from 100 ms, five minutes
/// at most.
pub const TEST_TIMING: fabric::driver::Timing = fabric::driver::Timing {
    wait: Duration::from_millis(200),
    retry_interval: Duration::from_millis(100),
    timeout: Some(Duration::from_secs(300)),
};

/// Delivers `trigger` (a run input or event, as a rule or schedule sends it) to the local run
/// workflow as execution `execution`, at [`TEST_TIMING`] and starts 50 ms apart, to its end.
pub async fn deliver(
    services: &fabric::aws::RunServices,
    config: &Config,
    trigger: &serde_json::Value,
    execution: &str,
) -> fabric::driver::run::RunOutcome {
    use fabric::driver::run;
    let ports = fabric::steps::RunPorts {
        start_pacing: Duration::from_millis(50),
        ..services.ports(config)
    };
    let delivery = fabric::workflow::TriggerDelivery {
        trigger: trigger.clone(),
        execution: execution.to_owned(),
    };
    run::carry_out(
        &ports,
        delivery,
        TEST_TIMING,
        run::Follow::ToTheEnd,
        &mut (),
    )
    .await
    .expect("the workflow runs")
}

/// What [`drive`] leaves: how the workflow ended, the run's state and its report.
#[derive(Debug)]
pub struct Driven {
    /// How the workflow ended.
    pub outcome: fabric::driver::run::RunOutcome,
    /// The run's state, as the workflow left it.
    pub state: fabric::runs::RunState,
    /// The run's report, as stored.
    pub report: fabric::model::RunReport,
}

/// Drives a run of `spec` to its end through the local driver: a manual trigger (request id
/// `request_id`) of a run profile made of `spec`, starts `pacing` apart, the workflow at
/// `timing`'s pace, followed by `observer`.
#[allow(clippy::too_many_arguments)]
pub async fn drive(
    services: &fabric::aws::RunServices,
    config: &Config,
    request_id: &str,
    spec: &fabric::model::RunSpec,
    pacing: Duration,
    timing: fabric::driver::Timing,
    observer: &mut dyn fabric::driver::Observer,
) -> Driven {
    use fabric::driver::run;
    let mut config = config.clone();
    let profile =
        fabric::config::ProfileName::new(format!("test-{request_id}")).expect("a profile name");
    config.run_profiles.insert(profile.clone(), spec.clone());
    let ports = fabric::steps::RunPorts {
        start_pacing: pacing,
        ..services.ports(&config)
    };
    let delivery = fabric::workflow::TriggerDelivery {
        trigger: serde_json::json!({ "manual": {
            "requested_by": "fabric-tests",
            "request_id": request_id,
            "profile": profile.to_string(),
        }}),
        execution: format!("fabric-tests-{request_id}"),
    };
    let outcome = run::carry_out(&ports, delivery, timing, run::Follow::ToTheEnd, observer)
        .await
        .expect("the run is carried out");
    let run_id = outcome.run_id().expect("the trigger asks for a run");
    let state = fabric::runs::RunState::load(ports.store, run_id)
        .await
        .expect("the run's state");
    let report = state
        .report(ports.automation, ports.locations, ports.store)
        .await
        .expect("the report is assembled");
    Driven {
        outcome,
        state,
        report,
    }
}
