//! [`Workflows`] over Step Functions: executions named by the trigger's idempotency key, so a
//! repeated event finds its workflow already started.

use super::aws_error;
use crate::Result;
use crate::ports::{WorkflowStart, Workflows};
use async_trait::async_trait;
use aws_sdk_sfn::Client;

/// One state machine.
#[derive(Debug, Clone)]
pub struct StepFunctionsWorkflows {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflows {
    /// Executions of `state_machine_arn`, through a client of `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), state_machine_arn)
    }

    /// Executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl Workflows for StepFunctionsWorkflows {
    #[tracing::instrument(skip(self, input))]
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<WorkflowStart> {
        let answer = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match answer {
            Ok(started) => Ok(WorkflowStart::Started(started.execution_arn().to_owned())),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_sfn::operation::start_execution::StartExecutionError::is_execution_already_exists) =>
            {
                Ok(WorkflowStart::AlreadyStarted)
            }
            Err(error) => Err(aws_error("sfn", "StartExecution", error)),
        }
    }
}
