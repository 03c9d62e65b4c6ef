//! `reconcile`: the scheduled reconciler. Wiring only: the config and the clients, built once.

mod handler;

use fabric::aws::OnboardingServices;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let services = OnboardingServices::new(&startup.sdk, &startup.config);
    let (services, config) = (&services, &startup.config);
    run(service_fn(move |event| {
        handler::handle(services, config, event)
    }))
    .await
}
