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
            Err(error) => Err(aws_error(self.client.config().region(), "sfn", "StartExecution", error)),
        }
    }
}

/// A state machine execution seen from outside, as `DescribeExecution` and its history tell it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExecutionView {
    /// The execution's ARN.
    pub arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Its output, once it succeeded.
    pub output: Option<serde_json::Value>,
    /// Its error and cause, once it failed.
    pub error: Option<(String, String)>,
    /// The state it is in now (entered, not yet exited).
    pub running_state: Option<String>,
    /// The last state whose task failed, with the error and cause (retried or caught).
    pub failed_state: Option<(String, String, String)>,
    /// Every task state's answer, in order.
    pub task_answers: Vec<TaskAnswer>,
}

impl ExecutionView {
    /// The run id the run state machine's `StartRun` task answered, if it got that far.
    pub fn run_id(&self) -> Option<String> {
        self.task_answers
            .iter()
            .filter(|answer| answer.state == "StartRun")
            .find_map(|answer| {
                answer.output.as_ref()?["Payload"]["run_id"]
                    .as_str()
                    .map(str::to_owned)
            })
    }
}

/// A task state's answer in an execution's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskAnswer {
    /// The state.
    pub state: String,
    /// The task's output when it succeeded (for a Lambda task, `{"Payload": ...}`).
    pub output: Option<serde_json::Value>,
    /// Its error when it failed.
    pub error: Option<String>,
}

/// Executions of the deployed state machines, started and followed by the CLI.
#[derive(Debug, Clone)]
pub struct Executions {
    client: Client,
}

impl Executions {
    /// Executions through a client of `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    /// Starts an execution of `state_machine_arn` named `name` with `input`: its ARN.
    pub async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String> {
        self.client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map(|started| started.execution_arn().to_owned())
            .map_err(|error| {
                aws_error(
                    self.client.config().region(),
                    "sfn",
                    "StartExecution",
                    error,
                )
            })
    }

    /// Answers the task waiting on `task_token` with `output`: the execution goes on.
    pub async fn succeed_task(&self, task_token: &str, output: &serde_json::Value) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                aws_error(
                    self.client.config().region(),
                    "sfn",
                    "SendTaskSuccess",
                    error,
                )
            })
    }

    /// Fails the task waiting on `task_token` with `error` and `cause`: the execution takes
    /// its Catch.
    pub async fn fail_task(&self, task_token: &str, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|failure| {
                aws_error(
                    self.client.config().region(),
                    "sfn",
                    "SendTaskFailure",
                    failure,
                )
            })
    }

    /// Where the execution `arn` stands.
    pub async fn view(&self, arn: &str) -> Result<ExecutionView> {
        let described = self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|error| {
                aws_error(
                    self.client.config().region(),
                    "sfn",
                    "DescribeExecution",
                    error,
                )
            })?;
        let mut view = ExecutionView {
            arn: arn.to_owned(),
            status: described.status().as_str().to_owned(),
            output: described
                .output()
                .and_then(|output| serde_json::from_str(output).ok()),
            error: described.error().map(|error| {
                (
                    error.to_owned(),
                    described.cause().unwrap_or_default().to_owned(),
                )
            }),
            running_state: None,
            failed_state: None,
            task_answers: Vec::new(),
        };
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| {
                aws_error(
                    self.client.config().region(),
                    "sfn",
                    "GetExecutionHistory",
                    error,
                )
            })?;
            for event in page.events() {
                record(&mut view, event);
            }
        }
        Ok(view)
    }
}

/// Follows one history event: states entered and exited, task answers and failures.
fn record(view: &mut ExecutionView, event: &aws_sdk_sfn::types::HistoryEvent) {
    use aws_sdk_sfn::types::HistoryEventType as Kind;
    if let Some(entered) = event.state_entered_event_details() {
        view.running_state = Some(entered.name().to_owned());
    }
    if event.state_exited_event_details().is_some() {
        view.running_state = None;
    }
    let state = view.running_state.clone().unwrap_or_default();
    match event.r#type() {
        Kind::LambdaFunctionSucceeded | Kind::TaskSucceeded => {
            let output = event
                .task_succeeded_event_details()
                .and_then(|succeeded| succeeded.output())
                .or_else(|| {
                    event
                        .lambda_function_succeeded_event_details()
                        .and_then(|succeeded| succeeded.output())
                })
                .and_then(|output| serde_json::from_str(output).ok());
            view.task_answers.push(TaskAnswer {
                state,
                output,
                error: None,
            });
        }
        Kind::LambdaFunctionFailed
        | Kind::TaskFailed
        | Kind::LambdaFunctionTimedOut
        | Kind::TaskTimedOut => {
            let (error, cause) = event
                .task_failed_event_details()
                .map(|failed| (failed.error(), failed.cause()))
                .or_else(|| {
                    event
                        .lambda_function_failed_event_details()
                        .map(|failed| (failed.error(), failed.cause()))
                })
                .unwrap_or_default();
            view.task_answers.push(TaskAnswer {
                state: state.clone(),
                output: None,
                error: error.map(str::to_owned),
            });
            view.failed_state = Some((
                state,
                error.unwrap_or_default().to_owned(),
                cause.unwrap_or_default().to_owned(),
            ));
        }
        _ => {}
    }
}
