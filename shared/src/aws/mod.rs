//! Adapters: the only code that names `aws_sdk_*` types. Each module implements a port of
//! [`crate::ports`] over one service's client; SDK errors become [`crate::Error::Aws`] with
//! their code kept and whether a retry can help.

mod documents;
mod organizations;
mod s3;
mod sns;
mod ssm;
mod stack_sets;
mod step_functions;
mod sts;
mod wiring;

pub use documents::{MAX_ACCOUNTS_PER_CHANGE, SsmDocuments};
pub use organizations::OrganizationsDirectory;
pub use s3::S3ReportStore;
pub use sns::SnsNotifier;
pub use ssm::SsmAutomation;
pub use stack_sets::StackSetRoles;
pub use step_functions::StepFunctionsWorkflows;
pub use sts::AssumedRoleLocations;
pub use wiring::{OnboardingServices, RunServices, directory, notifier, organizations_client};

use crate::Error;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

/// The SDK configuration from the environment (credentials chain, Region, and
/// `AWS_ENDPOINT_URL` for the local stack).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Error codes after which the same call may succeed.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalServerError",
    "InternalFailure",
    "ConcurrentModificationException",
];

/// An SDK failure as the crate's error: its code, its message, and whether to retry. Takes
/// the error by value, as `map_err` hands it over.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn aws_error<E, R>(
    service: &'static str,
    operation: &'static str,
    error: SdkError<E, R>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    let code = error.code().map(str::to_owned);
    let message = error.message().map_or_else(
        || aws_sdk_ssm::error::DisplayErrorContext(&error).to_string(),
        str::to_owned,
    );
    let retryable = transient
        || code
            .as_deref()
            .is_some_and(|code| RETRYABLE_CODES.contains(&code));
    Error::Aws {
        service,
        operation,
        code,
        message,
        retryable,
    }
}
