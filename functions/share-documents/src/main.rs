//! `share-documents`: the onboarding state machine's sharing step. Wiring only.

mod handler;

use fabric::aws::SsmDocuments;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = fabric_lambda::start().await?;
    let documents = SsmDocuments::new(&startup.sdk);
    let (documents, config) = (&documents, &startup.config);
    run(service_fn(move |event| {
        handler::handle(documents, config, event)
    }))
    .await
}
