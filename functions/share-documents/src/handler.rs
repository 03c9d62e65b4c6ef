//! Shares or unshares every configured document in every configured Region; each document
//! and Region gets its own outcome.

use fabric::config::Config;
use fabric::onboarding::share_documents;
use fabric::ports::Documents;
use fabric::workflow::{OnboardingInput, SharesDone};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Shares for one account.
pub(crate) async fn handle(
    documents: &dyn Documents,
    config: &Config,
    event: LambdaEvent<OnboardingInput>,
) -> Result<SharesDone, FunctionError> {
    let input = event.payload;
    let (shares, errors) =
        share_documents(documents, config, &input.account_id, input.action, false).await;
    Ok(SharesDone { shares, errors })
}
