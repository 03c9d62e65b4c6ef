//! The executions and how they run: a multi-location parent with one `aws:executeAutomation`
//! step per location, each child in its target account and Region (failing as SSM's do when
//! the execution role or the shared document is missing), rate-controlled targets resolved
//! against moto's EC2 instances and resource groups, and the documents' own steps.

use crate::moto::{Instance, Moto};
use crate::wire::{ApiError, Parameters, StartRequest, WireTarget, WireTargetLocation};
use fabric::model::{AutomationStatus, Concurrency, ErrorThreshold};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// The role SSM assumes in target accounts unless told otherwise.
const DEFAULT_EXECUTION_ROLE: &str = fabric::model::DEFAULT_EXECUTION_ROLE;
/// The instance tag that scripts a target's behaviour: `fail`, `sleep=<ms>` or
/// `fail-after=<ms>`.
pub const BEHAVIOUR_TAG: &str = "fabric-simulator";

/// Who made a call: the account of its credentials and the Region it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The caller's account.
    pub account: String,
    /// The Region of the endpoint.
    pub region: String,
}

/// One step of an execution.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique id.
    pub id: String,
    /// The step's name.
    pub name: String,
    /// The action, e.g. `aws:executeAutomation`.
    pub action: String,
    /// Its status.
    pub status: AutomationStatus,
    /// When it started.
    pub start: Option<f64>,
    /// When it ended.
    pub end: Option<f64>,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// Its outputs (for `aws:executeAutomation`: `ExecutionId`).
    pub outputs: Parameters,
    /// The location it ran in (multi-location parents only).
    pub target_location: Option<WireTargetLocation>,
}

/// One automation execution, in one account and Region.
#[derive(Debug, Clone)]
pub struct Execution {
    /// `AutomationExecutionId`.
    pub id: String,
    /// The account it lives in.
    pub account: String,
    /// The Region it lives in.
    pub region: String,
    /// What the caller started it with (for children: derived from the parent's).
    pub request: StartRequest,
    /// `CrossAccount` for a multi-location parent, else `Local`.
    pub automation_type: &'static str,
    /// The parent, for children.
    pub parent_id: Option<String>,
    /// The target value of a per-target child.
    pub target: Option<String>,
    /// The target values a rate-controlled execution resolved.
    pub resolved_targets: Vec<String>,
    /// Its status.
    pub status: AutomationStatus,
    /// When it started.
    pub start: f64,
    /// When it ended.
    pub end: Option<f64>,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// Its steps.
    pub steps: Vec<Step>,
    /// The ARN of the caller.
    pub executed_by: String,
    /// Set by `StopAutomationExecution`.
    pub cancel_requested: bool,
}

/// What the simulator does that is not SSM's business: timing and where the organization is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long each simulated document step takes.
    pub step_duration: Duration,
    /// The organization's management account (default: the caller's account).
    pub organization_account: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            step_duration: Duration::from_millis(20),
            organization_account: None,
        }
    }
}

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocumentSource {
    /// The owning account (`None`: an AWS-owned document, available everywhere).
    owner: Option<String>,
    /// Its name.
    name: String,
}

/// Client tokens already used: (account, Region, token) -> (request fingerprint, execution id).
type ClientTokens = HashMap<(String, String, String), (String, String)>;
/// Documents' steps: (owner, Region, name) -> (step name, action) of each `mainSteps` entry.
type StepCache = HashMap<(String, String, String), Vec<(String, String)>>;

/// All executions, and the work that runs them.
#[derive(Debug)]
pub struct Engine {
    moto: Moto,
    settings: Mutex<Settings>,
    executions: Mutex<BTreeMap<String, Execution>>,
    client_tokens: Mutex<ClientTokens>,
    step_cache: Mutex<StepCache>,
    regions: crate::regions::RegionSettings,
}

/// A location of a multi-location run.
#[derive(Debug, Clone)]
struct LocationWork {
    step_index: usize,
    account: String,
    region: String,
    target_location: WireTargetLocation,
}

/// What a per-target child acts on.
#[derive(Debug, Clone)]
struct TargetWork {
    value: String,
    parameters: Parameters,
    tags: BTreeMap<String, String>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// An engine that asks `moto` about the world.
    pub fn new(moto: Moto, settings: Settings) -> Arc<Self> {
        Arc::new(Self {
            moto,
            settings: Mutex::new(settings),
            executions: Mutex::new(BTreeMap::new()),
            client_tokens: Mutex::new(HashMap::new()),
            step_cache: Mutex::new(HashMap::new()),
            regions: crate::regions::RegionSettings::default(),
        })
    }

    /// The moto server behind the simulator.
    pub fn moto(&self) -> &Moto {
        &self.moto
    }

    /// Which Regions each account has enabled.
    pub fn regions(&self) -> &crate::regions::RegionSettings {
        &self.regions
    }

    /// Replaces the settings.
    pub fn configure(&self, settings: Settings) {
        *lock(&self.settings) = settings;
    }

    fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// A copy of execution `id` when `caller` may see it (same account and Region).
    pub fn execution(&self, caller: &Caller, id: &str) -> Result<Execution, ApiError> {
        lock(&self.executions)
            .get(id)
            .filter(|execution| {
                execution.account == caller.account && execution.region == caller.region
            })
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    "AutomationExecutionNotFoundException",
                    format!("Automation execution {id} was not found."),
                )
            })
    }

    /// Every execution `caller` may see, newest first.
    pub fn visible(&self, caller: &Caller) -> Vec<Execution> {
        let mut visible: Vec<Execution> = lock(&self.executions)
            .values()
            .filter(|execution| {
                execution.account == caller.account && execution.region == caller.region
            })
            .cloned()
            .collect();
        visible.sort_by(|a, b| b.start.total_cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        visible
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut Execution)) {
        if let Some(execution) = lock(&self.executions).get_mut(id) {
            change(execution);
        }
    }

    fn cancelled(&self, id: &str) -> bool {
        lock(&self.executions)
            .get(id)
            .is_some_and(|execution| execution.cancel_requested)
    }

    /// `StartAutomationExecution`: checks the request, creates the execution and runs it in
    /// the background.
    pub async fn start(
        self: &Arc<Self>,
        caller: &Caller,
        request: StartRequest,
    ) -> Result<String, ApiError> {
        check_request(&request)?;
        if let Some(token) = &request.client_token {
            // SSM compares tokens without regard to case.
            let token = token.to_ascii_lowercase();
            let key = (caller.account.clone(), caller.region.clone(), token.clone());
            let fingerprint = serde_json::to_string(&StartRequest {
                client_token: Some(token),
                ..request.clone()
            })
            .unwrap_or_default();
            if let Some((seen, id)) = lock(&self.client_tokens).get(&key) {
                return if *seen == fingerprint {
                    Ok(id.clone())
                } else {
                    Err(ApiError::new(
                        "IdempotentParameterMismatch",
                        "Error occurred during operation 'StartAutomationExecution'. The client token was used with different parameters.",
                    ))
                };
            }
            let source = self.document_source(caller, &request.document_name).await?;
            let id = self.create(caller, request, source);
            lock(&self.client_tokens).insert(key, (fingerprint, id.clone()));
            return Ok(id);
        }
        let source = self.document_source(caller, &request.document_name).await?;
        Ok(self.create(caller, request, source))
    }

    fn create(
        self: &Arc<Self>,
        caller: &Caller,
        request: StartRequest,
        source: DocumentSource,
    ) -> String {
        let multi_location = !request.target_locations.is_empty();
        let id = uuid::Uuid::new_v4().to_string();
        let execution = Execution {
            id: id.clone(),
            account: caller.account.clone(),
            region: caller.region.clone(),
            request,
            automation_type: if multi_location {
                "CrossAccount"
            } else {
                "Local"
            },
            parent_id: None,
            target: None,
            resolved_targets: Vec::new(),
            status: AutomationStatus::InProgress,
            start: now(),
            end: None,
            failure_message: None,
            steps: Vec::new(),
            executed_by: format!("arn:aws:iam::{}:root", caller.account),
            cancel_requested: false,
        };
        lock(&self.executions).insert(id.clone(), execution);
        let engine = Arc::clone(self);
        let run_id = id.clone();
        tokio::spawn(async move {
            if multi_location {
                engine.run_parent(&run_id, &source).await;
            } else {
                engine
                    .run_execution(&run_id, &source, BTreeMap::new())
                    .await;
            }
        });
        id
    }

    /// `StopAutomationExecution`: asks the execution and all its descendants to stop.
    pub fn stop(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let execution = self.execution(caller, id)?;
        if execution.status.is_final() {
            return Err(ApiError::new(
                "InvalidAutomationStatusUpdateException",
                format!(
                    "Automation execution {id} is {:?} and can no longer be stopped.",
                    execution.status
                ),
            ));
        }
        let mut executions = lock(&self.executions);
        let mut pending = vec![id.to_owned()];
        while let Some(next) = pending.pop() {
            pending.extend(
                executions
                    .values()
                    .filter(|child| child.parent_id.as_deref() == Some(next.as_str()))
                    .map(|child| child.id.clone()),
            );
            if let Some(execution) = executions.get_mut(&next) {
                if !execution.status.is_final() {
                    execution.cancel_requested = true;
                    execution.status = AutomationStatus::Cancelling;
                }
            }
        }
        Ok(())
    }

    /// Where `name` (a name or an ARN) is, checked as SSM checks it when a run starts.
    async fn document_source(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<DocumentSource, ApiError> {
        let not_found = || {
            ApiError::new(
                "AutomationDefinitionNotFoundException",
                format!(
                    "Automation definition {name} was not found: an Automation runbook with the specified name couldn't be found."
                ),
            )
        };
        let (owner, region, short) = match parse_document_arn(name) {
            Some((region, owner, short)) => (owner, region, short),
            None if is_aws_owned(name) => {
                return Ok(DocumentSource {
                    owner: None,
                    name: name.to_owned(),
                });
            }
            None => (
                caller.account.clone(),
                caller.region.clone(),
                name.to_owned(),
            ),
        };
        if self.moto.document(&owner, &region, &short).await?.is_none() {
            return Err(not_found());
        }
        if owner != caller.account
            && !self
                .is_shared(&owner, &region, &short, &caller.account)
                .await?
        {
            return Err(not_found());
        }
        Ok(DocumentSource {
            owner: Some(owner),
            name: short,
        })
    }

    async fn is_shared(
        &self,
        owner: &str,
        region: &str,
        name: &str,
        account: &str,
    ) -> Result<bool, ApiError> {
        let shared = self.moto.shared_with(owner, region, name).await?;
        Ok(shared
            .iter()
            .any(|id| id == account || id.eq_ignore_ascii_case("all")))
    }

    /// What `StartExecutionPreview` reports for `request`: the accounts, Regions and targets a
    /// run would touch, without starting anything.
    pub async fn preview(
        &self,
        caller: &Caller,
        request: &StartRequest,
    ) -> Result<Value, ApiError> {
        check_request(request)?;
        let source = self.document_source(caller, &request.document_name).await?;
        let probe = Execution {
            id: String::new(),
            account: caller.account.clone(),
            region: caller.region.clone(),
            request: request.clone(),
            automation_type: "CrossAccount",
            parent_id: None,
            target: None,
            resolved_targets: Vec::new(),
            status: AutomationStatus::Pending,
            start: now(),
            end: None,
            failure_message: None,
            steps: Vec::new(),
            executed_by: String::new(),
            cancel_requested: false,
        };
        let locations: Vec<(String, String, StartRequest)> = if request.target_locations.is_empty()
        {
            vec![(
                caller.account.clone(),
                caller.region.clone(),
                request.clone(),
            )]
        } else {
            self.expand_locations(&probe)
                .await?
                .into_iter()
                .flatten()
                .map(|work| {
                    let targets = if work.target_location.targets.is_empty() {
                        request.targets.clone()
                    } else {
                        work.target_location.targets.clone()
                    };
                    (
                        work.account,
                        work.region,
                        StartRequest {
                            targets,
                            ..request.clone()
                        },
                    )
                })
                .collect()
        };
        let mut targets = 0;
        for (account, region, request) in &locations {
            if !request.targets.is_empty() {
                let execution = Execution {
                    account: account.clone(),
                    region: region.clone(),
                    request: request.clone(),
                    ..probe.clone()
                };
                targets += self
                    .resolve_targets(&execution)
                    .await
                    .map_or(0, |found| found.len());
            }
        }
        let steps = self.document_steps(&source, &caller.region).await.len() * locations.len();
        let accounts: BTreeSet<&String> = locations.iter().map(|(account, _, _)| account).collect();
        let regions: BTreeSet<&String> = locations.iter().map(|(_, region, _)| region).collect();
        let mut preview = json!({
            "StepPreviews": { "Undetermined": steps },
            "Regions": regions,
            "TotalAccounts": accounts.len(),
        });
        if targets > 0 {
            preview["TargetPreviews"] =
                json!([{ "Count": targets, "TargetType": "AWS::EC2::Instance" }]);
        }
        Ok(preview)
    }

    /// Runs a multi-location parent: resolves its locations, then each target location's
    /// locations under that target location's concurrency and error threshold.
    async fn run_parent(self: &Arc<Self>, id: &str, source: &DocumentSource) {
        let Some(parent) = lock(&self.executions).get(id).cloned() else {
            return;
        };
        let groups = match self.expand_locations(&parent).await {
            Ok(groups) => groups,
            Err(error) => {
                self.finish(id, AutomationStatus::Failed, Some(error.message));
                return;
            }
        };
        self.update(id, |execution| {
            execution.steps = groups
                .iter()
                .flatten()
                .map(|work| Step {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: format!("{}-{}-ExecuteAutomation", work.account, work.region),
                    action: "aws:executeAutomation".to_owned(),
                    status: AutomationStatus::Pending,
                    start: None,
                    end: None,
                    failure_message: None,
                    outputs: Parameters::new(),
                    target_location: Some(work.target_location.clone()),
                })
                .collect();
        });
        for (group, work) in parent.request.target_locations.iter().zip(groups) {
            let total = u32::try_from(work.len()).unwrap_or(u32::MAX);
            let concurrency = parse_or(
                group.target_location_max_concurrency.as_deref(),
                Concurrency::parse,
                "1",
            )
            .map_or(1, |c| c.resolve(total));
            let max_errors = parse_or(
                group.target_location_max_errors.as_deref(),
                ErrorThreshold::parse,
                "0",
            )
            .map_or(0, |e| e.resolve(total));
            let engine = Arc::clone(self);
            let parent_id = id.to_owned();
            let source = source.clone();
            let outcomes = run_rate_controlled(
                work.clone(),
                concurrency,
                max_errors,
                || self.cancelled(id),
                move |work| {
                    let engine = Arc::clone(&engine);
                    let parent_id = parent_id.clone();
                    let source = source.clone();
                    async move { engine.run_location(&parent_id, &source, work).await }
                },
            )
            .await;
            for (work, outcome) in work.iter().zip(outcomes) {
                if outcome.is_none() {
                    let reason = if self.cancelled(id) {
                        "The step was not run: the execution was stopped."
                    } else {
                        "The step was not run: the target locations' error threshold (TargetLocationMaxErrors) was reached."
                    };
                    self.set_step(
                        id,
                        work.step_index,
                        AutomationStatus::Cancelled,
                        Some(reason.to_owned()),
                    );
                }
            }
        }
        let execution = lock(&self.executions).get(id).cloned();
        if let Some(execution) = execution {
            let failed = execution
                .steps
                .iter()
                .filter(|step| !step.status.is_success())
                .count();
            let (status, message) = if execution.cancel_requested {
                (AutomationStatus::Cancelled, None)
            } else if failed == 0 {
                (AutomationStatus::Success, None)
            } else {
                (
                    AutomationStatus::Failed,
                    Some(format!(
                        "{failed} of {} locations did not succeed.",
                        execution.steps.len()
                    )),
                )
            };
            self.finish(id, status, message);
        }
    }

    /// Every target location's (account, Region) pairs: OUs resolved through moto's
    /// Organizations, exclusions applied, duplicates dropped.
    async fn expand_locations(
        &self,
        parent: &Execution,
    ) -> Result<Vec<Vec<LocationWork>>, ApiError> {
        let management = self
            .settings()
            .organization_account
            .unwrap_or_else(|| parent.account.clone());
        let mut groups = Vec::new();
        let mut step_index = 0;
        for location in &parent.request.target_locations {
            let recursive = location.include_child_organization_units.unwrap_or(false);
            let included = self
                .resolve_accounts(&management, &location.accounts, recursive)
                .await?;
            let excluded = self
                .resolve_accounts(&management, &location.exclude_accounts, true)
                .await?;
            let regions = if location.regions.is_empty() {
                vec![parent.region.clone()]
            } else {
                location.regions.clone()
            };
            let mut seen = BTreeSet::new();
            let mut work = Vec::new();
            for account in included
                .iter()
                .filter(|account| !excluded.contains(*account))
            {
                for region in &regions {
                    if !seen.insert((account.clone(), region.clone())) {
                        continue;
                    }
                    work.push(LocationWork {
                        step_index,
                        account: account.clone(),
                        region: region.clone(),
                        target_location: WireTargetLocation {
                            accounts: vec![account.clone()],
                            regions: vec![region.clone()],
                            include_child_organization_units: None,
                            exclude_accounts: Vec::new(),
                            ..location.clone()
                        },
                    });
                    step_index += 1;
                }
            }
            groups.push(work);
        }
        Ok(groups)
    }

    /// Account ids for entries that are account ids or OU / root ids.
    async fn resolve_accounts(
        &self,
        management: &str,
        entries: &[String],
        recursive: bool,
    ) -> Result<Vec<String>, ApiError> {
        let mut accounts = Vec::new();
        for entry in entries {
            if entry.starts_with("ou-") || entry.starts_with("r-") {
                let under = self
                    .moto
                    .accounts_under(management, entry, recursive)
                    .await?;
                accounts.extend(
                    under
                        .into_iter()
                        .filter(|account| account.status == "ACTIVE")
                        .map(|account| account.id),
                );
            } else {
                accounts.push(entry.clone());
            }
        }
        let mut seen = BTreeSet::new();
        accounts.retain(|account| seen.insert(account.clone()));
        Ok(accounts)
    }

    fn set_step(
        &self,
        id: &str,
        index: usize,
        status: AutomationStatus,
        failure_message: Option<String>,
    ) {
        self.update(id, |execution| {
            if let Some(step) = execution.steps.get_mut(index) {
                if step.start.is_none() && status != AutomationStatus::Cancelled {
                    step.start = Some(now());
                }
                step.status = status;
                if status.is_final() {
                    step.end = Some(now());
                }
                if failure_message.is_some() {
                    step.failure_message = failure_message;
                }
            }
        });
    }

    fn finish(&self, id: &str, status: AutomationStatus, failure_message: Option<String>) {
        self.update(id, |execution| {
            execution.status = status;
            execution.end = Some(now());
            if failure_message.is_some() {
                execution.failure_message = failure_message;
            }
        });
    }

    /// What stops SSM from starting the child in a location, as the parent's step reports it:
    /// the execution role missing there, the document missing in that Region, or not shared.
    async fn location_problem(
        &self,
        source: &DocumentSource,
        work: &LocationWork,
    ) -> Option<String> {
        let role = work
            .target_location
            .execution_role_name
            .clone()
            .unwrap_or_else(|| DEFAULT_EXECUTION_ROLE.to_owned());
        match self.moto.role_exists(&work.account, &role).await {
            Ok(true) => {}
            Ok(false) => {
                return Some(format!(
                    "Unable to assume role arn:aws:iam::{account}:role/{role} in account {account}: the role does not exist or does not trust the administration role.",
                    account = work.account
                ));
            }
            Err(error) => return Some(error.message),
        }
        let owner = source.owner.as_ref()?;
        match self.moto.document(owner, &work.region, &source.name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Some(format!(
                    "InvalidDocument: Document {} does not exist in account {owner} in {}.",
                    source.name, work.region
                ));
            }
            Err(error) => return Some(error.message),
        }
        if owner == &work.account {
            return None;
        }
        match self
            .is_shared(owner, &work.region, &source.name, &work.account)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(format!(
                "InvalidDocument: Document arn:aws:ssm:{}:{owner}:document/{} is not shared with account {}.",
                work.region, source.name, work.account
            )),
            Err(error) => Some(error.message),
        }
    }

    /// One location of a parent: the checks SSM makes before it can start the child there,
    /// then the child itself.
    async fn run_location(
        self: Arc<Self>,
        parent_id: &str,
        source: &DocumentSource,
        work: LocationWork,
    ) -> AutomationStatus {
        self.set_step(
            parent_id,
            work.step_index,
            AutomationStatus::InProgress,
            None,
        );
        if let Some(problem) = self.location_problem(source, &work).await {
            self.set_step(
                parent_id,
                work.step_index,
                AutomationStatus::Failed,
                Some(problem),
            );
            return AutomationStatus::Failed;
        }
        let Some(parent) = lock(&self.executions).get(parent_id).cloned() else {
            return AutomationStatus::Failed;
        };
        let document_name = match &source.owner {
            Some(owner) if owner != &work.account => format!(
                "arn:aws:ssm:{}:{owner}:document/{}",
                work.region, source.name
            ),
            _ => source.name.clone(),
        };
        let location = &work.target_location;
        let child_request = StartRequest {
            document_name,
            document_version: parent.request.document_version.clone(),
            parameters: parent.request.parameters.clone(),
            mode: parent.request.mode.clone(),
            target_parameter_name: parent.request.target_parameter_name.clone(),
            targets: if location.targets.is_empty() {
                parent.request.targets.clone()
            } else {
                location.targets.clone()
            },
            target_maps: parent.request.target_maps.clone(),
            max_concurrency: location
                .targets_max_concurrency
                .clone()
                .or(parent.request.max_concurrency.clone()),
            max_errors: location
                .targets_max_errors
                .clone()
                .or(parent.request.max_errors.clone()),
            ..StartRequest::default()
        };
        let child_id = self.create_child(
            &work.account,
            &work.region,
            parent_id,
            child_request,
            None,
            &parent.executed_by,
        );
        self.update(parent_id, |execution| {
            if let Some(step) = execution.steps.get_mut(work.step_index) {
                step.outputs
                    .insert("ExecutionId".to_owned(), vec![child_id.clone()]);
            }
        });
        let status = self.run_execution(&child_id, source, BTreeMap::new()).await;
        let message = lock(&self.executions)
            .get(&child_id)
            .and_then(|child| child.failure_message.clone());
        self.set_step(parent_id, work.step_index, status, message);
        status
    }

    fn create_child(
        &self,
        account: &str,
        region: &str,
        parent_id: &str,
        request: StartRequest,
        target: Option<String>,
        executed_by: &str,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        lock(&self.executions).insert(
            id.clone(),
            Execution {
                id: id.clone(),
                account: account.to_owned(),
                region: region.to_owned(),
                request,
                automation_type: "Local",
                parent_id: Some(parent_id.to_owned()),
                target,
                resolved_targets: Vec::new(),
                status: AutomationStatus::InProgress,
                start: now(),
                end: None,
                failure_message: None,
                steps: Vec::new(),
                executed_by: executed_by.to_owned(),
                cancel_requested: false,
            },
        );
        id
    }

    /// Runs one execution in its own account and Region: fanned out over its targets when it
    /// has any, else the document's steps.
    /// (Boxed: a rate-controlled execution runs its per-target children through it again.)
    fn run_execution<'a>(
        self: &'a Arc<Self>,
        id: &'a str,
        source: &'a DocumentSource,
        tags: BTreeMap<String, String>,
    ) -> Pin<Box<dyn Future<Output = AutomationStatus> + Send + 'a>> {
        Box::pin(async move {
            let Some(execution) = lock(&self.executions).get(id).cloned() else {
                return AutomationStatus::Failed;
            };
            if execution.request.targets.is_empty() && execution.request.target_maps.is_empty() {
                self.run_document(&execution, source, &tags).await
            } else {
                self.run_targets(&execution, source).await
            }
        })
    }

    /// A rate-controlled execution: one child per target, under its concurrency and threshold.
    async fn run_targets(
        self: &Arc<Self>,
        execution: &Execution,
        source: &DocumentSource,
    ) -> AutomationStatus {
        let targets = match self.resolve_targets(execution).await {
            Ok(targets) => targets,
            Err(error) => {
                self.finish(&execution.id, AutomationStatus::Failed, Some(error.message));
                return AutomationStatus::Failed;
            }
        };
        if targets.is_empty() {
            let message = "No targets were found: no resource matches the execution's Targets in this account and Region.";
            self.finish(
                &execution.id,
                AutomationStatus::Failed,
                Some(message.to_owned()),
            );
            return AutomationStatus::Failed;
        }
        self.update(&execution.id, |e| {
            e.resolved_targets = targets.iter().map(|t| t.value.clone()).collect();
        });
        let total = u32::try_from(targets.len()).unwrap_or(u32::MAX);
        let concurrency = parse_or(
            execution.request.max_concurrency.as_deref(),
            Concurrency::parse,
            "10",
        )
        .map_or(1, |c| c.resolve(total));
        let max_errors = execution
            .request
            .max_errors
            .as_deref()
            .and_then(|value| ErrorThreshold::parse(value).ok())
            .map_or(u32::MAX, |e| e.resolve(total));
        let engine = Arc::clone(self);
        let parent = execution.clone();
        let source_for_targets = source.clone();
        let outcomes = run_rate_controlled(
            targets.clone(),
            concurrency,
            max_errors,
            || self.cancelled(&execution.id),
            move |target| {
                let engine = Arc::clone(&engine);
                let parent = parent.clone();
                let source = source_for_targets.clone();
                async move { engine.run_target(&parent, &source, target).await }
            },
        )
        .await;
        let started = outcomes.iter().flatten().count();
        let failed = outcomes
            .iter()
            .flatten()
            .filter(|status| !status.is_success())
            .count();
        let (status, message) = if self.cancelled(&execution.id) {
            (AutomationStatus::Cancelled, None)
        } else if failed == 0 && started == targets.len() {
            (AutomationStatus::Success, None)
        } else {
            let not_started = targets.len() - started;
            let threshold = if not_started > 0 {
                format!(
                    " The error threshold (MaxErrors) was reached: {not_started} targets were not started."
                )
            } else {
                String::new()
            };
            let message = format!("{failed} of {} targets failed.{threshold}", targets.len());
            (AutomationStatus::Failed, Some(message))
        };
        self.finish(&execution.id, status, message);
        status
    }

    async fn run_target(
        self: Arc<Self>,
        parent: &Execution,
        source: &DocumentSource,
        target: TargetWork,
    ) -> AutomationStatus {
        let request = StartRequest {
            document_name: parent.request.document_name.clone(),
            document_version: parent.request.document_version.clone(),
            parameters: target.parameters.clone(),
            mode: parent.request.mode.clone(),
            ..StartRequest::default()
        };
        let child = self.create_child(
            &parent.account,
            &parent.region,
            &parent.id,
            request,
            Some(target.value.clone()),
            &parent.executed_by,
        );
        let step_index = {
            let mut executions = lock(&self.executions);
            executions.get_mut(&parent.id).map_or(0, |execution| {
                execution.steps.push(Step {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: format!("Invocation-{}", target.value),
                    action: "aws:executeAutomation".to_owned(),
                    status: AutomationStatus::InProgress,
                    start: Some(now()),
                    end: None,
                    failure_message: None,
                    outputs: [("ExecutionId".to_owned(), vec![child.clone()])].into(),
                    target_location: None,
                });
                execution.steps.len() - 1
            })
        };
        let status = self.run_execution(&child, source, target.tags).await;
        let message = lock(&self.executions)
            .get(&child)
            .and_then(|c| c.failure_message.clone());
        self.set_step(&parent.id, step_index, status, message);
        status
    }

    /// The targets of a rate-controlled execution, with each instance's tags.
    async fn resolve_targets(&self, execution: &Execution) -> Result<Vec<TargetWork>, ApiError> {
        let request = &execution.request;
        let parameter = request
            .target_parameter_name
            .clone()
            .unwrap_or_else(|| "InstanceId".to_owned());
        let with_value = |value: String, tags: BTreeMap<String, String>| {
            let mut parameters = request.parameters.clone();
            parameters.insert(parameter.clone(), vec![value.clone()]);
            TargetWork {
                value,
                parameters,
                tags,
            }
        };
        if !request.target_maps.is_empty() {
            return Ok(request
                .target_maps
                .iter()
                .enumerate()
                .map(|(index, map)| {
                    let mut parameters = request.parameters.clone();
                    parameters.extend(map.clone());
                    TargetWork {
                        value: format!("TargetMap-{index}"),
                        parameters,
                        tags: BTreeMap::new(),
                    }
                })
                .collect());
        }
        let mut resolved = Vec::new();
        for WireTarget { key, values } in &request.targets {
            let instances: Vec<Instance> = if let Some(tag) = key.strip_prefix("tag:") {
                self.moto
                    .instances(
                        &execution.account,
                        &execution.region,
                        &[(tag.to_owned(), values.clone())],
                    )
                    .await?
            } else if key == "tag-key" {
                let mut all = Vec::new();
                for tag in values {
                    all.extend(
                        self.moto
                            .instances(
                                &execution.account,
                                &execution.region,
                                &[(tag.clone(), Vec::new())],
                            )
                            .await?,
                    );
                }
                all
            } else if key == "ResourceGroup" {
                let group = values.first().cloned().unwrap_or_default();
                let Some(filters) = self
                    .moto
                    .group_tag_filters(&execution.account, &execution.region, &group)
                    .await?
                else {
                    return Err(ApiError::validation(format!(
                        "Resource group {group} was not found in account {} in {}.",
                        execution.account, execution.region
                    )));
                };
                self.moto
                    .instances(&execution.account, &execution.region, &filters)
                    .await?
            } else if key == "ParameterValues" {
                resolved.extend(
                    values
                        .iter()
                        .map(|value| with_value(value.clone(), BTreeMap::new())),
                );
                continue;
            } else {
                return Err(ApiError::validation(format!(
                    "Target key {key} is not supported."
                )));
            };
            resolved.extend(
                instances
                    .into_iter()
                    .map(|instance| with_value(instance.id, instance.tags)),
            );
        }
        let mut seen = BTreeSet::new();
        resolved.retain(|target| seen.insert(target.value.clone()));
        Ok(resolved)
    }

    /// The document's own steps, each taking the configured time; the behaviour tag of the
    /// target instance can make one fail or take longer.
    async fn run_document(
        &self,
        execution: &Execution,
        source: &DocumentSource,
        tags: &BTreeMap<String, String>,
    ) -> AutomationStatus {
        let steps = self.document_steps(source, &execution.region).await;
        let behaviour = Behaviour::from_tags(tags);
        let step_duration = self.settings().step_duration;
        self.update(&execution.id, |e| {
            e.steps = steps
                .iter()
                .map(|(name, action)| Step {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: name.clone(),
                    action: action.clone(),
                    status: AutomationStatus::Pending,
                    start: None,
                    end: None,
                    failure_message: None,
                    outputs: Parameters::new(),
                    target_location: None,
                })
                .collect();
        });
        for index in 0..steps.len() {
            if self.cancelled(&execution.id) {
                self.finish(&execution.id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            self.set_step(&execution.id, index, AutomationStatus::InProgress, None);
            let extra = if index == 0 {
                behaviour.delay
            } else {
                Duration::ZERO
            };
            tokio::time::sleep(step_duration + extra).await;
            if self.cancelled(&execution.id) {
                self.set_step(&execution.id, index, AutomationStatus::Cancelled, None);
                self.finish(&execution.id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            if index == 0 && behaviour.fail {
                let target = execution.target.as_deref().unwrap_or("the target");
                let message = format!(
                    "Step fails when it is Executing. Fail message: the simulator was told to fail {target} (instance tag {BEHAVIOUR_TAG})."
                );
                self.set_step(
                    &execution.id,
                    index,
                    AutomationStatus::Failed,
                    Some(message.clone()),
                );
                self.finish(&execution.id, AutomationStatus::Failed, Some(message));
                return AutomationStatus::Failed;
            }
            self.set_step(&execution.id, index, AutomationStatus::Success, None);
        }
        self.finish(&execution.id, AutomationStatus::Success, None);
        AutomationStatus::Success
    }

    /// (name, action) of each of the document's `mainSteps`; one generic step for AWS-owned
    /// documents and for content the simulator cannot read.
    async fn document_steps(&self, source: &DocumentSource, region: &str) -> Vec<(String, String)> {
        let fallback = vec![("RunDocument".to_owned(), "aws:executeScript".to_owned())];
        let Some(owner) = &source.owner else {
            return fallback;
        };
        let key = (owner.clone(), region.to_owned(), source.name.clone());
        if let Some(steps) = lock(&self.step_cache).get(&key) {
            return steps.clone();
        }
        let steps = match self.moto.document(owner, region, &source.name).await {
            Ok(Some((content, _))) => serde_json::from_str::<Value>(&content)
                .ok()
                .and_then(|document| document["mainSteps"].as_array().cloned())
                .map(|steps| {
                    steps
                        .iter()
                        .filter_map(|step| {
                            Some((
                                step["name"].as_str()?.to_owned(),
                                step["action"].as_str()?.to_owned(),
                            ))
                        })
                        .collect::<Vec<_>>()
                })
                .filter(|steps| !steps.is_empty())
                .unwrap_or(fallback),
            _ => fallback,
        };
        lock(&self.step_cache).insert(key, steps.clone());
        steps
    }
}

/// What the behaviour tag asks of a target.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Behaviour {
    fail: bool,
    delay: Duration,
}

impl Behaviour {
    /// `fail`, `sleep=<ms>`, `fail-after=<ms>`; anything else behaves normally.
    fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let Some(value) = tags.get(BEHAVIOUR_TAG) else {
            return Self::default();
        };
        let millis = |text: &str| Duration::from_millis(text.parse().unwrap_or(0));
        match value.split_once('=') {
            None if value == "fail" => Self {
                fail: true,
                delay: Duration::ZERO,
            },
            Some(("sleep", ms)) => Self {
                fail: false,
                delay: millis(ms),
            },
            Some(("fail-after", ms)) => Self {
                fail: true,
                delay: millis(ms),
            },
            _ => Self::default(),
        }
    }
}

/// Runs `run` over `items`, at most `concurrency` at once; once more than `max_errors` have
/// not succeeded (or `cancelled` says so), starts no more. Returns each item's status, `None`
/// for those never started.
async fn run_rate_controlled<T, F, Fut>(
    items: Vec<T>,
    concurrency: u32,
    max_errors: u32,
    cancelled: impl Fn() -> bool,
    run: F,
) -> Vec<Option<AutomationStatus>>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = AutomationStatus> + Send + 'static,
{
    let concurrency = usize::try_from(concurrency.max(1)).unwrap_or(usize::MAX);
    let mut outcomes = vec![None; items.len()];
    let mut queue = items.into_iter().enumerate();
    let mut running = JoinSet::new();
    let mut failures = 0_u32;
    loop {
        while running.len() < concurrency && failures <= max_errors && !cancelled() {
            let Some((index, item)) = queue.next() else {
                break;
            };
            let future = run(item);
            running.spawn(async move { (index, future.await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (index, status) = done.unwrap_or((usize::MAX, AutomationStatus::Failed));
        if !status.is_success() {
            failures += 1;
        }
        if let Some(outcome) = outcomes.get_mut(index) {
            *outcome = Some(status);
        }
    }
    outcomes
}

/// `value` parsed with `parse`, or `default` when absent (the request was checked already).
fn parse_or<T>(
    value: Option<&str>,
    parse: fn(&str) -> fabric::Result<T>,
    default: &str,
) -> Option<T> {
    parse(value.unwrap_or(default)).ok()
}

/// True for documents AWS owns and shares with every account (`AWS-RestartEC2Instance`).
fn is_aws_owned(name: &str) -> bool {
    name.starts_with("AWS-")
        || name.starts_with("AWSSupport-")
        || name.starts_with("AWSConfigRemediation-")
}

/// (Region, owner, name) of `arn:aws:ssm:<region>:<owner>:document/<name>`.
fn parse_document_arn(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(_), Some("ssm"), Some(region), Some(owner), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((
        region.to_owned(),
        owner.to_owned(),
        resource.strip_prefix("document/")?.to_owned(),
    ))
}

/// True for the UUID form SSM requires of client tokens (any case).
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// SSM's request checks, before anything is created.
fn check_request(request: &StartRequest) -> Result<(), ApiError> {
    let name = &request.document_name;
    let name_ok = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
    if !name_ok {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'documentName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.:/]{{3,128}}$"
        )));
    }
    if let Some(token) = &request.client_token {
        if !is_uuid(token) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{token}' at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-fA-F0-9]{{8}}-[a-fA-F0-9]{{4}}-[a-fA-F0-9]{{4}}-[a-fA-F0-9]{{4}}-[a-fA-F0-9]{{12}}"
            )));
        }
    }
    if request.target_locations_url.is_some() {
        return Err(ApiError::validation(
            "TargetLocationsURL is not supported by the simulator.",
        ));
    }
    if request.targets.len() > 1 {
        return Err(ApiError::new(
            "InvalidTarget",
            "Only one resource group or tag can be specified at a time.",
        ));
    }
    if !request.targets.is_empty() && !request.target_maps.is_empty() {
        return Err(ApiError::new(
            "InvalidAutomationExecutionParametersException",
            "Targets and TargetMaps cannot be specified together.",
        ));
    }
    if !request.targets.is_empty() && request.target_parameter_name.is_none() {
        return Err(ApiError::new(
            "InvalidAutomationExecutionParametersException",
            "TargetParameterName must be specified with Targets.",
        ));
    }
    if request.target_locations.len() > 100 {
        return Err(ApiError::validation(
            "Member must have length less than or equal to 100: targetLocations",
        ));
    }
    let concurrency = |field: &str, value: &Option<String>| match value {
        Some(value) => Concurrency::parse(value)
            .map(|_| ())
            .map_err(|error| ApiError::validation(format!("{field}: {error}"))),
        None => Ok(()),
    };
    let errors = |field: &str, value: &Option<String>| match value {
        Some(value) => ErrorThreshold::parse(value)
            .map(|_| ())
            .map_err(|error| ApiError::validation(format!("{field}: {error}"))),
        None => Ok(()),
    };
    concurrency("MaxConcurrency", &request.max_concurrency)?;
    errors("MaxErrors", &request.max_errors)?;
    for location in &request.target_locations {
        if location.accounts.len() > 50 || location.regions.len() > 50 {
            return Err(ApiError::validation(
                "A target location takes at most 50 Accounts and 50 Regions.",
            ));
        }
        if location.exclude_accounts.len() > 5000 {
            return Err(ApiError::validation(
                "A target location takes at most 5000 ExcludeAccounts.",
            ));
        }
        if location.targets.len() > 1 {
            return Err(ApiError::new(
                "InvalidTarget",
                "Only one resource group or tag can be specified at a time.",
            ));
        }
        concurrency(
            "TargetLocationMaxConcurrency",
            &location.target_location_max_concurrency,
        )?;
        errors(
            "TargetLocationMaxErrors",
            &location.target_location_max_errors,
        )?;
        concurrency("TargetsMaxConcurrency", &location.targets_max_concurrency)?;
        errors("TargetsMaxErrors", &location.targets_max_errors)?;
    }
    Ok(())
}

/// The execution as `GetAutomationExecution` returns it.
pub fn to_wire(execution: &Execution) -> Value {
    let mut value = metadata(execution);
    value["Parameters"] = json!(execution.request.parameters);
    value["StepExecutions"] = Value::Array(execution.steps.iter().map(step_to_wire).collect());
    value["StepExecutionsTruncated"] = json!(false);
    let count = |wanted: &dyn Fn(AutomationStatus) -> bool| {
        execution.steps.iter().filter(|s| wanted(s.status)).count()
    };
    value["ProgressCounters"] = json!({
        "TotalSteps": execution.steps.len(),
        "SuccessSteps": count(&AutomationStatus::is_success),
        "FailedSteps": count(&|s| s == AutomationStatus::Failed),
        "CancelledSteps": count(&|s| s == AutomationStatus::Cancelled),
        "TimedOutSteps": count(&|s| s == AutomationStatus::TimedOut),
    });
    value
}

/// The execution as `DescribeAutomationExecutions` lists it.
pub fn metadata(execution: &Execution) -> Value {
    let request = &execution.request;
    let mut value = json!({
        "AutomationExecutionId": execution.id,
        "DocumentName": request.document_name,
        "DocumentVersion": request.document_version.clone().unwrap_or_else(|| "1".to_owned()),
        "AutomationExecutionStatus": execution.status,
        "ExecutionStartTime": execution.start,
        "ExecutedBy": execution.executed_by,
        "Mode": request.mode.clone().unwrap_or_else(|| "Auto".to_owned()),
        "AutomationType": execution.automation_type,
        "Outputs": {},
    });
    let optional: [(&str, Option<Value>); 11] = [
        ("ExecutionEndTime", execution.end.map(|end| json!(end))),
        (
            "FailureMessage",
            execution.failure_message.clone().map(Value::String),
        ),
        (
            "ParentAutomationExecutionId",
            execution.parent_id.clone().map(Value::String),
        ),
        ("Target", execution.target.clone().map(Value::String)),
        (
            "TargetParameterName",
            request.target_parameter_name.clone().map(Value::String),
        ),
        (
            "Targets",
            (!request.targets.is_empty()).then(|| json!(request.targets)),
        ),
        (
            "TargetMaps",
            (!request.target_maps.is_empty()).then(|| json!(request.target_maps)),
        ),
        (
            "TargetLocations",
            (!request.target_locations.is_empty()).then(|| json!(request.target_locations)),
        ),
        (
            "MaxConcurrency",
            request.max_concurrency.clone().map(Value::String),
        ),
        ("MaxErrors", request.max_errors.clone().map(Value::String)),
        (
            "ResolvedTargets",
            (!execution.resolved_targets.is_empty()).then(
                || json!({ "ParameterValues": execution.resolved_targets, "Truncated": false }),
            ),
        ),
    ];
    for (key, field) in optional {
        if let Some(field) = field {
            value[key] = field;
        }
    }
    if let Some(step) = execution.steps.iter().find(|step| !step.status.is_final()) {
        value["CurrentStepName"] = json!(step.name);
        value["CurrentAction"] = json!(step.action);
    }
    value
}

/// A step as `DescribeAutomationStepExecutions` and `GetAutomationExecution` return it.
pub fn step_to_wire(step: &Step) -> Value {
    let mut value = json!({
        "StepExecutionId": step.id,
        "StepName": step.name,
        "Action": step.action,
        "StepStatus": step.status,
        "Outputs": step.outputs,
        "Inputs": {},
        "IsEnd": false,
        "IsCritical": true,
        "OnFailure": "Abort",
    });
    if let Some(start) = step.start {
        value["ExecutionStartTime"] = json!(start);
    }
    if let Some(end) = step.end {
        value["ExecutionEndTime"] = json!(end);
    }
    if let Some(message) = &step.failure_message {
        value["FailureMessage"] = json!(message);
        value["FailureDetails"] =
            json!({ "FailureStage": "Execution", "FailureType": "Verification", "Details": {} });
    }
    if let Some(location) = &step.target_location {
        value["TargetLocation"] = json!(location);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_errors_exceed_the_threshold_then_no_more_items_start() {
        // Items 0 and 1 fail; with one error allowed and one at a time, item 2 must not start.
        let outcomes = run_rate_controlled(
            vec![false, false, true, true],
            1,
            1,
            || false,
            |ok| async move {
                if ok {
                    AutomationStatus::Success
                } else {
                    AutomationStatus::Failed
                }
            },
        )
        .await;
        assert_eq!(
            outcomes,
            vec![
                Some(AutomationStatus::Failed),
                Some(AutomationStatus::Failed),
                None,
                None
            ]
        );
    }

    #[tokio::test]
    async fn when_concurrency_is_two_then_at_most_two_run_at_once() {
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let outcomes = run_rate_controlled(
            (0..6).collect(),
            2,
            0,
            || false,
            |_| {
                let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
                async move {
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    AutomationStatus::Success
                }
            },
        )
        .await;
        assert!(
            outcomes
                .iter()
                .all(|o| *o == Some(AutomationStatus::Success))
        );
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn when_an_instance_is_tagged_then_its_behaviour_follows_the_tag() {
        let tags = |value: &str| [(BEHAVIOUR_TAG.to_owned(), value.to_owned())].into();
        assert!(Behaviour::from_tags(&tags("fail")).fail);
        assert_eq!(
            Behaviour::from_tags(&tags("sleep=250")).delay,
            Duration::from_millis(250)
        );
        let both = Behaviour::from_tags(&tags("fail-after=100"));
        assert!(both.fail && both.delay == Duration::from_millis(100));
        assert_eq!(Behaviour::from_tags(&BTreeMap::new()), Behaviour::default());
    }

    #[test]
    fn when_rate_control_strings_are_invalid_then_the_request_is_refused_before_anything_starts() {
        let request = StartRequest {
            document_name: "Automation-RunPatchBaseline".to_owned(),
            target_locations: vec![WireTargetLocation {
                accounts: vec!["111122223333".to_owned()],
                target_location_max_errors: Some("-1".to_owned()),
                ..WireTargetLocation::default()
            }],
            ..StartRequest::default()
        };
        let error = check_request(&request).expect_err("invalid MaxErrors");
        assert_eq!(error.code, "ValidationException");
        assert!(
            error.message.contains("TargetLocationMaxErrors"),
            "{}",
            error.message
        );
    }
}
