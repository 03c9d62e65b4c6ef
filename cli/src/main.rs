//! `fabric`: the Automation Fabric command. Checks configs, explains events, and (as the
//! project grows) plans, runs and reports. Human output by default, `--json` for machines;
//! exit 0 on success, 2 on bad input, 1 on any other failure.

mod approvals;
mod deployment;
mod executions;
mod explain;
mod failure;
mod local;
mod onboarding;
mod output;
mod plan_output;
mod progress;
mod runs;
mod style;
mod table;

use clap::{Parser, Subcommand};
use fabric::config::Config;
use failure::Failure;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run an AWS Organization's SSM Automation runbooks everywhere, from one place.
#[derive(Debug, Parser)]
#[command(name = "fabric", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// On failure, print the technical detail (every cause, the raw response) after the
    /// one-line error.
    #[arg(long, global = true)]
    verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check or describe the fabric's config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Read a trigger event (Organizations, Control Tower, CloudWatch alarm, schedule or
    /// manual run input) and print what the fabric makes of it.
    ExplainEvent {
        /// The event, as JSON (`-` for standard input).
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Resolve a run profile into the locations it would run in.
    Plan {
        /// The run profile.
        profile: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        #[command(flatten)]
        output: output::OutputArgs,
    },
    /// Run a profile across its locations and report every location's result.
    Run {
        /// The run profile.
        profile: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        #[command(flatten)]
        follow: FollowArgs,
    },
    /// Start the run a trigger event asks for (a schedule, alarm or manual run input), as the
    /// start-run function does.
    Trigger {
        /// The event, as JSON (`-` for standard input).
        event: PathBuf,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        #[command(flatten)]
        follow: FollowArgs,
    },
    /// Where a run stands: its locations by status. Given a state machine execution's ARN:
    /// where the execution stands (the state running, the step that failed), then its run.
    Status {
        /// The run id, or an execution's ARN.
        run: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        #[command(flatten)]
        output: output::OutputArgs,
        /// For an execution: follow it to its end, then print its run's report.
        #[arg(long)]
        wait: bool,
        /// Seconds between polls with --wait.
        #[arg(long, default_value_t = 2)]
        interval: u64,
    },
    /// Approve the wave a run's gate waits on (a gate with `approval`): the next wave starts.
    Approve {
        /// The run id.
        run: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        /// What to record beside the approval.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject the wave a run's gate waits on: the run ends there, and is reported.
    Reject {
        /// The run id.
        run: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        /// Why (recorded in the run's report).
        #[arg(long)]
        reason: String,
    },
    /// A run's report: every location's result.
    Report {
        /// The run id.
        run: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        #[command(flatten)]
        output: output::OutputArgs,
        /// Write the run's page to this file instead: one self-contained HTML file (the
        /// accounts x Regions matrix), as published beside the JSON report.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Share the configured documents with an account in every configured Region and deploy
    /// the execution role into it.
    Onboard {
        /// The account id.
        account: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        /// Say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: output::OutputArgs,
    },
    /// Unshare the documents from an account and remove the execution role from it.
    Offboard {
        /// The account id.
        account: String,
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        /// Say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: output::OutputArgs,
    },
    /// Find every active account that lacks a share or the role, and repair it.
    Reconcile {
        /// The config file.
        #[arg(long, env = "FABRIC_CONFIG", default_value = "fabric.yaml")]
        config: PathBuf,
        /// Say what is missing; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: output::OutputArgs,
    },
    /// The local AWS stack (moto and the simulator behind one endpoint), and the fabric
    /// deployed on it.
    #[command(subcommand)]
    Local(local::LocalCommand),
}

/// How `run` and `trigger` follow a run.
#[derive(Debug, clap::Args)]
struct FollowArgs {
    /// Wait until the run ends, printing progress, then print and publish the report.
    #[arg(long)]
    wait: bool,
    /// Plan only: print the locations, start nothing.
    #[arg(long)]
    dry_run: bool,
    /// Seconds between progress polls.
    #[arg(long, default_value_t = 2)]
    interval: u64,
    /// Stop waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// The deployed run state machine to start (the stack's `RunStateMachineArn` output;
    /// `fabric local env` exports it after `fabric local deploy`).
    #[arg(long, env = "FABRIC_RUN_STATE_MACHINE_ARN")]
    state_machine: Option<String>,
    /// Carry the run out in this process instead, walking the state machine's steps over the
    /// same step functions (for a machine without a deployment).
    #[arg(long)]
    in_process: bool,
}

impl FollowArgs {
    fn follow(&self) -> Result<runs::Follow, Failure> {
        let engine = match (&self.state_machine, self.in_process) {
            (_, true) => runs::Engine::InProcess,
            (Some(arn), false) => runs::Engine::Deployed(arn.clone()),
            (None, false) => {
                return Err(Failure::BadInput(
                    "no deployed run state machine: pass --state-machine ARN (the stack's RunStateMachineArn output), set FABRIC_RUN_STATE_MACHINE_ARN (`eval \"$(fabric local env)\"` after `fabric local deploy`), or carry the run out in this process with --in-process".to_owned(),
                ));
            }
        };
        Ok(runs::Follow {
            wait: self.wait,
            interval: std::time::Duration::from_secs(self.interval),
            timeout: std::time::Duration::from_secs(self.timeout),
            engine,
        })
    }
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file; every problem names its field.
    Check {
        /// The YAML config file.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the config file's JSON Schema.
    Schema,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with exit 0, usage errors with exit 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let mut out = std::io::stdout().lock();
    match run(cli.command, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure::report(&failure, cli.verbose),
    }
}

/// `fabric config check FILE`: the config validated, summed up, and the template parameters
/// that must agree with it.
fn config_check(file: &std::path::Path, json: bool, out: &mut impl Write) -> Result<(), Failure> {
    let config = Config::load(file)?;
    let written = if json {
        let summary = serde_json::json!({
            "valid": true,
            "regions": config.regions,
            "documents": config.documents.share.len(),
            "run_profiles": config.run_profiles.keys().collect::<Vec<_>>(),
            "alarm_rules": config.alarm_rules.len(),
            "template_parameters": config.template_parameters(),
        });
        writeln!(out, "{summary}")
    } else {
        writeln!(
            out,
            "{} is valid: {} Regions, {} document selectors, {} run profiles ({}), {} alarm rules",
            file.display(),
            config.regions.len(),
            config.documents.share.len(),
            config.run_profiles.len(),
            config
                .run_profiles
                .keys()
                .map(fabric::config::ProfileName::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            config.alarm_rules.len(),
        )
        .and_then(|()| {
            writeln!(
                out,
                "infra/template.yaml parameters that must agree with it (and OrganizationId):"
            )
        })
        .and_then(|()| {
            config
                .template_parameters()
                .iter()
                .try_for_each(|(name, value)| writeln!(out, "  {name}={value}"))
        })
    };
    written.map_err(|error| Failure::Other(format!("cannot write the output: {error}")))
}

/// `fabric config schema`: the config file's JSON Schema.
fn config_schema(out: &mut impl Write) -> Result<(), Failure> {
    let schema = serde_json::to_string_pretty(&Config::json_schema())
        .map_err(|error| Failure::Other(error.to_string()))?;
    writeln!(out, "{schema}")
        .map_err(|error| Failure::Other(format!("cannot write the output: {error}")))
}

fn run(command: Command, out: &mut impl Write) -> Result<(), Failure> {
    use fabric::model::OnboardingAction::{Offboard, Onboard};
    let style = style::Style::of_stdout();
    let written = match command {
        Command::Config(ConfigCommand::Check { file, json }) => {
            return config_check(&file, json, out);
        }
        Command::Config(ConfigCommand::Schema) => return config_schema(out),
        Command::ExplainEvent { file, json } => {
            let bytes = explain::read_input(&file)?;
            let event = fabric::events::TriggerEvent::from_slice(&bytes)?;
            explain::print(&event, json, out)
        }
        Command::Local(command) => return local::run(command, out),
        Command::Onboard {
            account,
            config,
            dry_run,
            output,
        } => {
            let format = output.format();
            return onboarding::onboard(&config, &account, Onboard, dry_run, format, style, out);
        }
        Command::Offboard {
            account,
            config,
            dry_run,
            output,
        } => {
            let format = output.format();
            return onboarding::onboard(&config, &account, Offboard, dry_run, format, style, out);
        }
        Command::Reconcile {
            config,
            dry_run,
            output,
        } => {
            return onboarding::reconcile(&config, dry_run, output.format(), out);
        }
        Command::Plan {
            profile,
            config,
            output,
        } => return runs::plan(&config, &profile, output.format(), style, out),
        Command::Run {
            profile,
            config,
            follow,
        } => {
            let dry_run = follow.dry_run;
            return runs::run(&config, &profile, dry_run, &follow.follow()?, style, out);
        }
        Command::Trigger {
            event,
            config,
            follow,
        } => {
            let dry_run = follow.dry_run;
            return runs::trigger(&config, &event, dry_run, &follow.follow()?, style, out);
        }
        Command::Status {
            run,
            config,
            output,
            wait,
            interval,
        } => {
            if wait {
                return runs::follow_execution(
                    &config,
                    &run,
                    std::time::Duration::from_secs(interval),
                    style,
                    out,
                );
            }
            return runs::status(&config, &run, output.format(), style, out);
        }
        Command::Approve {
            run,
            config,
            comment,
        } => {
            return approvals::answer(&config, &run, approvals::Answer::Approve { comment }, out);
        }
        Command::Reject {
            run,
            config,
            reason,
        } => return approvals::answer(&config, &run, approvals::Answer::Reject { reason }, out),
        Command::Report {
            run,
            config,
            output,
            html,
        } => return runs::report(&config, &run, html.as_deref(), output.format(), style, out),
    };
    written.map_err(|error| Failure::Other(format!("cannot write the output: {error}")))
}
