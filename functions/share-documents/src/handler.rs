//! `ShareDocuments`: shares (offboarding: unshares) every configured document in every
//! configured Region; each document and Region gets its own outcome. The central account is
//! refused.

use fabric::steps::{OnboardingPorts, onboarding};
use fabric::workflow::{OnboardingInput, SharesDone};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Shares for one account.
pub(crate) async fn handle(
    ports: &OnboardingPorts<'_>,
    event: LambdaEvent<OnboardingInput>,
) -> Result<SharesDone, FunctionError> {
    Ok(onboarding::share_documents(ports, &event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, onboarding_input, throttled};
    use fabric::model::ShareOutcome;
    use fabric_lambda::{error_type, invocation};

    #[tokio::test]
    async fn when_an_account_joins_then_every_document_is_shared_in_every_region() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("444455556666"));
        let done = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("shared");
        assert!(done.errors.is_empty(), "{:?}", done.errors);
        // 3 documents (two named, one by prefix) in the example's 3 Regions.
        assert_eq!(done.shares.len(), 9);
        assert!(
            done.shares
                .iter()
                .all(|share| share.outcome == ShareOutcome::Shared)
        );
    }

    #[tokio::test]
    async fn when_listing_documents_is_throttled_then_the_region_reports_the_error() {
        let (fakes, config) = (FakeServices::example(), example_config());
        fakes.documents.faults.fail("owned", 0, 1, throttled);
        let event = invocation(onboarding_input("444455556666"));
        let done = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect("one Region's failure is an outcome, not an error");
        assert_eq!(done.errors.len(), 1, "{:?}", done.errors);
        assert!(
            done.errors[0].contains("ThrottlingException"),
            "{:?}",
            done.errors
        );
        assert_eq!(done.shares.len(), 6, "the other Regions are shared");
    }

    #[tokio::test]
    async fn when_the_account_is_the_central_one_then_nothing_is_shared() {
        let (fakes, config) = (FakeServices::example(), example_config());
        let event = invocation(onboarding_input("111122223333"));
        let error = handle(&fakes.onboarding_ports(&config), event)
            .await
            .expect_err("the central account");
        assert_eq!(error_type(error), "Fabric.NotOnboardable");
        assert!(
            fakes
                .documents
                .sharing
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
    }
}
