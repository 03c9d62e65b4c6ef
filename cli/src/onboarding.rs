//! `fabric onboard`, `offboard` and `reconcile`: onboarding from the command line by the local
//! driver (`fabric::driver::onboarding`), which walks the onboarding state machine's graph over
//! the same steps the deployed functions call (check the account, share documents and deploy
//! the role, publish the report).

use crate::Failure;
use crate::output::OutputFormat;
use crate::style::Style;
use crate::table::{Cell, Table};
use fabric::aws::{OnboardingServices, RunServices};
use fabric::config::Config;
use fabric::driver::{self, End, Timing};
use fabric::model::{AccountId, OnboardingAction, OnboardingReport, RoleOutcome, ShareOutcome};
use fabric::onboarding::{self, ReconcileReport};
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
    format: OutputFormat,
    style: Style,
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
        .block_on(carry_out(&config, input, format, style, out))
}

/// How long the command line waits between two readiness checks of a new account.
const READINESS_WAIT: Duration = Duration::from_secs(3);

/// Onboards or offboards `input`'s account through the local driver, as the onboarding state
/// machine does, then prints the report (stored and published unless a dry run); its progress
/// too when the report is a table.
pub(crate) async fn carry_out(
    config: &Config,
    input: OnboardingInput,
    format: OutputFormat,
    style: Style,
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
    let outcome = if format == OutputFormat::Table {
        let mut printer = crate::progress::Printer::new(&mut *out, style);
        driver::onboarding::carry_out(
            &services.ports(config),
            reports.ports(config).reports(),
            input,
            timing,
            &mut printer,
        )
        .await?
    } else {
        driver::onboarding::carry_out(
            &services.ports(config),
            reports.ports(config).reports(),
            input,
            timing,
            &mut (),
        )
        .await?
    };
    let report = &outcome.report;
    match format {
        OutputFormat::Json => {
            return writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(report).map_err(other)?
            )
            .map_err(other);
        }
        OutputFormat::Csv => return report_table(report).write_csv(out).map_err(other),
        OutputFormat::Table => print_report(report, style, out).map_err(other)?,
    }
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

/// Each share of the report (document, Region, outcome and why), the execution role's, and each
/// error that concerns neither.
fn report_table(report: &OnboardingReport) -> Table<4> {
    let mut table = Table::new(["DOCUMENT", "REGION", "OUTCOME", "DETAIL"]);
    for share in &report.shares {
        let (outcome, detail) = match &share.outcome {
            ShareOutcome::Failed(reason) => ("Failed".to_owned(), reason.as_str()),
            ShareOutcome::LimitReached(reason) => ("LimitReached".to_owned(), reason.as_str()),
            other => (format!("{other:?}"), ""),
        };
        table.push([
            Cell::text(share.document.as_str()),
            Cell::text(share.region.as_str()),
            Cell::status(outcome),
            Cell::text(detail),
        ]);
    }
    let (role, detail) = match &report.role {
        RoleOutcome::Failed(reason) => ("Failed".to_owned(), reason.as_str()),
        RoleOutcome::Skipped(reason) => ("Skipped".to_owned(), reason.as_str()),
        other => (format!("{other:?}"), ""),
    };
    table.push([
        Cell::text("execution role"),
        Cell::Absent,
        Cell::status(role),
        Cell::text(detail),
    ]);
    push_errors(&mut table, &report.errors);
    table
}

/// A row per error (one that concerns no share or role) at the end of `table`.
fn push_errors(table: &mut Table<4>, errors: &[String]) {
    for error in errors {
        table.push([
            Cell::text("error"),
            Cell::Absent,
            Cell::status("Failed"),
            Cell::text(error.as_str()),
        ]);
    }
}

fn print_report(
    report: &OnboardingReport,
    style: Style,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(out, "\naccount {} ({:?})", report.account_id, report.action)?;
    report_table(report).write_text(style, out)
}

/// Each change reconciling made (or, in a dry run, would make): the document in its Region, or
/// the execution role; the account; what was done; and each error.
fn reconcile_table(report: &ReconcileReport) -> Table<4> {
    let would = |done: &'static str, planned: &'static str| {
        if report.dry_run { planned } else { done }
    };
    let mut table = Table::new(["TARGET", "ACCOUNT", "CHANGE", "DETAIL"]);
    let changes = [
        (&report.shared, would("Shared", "WouldShare")),
        (&report.unshared, would("Unshared", "WouldUnshare")),
    ];
    for (documents, change) in changes {
        for (document, accounts) in documents {
            for account in accounts {
                table.push([
                    Cell::text(document.as_str()),
                    Cell::text(account.as_str()),
                    Cell::status(change),
                    Cell::text(""),
                ]);
            }
        }
    }
    let roles = [
        (&report.roles_deployed, would("Deployed", "WouldDeploy")),
        (&report.roles_removed, would("Removed", "WouldRemove")),
    ];
    for (accounts, change) in roles {
        for account in accounts {
            table.push([
                Cell::text("execution role"),
                Cell::text(account.as_str()),
                Cell::status(change),
                Cell::text(""),
            ]);
        }
    }
    push_errors(&mut table, &report.errors);
    table
}

/// `fabric reconcile`.
pub(crate) fn reconcile(
    config: &Path,
    dry_run: bool,
    format: OutputFormat,
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
            match format {
                OutputFormat::Json => {
                    return writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&report).map_err(other)?
                    )
                    .map_err(other);
                }
                OutputFormat::Csv => return reconcile_table(&report).write_csv(out).map_err(other),
                OutputFormat::Table => {}
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

#[cfg(test)]
mod tests {
    use super::{print_report, report_table};
    use crate::style::Style;
    use fabric::model::{
        AccountId, DocumentName, DocumentShare, OnboardingAction, OnboardingReport, Region,
        RoleOutcome, ShareOutcome,
    };

    const REASON: &str = "AccessDenied: User arn:aws:sts::111122223333:assumed-role/fabric-onboarding/session is not authorized to perform ssm:ModifyDocumentPermission on resource arn:aws:ssm:us-east-1:111122223333:document/Automation-RunPatchBaseline";

    fn report() -> OnboardingReport {
        OnboardingReport {
            account_id: AccountId::new("444455556666").expect("an account"),
            action: OnboardingAction::Onboard,
            trigger_key: "cli-444455556666".to_owned(),
            shares: vec![DocumentShare {
                document: DocumentName::new("Automation-RunPatchBaseline").expect("a name"),
                region: Region::new("us-east-1").expect("a Region"),
                outcome: ShareOutcome::Failed(REASON.to_owned()),
            }],
            role: RoleOutcome::Deployed,
            errors: vec!["the account was never ready, \"PENDING\"".to_owned()],
        }
    }

    #[test]
    fn when_an_onboarding_report_is_shown_then_each_reason_is_whole_and_the_role_is_a_row() {
        let mut out = Vec::new();
        print_report(&report(), Style::PLAIN, &mut out).expect("written");
        let shown = String::from_utf8(out).expect("UTF-8");
        crate::table::assert_every_word_whole(REASON, &shown);
        assert!(
            shown.contains("  execution role               -          Deployed"),
            "{shown}"
        );
    }

    #[test]
    fn when_an_onboarding_report_is_csv_then_shares_role_and_errors_are_records() {
        let mut out = Vec::new();
        report_table(&report())
            .write_csv(&mut out)
            .expect("written");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            format!(
                "document,region,outcome,detail\n\
                 Automation-RunPatchBaseline,us-east-1,Failed,{REASON}\n\
                 execution role,,Deployed,\n\
                 error,,Failed,\"the account was never ready, \"\"PENDING\"\"\"\n"
            )
        );
    }
}
