//! The onboarding state machine executed: every step sent the account, both outcomes in the
//! report, a failed step or an account never ready reported with the reason.

use super::*;

pub(super) fn onboarding_input() -> OnboardingInput {
    OnboardingInput {
        account_id: AccountId::new("210987654321").expect("valid"),
        action: OnboardingAction::Onboard,
        trigger_key: "org-create-account-result-5b1c".to_owned(),
        dry_run: false,
    }
}

/// What each Lambda task of the onboarding state machine answers.
pub(super) fn onboarding_answers(ready: bool) -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        (
            "CheckAccount",
            answer(&AccountReadiness {
                ready,
                status: if ready { "ACTIVE" } else { "PENDING" }.to_owned(),
            }),
        ),
        (
            "ShareDocuments",
            answer(&SharesDone {
                shares: Vec::new(),
                errors: Vec::new(),
            }),
        ),
        (
            "DeployRole",
            answer(&RoleDone {
                role: RoleOutcome::Deployed,
            }),
        ),
        (
            "PublishReport",
            answer(&ReportPublished {
                report: REPORT_URI.to_owned(),
                message_id: Some("message-1".to_owned()),
            }),
        ),
    ])
}

#[tokio::test]
async fn when_every_onboarding_step_succeeds_then_each_is_sent_the_account_and_the_report_has_both_outcomes()
 {
    let interpreter = Interpreter::start().await;
    let input = onboarding_input();
    let execution = interpreter
        .execute(
            "account-onboarding",
            &onboarding_answers(true),
            None,
            &serde_json::to_value(&input).expect("JSON"),
        )
        .await;

    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}");
    let steps = execution.steps();
    assert_eq!(steps.first(), Some(&"CheckAccount"));
    assert_eq!(steps.last(), Some(&"PublishReport"));
    let mut parallel = steps[1..steps.len() - 1].to_vec();
    parallel.sort_unstable();
    assert_eq!(parallel, ["DeployRole", "ShareDocuments"]);
    for step in ["CheckAccount", "ShareDocuments", "DeployRole"] {
        let sent: OnboardingInput = serde_json::from_value(execution.payload_of(step).clone())
            .unwrap_or_else(|error| panic!("{step} is sent an OnboardingInput: {error}"));
        assert_eq!(sent, input, "{step}");
    }
    match execution.publish_request() {
        PublishRequest::Onboarding {
            input: sent,
            shares,
            role,
            error,
        } => {
            assert_eq!(sent, input);
            assert!(shares.is_some(), "the sharing outcome is reported");
            assert_eq!(
                role.map(|done| done.role),
                Some(RoleOutcome::Deployed),
                "the role outcome is reported"
            );
            assert_eq!(error, None);
        }
        PublishRequest::Run { .. } | PublishRequest::Approval { .. } => {
            panic!("onboarding publishes an onboarding report")
        }
    }
}

#[tokio::test]
async fn when_an_onboarding_step_fails_or_the_account_never_gets_ready_then_the_report_says_why() {
    let interpreter = Interpreter::start().await;
    let input = serde_json::to_value(onboarding_input()).expect("JSON");
    let ready = onboarding_answers(true);
    let never_ready = onboarding_answers(false);
    let failing = ["CheckAccount", "ShareDocuments", "DeployRole"];
    let (failed, pending) = tokio::join!(
        futures_util::future::join_all(failing.map(|step| interpreter.execute(
            "account-onboarding",
            &ready,
            Some(step),
            &input
        ))),
        interpreter.execute("account-onboarding", &never_ready, None, &input),
    );

    let cases = failing
        .iter()
        .copied()
        .zip(&failed)
        .chain([("never ready", &pending)]);
    for (case, execution) in cases {
        assert_eq!(execution.status, "FAILED", "{case}: {execution:?}");
        assert_eq!(
            execution.error.as_deref(),
            Some("Fabric.OnboardingFailed"),
            "{case}"
        );
        let PublishRequest::Onboarding { error, .. } = execution.publish_request() else {
            panic!("{case}: onboarding publishes an onboarding report");
        };
        assert!(
            error.is_some_and(|error| !error.error.is_empty()),
            "{case}: the report carries the error"
        );
    }
    let steps = pending.steps();
    let checks = steps.iter().filter(|step| **step == "CheckAccount").count();
    assert_eq!(checks, 21, "the first check and 20 more, then NotReady");
    let PublishRequest::Onboarding { error, .. } = pending.publish_request() else {
        panic!("an onboarding report");
    };
    assert_eq!(error.expect("an error").error, "Fabric.AccountNotReady");
}
