//! `fabric onboard`, `offboard` and `reconcile`: onboarding from the command line with the
//! same steps, in the same order, as the onboarding state machine (check the account, share
//! documents and deploy the role, publish the report).

use crate::Failure;
use fabric::aws::{OnboardingServices, RunServices};
use fabric::config::Config;
use fabric::model::{AccountId, OnboardingAction, OnboardingReport, RoleOutcome, ShareOutcome};
use fabric::onboarding;
use std::io::Write;
use std::path::Path;

fn other(what: impl std::fmt::Display) -> Failure {
    Failure::Other(what.to_string())
}

/// `fabric onboard ACCOUNT` / `fabric offboard ACCOUNT`.
pub(crate) fn onboard(
    config: &Path,
    account: &str,
    action: OnboardingAction,
    dry_run: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    let account = AccountId::new(account)?;
    let key = fabric::events::IdempotencyKey::derive(
        "cli",
        Some(account.as_str()),
        &chrono::Utc::now().to_rfc3339(),
    );
    tokio::runtime::Runtime::new()
        .map_err(other)?
        .block_on(carry_out(
            &config,
            &account,
            action,
            key.as_str(),
            dry_run,
            json,
            out,
        ))
}

/// Onboards or offboards `account` as the state machine does, then stores and publishes the
/// report (unless a dry run).
pub(crate) async fn carry_out(
    config: &Config,
    account: &AccountId,
    action: OnboardingAction,
    trigger_key: &str,
    dry_run: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let sdk = fabric::aws::sdk_config().await;
    let services = OnboardingServices::new(&sdk, config);
    for step in &onboarding::ONBOARDING_STEPS[..3] {
        if !json {
            writeln!(out, "==> {step}").map_err(other)?;
        }
    }
    let report = onboarding::onboard(
        &services.directory,
        &services.documents,
        &services.roles,
        config,
        account,
        action,
        trigger_key,
        dry_run,
    )
    .await?;
    let published = if dry_run {
        None
    } else {
        if !json {
            writeln!(out, "==> {}", onboarding::ONBOARDING_STEPS[3]).map_err(other)?;
        }
        let reports = RunServices::new(&sdk, config)?;
        Some(
            fabric::report::publish_onboarding(
                &report,
                &reports.store,
                reports.notifier(),
                chrono::Utc::now(),
            )
            .await?,
        )
    };
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).map_err(other)?
        )
        .map_err(other);
    }
    print_report(&report, out).map_err(other)?;
    match published {
        Some(published) => writeln!(out, "\nreport: {}", published.report_uri).map_err(other)?,
        None => writeln!(out, "\ndry run: nothing was changed").map_err(other)?,
    }
    if report.succeeded() {
        Ok(())
    } else {
        Err(other(format!(
            "onboarding account {account} did not fully succeed: see the report"
        )))
    }
}

fn print_report(report: &OnboardingReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "\naccount {} ({:?})", report.account_id, report.action)?;
    writeln!(out, "  {:<34} {:<14} OUTCOME", "DOCUMENT", "REGION")?;
    for share in &report.shares {
        let outcome = match &share.outcome {
            ShareOutcome::Failed(reason) => format!("failed: {reason}"),
            ShareOutcome::LimitReached(reason) => format!("limit reached: {reason}"),
            other => format!("{other:?}"),
        };
        writeln!(
            out,
            "  {:<34} {:<14} {outcome}",
            share.document, share.region
        )?;
    }
    let role = match &report.role {
        RoleOutcome::Failed(reason) => format!("failed: {reason}"),
        RoleOutcome::Skipped(reason) => format!("skipped: {reason}"),
        other => format!("{other:?}"),
    };
    writeln!(out, "  execution role: {role}")?;
    for error in &report.errors {
        writeln!(out, "  error: {error}")?;
    }
    Ok(())
}

/// `fabric reconcile`.
pub(crate) fn reconcile(
    config: &Path,
    dry_run: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let config = Config::load(config)?;
    tokio::runtime::Runtime::new()
        .map_err(other)?
        .block_on(async {
            let sdk = fabric::aws::sdk_config().await;
            let services = OnboardingServices::new(&sdk, &config);
            let report = onboarding::reconcile(
                &services.directory,
                &services.documents,
                &services.roles,
                &config,
                dry_run,
            )
            .await?;
            if json {
                return writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(other)?
                )
                .map_err(other);
            }
            let verb = if dry_run { "would share" } else { "shared" };
            writeln!(out, "{} active member accounts", report.accounts).map_err(other)?;
            for (document, accounts) in &report.shared {
                writeln!(out, "  {document}: {verb} with {} accounts", accounts.len())
                    .map_err(other)?;
            }
            let verb = if dry_run { "would deploy" } else { "deployed" };
            writeln!(
                out,
                "  execution role: {verb} to {} accounts",
                report.roles_deployed.len()
            )
            .map_err(other)?;
            for error in &report.errors {
                writeln!(out, "  error: {error}").map_err(other)?;
            }
            if report.in_sync() {
                writeln!(out, "nothing was missing").map_err(other)?;
            }
            Ok(())
        })
}
