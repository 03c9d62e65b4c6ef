//! `fabric local deploy`: the template's resources made real on the local stack. Queues,
//! topics, buckets, event buses, rules and state machines are created in moto (the state
//! machines from their ASL files with the `DefinitionSubstitutions` filled in, and run by
//! moto's interpreter, whose Lambda, SQS and SNS calls come back through the front door); the
//! functions are deployed to the local Lambda as their host binaries with the template's
//! environment; the rules and schedules get their real targets in the local delivery.
//!
//! What the local deployment does not make: IAM roles and policies (moto does not enforce
//! them), KMS keys, log groups and CloudWatch alarms, and the config layer (the functions read
//! the config file given to the deployment instead of `/opt/fabric.yaml`).

mod functions;
mod resources;
mod time_scale;

use crate::server::Simulator;
use crate::template::{StackContext, TemplateError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use time_scale::scale_definition;

/// What to deploy, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployRequest {
    /// The template (`infra/template.yaml`); `DefinitionUri` paths are relative to its folder.
    pub template: PathBuf,
    /// The stack's name.
    pub stack_name: String,
    /// The account it is deployed in.
    pub account: String,
    /// Its Region.
    pub region: String,
    /// Parameter values (the rest take their defaults).
    pub parameters: BTreeMap<String, String>,
    /// The config file, the config layer's `fabric.yaml`, given to every function as
    /// `FABRIC_CONFIG`.
    pub config: PathBuf,
    /// The folder of the functions' host binaries (each named as its `BuildProperties.Binary`).
    pub binaries: PathBuf,
    /// Where each function's log goes (`FUNCTION.log`).
    pub logs: PathBuf,
    /// The front door the functions call (`AWS_ENDPOINT_URL`).
    pub endpoint: String,
    /// Waits and retry intervals are divided by this (30 s polls become 1 s at 30).
    pub time_scale: f64,
    /// Timeouts that replace the template's, in seconds, by function logical id.
    #[serde(default)]
    pub function_timeouts: BTreeMap<String, u64>,
    /// How many sandboxes each function may run at once.
    pub max_concurrency: usize,
}

/// A deployed function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedFunction {
    /// Its logical id in the template.
    pub logical_id: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its timeout, in seconds.
    pub timeout_seconds: u64,
    /// Its configured memory, in MB.
    pub memory_mb: u64,
}

/// What a deployment made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The stack's name.
    pub stack_name: String,
    /// Its account.
    pub account: String,
    /// Its Region.
    pub region: String,
    /// The time scale it runs at.
    pub time_scale: f64,
    /// Its functions.
    pub functions: Vec<DeployedFunction>,
    /// Its state machines' ARNs, by logical id.
    pub state_machines: BTreeMap<String, String>,
    /// Its queues' URLs, by logical id.
    pub queues: BTreeMap<String, String>,
    /// Its rules: name -> ARN.
    pub rules: BTreeMap<String, String>,
    /// Its schedules: name -> expression.
    pub schedules: BTreeMap<String, String>,
    /// Its topics' ARNs, by logical id.
    pub topics: BTreeMap<String, String>,
    /// The queue subscribed to every topic, to read what was published.
    pub messages_queue_url: String,
    /// The template's outputs.
    pub outputs: BTreeMap<String, serde_json::Value>,
}

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The template does not resolve.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A function's binary is not built.
    #[error("{function}'s binary {} is not built: build the functions first (`cargo build --bins` in the workspace)", path.display())]
    NotBuilt {
        /// The function's logical id.
        function: String,
        /// Where its binary was looked for.
        path: PathBuf,
    },
    /// A resource is not what the local deployment can make.
    #[error("{resource}: {problem}")]
    Unsupported {
        /// The resource's logical id.
        resource: String,
        /// What is wrong.
        problem: String,
    },
    /// moto refused a call.
    #[error("creating {resource} failed: {message}")]
    Create {
        /// The resource's logical id.
        resource: String,
        /// moto's error.
        message: String,
    },
}

/// Deploys `request`'s template on the stack `simulator` fronts.
pub async fn deploy(
    simulator: &Simulator,
    request: &DeployRequest,
) -> Result<Deployment, DeployError> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|source| DeployError::Read {
            path: path.clone(),
            source,
        })
    };
    let text = read(&request.template)?;
    let context = StackContext {
        stack_name: request.stack_name.clone(),
        account_id: request.account.clone(),
        region: request.region.clone(),
        endpoint: request.endpoint.clone(),
    };
    let template = crate::template::resolve(&text, &context, &request.parameters)?;
    let folder = request
        .template
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let specs = functions::specs(&template, request)?;
    let maker = resources::Maker::new(simulator.api().engine().moto(), request);
    let queues = maker.queues(&template).await?;
    let topics = maker.topics(&template).await?;
    let messages_queue_url = maker.messages_queue(&topics).await?;
    maker.buckets(&template).await?;
    maker.buses(&template).await?;
    let state_machines = maker
        .state_machines(&template, &folder, request.time_scale)
        .await?;
    let (rules, rule_routes) = maker.rules(&template).await?;
    let schedules = resources::schedules(&template);
    simulator.lambda().set_time_scale(request.time_scale);
    let functions = specs
        .iter()
        .map(|(logical_id, spec)| DeployedFunction {
            logical_id: logical_id.clone(),
            name: spec.name.clone(),
            arn: spec.arn.clone(),
            timeout_seconds: spec.timeout_seconds,
            memory_mb: spec.memory_mb,
        })
        .collect();
    simulator
        .lambda()
        .deploy(specs.into_iter().map(|(_, spec)| spec).collect());
    let schedule_summary = schedules
        .iter()
        .map(|(name, route)| (name.clone(), route.expression.clone()))
        .collect();
    simulator.delivery().route(crate::delivery::Routes {
        account: request.account.clone(),
        region: request.region.clone(),
        time_scale: request.time_scale,
        rules: rule_routes,
        schedules,
    });
    Ok(Deployment {
        stack_name: request.stack_name.clone(),
        account: request.account.clone(),
        region: request.region.clone(),
        time_scale: request.time_scale,
        functions,
        state_machines,
        queues,
        rules,
        schedules: schedule_summary,
        topics,
        messages_queue_url,
        outputs: template.outputs.clone(),
    })
}
