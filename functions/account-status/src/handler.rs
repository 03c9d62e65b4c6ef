//! `CheckAccount`: is the account an active member yet (the state machine waits, a Wait state
//! between checks, until it is). The central account is refused.

use fabric::steps::{OnboardingPorts, onboarding};
use fabric::workflow::{AccountReadiness, OnboardingInput};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Answers whether the account is ready.
pub(crate) async fn handle(
    ports: &OnboardingPorts<'_>,
    event: LambdaEvent<OnboardingInput>,
) -> Result<AccountReadiness, FunctionError> {
    Ok(onboarding::check_account(ports, &event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, onboarding_input, throttled};
    use fabric_lambda::{error_type, invocation};

    #[tokio::test]
    async fn when_the_account_is_an_active_member_then_it_is_ready() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("444455556666"));
        let readiness = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("checked");
        assert!(readiness.ready);
        assert_eq!(readiness.status, "ACTIVE");
    }

    #[tokio::test]
    async fn when_organizations_throttles_then_the_error_is_retryable() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes.directory.faults.fail("account", 0, 1, throttled);
        let event = invocation(onboarding_input("444455556666"));
        let error = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_account_is_the_central_one_then_it_is_refused() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("111122223333"));
        let error = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect_err("the central account");
        assert_eq!(error_type(error), "Fabric.NotOnboardable");
    }
}
