//! In-memory stand-ins for the ports, for the unit tests of steps and handlers (the `fakes`
//! feature): a report store, a scripted Automation service (which also serves the target
//! accounts' Automation), a directory, documents, roles, a recording notifier and workflows.
//! Each can be told to fail an operation (throttled, denied) so tests reach every branch.
//! Integration tests use the real SDK clients against the local stack instead.
#![allow(clippy::missing_panics_doc, clippy::expect_used)] // a poisoned lock is a failed test

use crate::model::{AccountId, DocumentName, OuId, Region};
use crate::ports::{
    AccountStatus, Directory, Documents, Notification, Notifier, OrgAccount, ReportStore, Roles,
    WorkflowStart, Workflows,
};
use crate::{Error, Result};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

mod automation;
pub use automation::ScriptedAutomation;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().expect("a fake's lock is never poisoned")
}

/// A throttling error, as an AWS adapter makes it (`Fabric.Retryable`).
pub fn throttled() -> Error {
    Error::Aws {
        region: None,
        service: "fake",
        operation: "Fake",
        code: Some("ThrottlingException".to_owned()),
        message: "Rate exceeded".to_owned(),
        retryable: true,
        failure: crate::error::AwsFailure::Throttled {
            max_attempts: crate::aws::MAX_ATTEMPTS,
        },
        detail: None,
    }
}

/// An access-denied error (`Fabric.Aws`, not retryable).
pub fn denied() -> Error {
    Error::Aws {
        region: None,
        service: "fake",
        operation: "Fake",
        code: Some("AccessDeniedException".to_owned()),
        message: "not authorized".to_owned(),
        retryable: false,
        failure: crate::error::AwsFailure::AccessDenied,
        detail: None,
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
                parent: OuId::new(ou).ok(),
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

/// The example config (`config/fabric.example.yaml`): central account `111122223333`, run
/// profiles `patch-baseline` (two waves) and `restart-instance`, alarm rules.
pub fn example_config() -> crate::config::Config {
    crate::config::Config::from_yaml(include_str!("../../../config/fabric.example.yaml"))
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

    /// Where a run's results are read from and kept, over the fakes, with no pause between
    /// pages.
    pub fn sources(&self) -> crate::runs::keep::Sources<'_> {
        crate::runs::keep::Sources {
            automation: &self.automation,
            locations: &self.automation,
            store: &self.store,
            page_pacing: std::time::Duration::ZERO,
        }
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
            page_pacing: std::time::Duration::ZERO,
            hand_over: Some(&self.workflows),
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

/// The alarm fixture (`fabric-ServerCpuTooHigh` in account `444455556666`), which the example config's
/// alarm rule turns into a `restart-instance` run of one location.
pub const ALARM_EVENT: &str =
    include_str!("../../../tests/fixtures/events/cloudwatch-alarm-metric-alarm.json");

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
