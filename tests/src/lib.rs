//! Support for tests against the local AWS stack: a private stack (moto and the simulator on
//! free ports), seeded by the project's seeder, and AWS SDK configs for the central account
//! and, through STS, for any member account.
#![allow(clippy::missing_panics_doc)] // test support: a failed setup is a failed test
#![allow(clippy::expect_used, clippy::panic)]

use aws_config::{BehaviorVersion, SdkConfig};
use fabric_simulator::ssm::engine::Settings;
use fabric_simulator::stack::{PrivateStack, StackError, local_dir};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod browser;
mod deployed;
mod workflows;
mod world;

pub use deployed::{Deployed, TEST_TIME_SCALE, function_binaries, run_id};
pub use workflows::{Driven, LocalRuns, TEST_PACING, TEST_TIMING, spec_over};
pub use world::{Organization, World, account_created, joined};

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

/// Credentials of member `account`, through STS `AssumeRole` of its
/// `OrganizationAccountAccessRole` from the central account.
pub async fn member_credentials(endpoint: &str, account: &str) -> aws_sdk_sts::types::Credentials {
    let central = central_config(endpoint, "us-east-1").await;
    aws_sdk_sts::Client::new(&central)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("fabric-tests")
        .send()
        .await
        .expect("moto's STS assumes the member role")
        .credentials
        .expect("AssumeRole returns credentials")
}

/// An SDK config for member `account`, through STS `AssumeRole` from the central account.
pub async fn member_config(endpoint: &str, account: &str, region: &str) -> SdkConfig {
    let credentials = member_credentials(endpoint, account).await;
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
