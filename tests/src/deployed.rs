//! The deployed fabric on a private local stack: `infra/template.yaml` deployed over a seeded
//! organization with the functions' real host binaries (`fabric_simulator::deployment`), events
//! put with the AWS CLI's `aws events put-events`, schedules fired, executions followed to their
//! end, and what the topic published read back.

use crate::{World, member_credentials, workspace};
use fabric::aws::{ExecutionView, Executions};
use fabric_simulator::deployment::{DeployRequest, Deployment, deploy};
use fabric_simulator::lambda::FunctionStats;
use fabric_simulator::stack::local_dir;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The time scale the tests deploy at: a 30 s poll takes 1 s.
pub const TEST_TIME_SCALE: f64 = 30.0;

/// A seeded world with the template deployed on its stack.
#[allow(missing_debug_implementations)] // World holds SDK services
pub struct Deployed {
    /// The seeded organization and the fabric's services (to check what the deployment did).
    pub world: World,
    /// What the deployment made.
    pub deployment: Deployment,
    executions: Executions,
    sfn: aws_sdk_sfn::Client,
}

/// Where cargo put the functions' host binaries: beside this test's own `deps/` folder.
pub fn function_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its executable");
    let debug = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("tests run from target/<profile>/deps")
        .to_owned();
    assert!(
        debug.join("start-run").is_file(),
        "the functions' binaries are not built in {}: build them first (`cargo build --bins`; scripts/test does)",
        debug.display()
    );
    debug
}

impl Deployed {
    /// Deploys the template over `world` with the functions' debug binaries, with
    /// `function_timeouts` (logical id -> seconds) in place of the template's.
    pub async fn on(world: World, function_timeouts: &[(&str, u64)]) -> Self {
        Self::with_binaries(world, function_binaries(), function_timeouts).await
    }

    /// Deploys the template over `world` with the functions' binaries in `binaries`.
    pub async fn with_binaries(
        world: World,
        binaries: PathBuf,
        function_timeouts: &[(&str, u64)],
    ) -> Self {
        let sdk = crate::central_config(world.org.stack.endpoint(), "us-east-1").await;
        let organization_id = world.org.seed.organization_id.clone();
        let logs = local_dir(&workspace()).join("test-logs").join(format!(
            "functions-{}",
            world.org.stack.endpoint().rsplit(':').next().unwrap_or("0")
        ));
        std::fs::create_dir_all(&logs).expect("a log folder");
        let request = DeployRequest {
            template: workspace().join("infra/template.yaml"),
            stack_name: "automation-fabric".to_owned(),
            account: world.config.central_account.to_string(),
            region: world.config.home_region(),
            parameters: {
                let mut parameters = world.config.template_parameters();
                parameters.insert("OrganizationId".to_owned(), organization_id);
                parameters
            },
            config: world.config_path.clone(),
            binaries,
            logs,
            endpoint: world.org.stack.endpoint().to_owned(),
            time_scale: TEST_TIME_SCALE,
            function_timeouts: function_timeouts
                .iter()
                .map(|(function, seconds)| ((*function).to_owned(), *seconds))
                .collect(),
            max_concurrency: 4,
        };
        let deployment = deploy(world.org.stack.simulator(), &request)
            .await
            .unwrap_or_else(|error| panic!("the template deploys: {error}"));
        Self {
            executions: Executions::from_sdk(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            world,
            deployment,
        }
    }

    /// A state machine's ARN by logical id (`RunStateMachine`, `OnboardingStateMachine`).
    pub fn state_machine(&self, logical_id: &str) -> String {
        self.deployment
            .state_machines
            .get(logical_id)
            .unwrap_or_else(|| panic!("{logical_id} is deployed"))
            .clone()
    }

    /// A function's name by logical id.
    pub fn function(&self, logical_id: &str) -> String {
        self.deployment
            .functions
            .iter()
            .find(|function| function.logical_id == logical_id)
            .unwrap_or_else(|| panic!("{logical_id} is deployed"))
            .name
            .clone()
    }

    /// Makes the function `logical_id` crash on each of its next `times` invocations.
    pub fn crash(&self, logical_id: &str, times: u32) {
        self.world
            .org
            .stack
            .simulator()
            .lambda()
            .inject(&fabric_simulator::lambda::FunctionFaults {
                function: self.function(logical_id),
                crash: times,
            })
            .unwrap_or_else(|error| panic!("{logical_id} is deployed: {error}"));
    }

    /// Puts `entries` (`PutEvents` entries, `EventBusName` and all) with the AWS CLI, as the
    /// central account, or as `member` (through its `OrganizationAccountAccessRole`) in
    /// `region`; panics unless every entry is accepted.
    pub async fn put_events(&self, entries: &Value, member: Option<(&str, &str)>) {
        let endpoint = self.world.org.stack.endpoint();
        let mut command =
            tokio::process::Command::new(local_dir(&workspace()).join("venv/bin/aws"));
        command
            .args([
                "events",
                "put-events",
                "--endpoint-url",
                endpoint,
                "--entries",
            ])
            .arg(entries.to_string())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_DEFAULT_REGION", "us-east-1");
        if let Some((account, region)) = member {
            let credentials = member_credentials(endpoint, account).await;
            command
                .env("AWS_ACCESS_KEY_ID", credentials.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key)
                .env("AWS_SESSION_TOKEN", credentials.session_token)
                .env("AWS_DEFAULT_REGION", region);
        }
        let output = command.output().await.expect("the AWS CLI runs");
        assert!(
            output.status.success(),
            "put-events failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value =
            serde_json::from_slice(&output.stdout).expect("put-events answers JSON");
        assert_eq!(
            answer["FailedEntryCount"], 0,
            "every entry accepted: {answer}"
        );
    }

    /// Runs the `fabric` command (built beside the functions) with `args`, as the central
    /// account's operator on this stack with the world's config; its output.
    pub async fn fabric(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(function_binaries().join("fabric"))
            .args(args)
            .env("AWS_ENDPOINT_URL", self.world.org.stack.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_REGION", "us-east-1")
            .env("FABRIC_CONFIG", &self.world.config_path)
            .output()
            .await
            .expect("the fabric command runs")
    }

    /// Fires the schedule `name` (the stack's `name`) now.
    pub async fn fire(&self, name: &str) -> fabric_simulator::delivery::Fired {
        let scheduled_time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        self.world
            .org
            .stack
            .simulator()
            .delivery()
            .fire(
                &format!("{}-{name}", self.deployment.stack_name),
                &scheduled_time,
            )
            .await
            .unwrap_or_else(|error| panic!("{name} fires: {error}"))
    }

    /// The executions of a state machine, newest first.
    pub async fn executions_of(&self, logical_id: &str) -> Vec<String> {
        self.sfn
            .list_executions()
            .state_machine_arn(self.state_machine(logical_id))
            .send()
            .await
            .expect("ListExecutions answers")
            .executions()
            .iter()
            .map(|execution| execution.execution_arn().to_owned())
            .collect()
    }

    /// Waits until `count` executions of a state machine exist (at most `timeout`).
    pub async fn wait_for_executions(
        &self,
        logical_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let executions = self.executions_of(logical_id).await;
            if executions.len() >= count {
                return executions;
            }
            assert!(
                Instant::now() < deadline,
                "{count} executions of {logical_id} within {} s (there are {})",
                timeout.as_secs(),
                executions.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Starts an execution of the state machine `logical_id` with `input`: its ARN.
    pub async fn start(&self, logical_id: &str, input: &Value) -> String {
        self.executions
            .start(
                &self.state_machine(logical_id),
                &format!(
                    "test-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |elapsed| elapsed.as_nanos())
                ),
                input,
            )
            .await
            .unwrap_or_else(|error| panic!("{logical_id} starts: {error}"))
    }

    /// Where the execution `arn` stands now.
    pub async fn execution_view(&self, arn: &str) -> ExecutionView {
        self.executions
            .view(arn)
            .await
            .expect("the execution is there")
    }

    /// Follows the execution `arn` to its end (at most `timeout`).
    pub async fn finished(&self, arn: &str, timeout: Duration) -> ExecutionView {
        let deadline = Instant::now() + timeout;
        loop {
            let view = self.execution_view(arn).await;
            if view.status != "RUNNING" {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "{arn} still running after {} s (in {:?})",
                timeout.as_secs(),
                view.running_state
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits (at most `timeout`) until the topic publishes a message whose text contains
    /// `needle`: how long that took from `since`.
    pub async fn published_containing(
        &self,
        needle: &str,
        since: Instant,
        timeout: Duration,
    ) -> Duration {
        loop {
            let found = self
                .published()
                .await
                .iter()
                .any(|(subject, message)| subject.contains(needle) || message.contains(needle));
            if found {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < timeout,
                "nothing mentioning {needle} was published within {} s",
                timeout.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the topic published since the last read: each SNS message's `Subject` and
    /// `Message`.
    pub async fn published(&self) -> Vec<(String, String)> {
        let sdk = crate::central_config(self.world.org.stack.endpoint(), "us-east-1").await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let mut messages = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&self.deployment.messages_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage answers");
            if received.messages().is_empty() {
                return messages;
            }
            for message in received.messages() {
                let envelope: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
                messages.push((
                    envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                    envelope["Message"].as_str().unwrap_or_default().to_owned(),
                ));
                sqs.delete_message()
                    .queue_url(&self.deployment.messages_queue_url)
                    .set_receipt_handle(message.receipt_handle().map(str::to_owned))
                    .send()
                    .await
                    .expect("DeleteMessage answers");
            }
        }
    }

    /// Each function's invocations, errors, cold starts and peak RSS so far, by logical id.
    pub fn function_stats(&self) -> BTreeMap<String, FunctionStats> {
        let stats = self.world.org.stack.simulator().lambda().stats();
        self.deployment
            .functions
            .iter()
            .filter_map(|function| {
                Some((
                    function.logical_id.clone(),
                    stats.get(&function.name)?.clone(),
                ))
            })
            .collect()
    }
}

/// The run id an execution's `StartRun` task answered.
pub fn run_id(view: &ExecutionView) -> String {
    view.task_answers
        .iter()
        .find(|answer| answer.state == "StartRun")
        .and_then(|answer| {
            answer.output.as_ref()?["Payload"]["run_id"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("StartRun answered a run id: {view:?}"))
}
