//! The multi-account, multi-Region fan-out: a parent's target locations expanded to (account,
//! Region) pairs (OUs resolved through moto's Organizations, exclusions applied), one
//! `aws:executeAutomation` step and one child per pair under the location's concurrency and
//! error threshold, the checks SSM makes before it can start a child, and the execution preview.

use super::documents::{DocumentSource, shares_with};
use super::{AutomationStatus, Caller, Engine, Execution, Step};
use crate::wire::{ApiError, StartRequest, WireTargetLocation};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The API reference (`TargetLocation`, `ExecutionRoleName`): "If not specified, the default
/// value is `AWS-SystemsManager-AutomationExecutionRole`."
pub const DEFAULT_EXECUTION_ROLE: &str = "AWS-SystemsManager-AutomationExecutionRole";
/// The API reference (`TargetLocation`): "`TargetLocationMaxConcurrency` has a default value of
/// 1."
const DEFAULT_LOCATION_CONCURRENCY: u32 = 1;
/// The API reference (`TargetLocation`): "`TargetLocationMaxErrors` has a default value of 0."
const DEFAULT_LOCATION_ERRORS: u32 = 0;

/// What a parent learned from moto about its locations, read once per parent: whether each
/// account has the execution role, and, in each Region, whether the document is there and
/// whom it is shared with. SSM checks each location as it starts it; the simulator reads each
/// fact once per parent (a role or a share changed in the middle of a fan-out is not seen),
/// so that an organization of thousands of accounts is not thousands of moto calls per
/// account.
#[derive(Debug, Default)]
struct LocationChecks {
    roles: Facts<(String, String), bool>,
    documents: Facts<String, bool>,
    shares: Facts<String, Vec<String>>,
}

/// Facts read once each: the locations that need one at the same time wait for one read.
type Facts<K, V> = std::sync::Mutex<BTreeMap<K, Arc<tokio::sync::OnceCell<V>>>>;

/// The value of `key` in `facts`, read with `read` the first time (the other readers of the
/// same key wait for that read); a read that fails is not kept.
async fn checked<K: Ord, V: Clone, F>(facts: &Facts<K, V>, key: K, read: F) -> Result<V, ApiError>
where
    F: std::future::Future<Output = Result<V, ApiError>>,
{
    let cell = Arc::clone(super::lock(facts).entry(key).or_default());
    cell.get_or_try_init(|| read).await.cloned()
}

/// A location of a multi-location run.
#[derive(Debug, Clone)]
struct LocationWork {
    step_index: usize,
    account: String,
    region: String,
    target_location: WireTargetLocation,
}

impl Engine {
    /// What `StartExecutionPreview` reports for `request`: the accounts, Regions and targets a
    /// run would touch, without starting anything.
    pub async fn preview(
        &self,
        caller: &Caller,
        request: &StartRequest,
    ) -> Result<Value, ApiError> {
        super::validation::check_request(request)?;
        let source = self.checked_source(caller, request).await?;
        // Nothing runs: a stand-in execution to expand locations and resolve targets with.
        let probe = Execution::new(
            &caller.account,
            &caller.region,
            request.clone(),
            String::new(),
        );
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
        let steps = self
            .document_steps(&source, &caller.region)
            .await
            .steps
            .len()
            * locations.len();
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
    pub(super) async fn run_parent(self: &Arc<Self>, id: &str, source: &DocumentSource) {
        let Some(parent) = self.snapshot(id) else {
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
                    target_location: Some(work.target_location.clone()),
                    ..Step::pending(
                        format!("{}-{}-ExecuteAutomation", work.account, work.region),
                        "aws:executeAutomation",
                    )
                })
                .collect();
        });
        let checks = Arc::new(LocationChecks::default());
        for (group, work) in parent.request.target_locations.iter().zip(groups) {
            let (parent_id, source) = (id.to_owned(), source.clone());
            let checks = Arc::clone(&checks);
            let outcomes = self
                .fan_out(
                    id,
                    work.clone(),
                    (
                        group.target_location_max_concurrency.as_deref(),
                        group.target_location_max_errors.as_deref(),
                    ),
                    (DEFAULT_LOCATION_CONCURRENCY, DEFAULT_LOCATION_ERRORS),
                    super::fan_out::Ramp::None,
                    move |engine, work| {
                        let (parent_id, source) = (parent_id.clone(), source.clone());
                        let checks = Arc::clone(&checks);
                        async move {
                            engine
                                .run_location(&parent_id, &source, &checks, work)
                                .await
                        }
                    },
                )
                .await;
            for (work, outcome) in work.iter().zip(outcomes) {
                if outcome.is_none() {
                    // The simulator's wording: SSM does not document what a location that was
                    // never started says.
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
        if let Some(execution) = self.snapshot(id) {
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
                .resolve_accounts(&management, &location.accounts, (recursive, true))
                .await?;
            let excluded = self
                .resolve_accounts(&management, &location.exclude_accounts, (true, false))
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

    /// Account ids for entries that are account ids or OU / root ids; an OU holding no account
    /// is an error when `refuse_empty` (a target, not an exclusion).
    async fn resolve_accounts(
        &self,
        management: &str,
        entries: &[String],
        (recursive, refuse_empty): (bool, bool),
    ) -> Result<Vec<String>, ApiError> {
        let mut accounts = Vec::new();
        for entry in entries {
            if entry.starts_with("ou-") || entry.starts_with("r-") {
                let under = self
                    .moto
                    .accounts_under(management, entry, recursive)
                    .await?;
                let before = accounts.len();
                accounts.extend(
                    under
                        .into_iter()
                        .filter(|account| account.status == "ACTIVE")
                        .map(|account| account.id),
                );
                if refuse_empty
                    && accounts.len() == before
                    && !self.holds_accounts(management, entry).await?
                {
                    // The multi-account guide's considerations: "Automation can only target
                    // OUs which contain accounts". An OU whose accounts are all in its child OUs
                    // contains accounts (it adds none without IncludeChildOrganizationUnits).
                    // The guide does not say whether the start is refused or the run fails; OUs
                    // are resolved once the run has started, so the simulator fails the parent.
                    return Err(ApiError::validation(format!(
                        "Automation can only target OUs which contain accounts: {entry} contains no active account."
                    )));
                }
            } else {
                accounts.push(entry.clone());
            }
        }
        let mut seen = BTreeSet::new();
        accounts.retain(|account| seen.insert(account.clone()));
        Ok(accounts)
    }

    /// True when OU (or root) `entry` holds an active account at any depth.
    async fn holds_accounts(&self, management: &str, entry: &str) -> Result<bool, ApiError> {
        let below = self.moto.accounts_under(management, entry, true).await?;
        Ok(below.iter().any(|account| account.status == "ACTIVE"))
    }

    /// What stops SSM from starting the child in a location, as the parent's step reports it:
    /// the execution role missing there, the document missing in that Region, or not shared.
    /// (The wording is the simulator's: SSM documents the failures, not their messages.)
    async fn location_problem(
        &self,
        source: &DocumentSource,
        checks: &LocationChecks,
        work: &LocationWork,
    ) -> Option<String> {
        if !self.regions.is_enabled(&work.account, &work.region) {
            // The simulator's wording: SSM documents no message for a location whose Region
            // the account has not enabled (an opt-in Region it did not opt in to); nothing can
            // run there, so the location fails before its child starts.
            return Some(format!(
                "The Region {region} is not enabled in account {account}: Automation cannot run in a Region the account has not opted in to.",
                region = work.region,
                account = work.account
            ));
        }
        let role = work
            .target_location
            .execution_role_name
            .clone()
            .unwrap_or_else(|| DEFAULT_EXECUTION_ROLE.to_owned());
        let role_exists = checked(
            &checks.roles,
            (work.account.clone(), role.clone()),
            self.moto.role_exists(&work.account, &role),
        );
        match role_exists.await {
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
        let document_exists = checked(&checks.documents, work.region.clone(), async {
            Ok(self
                .moto
                .document(owner, &work.region, &source.name)
                .await?
                .is_some())
        });
        match document_exists.await {
            Ok(true) => {}
            Ok(false) => {
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
        let shared_with = checked(
            &checks.shares,
            work.region.clone(),
            self.moto.shared_with(owner, &work.region, &source.name),
        );
        match shared_with
            .await
            .map(|accounts| shares_with(&accounts, &work.account))
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
    /// then the child itself. A location's `Targets`, `TargetsMaxConcurrency` and
    /// `TargetsMaxErrors` take precedence over the parent's (API reference, `TargetLocation`:
    /// "This `Targets` parameter takes precedence over the `StartAutomationExecution:Targets`
    /// parameter if both are supplied", and likewise for the other two).
    async fn run_location(
        self: Arc<Self>,
        parent_id: &str,
        source: &DocumentSource,
        checks: &LocationChecks,
        work: LocationWork,
    ) -> AutomationStatus {
        self.set_step(
            parent_id,
            work.step_index,
            AutomationStatus::InProgress,
            None,
        );
        if let Some(problem) = self.location_problem(source, checks, &work).await {
            self.set_step(
                parent_id,
                work.step_index,
                AutomationStatus::Failed,
                Some(problem),
            );
            return AutomationStatus::Failed;
        }
        let Some((request, executed_by)) = self.read(parent_id, |parent| {
            (parent.request.clone(), parent.executed_by.clone())
        }) else {
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
            document_version: request.document_version.clone(),
            parameters: request.parameters.clone(),
            mode: request.mode.clone(),
            target_parameter_name: request.target_parameter_name.clone(),
            targets: if location.targets.is_empty() {
                request.targets.clone()
            } else {
                location.targets.clone()
            },
            target_maps: request.target_maps.clone(),
            max_concurrency: location
                .targets_max_concurrency
                .clone()
                .or(request.max_concurrency.clone()),
            max_errors: location
                .targets_max_errors
                .clone()
                .or(request.max_errors.clone()),
            // The location's alarm is watched by the automation in that location, where the
            // execution role reads it.
            alarm_configuration: location.target_location_alarm_configuration.clone(),
            ..StartRequest::default()
        };
        let parentage = super::executions::Parentage {
            id: parent_id,
            executed_by: &executed_by,
        };
        let child_id =
            self.create_child(parentage, &work.account, &work.region, child_request, None);
        self.update(parent_id, |execution| {
            if let Some(step) = execution.steps.get_mut(work.step_index) {
                step.outputs
                    .insert("ExecutionId".to_owned(), vec![child_id.clone()]);
            }
        });
        self.run_child_step(
            parent_id,
            work.step_index,
            &child_id,
            source,
            BTreeMap::new(),
        )
        .await
    }
}
