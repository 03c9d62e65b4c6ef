//! The scheduled reconciler: repairs drift (shares missing for active accounts, 20 accounts per
//! call; roles missing, one StackSet operation) and reports what it did.

use fabric::onboarding::ReconcileReport;
use fabric::steps::{OnboardingPorts, onboarding};
use fabric::workflow::ReconcileRequest;
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Reconciles once.
pub(crate) async fn handle(
    ports: &OnboardingPorts<'_>,
    event: LambdaEvent<ReconcileRequest>,
) -> Result<ReconcileReport, FunctionError> {
    Ok(onboarding::reconcile(ports, &event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, throttled};
    use fabric_lambda::{error_type, invocation};

    /// What the template's reconcile schedule sends.
    const SCHEDULED: &str = r#"{"reconcile": {"schedule_name": "automation-fabric-reconcile", "scheduled_time": "2026-11-28T02:00:00Z"}}"#;

    fn scheduled(json: &str) -> Result<LambdaEvent<ReconcileRequest>, serde_json::Error> {
        Ok(invocation(serde_json::from_str(json)?))
    }

    #[tokio::test]
    async fn when_accounts_lack_shares_and_roles_then_the_reconciler_repairs_them() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = scheduled(SCHEDULED).expect("the schedule's input");
        let report = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("reconciled");
        assert_eq!(report.accounts, 3);
        assert_eq!(report.roles_deployed.len(), 3);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    #[tokio::test]
    async fn when_organizations_throttles_then_the_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes
            .directory
            .faults
            .fail("accounts_under", 0, 1, throttled);
        let event = scheduled("{}").expect("an empty input");
        let error = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[test]
    fn when_the_input_has_unknown_fields_then_it_is_refused_before_any_call() {
        let error = scheduled(
            r#"{"reconcile": {"schedule_name": "x", "scheduled_time": "y"}, "accounts": ["*"]}"#,
        )
        .expect_err("not the schedule's shape");
        assert!(error.to_string().contains("unknown field"), "{error}");
    }
}
