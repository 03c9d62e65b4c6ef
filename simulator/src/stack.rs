//! The local stack's processes: moto server from the project's virtualenv, and the simulator
//! in front of it, on loopback ports. Used by `fabric local up` (long-lived, in the background)
//! and by tests (a private stack on free ports, torn down when dropped).

use crate::faults::{FaultSettings, Faults};
use crate::moto::Moto;
use crate::server::{Simulator, serve};
use crate::ssm::api::Api;
use crate::ssm::engine::{Engine, Settings};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long moto may take to answer after it is started.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the stack could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The virtualenv with moto is not there.
    #[error("moto is not installed at {}: run scripts/install-local-stack first", path.display())]
    NotInstalled {
        /// Where `moto_server` was looked for.
        path: PathBuf,
    },
    /// A process could not be started, or a port bound.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// moto did not answer in time.
    #[error("moto did not answer at {url} within {seconds} s (its log: {})", log.display())]
    NotReady {
        /// Where it was asked.
        url: String,
        /// How long it was given.
        seconds: u64,
        /// Its log file.
        log: PathBuf,
    },
}

/// The project's local directory (`.local/` beside the workspace's `Cargo.toml`).
pub fn local_dir(workspace: &Path) -> PathBuf {
    workspace.join(".local")
}

/// The `moto_server` of the project's virtualenv.
pub fn moto_server(workspace: &Path) -> PathBuf {
    local_dir(workspace).join("venv/bin/moto_server")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, StackError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| StackError::Io {
            what: "find a free loopback port".to_owned(),
            source,
        })
}

/// A moto server process; killed when dropped unless [`MotoProcess::detach`]ed.
#[derive(Debug)]
pub struct MotoProcess {
    child: Option<Child>,
    url: String,
}

impl MotoProcess {
    /// Starts moto on `port` (logging to `log`) and waits until it answers. Its Step Functions
    /// interpreter sends its service calls (Lambda, SQS, SNS, S3) to `localhost:$MOTO_PORT`;
    /// `moto_server` sets `MOTO_PORT` to its own port only when it is unset, so it is set to
    /// `front_door_port`: the interpreter's calls reach the simulator, which serves Lambda and
    /// forwards the rest back to moto. (moto internals: the pinned moto is checked by the
    /// `moto_interpreter_canary` test.) moto loads no default AMIs: it would otherwise make
    /// thousands of images, snapshots and volumes for each account and Region the first time
    /// EC2 is asked there (about 3 MB and 100 ms each), which an organization of thousands of
    /// accounts cannot afford; the local stack launches instances from any image id.
    pub fn start(
        workspace: &Path,
        port: u16,
        front_door_port: u16,
        log: &Path,
    ) -> Result<Self, StackError> {
        let server = moto_server(workspace);
        if !server.exists() {
            return Err(StackError::NotInstalled { path: server });
        }
        let log_file = std::fs::File::create(log).map_err(|source| StackError::Io {
            what: format!("create {}", log.display()),
            source,
        })?;
        let stderr = log_file.try_clone().map_err(|source| StackError::Io {
            what: "share the log file".to_owned(),
            source,
        })?;
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", front_door_port.to_string())
            .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .map_err(|source| StackError::Io {
                what: format!("start {}", server.display()),
                source,
            })?;
        let process = Self {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        process.wait_ready(log)?;
        Ok(process)
    }

    fn wait_ready(&self, log: &Path) -> Result<(), StackError> {
        let started = Instant::now();
        let address = self.url.trim_start_matches("http://").to_owned();
        while started.elapsed() < MOTO_START_TIMEOUT {
            if std::net::TcpStream::connect(&address).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(StackError::NotReady {
            url: self.url.clone(),
            seconds: MOTO_START_TIMEOUT.as_secs(),
            log: log.to_owned(),
        })
    }

    /// moto's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Leaves the process running after this value is dropped.
    pub fn detach(mut self) -> u32 {
        self.child.take().map_or(0, |child| child.id())
    }
}

impl Drop for MotoProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Builds the simulator in front of the moto at `moto_url`.
pub fn simulator(moto_url: &str, settings: Settings, faults: FaultSettings) -> Arc<Simulator> {
    let engine = Engine::new(Moto::new(moto_url), settings);
    Simulator::new(Api::new(engine), Faults::new(faults))
}

/// Serves the simulator on `port` of loopback until the process is told to stop (SIGTERM or
/// SIGINT); then the local Lambda's sandboxes are stopped with it.
pub async fn run_simulator(
    port: u16,
    moto_url: &str,
    settings: Settings,
    faults: FaultSettings,
) -> Result<(), StackError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| StackError::Io {
            what: format!("listen on 127.0.0.1:{port}"),
            source,
        })?;
    let simulator = simulator(moto_url, settings, faults);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| StackError::Io {
        what: "listen for SIGTERM".to_owned(),
        source,
    })?;
    let served = tokio::select! {
        served = serve(listener, Arc::clone(&simulator)) => served,
        _ = terminate.recv() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    simulator.lambda().stop();
    // Give the sandboxes' watchers a moment to kill their processes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    served.map_err(|source| StackError::Io {
        what: "serve the simulator".to_owned(),
        source,
    })
}

/// A whole stack for one test: moto on a free port, the simulator in this process on
/// another; both end when it is dropped.
#[derive(Debug)]
pub struct PrivateStack {
    moto: MotoProcess,
    endpoint: String,
    simulator: Arc<Simulator>,
    server: tokio::task::JoinHandle<()>,
    _logs: PathBuf,
}

impl PrivateStack {
    /// Starts a private stack (the virtualenv must be installed).
    pub async fn start(workspace: &Path, settings: Settings) -> Result<Self, StackError> {
        let logs = local_dir(workspace).join("test-logs");
        std::fs::create_dir_all(&logs).map_err(|source| StackError::Io {
            what: format!("create {}", logs.display()),
            source,
        })?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| StackError::Io {
                what: "listen on loopback".to_owned(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StackError::Io {
                what: "read the simulator's port".to_owned(),
                source,
            })?
            .port();
        let moto_port = free_port()?;
        let log = logs.join(format!("moto-{moto_port}.log"));
        let workspace = workspace.to_owned();
        let moto = tokio::task::spawn_blocking(move || {
            MotoProcess::start(&workspace, moto_port, port, &log)
        })
        .await
        .map_err(|error| StackError::Io {
            what: "start moto".to_owned(),
            source: std::io::Error::other(error),
        })??;
        let simulator = simulator(moto.url(), settings, FaultSettings::default());
        let serving = Arc::clone(&simulator);
        let server = tokio::spawn(async move {
            if let Err(error) = serve(listener, serving).await {
                tracing::error!(%error, "the simulator stopped");
            }
        });
        Ok(Self {
            moto,
            endpoint: format!("http://127.0.0.1:{port}"),
            simulator,
            server,
            _logs: logs,
        })
    }

    /// The one endpoint (simulator, forwarding to moto).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// moto's own URL.
    pub fn moto_url(&self) -> &str {
        self.moto.url()
    }

    /// The simulator, to inject faults or read call counts.
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.simulator
    }
}

impl Drop for PrivateStack {
    fn drop(&mut self) {
        self.server.abort();
    }
}
