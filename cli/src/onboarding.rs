//! `fabric onboard`, `offboard` and `reconcile`: onboarding from the command line by the local
//! driver (`fabric::driver::onboarding`), which walks the onboarding state machine's graph over
//! the same steps the deployed functions call (check the account, share documents and deploy
//! the role, publish the report).

use crate::Failure;
use fabric::aws::{OnboardingServices, RunServices};
use fabric::config::Config;
use fabric::driver::{self, End, Timing};
use fabric::model::{AccountId, OnboardingAction, OnboardingReport, RoleOutcome, ShareOutcome};
use fabric::onboarding;
use fabric::steps::onboarding::DRY_RUN_NOT_STORED;
use fabric::workflow::OnboardingInput;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

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
    onboarding::onboardable(&config, &account, action)?;
    let key = fabric::events::IdempotencyKey::derive(
        "cli",
        Some(account.as_str()),
        &chrono::Utc::now().to_rfc3339(),
    );
    let input = OnboardingInput {
        account_id: account,
        action,
        trigger_key: key.to_string(),
        dry_run,
    };
    tokio::runtime::Runtime::new()
        .map_err(other)?
        .block_on(carry_out(&config, input, json, out))
}

/// How long the command line waits between two readiness checks of a new account.
const READINESS_WAIT: Duration = Duration::from_secs(3);

/// Onboards or offboards `input`'s account through the local driver, as the onboarding state
/// machine does, then prints the report (stored and published unless a dry run).
pub(crate) async fn carry_out(
    config: &Config,
    input: OnboardingInput,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let sdk = fabric::aws::sdk_config().await;
    let services = OnboardingServices::new(&sdk, config);
    let reports = RunServices::new(&sdk, config)?;
    let timing = Timing {
        wait: READINESS_WAIT,
        retry_interval: Duration::from_secs(1),
        timeout: None,
    };
    let account = input.account_id.clone();
    let outcome = if json {
        driver::onboarding::carry_out(
            &services.ports(config),
            reports.ports(config).reports(),
            input,
            timing,
            &mut (),
        )
        .await?
    } else {
        let mut printer = crate::progress::Printer::new(&mut *out);
        driver::onboarding::carry_out(
            &services.ports(config),
            reports.ports(config).reports(),
            input,
            timing,
            &mut printer,
        )
        .await?
    };
    let report = &outcome.report;
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(report).map_err(other)?
        )
        .map_err(other);
    }
    print_report(report, out).map_err(other)?;
    match &outcome.published {
        Some(published) if published.report != DRY_RUN_NOT_STORED => {
            writeln!(out, "\nreport: {}", published.report).map_err(other)?;
        }
        Some(_) => writeln!(out, "\ndry run: nothing was changed").map_err(other)?,
        None => writeln!(out, "\nthe report could not be published").map_err(other)?,
    }
    if report.succeeded() && matches!(outcome.end, End::Succeeded(_)) {
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
            let verb = if dry_run { "would unshare" } else { "unshared" };
            for (document, accounts) in &report.unshared {
                let accounts: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
                writeln!(
                    out,
                    "  {document}: {verb} from {} (no longer active members)",
                    accounts.join(", ")
                )
                .map_err(other)?;
            }
            let verb = if dry_run { "would deploy" } else { "deployed" };
            writeln!(
                out,
                "  execution role: {verb} to {} accounts",
                report.roles_deployed.len()
            )
            .map_err(other)?;
            if !report.roles_removed.is_empty() {
                let verb = if dry_run { "would remove" } else { "removed" };
                let accounts: Vec<&str> =
                    report.roles_removed.iter().map(AccountId::as_str).collect();
                writeln!(
                    out,
                    "  execution role: {verb} from {} (no longer active members)",
                    accounts.join(", ")
                )
                .map_err(other)?;
            }
            for error in &report.errors {
                writeln!(out, "  error: {error}").map_err(other)?;
            }
            if report.in_sync() {
                writeln!(out, "nothing was missing").map_err(other)?;
            }
            Ok(())
        })
}
