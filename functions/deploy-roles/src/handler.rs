//! `DeployRole`: deploys (offboarding: removes) the execution role's stack instance for one
//! account, unless it is already so (with a service-managed StackSet: verifies that
//! auto-deployment did it). The central account is refused.

use fabric::steps::{OnboardingPorts, onboarding};
use fabric::workflow::{OnboardingInput, RoleDone};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Deploys for one account.
pub(crate) async fn handle(
    ports: &OnboardingPorts<'_>,
    event: LambdaEvent<OnboardingInput>,
) -> Result<RoleDone, FunctionError> {
    Ok(onboarding::deploy_role(ports, &event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, onboarding_input, throttled};
    use fabric::model::RoleOutcome;
    use fabric_lambda::{error_type, invocation};

    #[tokio::test]
    async fn when_an_account_joins_then_the_role_is_deployed_there() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("444455556666"));
        let done = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("deployed");
        assert_eq!(done.role, RoleOutcome::Deployed);
        assert_eq!(fakes.roles.deployed.lock().expect("not poisoned").len(), 1);
    }

    #[tokio::test]
    async fn when_the_stack_set_is_throttled_then_the_outcome_says_so() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes.roles.faults.fail("deploy", 0, 1, throttled);
        let event = invocation(onboarding_input("444455556666"));
        let done = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("a failed deployment is an outcome, not an error");
        assert!(
            matches!(&done.role, RoleOutcome::Failed(reason) if reason.contains("ThrottlingException")),
            "{:?}",
            done.role
        );
    }

    #[tokio::test]
    async fn when_the_account_is_the_central_one_then_no_role_is_deployed() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("111122223333"));
        let error = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect_err("the central account");
        assert_eq!(error_type(error), "Fabric.NotOnboardable");
        assert!(
            fakes
                .roles
                .deployed
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
    }
}
