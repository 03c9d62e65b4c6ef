//! AWS Lambda for a local deployment: each function's real host binary runs as processes
//! ("sandboxes", `sandboxes`) that pull their invocations over the Lambda Runtime API
//! (`runtime`); callers invoke functions over the Invoke API (`invoke`), synchronously, or
//! asynchronously: queued, retried and dead-lettered as Lambda does (`asynchronous`).
//!
//! What Lambda documents and this models: a sandbox serves one invocation at a time and more
//! are started as invocations queue (up to the function's concurrency); the first `next` ends
//! its init (the cold start); an invocation past the function's `Timeout` fails with
//! `Sandbox.Timedout` and its sandbox is replaced; a process that exits mid-invocation fails it
//! with `Runtime.ExitError`; a function error answers HTTP 200 with `X-Amz-Function-Error:
//! Unhandled` and the function's `errorType` / `errorMessage`.

mod asynchronous;
pub mod invoke;
pub mod runtime;
mod sandboxes;

pub use sandboxes::Outcome;

use crate::lock;
use crate::moto::Moto;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// A function of the deployment, as the template and the local build define it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// The function's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The host binary that runs it (built by cargo from the same package as its zip).
    pub binary: PathBuf,
    /// Its environment, as the template gives it, plus the local stack's endpoint.
    pub environment: BTreeMap<String, String>,
    /// The template's `Timeout`, in seconds.
    pub timeout_seconds: u64,
    /// The template's `MemorySize`, in MB (reported beside the measured peak RSS).
    pub memory_mb: u64,
    /// Where its sandboxes' output goes.
    pub log: PathBuf,
    /// How many sandboxes may run at once.
    pub max_concurrency: usize,
    /// How asynchronous invocations are retried and dead-lettered.
    pub asynchronous: AsyncInvokeConfig,
}

/// Lambda's asynchronous invocation settings (`EventInvokeConfig`, `DeadLetterQueue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncInvokeConfig {
    /// Retries after a function error (Lambda's default: 2).
    pub max_retries: u32,
    /// An event older than this is not retried (Lambda's default: 6 hours).
    pub max_event_age_seconds: u64,
    /// The SQS queue that gets events whose every attempt failed.
    pub dead_letter_arn: Option<String>,
}

impl Default for AsyncInvokeConfig {
    fn default() -> Self {
        Self {
            max_retries: 2,
            max_event_age_seconds: 21_600,
            dead_letter_arn: None,
        }
    }
}

/// What happened to a function's invocations, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionStats {
    /// Invocations answered (each attempt of an asynchronous one counts).
    pub invocations: u64,
    /// Of those, the ones that failed (function errors, timeouts, crashes).
    pub errors: u64,
    /// Invocations that ran past the function's timeout.
    pub timeouts: u64,
    /// Invocations whose sandbox exited before answering.
    pub crashes: u64,
    /// Sandboxes started.
    pub cold_starts: u64,
    /// Each sandbox's init time (process start to its first `next`), in milliseconds.
    pub cold_start_ms: Vec<u64>,
    /// The longest invocation, in milliseconds.
    pub max_duration_ms: u64,
    /// The largest resident set any of its sandboxes reached, in KiB (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Its configured memory, in MB.
    pub memory_mb: u64,
    /// Asynchronous events sent to its dead-letter queue.
    pub dead_lettered: u64,
}

/// Why an invocation was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// No function by that name or ARN.
    #[error("Function not found: {0}")]
    NotFound(String),
    /// The payload is over Lambda's limit.
    #[error("Request must be smaller than {limit} bytes for the {kind} invocation type")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// `RequestResponse` or `Event`.
        kind: &'static str,
    },
}

/// Synchronous payloads are limited to 6 MB.
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Asynchronous payloads are limited to 1 MB.
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// Scripted failures of a function's next invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionFaults {
    /// The function (name or ARN).
    pub function: String,
    /// Kill the sandbox of each of the next this many invocations once it has received it,
    /// as an out-of-memory kill or a crash would.
    #[serde(default)]
    pub crash: u32,
}

/// The Lambda service of the local stack.
#[derive(Debug)]
pub struct Lambda {
    functions: RwLock<HashMap<String, Arc<sandboxes::Function>>>,
    runtime_api: Mutex<String>,
    time_scale: Mutex<f64>,
    moto: Moto,
}

impl Lambda {
    /// A Lambda service with no functions; dead letters go to `moto`'s SQS.
    pub fn new(moto: Moto) -> Arc<Self> {
        Arc::new(Self {
            functions: RwLock::new(HashMap::new()),
            runtime_api: Mutex::new(String::new()),
            time_scale: Mutex::new(1.0),
            moto,
        })
    }

    /// Where sandboxes reach the Runtime API (`http://127.0.0.1:PORT`), set once the front
    /// door listens.
    pub fn set_runtime_api(&self, base_url: &str) {
        base_url
            .trim_end_matches('/')
            .clone_into(&mut lock(&self.runtime_api));
    }

    /// Divides the asynchronous retry delays (1 and 2 minutes) by `scale`.
    pub fn set_time_scale(&self, scale: f64) {
        *lock(&self.time_scale) = scale.max(1.0);
    }

    fn time_scale(&self) -> f64 {
        *lock(&self.time_scale)
    }

    /// Deploys `specs`: every function already deployed is stopped and replaced.
    pub fn deploy(&self, specs: Vec<FunctionSpec>) {
        let runtime_api = lock(&self.runtime_api).clone();
        let mut functions = self
            .functions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for function in functions.values() {
            function.stop();
        }
        functions.clear();
        for spec in specs {
            let function = sandboxes::Function::new(spec, runtime_api.clone());
            functions.insert(function.spec().name.clone(), function);
        }
    }

    /// Stops every sandbox.
    pub fn stop(&self) {
        for function in self
            .functions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
        {
            function.stop();
        }
    }

    /// The function a name, a partial ARN or an ARN (with or without `:$LATEST`) names.
    fn function(&self, name_or_arn: &str) -> Result<Arc<sandboxes::Function>, InvokeError> {
        let unqualified = name_or_arn.strip_suffix(":$LATEST").unwrap_or(name_or_arn);
        let name = unqualified
            .rsplit_once(":function:")
            .map_or(unqualified, |(_, name)| name);
        self.functions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| InvokeError::NotFound(name_or_arn.to_owned()))
    }

    /// A `RequestResponse` invocation: waits for the function's answer.
    pub async fn invoke(
        &self,
        name_or_arn: &str,
        payload: Vec<u8>,
    ) -> Result<Outcome, InvokeError> {
        if payload.len() > SYNC_PAYLOAD_LIMIT {
            return Err(InvokeError::TooLarge {
                limit: SYNC_PAYLOAD_LIMIT,
                kind: "RequestResponse",
            });
        }
        let function = self.function(name_or_arn)?;
        Ok(function.invoke(payload).await)
    }

    /// An `Event` invocation: accepted at once, run in the background with Lambda's retries,
    /// dead-lettered when every attempt failed. Returns its request id.
    pub fn invoke_async(
        self: &Arc<Self>,
        name_or_arn: &str,
        payload: Vec<u8>,
    ) -> Result<String, InvokeError> {
        if payload.len() > ASYNC_PAYLOAD_LIMIT {
            return Err(InvokeError::TooLarge {
                limit: ASYNC_PAYLOAD_LIMIT,
                kind: "Event",
            });
        }
        let function = self.function(name_or_arn)?;
        Ok(asynchronous::accept(
            Arc::clone(self),
            function,
            payload,
            self.time_scale(),
        ))
    }

    /// Scripts failures of a function's next invocations.
    pub fn inject(&self, faults: &FunctionFaults) -> Result<(), InvokeError> {
        self.function(&faults.function)?.crash_next(faults.crash);
        Ok(())
    }

    /// Every function's stats, by name.
    pub fn stats(&self) -> BTreeMap<String, FunctionStats> {
        self.functions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(name, function)| (name.clone(), function.stats()))
            .collect()
    }

    /// The function a sandbox belongs to, for the Runtime API.
    fn sandbox_function(&self, sandbox: &str) -> Option<Arc<sandboxes::Function>> {
        self.functions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .find(|function| function.has_sandbox(sandbox))
            .cloned()
    }
}

/// `seconds` of a documented interval, divided by the time scale (at least 10 ms).
fn scaled(seconds: f64, scale: f64) -> Duration {
    Duration::from_secs_f64((seconds / scale).max(0.01))
}
