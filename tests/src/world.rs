//! A seeded organization with its config and the fabric's services (`World`), built from a
//! typed description (`Organization`).

use crate::workflows::{LocalRuns, spec_over};
use crate::{SeededStack, central_config, seeded_stack};
use fabric::aws::{OnboardingServices, RunServices};
use fabric::config::Config;
use fabric::events::TriggerEvent;
use fabric::model::{
    AccountId, AccountOrOu, Concurrency, ErrorThreshold, OnboardingAction, OnboardingReport,
    RunReport, RunRequest, Target, TargetLocation,
};
use fabric::onboarding::ReconcileReport;
use fabric::plan::{PlanContext, RunPlan};
use fabric::workflow::{OnboardingInput, ReconcileRequest};
use fabric_simulator::faults::{CallStats, FaultSettings};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

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

/// An organization to seed, typed: `Organization::of(6).onboarded().without_role(1).world()`.
#[derive(Debug, Clone, Default)]
pub struct Organization {
    accounts: usize,
    regions: Vec<String>,
    onboarded: bool,
    without_role: usize,
    without_shares: usize,
    failing_instances: usize,
    behaviour: Option<String>,
    without_instances: bool,
    extra_documents: usize,
}

impl Organization {
    /// `accounts` member accounts, in the seeder's default Regions, nothing onboarded.
    pub fn of(accounts: usize) -> Self {
        Self {
            accounts,
            ..Self::default()
        }
    }

    /// Seeded in `regions`.
    #[must_use]
    pub fn regions(mut self, regions: &[&str]) -> Self {
        self.regions = regions.iter().map(|region| (*region).to_owned()).collect();
        self
    }

    /// Every account onboarded (documents shared, role deployed) but for the exceptions.
    #[must_use]
    pub fn onboarded(mut self) -> Self {
        self.onboarded = true;
        self
    }

    /// The last `accounts` without the execution role.
    #[must_use]
    pub fn without_role(mut self, accounts: usize) -> Self {
        self.without_role = accounts;
        self
    }

    /// `accounts` whose documents are not shared.
    #[must_use]
    pub fn without_shares(mut self, accounts: usize) -> Self {
        self.without_shares = accounts;
        self
    }

    /// `instances` scripted to fail.
    #[must_use]
    pub fn failing_instances(mut self, instances: usize) -> Self {
        self.failing_instances = instances;
        self
    }

    /// The scripted instances (`failing_instances`) behave as `behaviour` says (the
    /// simulator's instance tag: `fail`, `sleep=MS`, `fail-after=MS`) instead of failing.
    #[must_use]
    pub fn behaving(mut self, behaviour: &str) -> Self {
        self.behaviour = Some(behaviour.to_owned());
        self
    }

    /// No EC2 instances anywhere.
    #[must_use]
    pub fn without_instances(mut self) -> Self {
        self.without_instances = true;
        self
    }

    /// `documents` more central documents (copies of the first).
    #[must_use]
    pub fn extra_documents(mut self, documents: usize) -> Self {
        self.extra_documents = documents;
        self
    }

    /// The seeder's arguments for this organization.
    fn seed_args(&self) -> Vec<String> {
        let mut args = vec!["--accounts".to_owned(), self.accounts.to_string()];
        if !self.regions.is_empty() {
            args.extend(["--regions".to_owned(), self.regions.join(",")]);
        }
        if self.onboarded {
            args.push("--onboard".to_owned());
        }
        for (flag, count) in [
            ("--without-role", self.without_role),
            ("--without-shares", self.without_shares),
            ("--failing-instances", self.failing_instances),
            ("--extra-documents", self.extra_documents),
        ] {
            if count > 0 {
                args.extend([flag.to_owned(), count.to_string()]);
            }
        }
        if let Some(behaviour) = &self.behaviour {
            args.extend(["--behaviour".to_owned(), behaviour.clone()]);
        }
        if self.without_instances {
            args.extend(["--instances-per-location".to_owned(), "0".to_owned()]);
        }
        args
    }

    /// A private stack seeded with this organization (the seeder writes the config), its
    /// config and the services.
    pub async fn world(&self) -> World {
        let config_path = crate::unique_path("world-config", "yaml");
        let mut args = self.seed_args();
        args.extend(["--config-out".to_owned(), config_path.display().to_string()]);
        let org = seeded_stack(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
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
}

impl World {
    /// Injects `settings`' faults into the simulator (replacing any before).
    pub fn faults(&self, settings: FaultSettings) {
        self.org.stack.simulator().faults().configure(settings);
    }

    /// The simulator's call counts since the seeding (or the last reset).
    pub fn stats(&self) -> CallStats {
        self.org.stack.simulator().faults().stats()
    }

    /// Calls forwarded to moto so far, by operation.
    pub fn forwarded(&self, operation: &str) -> u64 {
        self.stats().forwarded.get(operation).copied().unwrap_or(0)
    }

    /// The seeded member accounts.
    pub fn member_accounts(&self) -> Vec<AccountId> {
        self.org
            .seed
            .accounts
            .iter()
            .map(|account| AccountId::new(account.id.as_str()).expect("valid"))
            .collect()
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

impl World {
    /// Changes the world's config file with `change` (on its YAML as JSON values) and loads
    /// it again.
    pub fn edit_config(&mut self, change: impl FnOnce(&mut serde_json::Value)) {
        let text = std::fs::read_to_string(&self.config_path).expect("the config is there");
        let mut config: serde_json::Value =
            serde_yaml_ng::from_str(&text).expect("the config is YAML");
        change(&mut config);
        std::fs::write(
            &self.config_path,
            serde_yaml_ng::to_string(&config).expect("YAML"),
        )
        .expect("the config is written");
        self.config = fabric::config::Config::load(&self.config_path).expect("the config loads");
    }

    /// The local run workflow over this world's services and config, at the tests' pace.
    pub fn local_runs(&self) -> LocalRuns<'_> {
        LocalRuns::new(&self.runs, &self.config)
    }

    /// `request` planned as run `run_id` with the config's default Regions (a plan only:
    /// nothing is saved or started).
    pub async fn plan(&self, run_id: &str, request: RunRequest) -> RunPlan {
        let context = PlanContext {
            default_regions: &self.config.regions,
        };
        fabric::plan::plan_run(run_id, request, &self.runs.directory, &context)
            .await
            .expect("the run plans")
    }

    /// Runs the `patch-scan-web` document once per account of `accounts` (first Region, one
    /// parameter-value target) through the local workflow and returns the report.
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
        let spec = spec_over(&self.config, "patch-scan-web", location);
        self.local_runs()
            .drive("run-joined", &spec, &mut ())
            .await
            .report
    }

    /// Carries out the onboarding (or offboarding) `input` asks for through the local driver,
    /// as the onboarding state machine does (readiness checks 50 ms apart); the report, or the
    /// workflow's error when it did not end `Onboarded`.
    pub async fn onboard(&self, input: OnboardingInput) -> Result<OnboardingReport, String> {
        let timing = fabric::driver::Timing {
            wait: Duration::from_millis(50),
            retry_interval: Duration::from_millis(100),
            timeout: Some(Duration::from_secs(120)),
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

    /// The reconciler over every active member account: the drift it finds (`dry_run`), or
    /// what it repaired (as the scheduled `reconcile` function repairs it).
    pub async fn reconcile(&self, dry_run: bool) -> ReconcileReport {
        let ports = self.onboarding.ports(&self.config);
        let reconciled = if dry_run {
            fabric::onboarding::reconcile(
                ports.directory,
                ports.documents,
                ports.roles,
                ports.config,
                true,
            )
            .await
        } else {
            fabric::steps::onboarding::reconcile(&ports, &ReconcileRequest::default()).await
        };
        reconciled.expect("the reconciler reads the organization")
    }

    /// The accounts whose execution-role stack instance is deployed.
    pub async fn onboarding_deployed(&self) -> BTreeSet<AccountId> {
        use fabric::ports::Roles;
        self.onboarding
            .roles
            .deployed()
            .await
            .expect("stack instances")
    }
}

/// The onboarding of `account` that an event with key `trigger_key` starts.
pub fn joined(account: &AccountId, trigger_key: &str) -> OnboardingInput {
    OnboardingInput {
        account_id: account.clone(),
        action: OnboardingAction::Onboard,
        trigger_key: trigger_key.to_owned(),
        dry_run: false,
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
