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
pub use ssm::{MAX_STEPS_PER_PAGE, SsmAutomation};
pub use stack_sets::StackSetRoles;
pub use step_functions::{ExecutionView, Executions, StepFunctionsWorkflows, TaskAnswer};
pub use sts::AssumedRoleLocations;
pub use wiring::{OnboardingServices, RunServices, directory, notifier, organizations_client};

use crate::Error;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

/// The SDK configuration from the environment (credentials chain, Region, and
/// `AWS_ENDPOINT_URL` for the local stack), with the fabric's [`retry_config`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_from(aws_config::defaults(aws_config::BehaviorVersion::latest())).await
}

/// The SDK configuration `loader` makes, with the fabric's [`retry_config`] (for callers that
/// set the endpoint, Region or credentials themselves).
pub async fn sdk_config_from(loader: aws_config::ConfigLoader) -> aws_config::SdkConfig {
    loader.retry_config(retry_config()).load().await
}

/// Attempts per call, the first included. SSM answers 1 start and 3 reads a second per
/// account and Region, and Organizations throttles early: 3 attempts (the SDK's default) leave
/// a call under a 30% throttle rate failing 2.7% of the time, 8 leave it failing 0.007%.
pub const MAX_ATTEMPTS: u32 = 8;

/// How every fabric client retries: the SDK's standard mode (exponential backoff with full
/// jitter from 1 s, at most 20 s; a retry quota per partition) with [`MAX_ATTEMPTS`].
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_max_backoff(std::time::Duration::from_secs(20))
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
    "InternalError",
    "ServiceUnavailableException",
    "SlowDown",
    "ConcurrentModificationException",
    // SSM's limit of simultaneously running automations: it passes as they end.
    crate::runs::start::AUTOMATION_LIMIT_EXCEEDED,
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
