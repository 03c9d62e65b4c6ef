//! `fabric local deploy`, `fire` and `messages`: the template (`infra/template.yaml`) deployed
//! on the running local stack (its parameters taken from the config, so the two agree), a
//! schedule fired now, and what the report topic published.

use crate::Failure;
use fabric::config::Config;
use fabric_simulator::deployment::{DeployRequest, Deployment};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The stack name of the local deployment.
pub(crate) const STACK_NAME: &str = "automation-fabric";

fn other(what: impl std::fmt::Display) -> Failure {
    Failure::Other(what.to_string())
}

/// Where `deploy` leaves what it made.
pub(crate) fn deployment_file(workspace: &Path) -> PathBuf {
    fabric_simulator::stack::local_dir(workspace).join("deployment.json")
}

/// The deployment `deploy` made, if any.
pub(crate) fn read_deployment(workspace: &Path) -> Option<Deployment> {
    let text = std::fs::read_to_string(deployment_file(workspace)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What `fabric local deploy` is asked.
#[derive(Debug, clap::Args)]
pub(crate) struct DeployOptions {
    /// The template.
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// The config the functions read (the config layer's fabric.yaml); the template's
    /// parameters that must agree with it are taken from it.
    #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
    config: PathBuf,
    /// The folder of the functions' host binaries (default: cargo's debug output).
    #[arg(long)]
    pub(crate) binaries: Option<PathBuf>,
    /// Divide Wait states and retry intervals by this (30: a 30 s poll takes 1 s).
    #[arg(long, default_value_t = 30.0)]
    time_scale: f64,
    /// A template parameter, `KEY=VALUE` (repeatable).
    #[arg(long = "parameter")]
    parameters: Vec<String>,
    /// A function's timeout in place of the template's, `LOGICAL_ID=SECONDS` (repeatable).
    #[arg(long = "function-timeout")]
    function_timeouts: Vec<String>,
    /// How many sandboxes each function may run at once.
    #[arg(long, default_value_t = 4)]
    max_concurrency: usize,
}

fn pairs(values: &[String], what: &str) -> Result<BTreeMap<String, String>, Failure> {
    values
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| Failure::BadInput(format!("{what} {pair:?} is not KEY=VALUE")))
        })
        .collect()
}

/// `fabric local deploy`.
pub(crate) fn deploy(
    workspace: &Path,
    endpoint: &str,
    options: &DeployOptions,
    binaries: &Path,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(&options.config)?;
    let mut function_timeouts = BTreeMap::new();
    for (function, seconds) in pairs(&options.function_timeouts, "--function-timeout")? {
        let seconds = seconds.parse::<u64>().map_err(|_| {
            Failure::BadInput(format!(
                "--function-timeout {function}={seconds}: not a number of seconds"
            ))
        })?;
        function_timeouts.insert(function, seconds);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(other)?;
    let started = std::time::Instant::now();
    let deployment = runtime.block_on(async {
        let sdk = fabric::aws::sdk_config().await;
        let organization = fabric::aws::organizations_client(&sdk)
            .describe_organization()
            .send()
            .await
            .map_err(|error| {
                Failure::BadInput(format!(
                    "the local stack has no organization to deploy for (seed one with `fabric local seed`): {}",
                    aws_error_text(&error)
                ))
            })?;
        let organization_id = organization
            .organization()
            .and_then(|organization| organization.id())
            .unwrap_or_default()
            .to_owned();
        let mut parameters = config.template_parameters();
        parameters.insert("OrganizationId".to_owned(), organization_id);
        parameters.extend(pairs(&options.parameters, "--parameter")?);
        let region = config.home_region();
        let local = fabric_simulator::stack::local_dir(workspace);
        let logs = local.join("functions");
        std::fs::create_dir_all(&logs).map_err(other)?;
        let absolute = |path: &Path| std::path::absolute(path).map_err(other);
        let request = DeployRequest {
            template: absolute(&options.template)?,
            stack_name: STACK_NAME.to_owned(),
            account: config.central_account.to_string(),
            region,
            parameters,
            config: absolute(&options.config)?,
            binaries: absolute(binaries)?,
            logs,
            endpoint: endpoint.to_owned(),
            time_scale: options.time_scale,
            function_timeouts,
            max_concurrency: options.max_concurrency,
        };
        post(endpoint, "deploy", &request).await
    })?;
    let deployment: Deployment = serde_json::from_value(deployment).map_err(other)?;
    std::fs::write(
        deployment_file(workspace),
        serde_json::to_string_pretty(&deployment).map_err(other)?,
    )
    .map_err(other)?;
    print_deployment(&deployment, started.elapsed(), out).map_err(other)
}

fn print_deployment(
    deployment: &Deployment,
    took: std::time::Duration,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "deployed {} in {:.1} s (account {}, {}, time scale {}):",
        deployment.stack_name,
        took.as_secs_f64(),
        deployment.account,
        deployment.region,
        deployment.time_scale
    )?;
    writeln!(out, "  functions")?;
    for function in &deployment.functions {
        writeln!(
            out,
            "    {:<40} timeout {:>3} s, memory {:>4} MB",
            function.name, function.timeout_seconds, function.memory_mb
        )?;
    }
    writeln!(out, "  state machines")?;
    for arn in deployment.state_machines.values() {
        writeln!(out, "    {arn}")?;
    }
    writeln!(out, "  rules (put events with `aws events put-events`)")?;
    for name in deployment.rules.keys() {
        writeln!(out, "    {name}")?;
    }
    writeln!(out, "  schedules (fire one with `fabric local fire NAME`)")?;
    for (name, expression) in &deployment.schedules {
        writeln!(out, "    {name:<40} {expression}")?;
    }
    writeln!(
        out,
        "  published messages: `fabric local messages` ({})",
        deployment.messages_queue_url
    )
}

/// A control call to the simulator: its JSON answer, or its error text.
pub(crate) async fn post(
    endpoint: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<serde_json::Value, Failure> {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/fabric-simulator/{path}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).map_err(other)?)
        .send()
        .await
        .map_err(|error| {
            other(format!(
                "the local stack did not answer at {endpoint}: {error}"
            ))
        })?;
    let status = response.status();
    let text = response.text().await.map_err(other)?;
    if status.is_success() {
        serde_json::from_str(&text).map_err(other)
    } else if status.is_client_error() {
        Err(Failure::BadInput(text))
    } else {
        Err(other(text))
    }
}

fn aws_error_text<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `fabric local fire NAME`: the schedule `NAME` (or `STACK-NAME`) fired now.
pub(crate) fn fire(
    workspace: &Path,
    endpoint: &str,
    name: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let deployment = read_deployment(workspace).ok_or_else(|| {
        Failure::BadInput("nothing is deployed: run `fabric local deploy` first".to_owned())
    })?;
    let name = if deployment.schedules.contains_key(name) {
        name.to_owned()
    } else {
        format!("{}-{name}", deployment.stack_name)
    };
    let scheduled_time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let request = serde_json::json!({ "name": name, "scheduled_time": scheduled_time });
    let runtime = tokio::runtime::Runtime::new().map_err(other)?;
    let fired = runtime.block_on(post(endpoint, "schedules/fire", &request))?;
    let delivered = &fired["delivered"];
    if let Some(execution) = delivered["execution"].as_str() {
        writeln!(
            out,
            "fired {name} at {scheduled_time}: execution {execution}"
        )
        .map_err(other)
    } else if let Some(request_id) = delivered["invocation"].as_str() {
        writeln!(
            out,
            "fired {name} at {scheduled_time}: invocation {request_id}"
        )
        .map_err(other)
    } else {
        Err(other(format!(
            "fired {name}, but its target refused it: {}",
            delivered["dead_lettered"]
        )))
    }
}

/// A message a topic published, as its SQS subscription received it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct PublishedMessage {
    #[serde(rename = "TopicArn", default)]
    topic_arn: String,
    #[serde(rename = "Subject", default)]
    subject: String,
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Timestamp", default)]
    timestamp: String,
}

/// Every message waiting on the published-messages queue, read and deleted.
async fn published_messages(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
) -> Result<Vec<PublishedMessage>, Failure> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut messages = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|error| {
                other(format!(
                    "cannot read {queue_url}: {}",
                    aws_error_text(&error)
                ))
            })?;
        if received.messages().is_empty() {
            return Ok(messages);
        }
        for message in received.messages() {
            let body = message.body().unwrap_or_default();
            messages.push(serde_json::from_str(body).unwrap_or(PublishedMessage {
                topic_arn: String::new(),
                subject: String::new(),
                message: body.to_owned(),
                timestamp: String::new(),
            }));
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|error| {
                        other(format!(
                            "cannot delete a read message: {}",
                            aws_error_text(&error)
                        ))
                    })?;
            }
        }
    }
}

/// `fabric local messages`: what the deployment's topics published since the last read.
pub(crate) fn messages(workspace: &Path, json: bool, out: &mut impl Write) -> Result<(), Failure> {
    let deployment = read_deployment(workspace).ok_or_else(|| {
        Failure::BadInput("nothing is deployed: run `fabric local deploy` first".to_owned())
    })?;
    let runtime = tokio::runtime::Runtime::new().map_err(other)?;
    let messages = runtime.block_on(async {
        let sdk = fabric::aws::sdk_config().await;
        published_messages(&sdk, &deployment.messages_queue_url).await
    })?;
    for message in &messages {
        if json {
            writeln!(out, "{}", serde_json::to_string(message).map_err(other)?).map_err(other)?;
        } else {
            writeln!(
                out,
                "{}  {}\n{}\n",
                message.timestamp, message.subject, message.message
            )
            .map_err(other)?;
        }
    }
    if messages.is_empty() && !json {
        writeln!(out, "no new messages").map_err(other)?;
    }
    Ok(())
}
