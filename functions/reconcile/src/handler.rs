//! Finds and repairs drift: shares missing for active accounts (20 accounts per call), roles
//! missing (one StackSet operation); reports what it did.

use fabric::aws::OnboardingServices;
use fabric::config::Config;
use fabric::onboarding::{ReconcileReport, reconcile};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Reconciles once (the schedule's event carries nothing the reconciler needs).
pub(crate) async fn handle(
    services: &OnboardingServices,
    config: &Config,
    _event: LambdaEvent<Value>,
) -> Result<ReconcileReport, FunctionError> {
    Ok(reconcile(
        &services.directory,
        &services.documents,
        &services.roles,
        config,
        false,
    )
    .await?)
}
