//! Onboarding against a private, seeded local stack with the real SDK clients: an account
//! that joins is onboarded from its event (once, however often the event comes), runs then
//! succeed there and fail where nobody onboarded; events that are not joins change nothing; an
//! account that leaves is offboarded; the reconciler finds exactly the seeded drift, repairs
//! it, and shares in batches of 20 accounts.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use fabric::events::TriggerEvent;
use fabric::model::{
    AccountId, AutomationStatus, LocationStatus, OnboardingAction, OnboardingReport, RoleOutcome,
    ShareOutcome,
};
use fabric::steps::onboarding::{AccountEventAction, account_event_action};
use fabric_tests::{Organization, World, account_created};

/// What the account-events function makes of `event` (an onboarding or an offboarding),
/// carried out through the local onboarding workflow.
async fn onboard_from(world: &World, event: &TriggerEvent) -> OnboardingReport {
    let AccountEventAction::Onboard(input) = account_event_action(&world.config, event) else {
        panic!("{:?} starts no onboarding", event.trigger);
    };
    world
        .onboard(input)
        .await
        .expect("the onboarding workflow ends with its report")
}

#[tokio::test]
async fn when_an_account_joins_then_its_event_onboards_it_once_and_runs_succeed_there_only() {
    let world = Organization::of(3)
        .onboarded()
        .without_instances()
        .world()
        .await;
    let joined = world.create_account("joined").await;
    let never_onboarded = world.create_account("never-onboarded").await;
    let event = account_created(&joined);

    // Delivered three times: one onboarding, and no mutating call after the first.
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(onboard_from(&world, &event).await);
    }
    let shares = world.config.sharing_regions().len() * world.org.seed.documents.len();
    assert_eq!(reports[0].shares.len(), shares);
    assert!(
        reports[0]
            .shares
            .iter()
            .all(|share| share.outcome == ShareOutcome::Shared),
        "{:?}",
        reports[0].shares
    );
    assert_eq!(reports[0].role, RoleOutcome::Deployed);
    for again in &reports[1..] {
        assert!(
            again
                .shares
                .iter()
                .all(|share| share.outcome == ShareOutcome::AlreadyShared)
        );
        assert_eq!(again.role, RoleOutcome::AlreadyDeployed);
    }
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        u64::try_from(shares).expect("small")
    );
    assert_eq!(world.forwarded("cloudformation.CreateStackInstances"), 1);
    for (document, accounts) in world.sharing().await {
        assert!(
            accounts.contains(&joined.to_string()),
            "{document} is not shared with {joined}"
        );
        assert!(
            !accounts.contains(&never_onboarded.to_string()),
            "{document}"
        );
    }

    // A run over both: it succeeds where the account was onboarded, fails where it was not.
    let report = world
        .run_in(&[joined.clone(), never_onboarded.clone()])
        .await;
    for result in report.locations() {
        if result.location.account_id == joined {
            assert_eq!(
                result.status,
                LocationStatus::Automation(AutomationStatus::Success)
            );
        } else {
            assert_eq!(
                result.status,
                LocationStatus::Automation(AutomationStatus::Failed)
            );
            let message = result.failure_message.as_deref().unwrap_or_default();
            assert!(message.contains("Unable to assume role"), "{message}");
        }
    }
}

#[tokio::test]
async fn when_events_are_not_joins_then_nothing_changes_and_a_leaving_account_is_offboarded() {
    let world = Organization::of(3)
        .onboarded()
        .without_instances()
        .world()
        .await;
    for fixture in [
        include_str!("../fixtures/events/org-create-account-result-failed.json"),
        include_str!("../fixtures/events/org-invite-account.json"),
        include_str!("../fixtures/events/org-remove-account-access-denied.json"),
        include_str!("../fixtures/events/cloudwatch-alarm-metric-ok.json"),
    ] {
        let event = TriggerEvent::from_slice(fixture.as_bytes()).expect("a known event");
        let action = account_event_action(&world.config, &event);
        assert!(
            !matches!(action, AccountEventAction::Onboard(_)),
            "{:?}: {action:?}",
            event.trigger
        );
    }
    let calls_before = world.org.stack.simulator().faults().stats().forwarded;

    let leaving = AccountId::new(world.org.seed.accounts[1].id.as_str()).expect("valid");
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/events/org-remove-account.json"))
            .expect("fixture");
    event["detail"]["requestParameters"]["accountId"] = leaving.to_string().into();
    let event = TriggerEvent::from_value(&event).expect("a removal");
    let report = onboard_from(&world, &event).await;
    assert_eq!(report.action, OnboardingAction::Offboard);
    assert!(
        report
            .shares
            .iter()
            .all(|share| share.outcome == ShareOutcome::Unshared),
        "{:?}",
        report.shares
    );
    assert_eq!(report.role, RoleOutcome::Removed);
    for (document, accounts) in world.sharing().await {
        assert!(
            !accounts.contains(&leaving.to_string()),
            "{document} is still shared with {leaving}"
        );
    }
    assert!(!world.onboarding_deployed().await.contains(&leaving));
    // Nothing mutating happened before the offboarding.
    assert_eq!(calls_before.get("AmazonSSM.ModifyDocumentPermission"), None);
}

#[tokio::test]
async fn when_reconciling_then_the_dry_run_lists_exactly_the_seeded_drift_and_the_run_repairs_it() {
    let world = Organization::of(6)
        .onboarded()
        .without_role(1)
        .without_shares(2)
        .without_instances()
        .world()
        .await;
    let unshared: Vec<String> = world
        .org
        .seed
        .accounts
        .iter()
        .filter(|a| !a.shared)
        .map(|a| a.id.clone())
        .collect();
    let roleless: Vec<String> = world
        .org
        .seed
        .accounts
        .iter()
        .filter(|a| !a.execution_role)
        .map(|a| a.id.clone())
        .collect();
    assert_eq!((unshared.len(), roleless.len()), (2, 1));
    let drift = world.reconcile(true).await;
    assert_eq!(drift.accounts, 6);
    assert_eq!(
        drift.shared.len(),
        world.config.sharing_regions().len() * world.org.seed.documents.len()
    );
    for (document, accounts) in &drift.shared {
        let mut accounts: Vec<String> = accounts.iter().map(ToString::to_string).collect();
        accounts.sort();
        let mut expected = unshared.clone();
        expected.sort();
        assert_eq!(accounts, expected, "{document}");
    }
    assert_eq!(
        drift
            .roles_deployed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        roleless
    );
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        0,
        "a dry run changes nothing"
    );

    let repaired = world.reconcile(false).await;
    assert!(repaired.errors.is_empty(), "{:?}", repaired.errors);
    assert!(world.reconcile(true).await.in_sync());
}

#[tokio::test]
async fn when_45_accounts_are_shared_at_once_then_each_document_and_region_takes_3_calls() {
    let world = Organization::of(45).without_instances().world().await;
    let report = world.reconcile(false).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let pairs = world.config.sharing_regions().len() * world.org.seed.documents.len();
    assert_eq!(
        world.forwarded("AmazonSSM.ModifyDocumentPermission"),
        u64::try_from(pairs * 3).expect("small")
    );
    assert_eq!(world.forwarded("cloudformation.CreateStackInstances"), 1);
    assert_eq!(report.roles_deployed.len(), 45);
}

#[tokio::test]
async fn when_an_account_leaves_without_an_event_then_the_next_reconcile_unshares_and_removes_its_role()
 {
    let world = Organization::of(3).onboarded().world().await;
    let leaver = world.member_accounts()[0].clone();
    assert!(world.onboarding_deployed().await.contains(&leaver));
    world
        .organizations
        .remove_account_from_organization()
        .account_id(leaver.as_str())
        .send()
        .await
        .expect("RemoveAccountFromOrganization");

    let report = world.reconcile(false).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.roles_removed, vec![leaver.clone()]);
    assert!(
        report
            .unshared
            .values()
            .all(|accounts| accounts == &vec![leaver.clone()]),
        "{:?}",
        report.unshared
    );
    for (document, accounts) in world.sharing().await {
        assert!(
            !accounts.contains(&leaver.to_string()),
            "{document} is no longer shared with {leaver}"
        );
    }
    assert!(!world.onboarding_deployed().await.contains(&leaver));
    assert!(
        world.reconcile(true).await.in_sync(),
        "the next reconcile finds nothing to do"
    );
}
