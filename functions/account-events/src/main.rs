//! `account-events`: the EventBridge target of Organizations and Control Tower account events.
//! Wiring only: the config, the SDK and the onboarding state machine's client, built once.

mod handler;

use fabric::aws::StepFunctionsWorkflows;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let state_machine = fabric_lambda::required_env("ONBOARDING_STATE_MACHINE_ARN")?;
    let workflows =
        StepFunctionsWorkflows::new(aws_sdk_sfn::Client::new(&startup.sdk), state_machine);
    let workflows = &workflows;
    run(service_fn(move |event| handler::handle(workflows, event))).await
}
