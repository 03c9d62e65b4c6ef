//! What onboarding did for one account: each document's share in each Region, and the
//! execution role, with the reason for anything that did not succeed.

use super::document::DocumentName;
use super::ids::{AccountId, Region};
use serde::{Deserialize, Serialize};

/// Whether the account joined (share and deploy) or left (unshare and remove).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingAction {
    /// Share the documents and deploy the role.
    Onboard,
    /// Unshare the documents and remove the role.
    Offboard,
}

/// What happened to one document's permission for the account in one Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum ShareOutcome {
    /// The account already had it: nothing was called.
    AlreadyShared,
    /// The fabric shared it now.
    Shared,
    /// The fabric removed the account's permission.
    Unshared,
    /// The account had no permission to remove.
    NotShared,
    /// The document is shared with 1,000 accounts already, SSM's limit for private documents.
    LimitReached(String),
    /// Sharing or unsharing failed.
    Failed(String),
    /// Dry run: this is what would be done.
    WouldShare,
    /// Dry run: this is what would be undone.
    WouldUnshare,
}

/// One document in one Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DocumentShare {
    /// The document.
    pub document: DocumentName,
    /// The Region it lives in.
    pub region: Region,
    /// What happened.
    #[serde(flatten)]
    pub outcome: ShareOutcome,
}

/// What happened to the execution role in the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum RoleOutcome {
    /// The role was there already.
    AlreadyDeployed,
    /// The fabric deployed it now.
    Deployed,
    /// Service-managed StackSets deploy it; the fabric checked that it is there.
    VerifiedAutoDeployed,
    /// The fabric removed it.
    Removed,
    /// There was nothing to remove.
    NotDeployed,
    /// Deploying or removing failed.
    Failed(String),
    /// Role deployment is not configured, or this was a dry run.
    Skipped(String),
}

/// The full account of onboarding (or offboarding) one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OnboardingReport {
    /// The account.
    pub account_id: AccountId,
    /// Onboard or offboard.
    pub action: OnboardingAction,
    /// The idempotency key of the trigger that started it.
    pub trigger_key: String,
    /// Every configured document in every configured Region.
    pub shares: Vec<DocumentShare>,
    /// The execution role.
    pub role: RoleOutcome,
    /// Errors that are not about one share or the role (e.g. the account was never ready).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl OnboardingReport {
    /// True when every share and the role ended as intended.
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty()
            && !matches!(self.role, RoleOutcome::Failed(_))
            && self.shares.iter().all(|share| {
                !matches!(
                    share.outcome,
                    ShareOutcome::Failed(_) | ShareOutcome::LimitReached(_)
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_share_failed_then_the_report_is_not_a_success_and_says_why() {
        let report = OnboardingReport {
            account_id: AccountId::new("444455556666").expect("valid"),
            action: OnboardingAction::Onboard,
            trigger_key: "account-joined-444455556666-0".to_owned(),
            shares: vec![DocumentShare {
                document: DocumentName::new("Automation-RunPatchBaseline").expect("valid"),
                region: Region::new("us-east-1").expect("valid"),
                outcome: ShareOutcome::LimitReached("shared with 1000 accounts".to_owned()),
            }],
            role: RoleOutcome::Deployed,
            errors: Vec::new(),
        };
        assert!(!report.succeeded());
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["shares"][0]["outcome"], "limit_reached");
        assert_eq!(json["shares"][0]["reason"], "shared with 1000 accounts");
        let back: OnboardingReport = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, report);
    }
}
