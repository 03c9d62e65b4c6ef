//! A function's sandboxes: host processes of its binary, started as invocations queue (up to
//! its concurrency), each serving one invocation at a time; invocations past the timeout and
//! sandboxes that exit mid-invocation fail as Lambda fails them.

use super::{FunctionSpec, FunctionStats, lock};
use std::collections::{HashMap, VecDeque};
use std::fs::OpenOptions;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function's response payload.
    Answered(Vec<u8>),
    /// The function failed: its error type and message (Lambda's `errorType`, `errorMessage`).
    Failed {
        /// `errorType`: the function's own (`Fabric.Retryable`), or Lambda's
        /// (`Sandbox.Timedout`, `Runtime.ExitError`).
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
}

/// An invocation handed to a sandbox.
#[derive(Debug)]
pub(super) struct Delivered {
    pub(super) request_id: String,
    pub(super) payload: Vec<u8>,
    pub(super) deadline_ms: u128,
    pub(super) function_arn: String,
}

#[derive(Debug)]
struct Pending {
    request_id: String,
    payload: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Debug)]
struct InFlight {
    sandbox: String,
    started: Instant,
    reply: oneshot::Sender<Outcome>,
    /// A scripted crash: the sandbox is being killed, and an answer that races the kill is
    /// never heard, as a dead process's would not be.
    doomed: bool,
}

#[derive(Debug)]
struct Sandbox {
    pid: Option<u32>,
    started: Instant,
    ready: bool,
    waiting: bool,
    kill: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Pending>,
    sandboxes: HashMap<String, Sandbox>,
    in_flight: HashMap<String, InFlight>,
    crash_next: u32,
    stopped: bool,
    stats: FunctionStats,
}

/// One deployed function.
#[derive(Debug)]
pub(super) struct Function {
    spec: FunctionSpec,
    runtime_api: String,
    state: Mutex<State>,
    queued: Notify,
}

impl Function {
    pub(super) fn new(spec: FunctionSpec, runtime_api: String) -> Arc<Self> {
        let stats = FunctionStats {
            memory_mb: spec.memory_mb,
            ..FunctionStats::default()
        };
        Arc::new(Self {
            spec,
            runtime_api,
            state: Mutex::new(State {
                stats,
                ..State::default()
            }),
            queued: Notify::new(),
        })
    }

    pub(super) fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    pub(super) fn has_sandbox(&self, sandbox: &str) -> bool {
        lock(&self.state).sandboxes.contains_key(sandbox)
    }

    pub(super) fn stats(&self) -> FunctionStats {
        lock(&self.state).stats.clone()
    }

    pub(super) fn crash_next(&self, times: u32) {
        lock(&self.state).crash_next = times;
    }

    /// Kills every sandbox; queued invocations fail.
    pub(super) fn stop(&self) {
        let mut state = lock(&self.state);
        state.stopped = true;
        for sandbox in state.sandboxes.values_mut() {
            if let Some(kill) = sandbox.kill.take() {
                let _ = kill.send(());
            }
        }
        for pending in state.queue.drain(..) {
            let _ = pending.reply.send(Outcome::Failed {
                error_type: "ResourceNotFoundException".to_owned(),
                error_message: "the function was removed".to_owned(),
            });
        }
    }

    /// Queues an invocation and waits for its outcome.
    pub(super) async fn invoke(self: &Arc<Self>, payload: Vec<u8>) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let request_id = uuid::Uuid::new_v4().to_string();
        {
            let mut state = lock(&self.state);
            state.queue.push_back(Pending {
                request_id: request_id.clone(),
                payload,
                reply,
            });
            let available = state
                .sandboxes
                .values()
                .filter(|sandbox| sandbox.waiting || !sandbox.ready)
                .count();
            if state.queue.len() > available
                && state.sandboxes.len() < self.spec.max_concurrency
                && !state.stopped
            {
                self.start_sandbox(&mut state);
            }
        }
        self.queued.notify_waiters();
        answer.await.unwrap_or_else(|_| Outcome::Failed {
            error_type: "Runtime.Unknown".to_owned(),
            error_message: format!("RequestId: {request_id} Error: the invocation was lost"),
        })
    }

    fn start_sandbox(self: &Arc<Self>, state: &mut State) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut command = tokio::process::Command::new(&self.spec.binary);
        command
            .env_clear()
            .envs(&self.spec.environment)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("{}/lambda-runtime/{id}", self.runtime_api),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", &id)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log);
        match log.and_then(|file| Ok((file.try_clone()?, file))) {
            Ok((stdout, stderr)) => {
                command.stdout(stdout).stderr(stderr);
            }
            Err(error) => {
                tracing::warn!(function = %self.spec.name, %error, "no log file; output dropped");
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(function = %self.spec.name, binary = %self.spec.binary.display(), %error, "cannot start a sandbox");
                if let Some(pending) = state.queue.pop_front() {
                    let _ = pending.reply.send(Outcome::Failed {
                        error_type: "Runtime.InvalidEntrypoint".to_owned(),
                        error_message: format!(
                            "RequestId: {} Error: cannot start {}: {error}",
                            pending.request_id,
                            self.spec.binary.display()
                        ),
                    });
                }
                return;
            }
        };
        let (kill, killed) = oneshot::channel();
        state.sandboxes.insert(
            id.clone(),
            Sandbox {
                pid: child.id(),
                started: Instant::now(),
                ready: false,
                waiting: false,
                kill: Some(kill),
            },
        );
        state.stats.cold_starts += 1;
        let function = Arc::clone(self);
        tokio::spawn(async move { function.watch(id, child, killed).await });
    }

    /// Waits for a sandbox to exit (or be killed) and fails its invocation if it had one.
    async fn watch(
        self: Arc<Self>,
        id: String,
        mut child: tokio::process::Child,
        killed: oneshot::Receiver<()>,
    ) {
        let status = tokio::select! {
            status = child.wait() => status.map(|status| status.to_string()),
            _ = killed => {
                let _ = child.kill().await;
                Ok("signal: 9 (SIGKILL)".to_owned())
            }
        };
        let status = status.unwrap_or_else(|error| error.to_string());
        let mut state = lock(&self.state);
        state.sandboxes.remove(&id);
        let orphan = state
            .in_flight
            .iter()
            .find(|(_, in_flight)| in_flight.sandbox == id)
            .map(|(request_id, _)| request_id.clone());
        if let Some(request_id) = orphan {
            if let Some(in_flight) = state.in_flight.remove(&request_id) {
                state.stats.invocations += 1;
                state.stats.errors += 1;
                state.stats.crashes += 1;
                let _ = in_flight.reply.send(Outcome::Failed {
                    error_type: "Runtime.ExitError".to_owned(),
                    error_message: format!(
                        "RequestId: {request_id} Error: Runtime exited with error: {status}"
                    ),
                });
            }
        }
        let waiting = state.queue.len();
        if waiting > 0 && !state.stopped && state.sandboxes.is_empty() {
            self.start_sandbox(&mut state);
        }
    }

    /// A sandbox's `next`: waits for an invocation and hands it over.
    pub(super) async fn next(self: &Arc<Self>, sandbox: &str) -> Option<Delivered> {
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = lock(&self.state);
                let crash = state.crash_next > 0;
                let entry = state.sandboxes.get_mut(sandbox)?;
                if !entry.ready {
                    entry.ready = true;
                    let init = entry.started.elapsed();
                    state
                        .stats
                        .cold_start_ms
                        .push(u64::try_from(init.as_millis()).unwrap_or(u64::MAX));
                }
                if let Some(pending) = state.queue.pop_front() {
                    let delivered = self.deliver(&mut state, sandbox, pending, crash);
                    return Some(delivered);
                }
                if let Some(entry) = state.sandboxes.get_mut(sandbox) {
                    entry.waiting = true;
                }
            }
            notified.await;
        }
    }

    fn deliver(
        self: &Arc<Self>,
        state: &mut State,
        sandbox: &str,
        pending: Pending,
        crash: bool,
    ) -> Delivered {
        let timeout = Duration::from_secs(self.spec.timeout_seconds);
        if let Some(entry) = state.sandboxes.get_mut(sandbox) {
            entry.waiting = false;
            if crash {
                state.crash_next -= 1;
                if let Some(kill) = entry.kill.take() {
                    let _ = kill.send(());
                }
            }
        }
        state.in_flight.insert(
            pending.request_id.clone(),
            InFlight {
                sandbox: sandbox.to_owned(),
                started: Instant::now(),
                reply: pending.reply,
                doomed: crash,
            },
        );
        let function = Arc::clone(self);
        let request_id = pending.request_id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            function.time_out(&request_id);
        });
        let deadline = SystemTime::now() + timeout;
        Delivered {
            request_id: pending.request_id,
            payload: pending.payload,
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis()),
            function_arn: self.spec.arn.clone(),
        }
    }

    /// The invocation ran past the timeout: it fails and its sandbox is replaced.
    fn time_out(&self, request_id: &str) {
        let mut state = lock(&self.state);
        let Some(in_flight) = state.in_flight.remove(request_id) else {
            return;
        };
        state.stats.invocations += 1;
        state.stats.errors += 1;
        state.stats.timeouts += 1;
        record_peak(&mut state, &in_flight.sandbox);
        if let Some(kill) = state
            .sandboxes
            .get_mut(&in_flight.sandbox)
            .and_then(|sandbox| sandbox.kill.take())
        {
            let _ = kill.send(());
        }
        let _ = in_flight.reply.send(Outcome::Failed {
            error_type: "Sandbox.Timedout".to_owned(),
            error_message: format!(
                "RequestId: {request_id} Error: Task timed out after {}.00 seconds",
                self.spec.timeout_seconds
            ),
        });
    }

    /// The sandbox's answer to an invocation; `false` when it is not one in flight.
    pub(super) fn answer(&self, request_id: &str, outcome: Outcome) -> bool {
        let mut state = lock(&self.state);
        if state
            .in_flight
            .get(request_id)
            .is_none_or(|in_flight| in_flight.doomed)
        {
            return false;
        }
        let Some(in_flight) = state.in_flight.remove(request_id) else {
            return false;
        };
        state.stats.invocations += 1;
        if matches!(outcome, Outcome::Failed { .. }) {
            state.stats.errors += 1;
        }
        let took = u64::try_from(in_flight.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        state.stats.max_duration_ms = state.stats.max_duration_ms.max(took);
        record_peak(&mut state, &in_flight.sandbox);
        let _ = in_flight.reply.send(outcome);
        true
    }

    pub(super) fn dead_lettered(&self) {
        lock(&self.state).stats.dead_lettered += 1;
    }
}

/// Keeps the sandbox's peak resident set (`VmHWM` in `/proc/PID/status`) if it is the largest.
fn record_peak(state: &mut State, sandbox: &str) {
    let Some(pid) = state.sandboxes.get(sandbox).and_then(|sandbox| sandbox.pid) else {
        return;
    };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return;
    };
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
    if let Some(peak) = peak {
        state.stats.peak_rss_kib = state.stats.peak_rss_kib.max(peak);
    }
}
