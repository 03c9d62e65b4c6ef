//! `account-status`: the onboarding state machine's readiness check. Wiring only.

mod handler;

use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let directory = fabric::aws::directory(&startup.sdk, &startup.config);
    let directory = &directory;
    run(service_fn(move |event| handler::handle(directory, event))).await
}
