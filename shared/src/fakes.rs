//! In-memory stand-ins for the ports, for the unit tests of steps and handlers (the `fakes`
//! feature): a report store, a scripted Automation service (which also serves the target
//! accounts' Automation), a directory, documents, roles, a recording notifier and workflows.
//! Each can be told to fail an operation (throttled, denied) so tests reach every branch.
//! Integration tests use the real SDK clients against the local stack instead.
#![allow(clippy::missing_panics_doc, clippy::expect_used)] // a poisoned lock is a failed test

use crate::model::{
    AccountId, AccountOrOu, AutomationStatus, DocumentName, Location, OuId, Region,
};
use crate::ports::{
    AccountStatus, Automation, Directory, Documents, ExecutionState, LocationStep, Locations,
    Notification, Notifier, OrgAccount, Preview, ReportStore, Roles, StartAutomation, StepCounts,
    TargetExecution, WorkflowStart, Workflows,
};
use crate::{Error, Result};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().expect("a fake's lock is never poisoned")
}

/// A throttling error, as an AWS adapter makes it (`Fabric.Retryable`).
pub fn throttled() -> Error {
    Error::Aws {
        service: "fake",
        operation: "Fake",
        code: Some("ThrottlingException".to_owned()),
        message: "Rate exceeded".to_owned(),
        retryable: true,
    }
}

/// An access-denied error (`Fabric.Aws`, not retryable).
pub fn denied() -> Error {
    Error::Aws {
        service: "fake",
        operation: "Fake",
        code: Some("AccessDeniedException".to_owned()),
        message: "not authorized".to_owned(),
        retryable: false,
    }
}

/// A failure a fake is told to answer.
#[derive(Debug)]
struct Fault {
    operation: &'static str,
    /// Calls to let through first.
    after: usize,
    /// Calls to fail.
    times: usize,
    error: fn() -> Error,
}

/// The failures a fake is told to answer.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    /// Fails `times` calls of `operation` with `error`, after letting `after` through.
    pub fn fail(&self, operation: &'static str, after: usize, times: usize, error: fn() -> Error) {
        lock(&self.0).push(Fault {
            operation,
            after,
            times,
            error,
        });
    }

    /// The error the next call of `operation` answers, if any.
    fn check(&self, operation: &str) -> Result<()> {
        for fault in lock(&self.0).iter_mut() {
            if fault.operation != operation || fault.times == 0 {
                continue;
            }
            if fault.after > 0 {
                fault.after -= 1;
                return Ok(());
            }
            fault.times -= 1;
            return Err((fault.error)());
        }
        Ok(())
    }
}

/// A report store in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Failures to answer (`put`, `get`).
    pub faults: Faults,
}

impl MemoryStore {
    /// What is stored under `key`.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).cloned()
    }

    /// Stores `body` under `key` directly (e.g. a corrupt state).
    pub fn insert(&self, key: &str, body: &[u8]) {
        lock(&self.objects).insert(key.to_owned(), body.to_vec());
    }

    /// Every key stored.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }
}

#[async_trait]
impl ReportStore for MemoryStore {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String> {
        self.faults.check("put")?;
        lock(&self.objects).insert(key.to_owned(), body);
        Ok(format!("memory://reports/{key}"))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.faults.check("get")?;
        Ok(self.object(key))
    }
}

/// A notifier that keeps what it publishes.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    /// What was published.
    pub published: Mutex<Vec<Notification>>,
    /// Failures to answer (`publish`).
    pub faults: Faults,
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String> {
        self.faults.check("publish")?;
        let mut published = lock(&self.published);
        published.push(notification.clone());
        Ok(format!("message-{}", published.len()))
    }
}

/// Workflows that remember the names they started: a name started before is already started.
#[derive(Debug, Default)]
pub struct RecordingWorkflows {
    /// Names started, with their input.
    pub started: Mutex<Vec<(String, serde_json::Value)>>,
    /// Failures to answer (`start`).
    pub faults: Faults,
}

#[async_trait]
impl Workflows for RecordingWorkflows {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<WorkflowStart> {
        self.faults.check("start")?;
        let mut started = lock(&self.started);
        if started.iter().any(|(known, _)| known == name) {
            return Ok(WorkflowStart::AlreadyStarted);
        }
        started.push((name.to_owned(), input.clone()));
        Ok(WorkflowStart::Started(format!(
            "arn:aws:states:us-east-1:111122223333:execution:onboarding:{name}"
        )))
    }
}

/// An organization: accounts in OUs, under one root (any `r-` id).
#[derive(Debug, Default)]
pub struct FakeDirectory {
    /// Its accounts, each with its OU.
    pub accounts: Mutex<Vec<(String, OrgAccount)>>,
    /// Failures to answer (`account`, `accounts_under`).
    pub faults: Faults,
}

impl FakeDirectory {
    /// An organization of active `accounts`, all in OU `ou`.
    pub fn with_active(ou: &str, accounts: &[&str]) -> Self {
        let directory = Self::default();
        for id in accounts {
            directory.add(ou, id, AccountStatus::Active);
        }
        directory
    }

    /// Adds an account to OU `ou`.
    pub fn add(&self, ou: &str, id: &str, status: AccountStatus) {
        lock(&self.accounts).push((
            ou.to_owned(),
            OrgAccount {
                id: AccountId::new(id).expect("a fake account id is valid"),
                name: format!("account-{id}"),
                status,
            },
        ));
    }
}

#[async_trait]
impl Directory for FakeDirectory {
    async fn accounts_under(&self, parent: &OuId, _recursive: bool) -> Result<Vec<OrgAccount>> {
        self.faults.check("accounts_under")?;
        let root = parent.as_str().starts_with("r-");
        Ok(lock(&self.accounts)
            .iter()
            .filter(|(ou, _)| root || ou == parent.as_str())
            .map(|(_, account)| account.clone())
            .collect())
    }

    async fn account(&self, id: &AccountId) -> Result<Option<OrgAccount>> {
        self.faults.check("account")?;
        Ok(lock(&self.accounts)
            .iter()
            .find(|(_, account)| &account.id == id)
            .map(|(_, account)| account.clone()))
    }

    async fn root(&self) -> Result<OuId> {
        OuId::new("r-fake")
    }

    async fn enabled_regions(&self, _account: &AccountId) -> Result<Option<BTreeSet<Region>>> {
        Ok(None)
    }
}

/// The central account's documents: the same names in every Region.
#[derive(Debug, Default)]
pub struct FakeDocuments {
    /// Document name -> Region -> accounts it is shared with.
    pub sharing: Mutex<BTreeMap<(String, String), BTreeSet<String>>>,
    /// The names owned in every Region.
    pub owned: Vec<String>,
    /// Failures to answer (`owned`, `shared_with`, `modify_sharing`).
    pub faults: Faults,
}

impl FakeDocuments {
    /// Documents `names`, shared with nobody.
    pub fn owning(names: &[&str]) -> Self {
        Self {
            owned: names.iter().map(|name| (*name).to_owned()).collect(),
            ..Self::default()
        }
    }
}

#[async_trait]
impl Documents for FakeDocuments {
    async fn owned(&self, _region: &Region) -> Result<Vec<DocumentName>> {
        self.faults.check("owned")?;
        self.owned.iter().map(DocumentName::new).collect()
    }

    async fn shared_with(&self, name: &DocumentName, region: &Region) -> Result<Vec<String>> {
        self.faults.check("shared_with")?;
        let key = (name.to_string(), region.to_string());
        Ok(lock(&self.sharing)
            .get(&key)
            .map(|accounts| accounts.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn modify_sharing(
        &self,
        name: &DocumentName,
        region: &Region,
        add: &[AccountId],
        remove: &[AccountId],
    ) -> Result<()> {
        self.faults.check("modify_sharing")?;
        let mut sharing = lock(&self.sharing);
        let accounts = sharing
            .entry((name.to_string(), region.to_string()))
            .or_default();
        accounts.extend(add.iter().map(ToString::to_string));
        for account in remove {
            accounts.remove(account.as_str());
        }
        Ok(())
    }
}

/// The execution role's StackSet: the accounts with a stack instance.
#[derive(Debug, Default)]
pub struct FakeRoles {
    /// Accounts with the role.
    pub deployed: Mutex<BTreeSet<AccountId>>,
    /// Failures to answer (`deployed`, `deploy`, `remove`).
    pub faults: Faults,
}

#[async_trait]
impl Roles for FakeRoles {
    async fn deployed(&self) -> Result<BTreeSet<AccountId>> {
        self.faults.check("deployed")?;
        Ok(lock(&self.deployed).clone())
    }

    async fn deploy(&self, accounts: &[AccountId]) -> Result<()> {
        self.faults.check("deploy")?;
        lock(&self.deployed).extend(accounts.iter().cloned());
        Ok(())
    }

    async fn remove(&self, accounts: &[AccountId]) -> Result<()> {
        self.faults.check("remove")?;
        let mut deployed = lock(&self.deployed);
        for account in accounts {
            deployed.remove(account);
        }
        Ok(())
    }
}

/// One execution the scripted service started: a parent (with its locations' children) or a
/// child in a target account.
#[derive(Debug, Clone)]
struct Execution {
    client_token: Option<String>,
    status: AutomationStatus,
    failure_message: Option<String>,
    /// A parent's steps: location, status, child id.
    steps: Vec<(Location, AutomationStatus, Option<String>)>,
}

#[derive(Debug, Default)]
struct Book {
    executions: BTreeMap<String, Execution>,
    /// Scripted outcomes by location (default: `Success`).
    outcomes: BTreeMap<Location, AutomationStatus>,
    /// A parent that fails before making any step, with this message.
    parent_failure: Option<String>,
    /// Parents report `InProgress` for this many more `execution` reads.
    running_reads: usize,
}

/// SSM Automation, scripted: every start makes a parent with one step and one child per
/// explicit account and Region, ending as scripted for its location (`Success` unless told).
/// It also serves the target accounts' Automation ([`Locations`]), where the children are.
#[derive(Debug, Clone, Default)]
pub struct ScriptedAutomation {
    book: Arc<Mutex<Book>>,
    /// Failures to answer (`start`, `execution`, `location_steps`, `automation_in`).
    pub faults: Arc<Faults>,
}

impl ScriptedAutomation {
    /// Makes `location` end with `status`.
    pub fn script(&self, location: Location, status: AutomationStatus) {
        lock(&self.book).outcomes.insert(location, status);
    }

    /// Makes every parent fail before it makes any step, with `message`.
    pub fn fail_parents(&self, message: &str) {
        lock(&self.book).parent_failure = Some(message.to_owned());
    }

    /// Parents answer `InProgress` for the next `reads` reads of their state.
    pub fn keep_running(&self, reads: usize) {
        lock(&self.book).running_reads = reads;
    }

    /// The parents started, in order, with the client token of each.
    pub fn started(&self) -> Vec<(String, String)> {
        lock(&self.book)
            .executions
            .iter()
            .filter_map(|(id, execution)| {
                execution
                    .client_token
                    .clone()
                    .map(|token| (id.clone(), token))
            })
            .collect()
    }
}

#[async_trait]
impl Automation for ScriptedAutomation {
    async fn start(&self, request: &StartAutomation) -> Result<String> {
        self.faults.check("start")?;
        let mut book = lock(&self.book);
        if let Some((id, _)) = book
            .executions
            .iter()
            .find(|(_, e)| e.client_token.as_deref() == Some(request.client_token.as_str()))
        {
            return Ok(id.clone());
        }
        let id = format!("exec-{}", book.executions.len() + 1);
        let mut steps = Vec::new();
        if book.parent_failure.is_none() {
            for target in &request.target_locations {
                for account in &target.accounts {
                    let AccountOrOu::Account(account) = account else {
                        continue;
                    };
                    for region in &target.regions {
                        let location = Location::new(account.clone(), region.clone());
                        let status = book
                            .outcomes
                            .get(&location)
                            .copied()
                            .unwrap_or(AutomationStatus::Success);
                        let child = format!("{id}-child-{}", steps.len() + 1);
                        steps.push((location, status, Some(child)));
                    }
                }
            }
        }
        for (_, status, child) in &steps {
            if let Some(child) = child {
                book.executions.insert(
                    child.clone(),
                    Execution {
                        client_token: None,
                        status: *status,
                        failure_message: (!status.is_success())
                            .then(|| format!("the runbook ended {status:?}")),
                        steps: Vec::new(),
                    },
                );
            }
        }
        let failed = book.parent_failure.clone().or_else(|| {
            steps
                .iter()
                .any(|(_, status, _)| !status.is_success())
                .then(|| "some locations failed".to_owned())
        });
        book.executions.insert(
            id.clone(),
            Execution {
                client_token: Some(request.client_token.clone()),
                status: if failed.is_some() {
                    AutomationStatus::Failed
                } else {
                    AutomationStatus::Success
                },
                failure_message: failed,
                steps,
            },
        );
        Ok(id)
    }

    async fn preview(&self, request: &StartAutomation) -> Result<Preview> {
        let mut preview = Preview::default();
        for target in &request.target_locations {
            preview.accounts += u32::try_from(target.accounts.len()).unwrap_or(u32::MAX);
            preview
                .regions
                .extend(target.regions.iter().map(ToString::to_string));
        }
        Ok(preview)
    }

    async fn execution(&self, id: &str) -> Result<ExecutionState> {
        self.faults.check("execution")?;
        let mut book = lock(&self.book);
        let running = book.running_reads > 0;
        book.running_reads = book.running_reads.saturating_sub(1);
        let execution = book
            .executions
            .get(id)
            .ok_or_else(|| Error::not_found("execution", id, None))?;
        let count = |wanted: fn(AutomationStatus) -> bool| {
            execution
                .steps
                .iter()
                .filter(|(_, s, _)| wanted(*s))
                .count()
        };
        Ok(ExecutionState {
            status: if running {
                AutomationStatus::InProgress
            } else {
                execution.status
            },
            failure_message: execution.failure_message.clone(),
            outputs: crate::model::Parameters::default(),
            resolved_targets: Vec::new(),
            step_counts: execution.client_token.as_ref().map(|_| StepCounts {
                total: execution.steps.len(),
                success: count(AutomationStatus::is_success),
                failed: count(|s| s == AutomationStatus::Failed),
                cancelled: count(|s| s == AutomationStatus::Cancelled),
                timed_out: count(|s| s == AutomationStatus::TimedOut),
            }),
        })
    }

    async fn location_steps(&self, parent_id: &str) -> Result<Vec<LocationStep>> {
        self.faults.check("location_steps")?;
        let book = lock(&self.book);
        let parent = book
            .executions
            .get(parent_id)
            .ok_or_else(|| Error::not_found("execution", parent_id, None))?;
        Ok(parent
            .steps
            .iter()
            .map(|(location, status, child)| LocationStep {
                location: Some(location.clone()),
                status: *status,
                failure_message: (!status.is_success())
                    .then(|| format!("the location ended {status:?}")),
                child_execution_id: child.clone(),
            })
            .collect())
    }

    async fn target_executions(&self, _parent_id: &str) -> Result<Vec<TargetExecution>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl Locations for ScriptedAutomation {
    async fn automation_in(
        &self,
        _account: &AccountId,
        _region: &Region,
    ) -> Result<Box<dyn Automation>> {
        self.faults.check("automation_in")?;
        Ok(Box::new(self.clone()))
    }
}

/// The example config (`config/fabric.example.yaml`): central account `111122223333`, run
/// profiles `patch-baseline` (two waves) and `restart-instance`, alarm rules.
pub fn example_config() -> crate::config::Config {
    crate::config::Config::from_yaml(include_str!("../../config/fabric.example.yaml"))
        .expect("the example config loads")
}

/// Every fake, for the ports of both state machines' steps.
#[derive(Debug, Default)]
pub struct FakeServices {
    /// The organization.
    pub directory: FakeDirectory,
    /// Automation, central and in the target accounts.
    pub automation: ScriptedAutomation,
    /// The report store.
    pub store: MemoryStore,
    /// The topic.
    pub notifier: RecordingNotifier,
    /// The documents.
    pub documents: FakeDocuments,
    /// The role's StackSet.
    pub roles: FakeRoles,
    /// The onboarding state machine.
    pub workflows: RecordingWorkflows,
}

impl FakeServices {
    /// Fakes for an organization that fits the example config: account `555566667777` in the
    /// canary OU (`ou-ab12-canary01`), `444455556666` (the fixtures' member account) and
    /// `777788889999` in the workload OU (`ou-ab12-workload`), all active, and the documents
    /// the example shares.
    pub fn example() -> Self {
        let fakes = Self {
            documents: FakeDocuments::owning(&[
                "Automation-RunPatchBaseline",
                "Centralized-cloudtrail",
                "Fabric-Restart",
            ]),
            ..Self::default()
        };
        fakes
            .directory
            .add("ou-ab12-canary01", "555566667777", AccountStatus::Active);
        for account in ["444455556666", "777788889999"] {
            fakes
                .directory
                .add("ou-ab12-workload", account, AccountStatus::Active);
        }
        fakes
    }

    /// The ports a run's steps take, over the fakes, with no pause between starts.
    pub fn run_ports<'a>(
        &'a self,
        config: &'a crate::config::Config,
    ) -> crate::steps::RunPorts<'a> {
        crate::steps::RunPorts {
            config,
            directory: &self.directory,
            automation: &self.automation,
            locations: &self.automation,
            store: &self.store,
            notifier: Some(&self.notifier),
            start_pacing: std::time::Duration::ZERO,
        }
    }

    /// The ports onboarding's steps take, over the fakes.
    pub fn onboarding_ports<'a>(
        &'a self,
        config: &'a crate::config::Config,
    ) -> crate::steps::OnboardingPorts<'a> {
        crate::steps::OnboardingPorts {
            config,
            directory: &self.directory,
            documents: &self.documents,
            roles: &self.roles,
        }
    }
}

/// The alarm fixture (`ServerCpuTooHigh` in account `444455556666`), which the example config's
/// alarm rule turns into a `restart-instance` run of one location.
pub const ALARM_EVENT: &str =
    include_str!("../../tests/fixtures/events/cloudwatch-alarm-metric-alarm.json");

/// Starts the run [`ALARM_EVENT`] asks for through the local driver, up to its first wave
/// started, and returns its id: the state the later steps' tests start from.
pub async fn started_run(ports: &crate::steps::RunPorts<'_>) -> String {
    use crate::driver::{Timing, run};
    let delivery = crate::workflow::TriggerDelivery {
        trigger: serde_json::from_str(ALARM_EVENT).expect("the fixture is JSON"),
        execution: "fake-execution".to_owned(),
    };
    let timing = Timing {
        wait: std::time::Duration::ZERO,
        retry_interval: std::time::Duration::ZERO,
        timeout: None,
    };
    run::carry_out(ports, delivery, timing, run::Follow::UntilStarted, &mut ())
        .await
        .expect("the example run starts")
        .run_id()
        .expect("the alarm asks for a run")
        .to_owned()
}

/// The onboarding input of an account that joined (`account` must be a valid id).
pub fn onboarding_input(account: &str) -> crate::workflow::OnboardingInput {
    crate::workflow::OnboardingInput {
        account_id: AccountId::new(account).expect("a valid account id"),
        action: crate::model::OnboardingAction::Onboard,
        trigger_key: format!("account-joined-{account}"),
        dry_run: false,
    }
}
