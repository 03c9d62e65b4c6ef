//! `fabric run` and `fabric trigger` on a deployment: the trigger started as an execution of
//! the deployed run state machine (as its schedules and alarm rule start it), followed through
//! `DescribeExecution` and the execution's history (the state running now, the locations by
//! status as `TrackRun` last counted them, the state whose task failed), and the run's report
//! read back from the bucket.

use crate::Failure;
use crate::progress::ProgressLine;
use crate::runs::{Follow, print_run_report};
use crate::style::Style;
use fabric::aws::{ExecutionView, Executions};
use fabric::config::Config;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

fn other(what: impl std::fmt::Display) -> Failure {
    Failure::Other(what.to_string())
}

/// Starts `input` on `state_machine` and, with `--wait`, follows it to its end.
pub(crate) async fn start_and_follow(
    config: &Config,
    state_machine: &str,
    input: &serde_json::Value,
    follow: &Follow,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let sdk = fabric::aws::sdk_config().await;
    let executions = Executions::from_sdk(&sdk);
    let name = format!("fabric-cli-{}", chrono::Utc::now().timestamp_millis());
    let arn = executions.start(state_machine, &name, input).await?;
    writeln!(out, "execution {arn}").map_err(other)?;
    if !follow.wait {
        return writeln!(out, "follow it with `fabric status {arn} --wait`").map_err(other);
    }
    follow_to_end(
        config,
        &executions,
        &arn,
        follow.interval,
        follow.timeout,
        style,
        out,
    )
    .await
}

/// Follows the execution `arn` to its end, printing each state as it is entered, then how it
/// ended and its run's report.
pub(crate) async fn follow_execution(
    config: &Config,
    arn: &str,
    interval: Duration,
    timeout: Duration,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let sdk = fabric::aws::sdk_config().await;
    follow_to_end(
        config,
        &Executions::from_sdk(&sdk),
        arn,
        interval,
        timeout,
        style,
        out,
    )
    .await
}

async fn follow_to_end(
    config: &Config,
    executions: &Executions,
    arn: &str,
    interval: Duration,
    timeout: Duration,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut shown: Option<String> = None;
    let mut progress = ProgressLine::new(&mut *out, style);
    loop {
        let view = executions.view(arn).await?;
        if view.running_state.is_some() && view.running_state != shown {
            progress.line(&format!(
                "  {:>6.1} s  {}",
                started.elapsed().as_secs_f64(),
                view.running_state.as_deref().unwrap_or_default()
            ));
            shown.clone_from(&view.running_state);
        }
        progress.stands(
            started.elapsed(),
            tracked_counts(&view).as_ref(),
            view.running_state.as_deref(),
        );
        if let Some(error) = progress.take_error() {
            return Err(other(error));
        }
        if view.status != "RUNNING" {
            drop(progress);
            return finish(config, &view, style, out).await;
        }
        if started.elapsed() > timeout {
            return Err(other(format!(
                "execution {arn} has not ended after {} s: follow it with `fabric status {arn} --wait`",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}

/// The locations by status as the execution's latest `TrackRun` counted them, if it has run.
fn tracked_counts(view: &ExecutionView) -> Option<BTreeMap<String, usize>> {
    view.task_answers
        .iter()
        .rev()
        .filter(|answer| answer.state == "TrackRun")
        .find_map(|answer| {
            let counts = answer.output.as_ref()?["Payload"]["counts"].clone();
            serde_json::from_value(counts).ok()
        })
}

/// Prints how an execution ended and its run's report; fails unless it succeeded.
async fn finish(
    config: &Config,
    view: &ExecutionView,
    style: Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    describe(view, out).map_err(other)?;
    if let Some(run_id) = view.run_id() {
        print_run_report(config, &run_id, style, out).await?;
    }
    if view.status == "SUCCEEDED" {
        Ok(())
    } else {
        let (error, cause) = view.error.clone().unwrap_or_default();
        Err(other(format!(
            "execution {} ended {}: {error} {cause}",
            view.arn, view.status
        )))
    }
}

/// An execution's status, the state it is in, and the task that failed.
pub(crate) fn describe(view: &ExecutionView, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "execution {}: {}", view.arn, view.status)?;
    if let Some(state) = &view.running_state {
        writeln!(out, "  running: {state}")?;
    }
    if let Some((state, error, cause)) = &view.failed_state {
        writeln!(out, "  failed step: {state}: {error}: {cause}")?;
    }
    if let Some(run_id) = view.run_id() {
        writeln!(out, "  run: {run_id}")?;
    }
    Ok(())
}

/// `fabric status EXECUTION_ARN`: where the execution stands; its run id if it has one.
pub(crate) async fn status(arn: &str, out: &mut impl Write) -> Result<Option<String>, Failure> {
    let sdk = fabric::aws::sdk_config().await;
    let view = Executions::from_sdk(&sdk).view(arn).await?;
    describe(&view, out).map_err(other)?;
    Ok(view.run_id())
}
