//! Deploys or removes the execution role's stack instance for one account, unless it is
//! already so (with a service-managed StackSet: verifies auto-deployment did it).

use fabric::config::PermissionModel;
use fabric::onboarding::deploy_role;
use fabric::ports::Roles;
use fabric::workflow::{OnboardingInput, RoleDone};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Deploys for one account.
pub(crate) async fn handle(
    roles: &dyn Roles,
    model: PermissionModel,
    event: LambdaEvent<OnboardingInput>,
) -> Result<RoleDone, FunctionError> {
    let input = event.payload;
    Ok(RoleDone {
        role: deploy_role(roles, model, &input.account_id, input.action, false).await,
    })
}
