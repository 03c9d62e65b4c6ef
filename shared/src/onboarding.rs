//! Onboarding: what the seeds do by hand in every target account, done for each account that
//! joins and undone for each that leaves: the configured documents shared with it in every
//! configured Region (sharing read first, changed only where missing, the 1,000-account limit
//! checked before calling), and the execution role deployed through its StackSet. The
//! reconciler repairs what events missed, in batches.

use crate::config::{Config, DocumentSelector, PermissionModel};
use crate::model::{
    AccountId, DocumentName, DocumentShare, OnboardingAction, Region, RoleOutcome, ShareOutcome,
};
use crate::ports::{AccountStatus, Directory, Documents, Roles};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// SSM's limit on the accounts a private document may be shared with.
pub const MAX_SHARED_ACCOUNTS: usize = 1000;

/// What onboarding does for a trigger: onboard an account that joined, offboard one that left;
/// nothing (`None`) for every other trigger (pending, failed, moved, ignored, runs).
pub fn onboarding_action(
    trigger: &crate::events::Trigger,
) -> Option<(AccountId, OnboardingAction)> {
    use crate::events::Trigger;
    match trigger {
        Trigger::AccountJoined { account_id, .. } => {
            Some((account_id.clone(), OnboardingAction::Onboard))
        }
        Trigger::AccountLeft { account_id, .. } => {
            Some((account_id.clone(), OnboardingAction::Offboard))
        }
        _ => None,
    }
}

/// The documents the config selects in `region`: named ones (missing ones reported as such) and
/// every owned document that starts with a prefix.
async fn selected_documents(
    documents: &dyn Documents,
    config: &Config,
    region: &Region,
) -> Result<Vec<std::result::Result<DocumentName, (DocumentName, String)>>> {
    let owned: BTreeSet<DocumentName> = documents.owned(region).await?.into_iter().collect();
    let mut selected = Vec::new();
    let mut seen = BTreeSet::new();
    for selector in &config.documents.share {
        match selector {
            DocumentSelector::Name(name) => {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if owned.contains(name) {
                    selected.push(Ok(name.clone()));
                } else {
                    selected.push(Err((
                        name.clone(),
                        format!("the central account has no document {name} in {region}"),
                    )));
                }
            }
            DocumentSelector::Prefix(prefix) => {
                for name in owned
                    .iter()
                    .filter(|name| name.as_str().starts_with(prefix.as_str()))
                {
                    if seen.insert(name.clone()) {
                        selected.push(Ok(name.clone()));
                    }
                }
            }
        }
    }
    Ok(selected)
}

/// Shares (or, offboarding, unshares) every selected document in every sharing Region with
/// `account`. Each document and Region gets its own outcome; one failure does not stop the
/// rest. A Region whose documents cannot even be listed is reported in the returned errors.
pub async fn share_documents(
    documents: &dyn Documents,
    config: &Config,
    account: &AccountId,
    action: OnboardingAction,
    dry_run: bool,
) -> (Vec<DocumentShare>, Vec<String>) {
    let mut shares = Vec::new();
    let mut errors = Vec::new();
    for region in config.sharing_regions() {
        let selected = match selected_documents(documents, config, region).await {
            Ok(selected) => selected,
            Err(error) => {
                errors.push(format!("cannot list the documents in {region}: {error}"));
                continue;
            }
        };
        for document in selected {
            let (document, outcome) = match document {
                Err((document, reason)) => (document, ShareOutcome::Failed(reason)),
                Ok(document) => {
                    let outcome =
                        share_one(documents, &document, region, account, action, dry_run).await;
                    (document, outcome)
                }
            };
            shares.push(DocumentShare {
                document,
                region: region.clone(),
                outcome,
            });
        }
    }
    (shares, errors)
}

async fn share_one(
    documents: &dyn Documents,
    document: &DocumentName,
    region: &Region,
    account: &AccountId,
    action: OnboardingAction,
    dry_run: bool,
) -> ShareOutcome {
    let current = match documents.shared_with(document, region).await {
        Ok(current) => current,
        Err(error) => return ShareOutcome::Failed(format!("cannot read its sharing: {error}")),
    };
    let has = current.iter().any(|id| id == account.as_str());
    let change = match (action, has) {
        (OnboardingAction::Onboard, true) => return ShareOutcome::AlreadyShared,
        (OnboardingAction::Offboard, false) => return ShareOutcome::NotShared,
        (OnboardingAction::Onboard, false) if current.len() >= MAX_SHARED_ACCOUNTS => {
            return ShareOutcome::LimitReached(format!(
                "{document} is shared with {} accounts in {region}, SSM's limit for a private document",
                current.len()
            ));
        }
        (OnboardingAction::Onboard, false) if dry_run => return ShareOutcome::WouldShare,
        (OnboardingAction::Offboard, true) if dry_run => return ShareOutcome::WouldUnshare,
        (action, _) => action,
    };
    let accounts = std::slice::from_ref(account);
    let result = match change {
        OnboardingAction::Onboard => {
            documents
                .modify_sharing(document, region, accounts, &[])
                .await
        }
        OnboardingAction::Offboard => {
            documents
                .modify_sharing(document, region, &[], accounts)
                .await
        }
    };
    match (result, change) {
        (Ok(()), OnboardingAction::Onboard) => ShareOutcome::Shared,
        (Ok(()), OnboardingAction::Offboard) => ShareOutcome::Unshared,
        // Shared elsewhere since it was read (or by someone else): SSM's own limit answer.
        (Err(error), _) if error.aws_code() == Some("DocumentPermissionLimit") => {
            ShareOutcome::LimitReached(error.to_string())
        }
        (Err(error), _) => ShareOutcome::Failed(error.to_string()),
    }
}

/// Deploys (or removes) the execution role in `account`, unless it is already there (gone).
/// With a service-managed StackSet, Organizations' auto-deployment does both: the fabric only
/// verifies that the account's stack instance is there (or gone).
pub async fn deploy_role(
    roles: &dyn Roles,
    model: PermissionModel,
    account: &AccountId,
    action: OnboardingAction,
    dry_run: bool,
) -> RoleOutcome {
    let deployed = match roles.deployed().await {
        Ok(deployed) => deployed.contains(account),
        Err(error) => {
            return RoleOutcome::Failed(format!("cannot list the role's stack instances: {error}"));
        }
    };
    let accounts = std::slice::from_ref(account);
    if model == PermissionModel::ServiceManaged {
        return match (action, deployed) {
            (OnboardingAction::Onboard, true) => RoleOutcome::VerifiedAutoDeployed,
            (OnboardingAction::Offboard, false) => RoleOutcome::NotDeployed,
            (OnboardingAction::Onboard, false) => RoleOutcome::Failed(
                "the service-managed StackSet has no stack instance in this account yet: check its auto-deployment targets the account's OU".to_owned(),
            ),
            (OnboardingAction::Offboard, true) => RoleOutcome::Failed(
                "the service-managed StackSet still has a stack instance here: auto-deployment removes it when the account leaves the targeted OUs".to_owned(),
            ),
        };
    }
    match (action, deployed) {
        (OnboardingAction::Onboard, true) => RoleOutcome::AlreadyDeployed,
        (OnboardingAction::Offboard, false) => RoleOutcome::NotDeployed,
        (_, _) if dry_run => RoleOutcome::Skipped("dry run: the role would be changed".to_owned()),
        (OnboardingAction::Onboard, false) => match roles.deploy(accounts).await {
            Ok(()) => RoleOutcome::Deployed,
            Err(error) => RoleOutcome::Failed(error.to_string()),
        },
        (OnboardingAction::Offboard, true) => match roles.remove(accounts).await {
            Ok(()) => RoleOutcome::Removed,
            Err(error) => RoleOutcome::Failed(error.to_string()),
        },
    }
}

/// Refuses to onboard or offboard the central account: it owns the documents and the fabric
/// never targets it, whatever an event, a run input or a person asks.
pub fn onboardable(config: &Config, account: &AccountId, action: OnboardingAction) -> Result<()> {
    if account == &config.central_account {
        return Err(Error::NotOnboardable {
            account: account.to_string(),
            action: match action {
                OnboardingAction::Onboard => "onboarded",
                OnboardingAction::Offboard => "offboarded",
            },
            reason: "it is the central account, which owns the documents and is never a target"
                .to_owned(),
        });
    }
    Ok(())
}

/// What the reconciler found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// Active member accounts in scope.
    pub accounts: usize,
    /// For each `document@region`, the accounts it was (or, in a dry run, would be) shared with.
    pub shared: BTreeMap<String, Vec<AccountId>>,
    /// Accounts the role was (or would be) deployed to.
    pub roles_deployed: Vec<AccountId>,
    /// For each `document@region`, the accounts that are no longer active members (they left,
    /// were removed or closed, with or without an event) it was (or would be) unshared from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unshared: BTreeMap<String, Vec<AccountId>>,
    /// Accounts no longer active members whose execution role was (or would be) removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles_removed: Vec<AccountId>,
    /// Problems, each for one document, Region or the role.
    pub errors: Vec<String>,
    /// Whether anything was changed.
    pub dry_run: bool,
}

impl ReconcileReport {
    /// True when nothing was missing.
    pub fn in_sync(&self) -> bool {
        self.shared.values().all(Vec::is_empty)
            && self.unshared.values().all(Vec::is_empty)
            && self.roles_deployed.is_empty()
            && self.roles_removed.is_empty()
            && self.errors.is_empty()
    }
}

/// The organization's active member accounts (the central account aside).
async fn active_members(directory: &dyn Directory, config: &Config) -> Result<BTreeSet<AccountId>> {
    let root = directory.root().await?;
    Ok(directory
        .accounts_under(&root, true)
        .await?
        .into_iter()
        .filter(|account| {
            account.status == AccountStatus::Active && account.id != config.central_account
        })
        .map(|account| account.id)
        .collect())
}

/// What one document in one Region lacks and has too many of: active members it is not shared
/// with (shared, within SSM's 1,000-account limit), and accounts that are not active members
/// any more (unshared).
async fn reconcile_document(
    documents: &dyn Documents,
    document: &DocumentName,
    region: &Region,
    active: &BTreeSet<AccountId>,
    config: &Config,
    report: &mut ReconcileReport,
) -> Result<()> {
    let place = format!("{document}@{region}");
    let current: BTreeSet<String> = documents
        .shared_with(document, region)
        .await?
        .into_iter()
        .collect();
    let mut missing: Vec<AccountId> = active
        .iter()
        .filter(|id| !current.contains(id.as_str()))
        .cloned()
        .collect();
    let free_slots = MAX_SHARED_ACCOUNTS.saturating_sub(current.len());
    if missing.len() > free_slots {
        report.errors.push(format!(
            "{document} in {region}: {} accounts are missing but SSM allows only {free_slots} more shares (1,000 accounts per private document)",
            missing.len()
        ));
        missing.truncate(free_slots);
    }
    let departed = departed(
        current.iter().filter_map(|id| AccountId::new(id).ok()),
        active,
        config,
    );
    let changes = !missing.is_empty() || !departed.is_empty();
    if changes && !report.dry_run {
        if let Err(error) = documents
            .modify_sharing(document, region, &missing, &departed)
            .await
        {
            report
                .errors
                .push(format!("{document} in {region}: {error}"));
            return Ok(());
        }
    }
    if !departed.is_empty() {
        report.unshared.insert(place.clone(), departed);
    }
    report.shared.insert(place, missing);
    Ok(())
}

/// Of `accounts`, those that are not active members any more: the account left or was removed
/// or closed (the events of a leaving account are recorded in that account and may never reach
/// the fabric), or joined and left between two reconciles. Never the central account.
fn departed(
    accounts: impl Iterator<Item = AccountId>,
    active: &BTreeSet<AccountId>,
    config: &Config,
) -> Vec<AccountId> {
    accounts
        .filter(|id| !active.contains(id) && *id != config.central_account)
        .collect()
}

/// Finds every active member account that lacks a share or the role, and every account that is
/// no longer an active member but keeps them, and repairs both: shares in batches of 20
/// accounts per call, one StackSet operation for all missing roles and one for all departed.
pub async fn reconcile(
    directory: &dyn Directory,
    documents: &dyn Documents,
    roles: &dyn Roles,
    config: &Config,
    dry_run: bool,
) -> Result<ReconcileReport> {
    let active = active_members(directory, config).await?;
    let mut report = ReconcileReport {
        accounts: active.len(),
        shared: BTreeMap::new(),
        roles_deployed: Vec::new(),
        unshared: BTreeMap::new(),
        roles_removed: Vec::new(),
        errors: Vec::new(),
        dry_run,
    };
    for region in config.sharing_regions() {
        for document in selected_documents(documents, config, region).await? {
            match document {
                Ok(document) => {
                    reconcile_document(documents, &document, region, &active, config, &mut report)
                        .await?;
                }
                Err((_, reason)) => report.errors.push(reason),
            }
        }
    }
    let deployed = roles.deployed().await?;
    let missing: Vec<AccountId> = active
        .iter()
        .filter(|id| !deployed.contains(*id))
        .cloned()
        .collect();
    if !missing.is_empty() && !dry_run {
        if let Err(error) = roles.deploy(&missing).await {
            report.errors.push(format!("the execution role: {error}"));
        }
    }
    report.roles_deployed = missing;
    let departed = departed(deployed.into_iter(), &active, config);
    if !departed.is_empty() && !dry_run {
        if let Err(error) = roles.remove(&departed).await {
            report.errors.push(format!("the execution role: {error}"));
        }
    }
    report.roles_removed = departed;
    Ok(report)
}
