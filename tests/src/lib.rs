//! Support for tests against the local AWS stack: a private stack (moto and the simulator on
//! free ports), seeded by the project's seeder, and AWS SDK configs for the central account
//! and, through STS, for any member account.
#![allow(clippy::missing_panics_doc)] // test support: a failed setup is a failed test
#![allow(clippy::expect_used, clippy::panic)]

use aws_config::{BehaviorVersion, SdkConfig};
use fabric::aws::{OnboardingServices, RunServices};
use fabric::config::Config;
use fabric::events::TriggerEvent;
use fabric::model::{
    AccountId, AccountOrOu, Concurrency, ErrorThreshold, RunReport, RunRequest, RunTrigger, Target,
    TargetLocation,
};
use fabric_simulator::engine::Settings;
use fabric_simulator::stack::{PrivateStack, StackError, local_dir};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The Step Functions integration every Lambda task of the state machines uses.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// The text of `statemachines/<name>.asl.json`, placeholders and all.
pub fn state_machine_text(name: &str) -> String {
    let path = workspace()
        .join("statemachines")
        .join(format!("{name}.asl.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// What the seeder made (its JSON summary).
#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    /// `o-...`.
    pub organization_id: String,
    /// `r-...`.
    pub root_id: String,
    /// The central (management) account.
    pub management_account: String,
    /// OU name -> id.
    pub ous: BTreeMap<String, String>,
    /// OU id -> its parent's id (the root or an OU).
    #[serde(default)]
    pub ou_parents: BTreeMap<String, String>,
    /// The seeded Regions.
    pub regions: Vec<String>,
    /// The central account's documents.
    pub documents: Vec<String>,
    /// The member accounts.
    pub accounts: Vec<SeedAccount>,
    /// Instances tagged to fail.
    pub failing_instances: Vec<FailingInstance>,
}

/// A member account the seeder made.
#[derive(Debug, Clone, Deserialize)]
pub struct SeedAccount {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The name of its OU.
    pub ou: String,
    /// Its OU's id.
    pub ou_id: String,
    /// Whether the seeder deployed the execution role into it.
    pub execution_role: bool,
    /// Whether the seeder shared the documents with it.
    pub shared: bool,
    /// Region -> instance ids.
    pub instances: BTreeMap<String, Vec<String>>,
}

/// An instance tagged `fabric-simulator=fail`.
#[derive(Debug, Clone, Deserialize)]
pub struct FailingInstance {
    /// Its account.
    pub account: String,
    /// Its Region.
    pub region: String,
    /// Its id.
    pub instance: String,
}

/// A private stack and what was seeded into it.
#[derive(Debug)]
pub struct SeededStack {
    /// The stack; it ends when this is dropped.
    pub stack: PrivateStack,
    /// What the seeder made.
    pub seed: Seed,
    /// Where the seed summary was written (for tools run by the test).
    pub seed_file: PathBuf,
    /// How long the stack took to start (not counting the seeding).
    pub start_time: Duration,
}

/// Starts a private stack and seeds it with `seed_args` (see `local-stack/seed.py --help`);
/// the simulator's call counts start from zero after the seeding.
/// Fails with a clear message when the local stack is not installed.
pub async fn seeded_stack(seed_args: &[&str]) -> SeededStack {
    let workspace = workspace();
    let settings = Settings {
        step_duration: Duration::from_millis(10),
        ..Settings::default()
    };
    let started = Instant::now();
    let stack = match PrivateStack::start(&workspace, settings).await {
        Ok(stack) => stack,
        Err(error @ StackError::NotInstalled { .. }) => panic!("{error}"),
        Err(error) => panic!("the local stack did not start: {error}"),
    };
    let start_time = started.elapsed();
    let seed_file = local_dir(&workspace).join("test-logs").join(format!(
        "seed-{}.json",
        stack.endpoint().rsplit(':').next().unwrap_or("0")
    ));
    let output = tokio::process::Command::new(local_dir(&workspace).join("venv/bin/python"))
        .arg(workspace.join("local-stack/seed.py"))
        .args(["--endpoint", stack.endpoint(), "--output"])
        .arg(&seed_file)
        .args(seed_args)
        .output()
        .await
        .expect("the seeder runs");
    assert!(
        output.status.success(),
        "the seeder failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seed: Seed = serde_json::from_slice(&output.stdout).expect("the seeder prints its summary");
    // Call counts start after the seeding: they count what the test does.
    stack.simulator().faults().reset_stats();
    SeededStack {
        stack,
        seed,
        seed_file,
        start_time,
    }
}

/// A path under the test logs that no other test (thread or process) uses.
pub fn unique_path(stem: &str, extension: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    local_dir(&workspace())
        .join("test-logs")
        .join(format!("{stem}-{}-{n}.{extension}", std::process::id()))
}

/// An SDK config for the central account (moto's default) at `endpoint`, retrying as the
/// fabric's functions do.
pub async fn central_config(endpoint: &str, region: &str) -> SdkConfig {
    fabric::aws::sdk_config_from(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "fabric-tests",
            )),
    )
    .await
}

/// An SDK config for member `account`, through STS `AssumeRole` from the central account.
pub async fn member_config(endpoint: &str, account: &str, region: &str) -> SdkConfig {
    let central = central_config(endpoint, region).await;
    let credentials = aws_sdk_sts::Client::new(&central)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("fabric-tests")
        .send()
        .await
        .expect("moto's STS assumes the member role")
        .credentials
        .expect("AssumeRole returns credentials");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            Some(credentials.session_token),
            None,
            "fabric-tests-member",
        ))
        .load()
        .await
}

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

/// Polls `execution_id` with `ssm` until its status is final, for at most `timeout`.
pub async fn wait_until_final(
    ssm: &aws_sdk_ssm::Client,
    execution_id: &str,
    timeout: Duration,
) -> aws_sdk_ssm::types::AutomationExecution {
    let deadline = Instant::now() + timeout;
    loop {
        let execution = ssm
            .get_automation_execution()
            .automation_execution_id(execution_id)
            .send()
            .await
            .expect("GetAutomationExecution answers")
            .automation_execution
            .expect("the execution is there");
        let status = execution
            .automation_execution_status
            .as_ref()
            .map_or("", |status| status.as_str());
        if matches!(
            status,
            "Success"
                | "Failed"
                | "Cancelled"
                | "TimedOut"
                | "CompletedWithSuccess"
                | "CompletedWithFailure"
                | "Exited"
        ) {
            return execution;
        }
        assert!(
            Instant::now() < deadline,
            "{execution_id} is still {status} after {} s",
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A seeded stack, its config, and the services onboarding and runs use.
#[allow(missing_debug_implementations)] // the SDK's services are not all Debug
pub struct World {
    /// The stack and its seed.
    pub org: SeededStack,
    /// The seeded config.
    pub config: Config,
    /// Where the seeder wrote it.
    pub config_path: PathBuf,
    /// What onboarding uses.
    pub onboarding: OnboardingServices,
    /// What runs use.
    pub runs: RunServices,
    /// The central account's Organizations client.
    pub organizations: aws_sdk_organizations::Client,
}

/// A stack seeded with `seed_args` (the seeder writes the config), and the services.
pub async fn world(seed_args: &[&str]) -> World {
    let config_path = crate::unique_path("onboarding-config", "yaml");
    let mut args = seed_args.to_vec();
    let config_arg = config_path.display().to_string();
    args.extend(["--config-out", config_arg.as_str()]);
    let org = seeded_stack(&args).await;
    let config = Config::load(&config_path).expect("the seeded config loads");
    let sdk = central_config(org.stack.endpoint(), "us-east-1").await;
    World {
        config_path,
        onboarding: OnboardingServices::new(&sdk, &config),
        runs: RunServices::new(&sdk, &config).expect("services"),
        organizations: aws_sdk_organizations::Client::new(&sdk),
        config,
        org,
    }
}

impl World {
    /// Calls forwarded to moto so far, by operation.
    pub fn forwarded(&self, operation: &str) -> u64 {
        self.org
            .stack
            .simulator()
            .faults()
            .stats()
            .forwarded
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// A new member account, created through Organizations as a person would.
    pub async fn create_account(&self, name: &str) -> AccountId {
        let request = self
            .organizations
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .expect("CreateAccount")
            .create_account_status
            .and_then(|status| status.id)
            .expect("a request id");
        let status = self
            .organizations
            .describe_create_account_status()
            .create_account_request_id(request)
            .send()
            .await
            .expect("DescribeCreateAccountStatus")
            .create_account_status
            .expect("a status");
        AccountId::new(status.account_id.expect("an account id")).expect("valid")
    }

    /// Who each document is shared with, per `document@region`.
    pub async fn sharing(&self) -> BTreeMap<String, Vec<String>> {
        let mut sharing = BTreeMap::new();
        for region in self.config.sharing_regions() {
            let ssm = aws_sdk_ssm::Client::new(
                &central_config(self.org.stack.endpoint(), region.as_str()).await,
            );
            for document in &self.org.seed.documents {
                let accounts = ssm
                    .describe_document_permission()
                    .name(document)
                    .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
                    .send()
                    .await
                    .expect("DescribeDocumentPermission")
                    .account_ids
                    .unwrap_or_default();
                sharing.insert(format!("{document}@{region}"), accounts);
            }
        }
        sharing
    }
}

/// The Organizations `CreateAccountResult` fixture, for `account`.
pub fn account_created(account: &AccountId) -> TriggerEvent {
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/events/org-create-account-result-succeeded.json"
    ))
    .expect("fixture");
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] =
        account.to_string().into();
    event["detail"]["eventID"] = format!("event-for-{account}").into();
    TriggerEvent::from_value(&event).expect("a join")
}

impl World {
    /// Runs the `patch-scan-web` document once per account of `accounts` (first Region, one
    /// parameter-value target) and returns the report.
    pub async fn run_in(&self, accounts: &[AccountId]) -> RunReport {
        let mut location = TargetLocation::new(
            accounts.iter().cloned().map(AccountOrOu::Account).collect(),
            vec![self.config.regions[0].clone()],
        );
        location.target_location_max_concurrency = Some(Concurrency::parse("2").expect("valid"));
        location.target_location_max_errors = Some(ErrorThreshold::parse("1").expect("valid"));
        location.targets = Some(Target::ParameterValues {
            values: vec!["i-0123456789abcdef0".to_owned()],
        });
        let mut spec = self
            .config
            .profile("patch-scan-web")
            .expect("profile")
            .clone();
        spec.target_locations = vec![location];
        let request = RunRequest {
            profile: None,
            spec,
            trigger: RunTrigger::Manual {
                requested_by: "test".to_owned(),
            },
        };
        let plan = crate::plan(&self.runs, &self.config, "run-joined", request).await;
        crate::carry_out(&self.runs, &self.config, plan).await
    }

    /// Onboards (or offboards) `account` through the local driver, as the onboarding state
    /// machine does (readiness checks 50 ms apart); the report, or the workflow's error when it
    /// did not end `Onboarded`.
    pub async fn onboard(
        &self,
        account: &AccountId,
        action: fabric::model::OnboardingAction,
        trigger_key: &str,
        dry_run: bool,
    ) -> Result<fabric::model::OnboardingReport, String> {
        let timing = fabric::driver::Timing {
            wait: Duration::from_millis(50),
            retry_interval: Duration::from_millis(100),
            timeout: Some(Duration::from_secs(120)),
        };
        let input = fabric::workflow::OnboardingInput {
            account_id: account.clone(),
            action,
            trigger_key: trigger_key.to_owned(),
            dry_run,
        };
        let outcome = fabric::driver::onboarding::carry_out(
            &self.onboarding.ports(&self.config),
            self.runs.ports(&self.config).reports(),
            input,
            timing,
            &mut (),
        )
        .await
        .map_err(|error| error.to_string())?;
        match outcome.end {
            fabric::driver::End::Succeeded(_) => Ok(outcome.report),
            end => Err(format!(
                "onboarding ended {end:?}: {}",
                outcome.report.errors.join("; ")
            )),
        }
    }

    /// The accounts whose execution-role stack instance is deployed.
    pub async fn onboarding_deployed(&self) -> std::collections::BTreeSet<AccountId> {
        use fabric::ports::Roles;
        self.onboarding
            .roles
            .deployed()
            .await
            .expect("stack instances")
    }
}
