//! What every Automation Fabric function shares: startup done once before the runtime loop
//! (structured logs, the SDK configuration, the fabric's config), and the crate's errors as
//! Lambda diagnostics whose `errorType` is the stable `Fabric.*` name that the state machines'
//! `Retry` and `Catch` rules match on.
#![deny(missing_docs)]

use aws_config::SdkConfig;
use fabric::config::Config;
use fabric::steps::{OnboardingPorts, RunPorts};
use lambda_runtime::{Diagnostic, LambdaEvent};

/// A function's failure: a [`fabric::Error`] as Lambda reports it.
#[derive(Debug)]
pub struct FunctionError(pub fabric::Error);

impl From<fabric::Error> for FunctionError {
    fn from(error: fabric::Error) -> Self {
        Self(error)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(FunctionError(error): FunctionError) -> Self {
        if let Some(detail) = error.detail() {
            // The SDK's full account (every cause, the raw response) goes to the logs; the
            // diagnostic keeps the one-line message.
            tracing::error!(error_type = error.error_type(), %error, detail, "AWS call failed");
        }
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What a function is started with.
#[derive(Debug)]
pub struct Startup {
    /// The SDK configuration (Region, credentials; `AWS_ENDPOINT_URL` for a local stack).
    pub sdk: SdkConfig,
    /// The fabric's config, from the file named by `FABRIC_CONFIG` (default `fabric.yaml`,
    /// packaged beside the binary).
    pub config: Config,
}

/// Sets up logging and reads the SDK configuration and the fabric's config, once per
/// execution environment; a missing or invalid config stops the function at startup with the
/// field that is wrong.
pub async fn start() -> Result<Startup, lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let path = std::env::var("FABRIC_CONFIG").unwrap_or_else(|_| "fabric.yaml".to_owned());
    let config = Config::load(std::path::Path::new(&path))?;
    let sdk = fabric::aws::sdk_config().await;
    tracing::info!(config = %path, "started");
    Ok(Startup { sdk, config })
}

/// The value of environment variable `name`, or an error that names it.
pub fn required_env(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name)
        .map_err(|_| format!("the function needs the environment variable {name}").into())
}

/// The run state machine, in the environment of the function that hands runs over.
const RUN_STATE_MACHINE_ARN: &str = "RUN_STATE_MACHINE_ARN";

/// Serves one step of the multi-location run state machine: startup, the run's services built
/// once (with the run state machine to hand runs over to, where `RUN_STATE_MACHINE_ARN` says),
/// then `handler` for every invocation, with the ports over them. The `main` of `start-run`,
/// `track-run`, `collect-results` and `publish-report`.
pub async fn serve_run_step<E, R>(
    handler: impl AsyncFn(&RunPorts<'_>, LambdaEvent<E>) -> Result<R, FunctionError>,
) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned,
    R: serde::Serialize,
{
    let startup = start().await?;
    let mut services = fabric::aws::RunServices::new(&startup.sdk, &startup.config)?;
    if let Ok(arn) = std::env::var(RUN_STATE_MACHINE_ARN) {
        services = services.handing_over_to(&startup.sdk, &arn);
    }
    let mut ports = services.ports(&startup.config);
    if let Some(scale) = time_scale() {
        ports.start_pacing = ports.start_pacing.div_f64(scale);
        ports.page_pacing = ports.page_pacing.div_f64(scale);
        tracing::info!(scale, "SSM calls paced for a local deployment's time scale");
    }
    let (ports, handler) = (&ports, &handler);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(ports, event)
    }))
    .await
}

/// The local deployment's time scale (`FABRIC_TIME_SCALE`, set only by `fabric local deploy`
/// and the tests' deployments): SSM's rates count as that many times faster. Absent, or not
/// a number of at least 1, in any real deployment.
fn time_scale() -> Option<f64> {
    std::env::var("FABRIC_TIME_SCALE")
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|scale| scale.is_finite() && *scale >= 1.0)
}

/// Serves one step of the onboarding state machine (or the reconciler): startup, onboarding's
/// services built once, then `handler` for every invocation, with the ports over them. The
/// `main` of `account-status`, `share-documents`, `deploy-roles` and `reconcile`.
pub async fn serve_onboarding_step<E, R>(
    handler: impl AsyncFn(&OnboardingPorts<'_>, LambdaEvent<E>) -> Result<R, FunctionError>,
) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned,
    R: serde::Serialize,
{
    let startup = start().await?;
    let services = fabric::aws::OnboardingServices::new(&startup.sdk, &startup.config);
    let ports = services.ports(&startup.config);
    let (ports, handler) = (&ports, &handler);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(ports, event)
    }))
    .await
}

/// `payload` as the runtime hands it to a handler (a default context), for handler tests.
#[cfg(feature = "testing")]
pub fn invocation<T>(payload: T) -> LambdaEvent<T> {
    LambdaEvent::new(payload, lambda_runtime::Context::default())
}

/// The `errorType` Lambda reports for `error` (what the state machines' Retry and Catch match).
#[cfg(feature = "testing")]
pub fn error_type(error: FunctionError) -> String {
    Diagnostic::from(error).error_type
}
