//! `reconcile`: the scheduled reconciler. Wiring only: the config and onboarding's clients,
//! built once (`fabric_lambda::serve_onboarding_step`).

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    fabric_lambda::serve_onboarding_step(handler::handle).await
}
