//! `fabric local`: the local AWS stack (moto server behind the simulator's front door, one
//! endpoint) started in the background, stopped, seeded and described; the template deployed
//! on it, its schedules fired and its topic read (`deployment`).

use crate::Failure;
use clap::Subcommand;
use fabric_simulator::faults::FaultSettings;
use fabric_simulator::ssm::engine::Settings;
use fabric_simulator::stack::{MotoProcess, local_dir, run_simulator};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the simulator may take to answer after it is started.
const SIMULATOR_START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub(crate) enum LocalCommand {
    /// Start the stack in the background and print the environment to use it.
    Up {
        /// The one endpoint's port.
        #[arg(long, default_value_t = 4566)]
        port: u16,
        /// moto's own port.
        #[arg(long, default_value_t = 5000)]
        moto_port: u16,
    },
    /// Stop the stack.
    Down,
    /// Print the environment to use the running stack (`eval "$(fabric local env)"`).
    Env,
    /// Seed the running stack: an organization with nested OUs and accounts, the central
    /// account's documents, tagged EC2 instances and resource groups in every account and Region.
    Seed {
        /// Arguments for the seeder (see `fabric local seed -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Deploy infra/template.yaml on the running stack: its queues, topic, bucket, buses,
    /// rules and state machines in moto, its functions as their host binaries (built by cargo)
    /// in the local Lambda, its rules' and schedules' targets in the local delivery.
    Deploy(crate::deployment::DeployOptions),
    /// Fire a schedule of the deployment now (NAME or the stack's NAME, e.g. `patch-window`),
    /// with `<aws.scheduler.scheduled-time>` filled in.
    Fire {
        /// The schedule.
        name: String,
    },
    /// Print (and consume) what the deployment's topic published since the last read.
    Messages {
        /// One JSON object per message.
        #[arg(long)]
        json: bool,
    },
    /// Serve the simulator in the foreground (what `up` runs in the background).
    #[command(hide = true)]
    Serve {
        /// The port to listen on.
        #[arg(long)]
        port: u16,
        /// moto's URL.
        #[arg(long)]
        moto_url: String,
        /// How long each simulated document step takes, in milliseconds.
        #[arg(long, default_value_t = 20)]
        step_ms: u64,
    },
}

/// What `up` leaves for `down` and `env`.
#[derive(Debug, Serialize, Deserialize)]
struct StackState {
    endpoint: String,
    moto_url: String,
    moto_pid: u32,
    simulator_pid: u32,
}

fn state_file(workspace: &Path) -> PathBuf {
    local_dir(workspace).join("stack.json")
}

fn read_state(workspace: &Path) -> Option<StackState> {
    let text = std::fs::read_to_string(state_file(workspace)).ok()?;
    serde_json::from_str(&text).ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn environment(workspace: &Path, state: &StackState) -> String {
    let mut text = format!(
        "export AWS_ENDPOINT_URL={}\nexport AWS_ACCESS_KEY_ID=testing\nexport AWS_SECRET_ACCESS_KEY=testing\nexport AWS_REGION=us-east-1\nexport AWS_DEFAULT_REGION=us-east-1\n",
        state.endpoint
    );
    if let Some(deployment) = crate::deployment::read_deployment(workspace) {
        for (variable, logical_id) in [
            ("FABRIC_RUN_STATE_MACHINE_ARN", "RunStateMachine"),
            (
                "FABRIC_ONBOARDING_STATE_MACHINE_ARN",
                "OnboardingStateMachine",
            ),
        ] {
            if let Some(arn) = deployment.state_machines.get(logical_id) {
                let _ = writeln!(text, "export {variable}={arn}");
            }
        }
    }
    text
}

fn other(what: impl std::fmt::Display) -> Failure {
    Failure::Other(what.to_string())
}

pub(crate) fn run(command: LocalCommand, out: &mut impl Write) -> Result<(), Failure> {
    let workspace = std::env::current_dir()
        .map_err(|error| other(format!("cannot read the current directory: {error}")))?;
    match command {
        LocalCommand::Up { port, moto_port } => up(&workspace, port, moto_port, out),
        LocalCommand::Down => down(&workspace, out),
        LocalCommand::Env => {
            let state = running(&workspace)?;
            write!(out, "{}", environment(&workspace, &state)).map_err(other)
        }
        LocalCommand::Seed { args } => seed(&workspace, &args, out),
        LocalCommand::Deploy(options) => {
            let state = running(&workspace)?;
            let binaries = options
                .binaries
                .clone()
                .unwrap_or_else(|| cargo_debug_dir(&workspace));
            crate::deployment::deploy(&workspace, &state.endpoint, &options, &binaries, out)
        }
        LocalCommand::Fire { name } => {
            let state = running(&workspace)?;
            crate::deployment::fire(&workspace, &state.endpoint, &name, out)
        }
        LocalCommand::Messages { json } => {
            running(&workspace)?;
            crate::deployment::messages(&workspace, json, out)
        }
        LocalCommand::Serve {
            port,
            moto_url,
            step_ms,
        } => {
            let runtime = tokio::runtime::Runtime::new().map_err(other)?;
            let settings = Settings {
                step_duration: Duration::from_millis(step_ms),
                ..Settings::default()
            };
            runtime
                .block_on(run_simulator(
                    port,
                    &moto_url,
                    settings,
                    FaultSettings::default(),
                ))
                .map_err(other)
        }
    }
}

fn up(workspace: &Path, port: u16, moto_port: u16, out: &mut impl Write) -> Result<(), Failure> {
    if let Some(state) = read_state(workspace) {
        if alive(state.moto_pid) && alive(state.simulator_pid) {
            writeln!(
                out,
                "# the local stack is already running at {}",
                state.endpoint
            )
            .map_err(other)?;
            return write!(out, "{}", environment(workspace, &state)).map_err(other);
        }
    }
    let started = Instant::now();
    let local = local_dir(workspace);
    std::fs::create_dir_all(&local).map_err(other)?;
    let moto =
        MotoProcess::start(workspace, moto_port, port, &local.join("moto.log")).map_err(other)?;
    let moto_url = moto.url().to_owned();
    let log = std::fs::File::create(local.join("simulator.log")).map_err(other)?;
    let simulator = Command::new(std::env::current_exe().map_err(other)?)
        .args([
            "local",
            "serve",
            "--port",
            &port.to_string(),
            "--moto-url",
            &moto_url,
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(other)?)
        .stderr(log)
        .spawn()
        .map_err(|error| other(format!("cannot start the simulator: {error}")))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let address = format!("127.0.0.1:{port}");
    while std::net::TcpStream::connect(&address).is_err() {
        if started.elapsed() > SIMULATOR_START_TIMEOUT {
            return Err(other(format!(
                "the simulator did not answer at {endpoint} within {} s: see {}",
                SIMULATOR_START_TIMEOUT.as_secs(),
                local.join("simulator.log").display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = StackState {
        endpoint,
        moto_url,
        moto_pid: moto.detach(),
        simulator_pid: simulator.id(),
    };
    std::fs::write(
        state_file(workspace),
        serde_json::to_string_pretty(&state).map_err(other)?,
    )
    .map_err(other)?;
    writeln!(
        out,
        "# local stack up in {:.1} s: {} (simulator) -> {} (moto); stop it with `fabric local down`",
        started.elapsed().as_secs_f64(),
        state.endpoint,
        state.moto_url
    )
    .map_err(other)?;
    write!(out, "{}", environment(workspace, &state)).map_err(other)
}

fn down(workspace: &Path, out: &mut impl Write) -> Result<(), Failure> {
    let Some(state) = read_state(workspace) else {
        return writeln!(out, "the local stack is not running").map_err(other);
    };
    let _ = std::fs::remove_file(crate::deployment::deployment_file(workspace));
    for pid in [state.simulator_pid, state.moto_pid] {
        if alive(pid) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
    std::fs::remove_file(state_file(workspace)).map_err(other)?;
    writeln!(out, "local stack stopped").map_err(other)
}

/// The running stack, or the error that says to start it.
fn running(workspace: &Path) -> Result<StackState, Failure> {
    read_state(workspace)
        .filter(|state| alive(state.simulator_pid))
        .ok_or_else(|| {
            Failure::BadInput(
                "the local stack is not running: start it with `fabric local up`".to_owned(),
            )
        })
}

/// Where cargo puts debug binaries: `$CARGO_TARGET_DIR/debug`, else `target/debug`.
fn cargo_debug_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from)
        .join("debug")
}

fn seed(workspace: &Path, args: &[String], out: &mut impl Write) -> Result<(), Failure> {
    let state = running(workspace)?;
    let python = local_dir(workspace).join("venv/bin/python");
    let output = Command::new(&python)
        .arg(workspace.join("local-stack/seed.py"))
        .args(["--endpoint", &state.endpoint])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| {
            other(format!(
                "cannot run the seeder with {}: {error}",
                python.display()
            ))
        })?;
    out.write_all(&output.stdout).map_err(other)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Failure::BadInput(format!(
            "the seeder failed ({})",
            output.status
        )))
    }
}
