//! Planning: a run request resolved into the exact locations it will touch, wave by wave.
//! OUs become their (active) accounts, exclusions and duplicates are removed, and each left-out
//! location is kept with the reason; what remains is split into `StartAutomationExecution`
//! calls within SSM's limits, each with a client token derived from the run id.

use crate::model::{
    AccountId, AccountOrOu, Location, OuId, Region, RunRequest, RunSpec, TargetLocation, WaveGate,
};
use crate::ports::{AccountStatus, Directory};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// SSM's limit on `TargetLocations` per call.
pub const MAX_TARGET_LOCATIONS: usize = 100;
/// SSM's limit on `Accounts` of one target location.
pub const MAX_ACCOUNTS: usize = 50;
/// SSM's limit on `Regions` of one target location.
pub const MAX_REGIONS: usize = 50;
/// The namespace of client tokens (UUID v5 of the run id and the call's place in the plan).
const CLIENT_TOKEN_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6a0f_4c1e_9b7d_4f21_8e3a_5c2d_1b0a_9f87);

/// A location left out on purpose, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedLocation {
    /// Where.
    pub location: Location,
    /// The wave it would have been in.
    pub wave: String,
    /// Why it is left out.
    pub reason: String,
}

/// One `StartAutomationExecution` call of a wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCall {
    /// Its idempotency token: the same for every retry of this call.
    pub client_token: String,
    /// Its target locations: explicit accounts, within SSM's limits.
    pub target_locations: Vec<TargetLocation>,
    /// The locations it covers.
    pub locations: Vec<Location>,
}

/// A wave: calls started together, and the gate the next wave waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWave {
    /// Its name.
    pub name: String,
    /// What it must achieve before the next wave starts.
    pub gate: Option<WaveGate>,
    /// Its calls.
    pub calls: Vec<PlannedCall>,
}

impl PlannedWave {
    /// Every location of the wave.
    pub fn locations(&self) -> impl Iterator<Item = &Location> {
        self.calls.iter().flat_map(|call| &call.locations)
    }
}

/// A run, planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    /// The run's id (the trigger's idempotency key): every token and name derives from it.
    pub run_id: String,
    /// What was asked.
    pub request: RunRequest,
    /// The waves, in order.
    pub waves: Vec<PlannedWave>,
    /// Locations left out, with reasons.
    pub skipped: Vec<SkippedLocation>,
    /// The OU (or root) each account is directly in, for the accounts an OU entry brought in:
    /// how the report page groups them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ous: BTreeMap<AccountId, OuId>,
}

impl RunPlan {
    /// How many locations will run.
    pub fn planned_count(&self) -> usize {
        self.waves.iter().map(|wave| wave.locations().count()).sum()
    }
}

/// What the planner needs to know besides the organization.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    /// Regions for target locations that name none.
    pub default_regions: &'a [Region],
}

/// Plans `request` as run `run_id`: resolves every target location against `directory`.
pub async fn plan_run(
    run_id: &str,
    request: RunRequest,
    directory: &dyn Directory,
    context: &PlanContext<'_>,
) -> Result<RunPlan> {
    request.spec.check()?;
    let mut already: BTreeMap<Location, String> = BTreeMap::new();
    let mut enabled_regions: BTreeMap<AccountId, Option<BTreeSet<Region>>> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut waves = Vec::new();
    let mut ous = BTreeMap::new();
    for (wave_index, wave) in request.spec.waves().into_iter().enumerate() {
        let mut locations_of_wave: Vec<(TargetLocation, Vec<AccountId>, Vec<Region>)> = Vec::new();
        for target_location in &wave.target_locations {
            let regions = if target_location.regions.is_empty() {
                context.default_regions.to_vec()
            } else {
                target_location.regions.clone()
            };
            if regions.is_empty() {
                return Err(Error::Unrunnable {
                    problem:
                        "a target location names no Regions and the config has no default Regions"
                            .to_owned(),
                });
            }
            let recursive = target_location.include_child_organization_units;
            let included = resolve(directory, &target_location.accounts, recursive).await?;
            let excluded: BTreeSet<AccountId> =
                resolve(directory, &target_location.exclude_accounts, true)
                    .await?
                    .into_iter()
                    .map(|(account, _, _)| account)
                    .collect();
            let wanted = included
                .iter()
                .filter(|(account, status, _)| {
                    left_out(&excluded, account, status.clone()).is_none()
                })
                .map(|(account, _, _)| account);
            learn_enabled_regions(directory, &mut enabled_regions, wanted).await?;
            let mut accounts = Vec::new();
            for (account, status, ou) in included {
                if let Some(ou) = ou {
                    ous.entry(account.clone()).or_insert(ou);
                }
                let reason = left_out(&excluded, &account, status);
                let enabled = match reason {
                    Some(_) => None,
                    None => enabled_in(directory, &mut enabled_regions, &account).await?,
                };
                let mut kept_regions = Vec::new();
                for region in &regions {
                    let location = Location::new(account.clone(), region.clone());
                    let not_enabled = enabled
                        .as_ref()
                        .is_some_and(|enabled| !enabled.contains(region));
                    let reason = reason.clone().or_else(|| {
                        not_enabled
                            .then(|| format!("the Region {region} is not enabled in the account"))
                    });
                    match (&reason, already.contains_key(&location)) {
                        // Planned in an earlier wave (or target location): it runs there.
                        (_, true) => {}
                        (Some(reason), false) => skipped.push(SkippedLocation {
                            location,
                            wave: wave.name.clone(),
                            reason: reason.clone(),
                        }),
                        (None, false) => {
                            already.insert(location, wave.name.clone());
                            kept_regions.push(region.clone());
                        }
                    }
                }
                if !kept_regions.is_empty() {
                    accounts.push((account, kept_regions));
                }
            }
            // Accounts with the same Regions share target locations.
            let mut by_regions: BTreeMap<Vec<Region>, Vec<AccountId>> = BTreeMap::new();
            for (account, regions) in accounts {
                by_regions.entry(regions).or_default().push(account);
            }
            for (regions, accounts) in by_regions {
                locations_of_wave.push((target_location.clone(), accounts, regions));
            }
        }
        waves.push(PlannedWave {
            name: wave.name.clone(),
            gate: wave.gate,
            calls: calls_for(run_id, wave_index, &locations_of_wave),
        });
    }
    Ok(RunPlan {
        run_id: run_id.to_owned(),
        request,
        waves,
        skipped: skipped_once(skipped, &already),
        ous,
    })
}

/// The locations `skipped` that nothing planned (`planned`), each once with its first reason,
/// in location order.
fn skipped_once(
    mut skipped: Vec<SkippedLocation>,
    planned: &BTreeMap<Location, String>,
) -> Vec<SkippedLocation> {
    let mut reported = BTreeSet::new();
    skipped.retain(|skip| {
        !planned.contains_key(&skip.location) && reported.insert(skip.location.clone())
    });
    skipped.sort_by(|a, b| a.location.cmp(&b.location));
    skipped
}

/// Why an account is left out of a target location, if it is.
fn left_out(
    excluded: &BTreeSet<AccountId>,
    account: &AccountId,
    status: Resolved,
) -> Option<String> {
    if excluded.contains(account) {
        return Some("excluded by exclude_accounts".to_owned());
    }
    match status {
        Resolved::Active => None,
        Resolved::NotMember => Some("the account is not a member of the organization".to_owned()),
        Resolved::Inactive(status) => Some(format!("the account is {status}")),
    }
}

/// How many accounts' enabled Regions are asked at once: the Account Management API's reads
/// are cheap, and a plan over thousands of accounts should not wait on them one by one.
const REGION_LOOKUPS_AT_ONCE: usize = 8;

/// Asks the enabled Regions of every account in `accounts` not asked yet in this plan,
/// [`REGION_LOOKUPS_AT_ONCE`] at a time.
async fn learn_enabled_regions<'a>(
    directory: &dyn Directory,
    known: &mut BTreeMap<AccountId, Option<BTreeSet<Region>>>,
    accounts: impl Iterator<Item = &'a AccountId>,
) -> Result<()> {
    use futures_util::StreamExt;
    let unknown: BTreeSet<&AccountId> = accounts
        .filter(|account| !known.contains_key(*account))
        .collect();
    let answers: Vec<(AccountId, Result<Option<BTreeSet<Region>>>)> = futures_util::stream::iter(
        unknown,
    )
    .map(|account| async move { (account.clone(), directory.enabled_regions(account).await) })
    .buffer_unordered(REGION_LOOKUPS_AT_ONCE)
    .collect()
    .await;
    for (account, enabled) in answers {
        known.insert(account, enabled?);
    }
    Ok(())
}

/// The Regions `account` has enabled, asked once per plan.
async fn enabled_in(
    directory: &dyn Directory,
    known: &mut BTreeMap<AccountId, Option<BTreeSet<Region>>>,
    account: &AccountId,
) -> Result<Option<BTreeSet<Region>>> {
    if let Some(enabled) = known.get(account) {
        return Ok(enabled.clone());
    }
    let enabled = directory.enabled_regions(account).await?;
    known.insert(account.clone(), enabled.clone());
    Ok(enabled)
}

/// Splits a wave's (target location, accounts, Regions) into calls within SSM's limits.
fn calls_for(
    run_id: &str,
    wave_index: usize,
    groups: &[(TargetLocation, Vec<AccountId>, Vec<Region>)],
) -> Vec<PlannedCall> {
    let mut target_locations = Vec::new();
    for (template, accounts, regions) in groups {
        for accounts in accounts.chunks(MAX_ACCOUNTS) {
            for regions in regions.chunks(MAX_REGIONS) {
                target_locations.push(TargetLocation {
                    accounts: accounts.iter().cloned().map(AccountOrOu::Account).collect(),
                    regions: regions.to_vec(),
                    include_child_organization_units: false,
                    exclude_accounts: Vec::new(),
                    ..template.clone()
                });
            }
        }
    }
    target_locations
        .chunks(MAX_TARGET_LOCATIONS)
        .enumerate()
        .map(|(call_index, chunk)| PlannedCall {
            client_token: uuid::Uuid::new_v5(
                &CLIENT_TOKEN_NAMESPACE,
                format!("{run_id}/{wave_index}/{call_index}").as_bytes(),
            )
            .to_string(),
            locations: chunk
                .iter()
                .flat_map(|location| {
                    location.accounts.iter().flat_map(move |account| {
                        location
                            .regions
                            .iter()
                            .filter_map(move |region| match account {
                                AccountOrOu::Account(account) => {
                                    Some(Location::new(account.clone(), region.clone()))
                                }
                                AccountOrOu::Ou(_) => None,
                            })
                    })
                })
                .collect(),
            target_locations: chunk.to_vec(),
        })
        .collect()
}

/// How an account resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    Active,
    NotMember,
    Inactive(String),
}

/// Accounts for entries that are account ids or OU / root ids, each once, in order, with the
/// OU (or root) each is directly in, for those an OU entry brought in.
async fn resolve(
    directory: &dyn Directory,
    entries: &[AccountOrOu],
    recursive: bool,
) -> Result<Vec<(AccountId, Resolved, Option<OuId>)>> {
    let mut resolved = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        let accounts = match entry {
            AccountOrOu::Account(id) => match directory.account(id).await? {
                Some(account) => vec![(account.id, resolved_status(&account.status), None)],
                None => vec![(id.clone(), Resolved::NotMember, None)],
            },
            AccountOrOu::Ou(ou) => directory
                .accounts_under(ou, recursive)
                .await?
                .into_iter()
                .map(|account| {
                    let status = resolved_status(&account.status);
                    let parent = account.parent.unwrap_or_else(|| ou.clone());
                    (account.id, status, Some(parent))
                })
                .collect(),
        };
        for (account, status, ou) in accounts {
            if seen.insert(account.clone()) {
                resolved.push((account, status, ou));
            }
        }
    }
    Ok(resolved)
}

fn resolved_status(status: &AccountStatus) -> Resolved {
    match status {
        AccountStatus::Active => Resolved::Active,
        AccountStatus::Suspended => Resolved::Inactive("SUSPENDED".to_owned()),
        AccountStatus::PendingClosure => Resolved::Inactive("PENDING_CLOSURE".to_owned()),
        AccountStatus::Other(other) => Resolved::Inactive(other.clone()),
    }
}

/// A spec's profile request for an alarm: the rule's profile in the alarm's account and Region,
/// its dimension as the target parameter's value.
pub fn alarm_spec(
    profile: &RunSpec,
    account: &AccountId,
    region: &Region,
    target_value: Option<&str>,
    parameters: &crate::model::Parameters,
) -> RunSpec {
    let mut spec = profile.clone();
    spec.parameters.extend(parameters.clone());
    let targets = target_value.map(|value| crate::model::Target::ParameterValues {
        values: vec![value.to_owned()],
    });
    let mut location = TargetLocation::new(
        vec![AccountOrOu::Account(account.clone())],
        vec![region.clone()],
    );
    if let Some(template) = profile.all_target_locations().next() {
        location = TargetLocation {
            accounts: location.accounts,
            regions: location.regions,
            include_child_organization_units: false,
            exclude_accounts: Vec::new(),
            targets: None,
            ..template.clone()
        };
    }
    location.targets = targets;
    spec.targets = Vec::new();
    spec.waves = Vec::new();
    spec.target_locations = vec![location];
    spec
}

#[cfg(test)]
mod tests;
