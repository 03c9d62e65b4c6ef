//! `start-run`: the multi-location run state machine's `StartRun` and `StartWave`. Wiring only:
//! the config and the run's clients, built once (`fabric_lambda::serve_run_step`).

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    fabric_lambda::serve_run_step(handler::handle).await
}
