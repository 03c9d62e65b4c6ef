//! `account-events`: the EventBridge target of Organizations and Control Tower account events.
//! Wiring only: the config, the onboarding state machine's client and the topic, built once.

mod handler;

use fabric::aws::StepFunctionsWorkflows;
use fabric::ports::Notifier;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let state_machine = fabric_lambda::required_env("ONBOARDING_STATE_MACHINE_ARN")?;
    let workflows = StepFunctionsWorkflows::from_sdk(&startup.sdk, state_machine);
    let notifier = fabric::aws::notifier(&startup.sdk, &startup.config);
    let (config, workflows, notifier) = (
        &startup.config,
        &workflows,
        notifier.as_ref().map(|n| n as &dyn Notifier),
    );
    run(service_fn(move |event| {
        handler::handle(config, workflows, notifier, event)
    }))
    .await
}
