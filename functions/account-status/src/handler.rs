//! Reads the account's state in the organization: the state machine waits (a Wait state, never
//! a tight loop) until it is an active member.

use fabric::ports::{AccountStatus, Directory};
use fabric::workflow::{AccountReadiness, OnboardingInput};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Answers whether the account is ready.
pub(crate) async fn handle(
    directory: &dyn Directory,
    event: LambdaEvent<OnboardingInput>,
) -> Result<AccountReadiness, FunctionError> {
    let account = directory.account(&event.payload.account_id).await?;
    Ok(match account {
        Some(account) => AccountReadiness {
            ready: account.status == AccountStatus::Active,
            status: format!("{:?}", account.status).to_uppercase(),
        },
        None => AccountReadiness {
            ready: false,
            status: "NOT_A_MEMBER".to_owned(),
        },
    })
}
