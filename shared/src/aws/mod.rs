//! Adapters: the only code that names `aws_sdk_*` types. Each module implements a port of
//! [`crate::ports`] over one service's client; SDK errors become [`crate::Error::Aws`] with
//! their code kept, what they come down to for a person ([`AwsFailure`]), and whether a retry
//! can help.

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
use crate::error::AwsFailure;
use aws_config::imds::client::error::ImdsError;
use aws_credential_types::provider::error::CredentialsError;
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

/// Attempts per call, the first included, unless `AWS_MAX_ATTEMPTS` says otherwise (see
/// [`max_attempts`]). SSM answers 1 start and 3 reads a second per account and Region, and
/// Organizations throttles early: 3 attempts (the SDK's default) leave a call under a 30%
/// throttle rate failing 2.7% of the time, 8 leave it failing 0.007%.
pub const MAX_ATTEMPTS: u32 = 8;

/// The SDK's standard environment variable for the attempts per call.
const MAX_ATTEMPTS_VARIABLE: &str = "AWS_MAX_ATTEMPTS";

/// Attempts per call: `AWS_MAX_ATTEMPTS` when it is a whole number from 1 (e.g. 1 to see at
/// once that an endpoint is unreachable, where the retries would take half a minute),
/// otherwise [`MAX_ATTEMPTS`].
pub fn max_attempts() -> u32 {
    std::env::var(MAX_ATTEMPTS_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse::<u32>().ok())
        .filter(|attempts| *attempts >= 1)
        .unwrap_or(MAX_ATTEMPTS)
}

/// How every fabric client retries: the SDK's standard mode (exponential backoff with full
/// jitter from 1 s, at most 20 s; a retry quota per partition) with [`max_attempts`].
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(max_attempts())
        .with_max_backoff(std::time::Duration::from_secs(20))
}

/// Throttling codes: the call may succeed later, at a lower rate.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// Error codes other than throttling after which the same call may succeed.
const TRANSIENT_CODES: &[&str] = &[
    "ServiceUnavailable",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailableException",
    "ConcurrentModificationException",
    // SSM's limit of simultaneously running automations: it passes as they end.
    crate::runs::start::AUTOMATION_LIMIT_EXCEEDED,
];

/// Error codes of credentials whose session has expired.
const EXPIRED_CODES: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];

/// Error codes of credentials that are not valid, or may not make the call.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "AuthorizationError",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "NotAuthorized",
    "SignatureDoesNotMatch",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];

/// An SDK failure as the crate's error: its code, a message a person can read, what it comes
/// down to ([`AwsFailure`]), whether to retry, and the SDK's full account as the detail. Takes
/// the error by value, as `map_err` hands it over; `region` is the Region of the client that
/// made the call.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn aws_error<E, R>(
    region: Option<&aws_config::Region>,
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
    let retryable = transient
        || code.as_deref().is_some_and(|code| {
            THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)
        });
    let (failure, message) = classify(&error);
    Error::Aws {
        service,
        operation,
        region: region.map(|region| region.as_ref().into()),
        code,
        message,
        retryable,
        failure,
        detail: Some(
            aws_sdk_ssm::error::DisplayErrorContext(&error)
                .to_string()
                .into(),
        ),
    }
}

/// What an SDK failure comes down to, and the message that says so: told apart by the
/// failure's types (a [`CredentialsError`] among its causes, a
/// [`ConnectorError`](aws_sdk_ssm::error::ConnectorError) that could not connect) and by the
/// service's error code.
fn classify<E, R>(error: &SdkError<E, R>) -> (AwsFailure, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(credentials) = cause_of_type::<CredentialsError>(error) {
        let message = match credentials {
            CredentialsError::CredentialsNotLoaded(_) => "found no AWS credentials".to_owned(),
            // The chain asks the instance metadata service last: nothing before it had any.
            from_instance_metadata
                if cause_of_type::<ImdsError>(from_instance_metadata).is_some() =>
            {
                "found no AWS credentials (nor from the instance metadata service)".to_owned()
            }
            other => {
                let why =
                    std::error::Error::source(other).map_or_else(|| other.to_string(), causes);
                format!("could not load AWS credentials: {why}")
            }
        };
        return (AwsFailure::NoCredentials, message);
    }
    if let SdkError::DispatchFailure(dispatch) = error {
        if let Some(connector) = dispatch
            .as_connector_error()
            .filter(|connector| connector.is_io() || connector.is_timeout())
        {
            // The root cause says what (`Connection refused`, `failed to lookup address`);
            // those around it ("io error", "client error (Connect)") are in the detail.
            return (
                AwsFailure::Unreachable,
                format!("could not reach the endpoint: {}", root_cause(connector)),
            );
        }
    }
    let failure = match error.code() {
        Some(code) if EXPIRED_CODES.contains(&code) => AwsFailure::ExpiredToken,
        Some(code) if DENIED_CODES.contains(&code) => AwsFailure::AccessDenied,
        Some(code) if THROTTLING_CODES.contains(&code) => AwsFailure::Throttled {
            max_attempts: max_attempts(),
        },
        _ => AwsFailure::Other,
    };
    let message = error.message().map_or_else(|| causes(error), str::to_owned);
    (failure, message)
}

/// The first of `error` and its causes that is a `T`.
fn cause_of_type<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    std::iter::successors(Some(error), |error| error.source())
        .find_map(|error| error.downcast_ref::<T>())
}

/// The cause at the root of `error`'s chain (`error` itself when it has none), as its own
/// text says.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |error| error.source())
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// `error` and its causes, each as its own text says, joined by `: ` (the SDK's
/// `DisplayErrorContext` without the debug dump of the whole failure).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |error| error.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// The IAM action that allows `service`'s `operation`, as a policy names it
/// (`states:StartExecution` for the service the fabric calls `sfn`).
pub(crate) fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "sfn" => "states",
        other => other,
    };
    format!("{prefix}:{operation}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_ssm::operation::get_automation_execution::GetAutomationExecutionError;

    /// An SDK failure of `GetAutomationExecution`, without a raw response.
    type Failure = SdkError<GetAutomationExecutionError, ()>;

    fn answered(code: &str, message: &str) -> Failure {
        let metadata = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(GetAutomationExecutionError::generic(metadata), ())
    }

    fn no_credentials_found() -> Failure {
        let credentials =
            CredentialsError::not_loaded("no providers in chain provided credentials");
        SdkError::dispatch_failure(ConnectorError::other(Box::new(credentials), None))
    }

    fn as_error(failure: Failure) -> Error {
        aws_error(None, "ssm", "GetAutomationExecution", failure)
    }

    fn failure_of(error: &Error) -> AwsFailure {
        match error {
            Error::Aws { failure, .. } => *failure,
            other => panic!("expected an AWS error, got {other:?}"),
        }
    }

    #[test]
    fn when_the_credentials_chain_finds_none_then_the_line_says_to_set_credentials() {
        let error = as_error(no_credentials_found());

        assert_eq!(failure_of(&error), AwsFailure::NoCredentials);
        assert_eq!(
            error.to_string(),
            "ssm GetAutomationExecution failed: found no AWS credentials"
        );
        let advice = error.advice().unwrap_or_default();
        assert!(advice.contains("AWS_ACCESS_KEY_ID"), "{advice}");
        assert!(advice.contains("eval \"$(fabric local env)\""), "{advice}");
        // The SDK's account stays whole, behind the message.
        let detail = error.detail().unwrap_or_default();
        assert!(detail.contains("DispatchFailure"), "{detail}");
        assert!(detail.contains("no providers in chain"), "{detail}");
        // As before: a dispatch failure may pass.
        assert_eq!(error.error_type(), "Fabric.Retryable");
    }

    #[test]
    fn when_credentials_cannot_be_loaded_to_build_the_request_then_it_says_why() {
        let credentials = CredentialsError::provider_error("profile `ops` is not defined");
        let error = as_error(SdkError::construction_failure(credentials));

        assert_eq!(failure_of(&error), AwsFailure::NoCredentials);
        assert_eq!(
            error.to_string(),
            "ssm GetAutomationExecution failed: could not load AWS credentials: profile `ops` \
             is not defined"
        );
        assert_eq!(error.error_type(), "Fabric.Aws");
    }

    #[test]
    fn when_the_connection_is_refused_then_the_line_says_to_start_the_endpoint() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error = as_error(SdkError::dispatch_failure(ConnectorError::io(Box::new(
            refused,
        ))));

        assert_eq!(failure_of(&error), AwsFailure::Unreachable);
        let message = error.to_string();
        assert!(
            message
                .starts_with("ssm GetAutomationExecution failed: could not reach the endpoint: "),
            "{message}"
        );
        assert!(message.to_lowercase().contains("refused"), "{message}");
        let advice = error.advice().unwrap_or_default();
        assert!(advice.contains("AWS_ENDPOINT_URL"), "{advice}");
        assert!(advice.contains("`fabric local up`"), "{advice}");
        assert_eq!(error.error_type(), "Fabric.Retryable");
    }

    #[test]
    fn when_connecting_times_out_then_the_endpoint_is_unreachable() {
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        let error = as_error(SdkError::dispatch_failure(ConnectorError::timeout(
            Box::new(timeout),
        )));

        assert_eq!(failure_of(&error), AwsFailure::Unreachable);
    }

    #[test]
    fn when_the_token_has_expired_then_the_line_says_to_refresh_the_credentials() {
        for code in EXPIRED_CODES {
            let error = as_error(answered(
                code,
                "The security token included in the request is expired",
            ));

            assert_eq!(failure_of(&error), AwsFailure::ExpiredToken, "{code}");
            let advice = error.advice().unwrap_or_default();
            assert!(advice.contains("refresh"), "{code}: {advice}");
            assert_eq!(error.aws_code(), Some(*code));
            assert!(!error.is_retryable(), "{code}");
        }
    }

    #[test]
    fn when_access_is_denied_then_the_line_names_the_permission_to_check() {
        for code in DENIED_CODES {
            let error = as_error(answered(code, "not authorized"));

            assert_eq!(failure_of(&error), AwsFailure::AccessDenied, "{code}");
            assert_eq!(
                error.to_string(),
                format!("ssm GetAutomationExecution failed ({code}): not authorized")
            );
            let advice = error.advice().unwrap_or_default();
            assert!(
                advice.contains("allows ssm:GetAutomationExecution"),
                "{advice}"
            );
            assert!(!error.is_retryable(), "{code}");
        }
    }

    #[test]
    fn when_access_is_denied_then_the_permission_is_named_as_iam_names_it() {
        let error = aws_error(
            None,
            "sfn",
            "StartExecution",
            answered("AccessDeniedException", "no"),
        );
        let advice = error.advice().unwrap_or_default();
        assert!(advice.contains("allows states:StartExecution"), "{advice}");

        let error = aws_error(None, "sts", "AssumeRole", answered("AccessDenied", "no"));
        let advice = error.advice().unwrap_or_default();
        assert!(advice.contains("allows sts:AssumeRole"), "{advice}");
        assert!(advice.contains("trust policy"), "{advice}");
    }

    #[test]
    fn when_throttling_outlasts_the_retries_then_the_line_says_after_how_many_attempts() {
        for code in THROTTLING_CODES {
            let error = as_error(answered(code, "Rate exceeded"));

            assert_eq!(
                failure_of(&error),
                AwsFailure::Throttled {
                    max_attempts: max_attempts()
                },
                "{code}"
            );
            let advice = error.advice().unwrap_or_default();
            assert!(
                advice.contains(&format!("after up to {} attempts", max_attempts())),
                "{advice}"
            );
            assert!(advice.contains("try again later"), "{advice}");
            assert_eq!(error.error_type(), "Fabric.Retryable", "{code}");
        }
    }

    #[test]
    fn when_the_service_fails_otherwise_then_its_code_and_message_are_kept() {
        let error = as_error(answered(
            "ValidationException",
            "1 validation error detected",
        ));

        assert_eq!(failure_of(&error), AwsFailure::Other);
        assert_eq!(error.advice(), None);
        assert_eq!(
            error.to_string(),
            "ssm GetAutomationExecution failed (ValidationException): 1 validation error detected"
        );
        let detail = error.detail().unwrap_or_default();
        assert!(detail.contains("ServiceError"), "{detail}");
        assert!(!error.to_string().contains("ServiceError"));
        assert_eq!(error.error_type(), "Fabric.Aws");
    }

    #[test]
    fn when_a_transient_code_answers_then_it_stays_retryable_without_throttling_advice() {
        for code in TRANSIENT_CODES {
            let error = as_error(answered(code, "try again"));

            assert_eq!(failure_of(&error), AwsFailure::Other, "{code}");
            assert_eq!(error.error_type(), "Fabric.Retryable", "{code}");
        }
    }
}
