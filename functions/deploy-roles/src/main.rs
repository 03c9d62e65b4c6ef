//! `deploy-roles`: the onboarding state machine's role step. Wiring only.

mod handler;

use fabric::aws::OnboardingServices;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let services = OnboardingServices::new(&startup.sdk, &startup.config);
    let (roles, model) = (
        &services.roles,
        startup.config.execution_role.permission_model,
    );
    run(service_fn(move |event| {
        handler::handle(roles, model, event)
    }))
    .await
}
