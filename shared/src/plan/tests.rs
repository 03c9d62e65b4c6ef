//! The planner against an organization held in memory: OUs, nested OUs, exclusions, inactive
//! and unknown accounts, duplicates across waves, SSM's limits, deterministic client tokens,
//! and every candidate location accounted for exactly once.

use super::*;
use crate::model::{OuId, RunSpec, RunTrigger};
use crate::ports::OrgAccount;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One OU: its child OUs, and its accounts with their status.
type Unit = (Vec<String>, Vec<(String, AccountStatus)>);

/// An organization: OU id -> unit.
#[derive(Default)]
struct Organization {
    units: BTreeMap<String, Unit>,
    /// Accounts with only some Regions enabled (the rest have all).
    enabled: BTreeMap<String, Vec<String>>,
}

fn account_id(n: usize) -> String {
    format!("{:012}", 100_000_000_000 + n)
}

#[async_trait]
impl Directory for Organization {
    async fn accounts_under(&self, parent: &OuId, recursive: bool) -> Result<Vec<OrgAccount>> {
        let mut found = Vec::new();
        let mut pending = vec![parent.as_str().to_owned()];
        while let Some(unit) = pending.pop() {
            let Some((children, accounts)) = self.units.get(&unit) else {
                continue;
            };
            found.extend(accounts.iter().map(|(id, status)| OrgAccount {
                id: AccountId::new(id.as_str()).expect("valid"),
                name: id.clone(),
                status: status.clone(),
                parent: OuId::new(unit.as_str()).ok(),
            }));
            if recursive {
                pending.extend(children.iter().cloned());
            }
        }
        Ok(found)
    }

    async fn root(&self) -> Result<OuId> {
        OuId::new("r-root")
    }

    async fn enabled_regions(&self, account: &AccountId) -> Result<Option<BTreeSet<Region>>> {
        Ok(self.enabled.get(account.as_str()).map(|regions| {
            regions
                .iter()
                .map(|r| Region::new(r.as_str()).expect("valid"))
                .collect()
        }))
    }

    async fn account(&self, id: &AccountId) -> Result<Option<OrgAccount>> {
        Ok(self
            .units
            .values()
            .flat_map(|(_, accounts)| accounts)
            .find(|(a, _)| a == id.as_str())
            .map(|(a, status)| OrgAccount {
                id: AccountId::new(a.as_str()).expect("valid"),
                name: a.clone(),
                status: status.clone(),
                parent: None,
            }))
    }
}

/// r-root -> ou-root-workload1 (accounts 0..4, account 3 suspended) -> ou-root-prod0001 (4..8).
fn organization() -> Organization {
    let mut org = Organization::default();
    let active = |range: std::ops::Range<usize>| {
        range
            .map(|n| (account_id(n), AccountStatus::Active))
            .collect::<Vec<_>>()
    };
    let mut workload = active(0..4);
    workload[3].1 = AccountStatus::Suspended;
    org.units.insert(
        "r-root".to_owned(),
        (vec!["ou-root-workload1".to_owned()], Vec::new()),
    );
    org.units.insert(
        "ou-root-workload1".to_owned(),
        (vec!["ou-root-prod0001".to_owned()], workload),
    );
    org.units
        .insert("ou-root-prod0001".to_owned(), (Vec::new(), active(4..8)));
    // Account 2 has only us-east-1 enabled.
    org.enabled
        .insert(account_id(2), vec!["us-east-1".to_owned()]);
    org
}

fn request(spec: &str) -> RunRequest {
    let spec: RunSpec = serde_json::from_str(spec).expect("a valid spec");
    RunRequest {
        profile: Some("test".to_owned()),
        spec,
        trigger: RunTrigger::Manual {
            requested_by: "test".to_owned(),
        },
    }
}

fn regions() -> Vec<Region> {
    ["us-east-1", "us-west-2"]
        .map(|r| Region::new(r).expect("valid"))
        .to_vec()
}

async fn plan(spec: &str, directory: &dyn Directory) -> RunPlan {
    let regions = regions();
    plan_run(
        "run-1",
        request(spec),
        directory,
        &PlanContext {
            default_regions: &regions,
        },
    )
    .await
    .expect("plans")
}

fn planned(plan: &RunPlan) -> Vec<Location> {
    plan.waves
        .iter()
        .flat_map(|wave| wave.locations().cloned())
        .collect()
}

#[tokio::test]
async fn when_an_ou_is_targeted_with_children_then_active_accounts_run_and_the_rest_are_skipped_with_reasons()
 {
    let org = organization();
    let plan = plan(
        &format!(
            r#"{{"document": "Doc-Name", "target_locations": [{{"accounts": ["ou-root-workload1", "{}"],
                "include_child_organization_units": true, "exclude_accounts": ["{}"]}}]}}"#,
            account_id(99),
            account_id(5)
        ),
        &org,
    )
    .await;
    // 8 accounts under the OU, minus the suspended one and the excluded one: 6 x 2 Regions,
    // less the Region account 2 has not enabled.
    assert_eq!(plan.planned_count(), 11);
    let reasons: BTreeMap<String, &str> = plan
        .skipped
        .iter()
        .map(|skip| (skip.location.account_id.to_string(), skip.reason.as_str()))
        .collect();
    assert_eq!(
        reasons.get(&account_id(3)),
        Some(&"the account is SUSPENDED")
    );
    assert_eq!(
        reasons.get(&account_id(5)),
        Some(&"excluded by exclude_accounts")
    );
    assert_eq!(
        reasons.get(&account_id(99)),
        Some(&"the account is not a member of the organization")
    );
    assert_eq!(
        reasons.get(&account_id(2)),
        Some(&"the Region us-west-2 is not enabled in the account")
    );
    assert_eq!(
        plan.skipped.len(),
        7,
        "three accounts x two Regions, and one Region of account 2"
    );
    // The page groups accounts by the OU they are directly in; an account named directly has none.
    let ou_of = |n| {
        plan.ous
            .get(&AccountId::new(account_id(n)).expect("valid"))
            .map(OuId::as_str)
    };
    assert_eq!(ou_of(1), Some("ou-root-workload1"));
    assert_eq!(ou_of(6), Some("ou-root-prod0001"));
    assert!(
        !plan
            .ous
            .contains_key(&AccountId::new(account_id(99)).expect("valid"))
    );
}

#[tokio::test]
async fn when_child_ous_are_not_included_then_only_direct_accounts_run() {
    let plan = plan(r#"{"document": "Doc-Name", "target_locations": [{"accounts": ["ou-root-workload1"], "regions": ["us-east-1"]}]}"#, &organization()).await;
    assert_eq!(plan.planned_count(), 3);
}

#[tokio::test]
async fn when_a_location_is_in_two_waves_then_it_runs_only_in_the_first() {
    let plan = plan(
        r#"{"document": "Doc-Name", "waves": [
            {"name": "canary", "target_locations": [{"accounts": ["ou-root-prod0001"]}], "gate": {"min_success_percent": 100}},
            {"name": "rest", "target_locations": [{"accounts": ["r-root"], "include_child_organization_units": true}]}]}"#,
        &organization(),
    )
    .await;
    assert_eq!(plan.waves[0].locations().count(), 8);
    assert_eq!(
        plan.waves[1].locations().count(),
        5,
        "account 2 has not enabled us-west-2"
    );
    assert_eq!(
        plan.waves[0]
            .gate
            .as_ref()
            .map(|gate| gate.min_success_percent),
        Some(100)
    );
    let all = planned(&plan);
    let unique: BTreeSet<&Location> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "no location is planned twice");
}

/// An organization of `n` active accounts directly under the root.
fn flat_organization(n: usize) -> Organization {
    let mut org = Organization::default();
    org.units.insert(
        "r-root".to_owned(),
        (
            Vec::new(),
            (0..n)
                .map(|i| (account_id(i), AccountStatus::Active))
                .collect(),
        ),
    );
    org
}

#[tokio::test]
async fn when_a_request_exceeds_ssm_limits_then_it_is_split_into_calls_within_them() {
    let org = flat_organization(6000);
    let regions: Vec<String> = (1..=60).map(|n| format!("\"us-test-{n}\"")).collect();
    let plan = plan(
        &format!(r#"{{"document": "Doc-Name", "target_locations": [{{"accounts": ["r-root"], "regions": [{}]}}]}}"#, regions.join(",")),
        &org,
    )
    .await;
    assert_eq!(plan.planned_count(), 6000 * 60);
    let calls = &plan.waves[0].calls;
    for call in calls {
        assert!(call.target_locations.len() <= MAX_TARGET_LOCATIONS);
        for location in &call.target_locations {
            assert!(location.accounts.len() <= MAX_ACCOUNTS);
            assert!(location.regions.len() <= MAX_REGIONS);
        }
    }
    // 120 account chunks x 2 Region chunks = 240 target locations: 3 calls.
    assert_eq!(calls.len(), 3);
    let tokens: BTreeSet<&str> = calls
        .iter()
        .map(|call| call.client_token.as_str())
        .collect();
    assert_eq!(tokens.len(), 3, "each call has its own token");
}

#[tokio::test]
async fn when_the_same_run_is_planned_twice_then_its_client_tokens_are_the_same() {
    let org = flat_organization(3);
    let spec = r#"{"document": "Doc-Name", "target_locations": [{"accounts": ["r-root"]}]}"#;
    let first = plan(spec, &org).await;
    let again = plan(spec, &org).await;
    assert_eq!(
        first.waves[0].calls[0].client_token,
        again.waves[0].calls[0].client_token
    );
    assert!(uuid::Uuid::parse_str(&first.waves[0].calls[0].client_token).is_ok());
}

#[tokio::test]
async fn every_candidate_location_is_planned_or_skipped_exactly_once() {
    let org = organization();
    let plan = plan(
        &format!(
            r#"{{"document": "Doc-Name", "waves": [
                {{"name": "one", "target_locations": [{{"accounts": ["ou-root-workload1"], "exclude_accounts": ["{}"]}}]}},
                {{"name": "two", "target_locations": [{{"accounts": ["r-root"], "include_child_organization_units": true}}]}}]}}"#,
            account_id(1)
        ),
        &org,
    )
    .await;
    let planned = planned(&plan);
    let skipped: Vec<&Location> = plan.skipped.iter().map(|skip| &skip.location).collect();
    let mut seen = BTreeSet::new();
    for location in planned.iter().chain(skipped.iter().copied()) {
        assert!(seen.insert(location.clone()), "{location} appears twice");
    }
    // 8 accounts x 2 Regions, all accounted for.
    assert_eq!(seen.len(), 16);
}
