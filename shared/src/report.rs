//! Reports leave the fabric: the full [`RunReport`] in S3 under keys Athena can partition by
//! date (an index and its locations as JSON lines, [`crate::stored_run`]), and a summary on SNS that people read (subject, counts, failed locations
//! with reasons, where the full report is) and machines filter (JSON, message attributes),
//! always under SNS's 256 KiB whatever the run's size.

use crate::Result;
use crate::model::{
    LocationResult, LocationStatus, OnboardingAction, OnboardingReport, RoleOutcome, RunReport,
    RunTrigger, ShareOutcome,
};
use crate::ports::{Notification, Notifier, ReportStore};
use crate::report_page::{JsonLink, RunPage, onboarding_page};
use crate::runs::overall_status;
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;

/// SNS's limit on a message (subject, body and attributes together).
pub const SNS_MAX_BYTES: usize = 256 * 1024;
/// How many failed locations a summary lists; the rest are in the full report.
pub const MAX_LISTED_FAILURES: usize = 25;
/// SNS's limit on a subject.
const MAX_SUBJECT_CHARS: usize = 100;

/// A moment, as reports are dated.
pub type Timestamp = DateTime<Utc>;

/// Now.
pub fn now() -> Timestamp {
    Utc::now()
}

/// How many characters of a location's reason a summary repeats (the full report has it all).
const MAX_REASON_CHARS: usize = 300;

/// `text` in at most `chars` characters, and whether it was cut: cut at the last space before
/// the limit, so that no word is cut (unless the first word alone is too long), and ended
/// with `…`.
pub fn shortened(text: &str, chars: usize) -> (String, bool) {
    match text.char_indices().nth(chars.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > chars => {
            let kept = &text[..cut];
            let kept = match kept.rfind(' ') {
                Some(space) if space > 0 => &kept[..space],
                _ => kept,
            };
            (format!("{}…", kept.trim_end_matches([',', ';', ':'])), true)
        }
        _ => (text.to_owned(), false),
    }
}

/// A message's subject: `[Automation Fabric] ` and `text`, cut to SNS's limit.
pub fn subject_line(text: &str) -> String {
    shortened(&format!("[Automation Fabric] {text}"), MAX_SUBJECT_CHARS).0
}

/// The trigger's kind, as attributes and summaries name it.
pub fn trigger_kind(trigger: &RunTrigger) -> &'static str {
    match trigger {
        RunTrigger::Schedule { .. } => "schedule",
        RunTrigger::Alarm { .. } => "alarm",
        RunTrigger::Manual { .. } => "manual",
    }
}

/// Why a location did not succeed, in one line.
fn failure_reason(result: &LocationResult) -> String {
    let reason = match &result.status {
        LocationStatus::NotStarted(reason) | LocationStatus::Skipped(reason) => reason.clone(),
        LocationStatus::Automation(status) => {
            format!(
                "{status:?}: {}",
                result
                    .failure_message
                    .as_deref()
                    .unwrap_or("no reason given")
            )
        }
    };
    shortened(&reason, MAX_REASON_CHARS).0
}

/// Where a stored report is: its machine-readable JSON and its page for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLinks {
    /// The JSON report (for a run: its index).
    pub report: String,
    /// The HTML page beside it ([`crate::report_page`]).
    pub page: String,
}

/// The line of a summary that says where the full report is.
const FULL_REPORT: &str = "Full report: ";
/// The line of a summary that says where the report's page is.
const REPORT_PAGE: &str = "Report page: ";

/// The summary of `report`, whose full version and page are at `links`.
pub fn run_notification(report: &RunReport, links: &ReportLinks) -> Notification {
    let report_uri = links.report.as_str();
    let status = overall_status(report);
    let counts = report.counts_by_status();
    let total = report.locations().len();
    let succeeded = counts.get("Success").copied().unwrap_or(0);
    let failures: Vec<&LocationResult> = report
        .locations()
        .filter(|result| match &result.status {
            LocationStatus::Automation(status) => !status.is_success() && status.is_final(),
            LocationStatus::NotStarted(_) => true,
            LocationStatus::Skipped(_) => false,
        })
        .collect();
    let listed = &failures[..failures.len().min(MAX_LISTED_FAILURES)];
    let subject = subject_line(&format!(
        "{status}: {} in {succeeded} of {total} locations",
        report.document.name()
    ));
    let summary = json!({
        "run_id": report.run_id,
        "status": status,
        "document": report.document.to_string(),
        "trigger": trigger_kind(&report.trigger),
        "profile": report.profile,
        "locations": total,
        "counts": counts,
        "failed": listed.iter().map(|result| json!({
            "account_id": result.location.account_id,
            "region": result.location.region,
            "reason": failure_reason(result),
        })).collect::<Vec<_>>(),
        "failed_not_listed": failures.len() - listed.len(),
        "report": report_uri,
        "page": links.page,
        "parent_execution_ids": report.parent_execution_ids.iter().take(20).collect::<Vec<_>>(),
    });
    let mut message = summary_text(report, status, &counts, &failures, listed, links);
    message.push_str("\n--- JSON ---\n");
    message.push_str(&summary.to_string());
    let attributes = BTreeMap::from([
        ("status".to_owned(), status.to_owned()),
        ("document".to_owned(), report.document.name().to_string()),
        (
            "trigger".to_owned(),
            trigger_kind(&report.trigger).to_owned(),
        ),
        (
            "profile".to_owned(),
            report
                .profile
                .clone()
                .unwrap_or_else(|| "(inline)".to_owned()),
        ),
    ]);
    Notification {
        subject,
        message,
        attributes,
    }
}

/// The human part of a summary: counts by status, the failed locations with reasons (at most
/// [`MAX_LISTED_FAILURES`]), and where the full report is.
fn summary_text(
    report: &RunReport,
    status: &str,
    counts: &BTreeMap<String, usize>,
    failures: &[&LocationResult],
    listed: &[&LocationResult],
    links: &ReportLinks,
) -> String {
    let mut text = String::new();
    let profile = report
        .profile
        .as_ref()
        .map(|p| format!(", profile {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "Run {} of {} ({}{profile}): {status}.\n\nLocations by status:",
        report.run_id,
        report.document,
        trigger_kind(&report.trigger)
    );
    for (name, count) in counts {
        let _ = writeln!(text, "  {name}: {count}");
    }
    if !failures.is_empty() {
        let _ = writeln!(
            text,
            "\nLocations that did not succeed ({}):",
            failures.len()
        );
        for result in listed {
            let _ = writeln!(text, "  {} {}", result.location, failure_reason(result));
        }
        if failures.len() > listed.len() {
            let _ = writeln!(
                text,
                "  ... and {} more in the full report",
                failures.len() - listed.len()
            );
        }
    }
    let _ = writeln!(
        text,
        "\n{FULL_REPORT}{}\n{REPORT_PAGE}{}",
        links.report, links.page
    );
    text
}

/// AWS Chatbot's description limit, in characters: longer summaries are cut there (the full
/// report's location and its page's are at the top, so they always survive).
const CHATBOT_MAX_DESCRIPTION_CHARS: usize = 8000;

/// `notification` in AWS Chatbot's custom notification format (`version` 1.0, `source`
/// custom): the subject as title, the human summary as description, the attributes as context.
pub fn chatbot_message(notification: &Notification) -> String {
    let human = notification
        .message
        .split("\n--- JSON ---\n")
        .next()
        .unwrap_or_default();
    let line = |label: &str| {
        human
            .lines()
            .find(|line| line.starts_with(label))
            .unwrap_or_default()
    };
    let description: String = format!("{}\n{}\n\n{human}", line(FULL_REPORT), line(REPORT_PAGE))
        .chars()
        .take(CHATBOT_MAX_DESCRIPTION_CHARS)
        .collect();
    json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": notification.subject,
            "description": description,
        },
        "metadata": {
            "additionalContext": notification.attributes,
        },
    })
    .to_string()
}

/// The size SNS counts for `notification`.
pub fn notification_bytes(notification: &Notification) -> usize {
    notification.subject.len()
        + notification.message.len()
        + notification
            .attributes
            .iter()
            .map(|(name, value)| name.len() + value.len() + "String".len())
            .sum::<usize>()
}

/// Where a report went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The stored report.
    pub report_uri: String,
    /// Its page for people.
    pub page_uri: String,
    /// Its key in the report store (for a run: its index, [`crate::stored_run::index_key`]).
    pub report_key: String,
    /// The SNS message id, when a topic is configured.
    pub message_id: Option<String>,
}

/// Stores `run`'s report (an index and its locations in parts: [`crate::stored_run`]) and its
/// page beside the index, then publishes its summary (when there is a notifier).
pub async fn publish_run(
    run: &RunPage<'_>,
    store: &dyn ReportStore,
    notifier: Option<&dyn Notifier>,
    finished: DateTime<Utc>,
) -> Result<Published> {
    let report = run.report;
    let report_uri =
        crate::stored_run::store_run(report, overall_status(report), finished, store).await?;
    let report_key = crate::stored_run::index_key(&report.run_id, finished);
    let link = JsonLink {
        href: format!("{}.json", report.run_id),
        text: report_uri.clone(),
    };
    let page = RunPage {
        finished_at: Some(finished),
        json_report: Some(&link),
        ..*run
    }
    .render();
    let page_key = crate::stored_run::page_key(&report.run_id, finished);
    let links = ReportLinks {
        report: report_uri,
        page: store.put(&page_key, page.into_bytes()).await?,
    };
    announce(links, report_key, notifier, |links| {
        run_notification(report, links)
    })
    .await
}

/// Publishes the summary `notification` makes of a report stored at `links` (when there is a
/// notifier): where it went.
async fn announce(
    links: ReportLinks,
    report_key: String,
    notifier: Option<&dyn Notifier>,
    notification: impl FnOnce(&ReportLinks) -> Notification,
) -> Result<Published> {
    let message_id = match notifier {
        Some(notifier) => Some(notifier.publish(&notification(&links)).await?),
        None => None,
    };
    Ok(Published {
        report_uri: links.report,
        page_uri: links.page,
        report_key,
        message_id,
    })
}

/// Where an onboarding report is stored, without its extension (`.json` for the report,
/// `.html` for its page): `onboarding/year=YYYY/month=MM/day=DD/<account>-<key>`.
pub fn onboarding_report_stem(report: &OnboardingReport, finished: DateTime<Utc>) -> String {
    format!(
        "onboarding/year={:04}/month={:02}/day={:02}/{}-{}",
        finished.year(),
        finished.month(),
        finished.day(),
        report.account_id,
        report.trigger_key
    )
}

/// The summary of an onboarding report, whose full version and page are at `links`.
pub fn onboarding_notification(report: &OnboardingReport, links: &ReportLinks) -> Notification {
    let report_uri = links.report.as_str();
    let verb = match report.action {
        OnboardingAction::Onboard => "onboarded",
        OnboardingAction::Offboard => "offboarded",
    };
    let status = if report.succeeded() {
        "Success"
    } else {
        "Failed"
    };
    let problems: Vec<String> = report
        .shares
        .iter()
        .filter_map(|share| match &share.outcome {
            ShareOutcome::Failed(reason) | ShareOutcome::LimitReached(reason) => {
                Some(format!("{} in {}: {reason}", share.document, share.region))
            }
            _ => None,
        })
        .chain(match &report.role {
            RoleOutcome::Failed(reason) => Some(format!("execution role: {reason}")),
            _ => None,
        })
        .chain(report.errors.iter().cloned())
        .collect();
    let mut message = format!(
        "Account {} {verb}: {status}.\n\n{} document shares, execution role: {:?}.\n",
        report.account_id,
        report.shares.len(),
        report.role
    );
    for problem in problems.iter().take(MAX_LISTED_FAILURES) {
        let _ = writeln!(message, "  {}", shortened(problem, MAX_REASON_CHARS).0);
    }
    let _ = writeln!(
        message,
        "\n{FULL_REPORT}{report_uri}\n{REPORT_PAGE}{}\n\n--- JSON ---",
        links.page
    );
    message.push_str(&json!({"account_id": report.account_id, "action": report.action, "status": status, "problems": problems.len(), "report": report_uri, "page": links.page}).to_string());
    Notification {
        subject: format!(
            "[Automation Fabric] Account {} {verb}: {status}",
            report.account_id
        ),
        message,
        attributes: BTreeMap::from([
            ("status".to_owned(), status.to_owned()),
            ("trigger".to_owned(), "account".to_owned()),
            ("action".to_owned(), verb.to_owned()),
        ]),
    }
}

/// Stores an onboarding report as JSON and its page beside it, then publishes its summary
/// (when there is a notifier).
pub async fn publish_onboarding(
    report: &OnboardingReport,
    store: &dyn ReportStore,
    notifier: Option<&dyn Notifier>,
    finished: DateTime<Utc>,
) -> Result<Published> {
    let stem = onboarding_report_stem(report, finished);
    let report_key = format!("{stem}.json");
    let body = serde_json::to_vec_pretty(report)
        .map_err(|error| crate::Error::unserializable("the report", &error))?;
    let report_uri = store.put(&report_key, body).await?;
    let link = JsonLink {
        href: report_key.rsplit('/').next().unwrap_or_default().to_owned(),
        text: report_uri.clone(),
    };
    let page = onboarding_page(report, Some(&link));
    let links = ReportLinks {
        report: report_uri,
        page: store
            .put(&format!("{stem}.html"), page.into_bytes())
            .await?,
    };
    announce(links, report_key, notifier, |links| {
        onboarding_notification(report, links)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_text_is_shortened_then_no_word_is_cut_and_it_ends_with_an_ellipsis() {
        let reason = "Unable to assume role arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole in account 190284592411";
        let (shown, cut) = shortened(reason, 40);
        assert!(cut);
        assert_eq!(shown, "Unable to assume role…");
        assert_eq!(shortened(reason, 500), (reason.to_owned(), false));
        // A first word longer than the limit is cut where the limit falls.
        assert_eq!(shortened("abcdefgh", 4).0, "abc…");
    }
    use crate::model::{
        AccountId, AutomationStatus, DocumentRef, Location, LocationResult, Region,
    };

    /// A report of `accounts` x 4 Regions where every third location failed with a long reason.
    fn big_report(accounts: usize) -> RunReport {
        let regions = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2"];
        let results = (0..accounts).flat_map(|n| {
            regions.iter().enumerate().map(move |(r, region)| {
                let location = Location::new(
                    AccountId::new(format!("{:012}", 100_000_000_000 + n)).expect("valid"),
                    Region::new(*region).expect("valid"),
                );
                let mut result = LocationResult::not_started(location, Some("all".to_owned()), "");
                result.status = if (n + r) % 3 == 0 {
                    LocationStatus::Automation(AutomationStatus::Failed)
                } else {
                    LocationStatus::Automation(AutomationStatus::Success)
                };
                result.failure_message = Some("Step fails when it is Executing. ".repeat(40));
                result
            })
        });
        RunReport::new(
            "schedule-patch-window-0123456789abcdef",
            DocumentRef::parse("Automation-RunPatchBaseline").expect("valid"),
            Some("patch-baseline".to_owned()),
            RunTrigger::Schedule {
                schedule_name: "patch-window".to_owned(),
                scheduled_time: "2026-11-22T02:00:00Z".to_owned(),
            },
            results,
        )
    }

    #[test]
    fn when_a_run_has_4000_locations_then_its_summary_stays_under_the_sns_limit_and_names_the_report()
     {
        let report = big_report(1000);
        assert_eq!(report.locations().len(), 4000);
        let uri = "s3://automation-fabric-reports-111122223333/reports/runs/year=2026/month=11/day=22/run.json";
        let links = ReportLinks {
            report: uri.to_owned(),
            page: uri.replace(".json", ".html"),
        };
        let notification = run_notification(&report, &links);
        let size = notification_bytes(&notification);
        assert!(size < SNS_MAX_BYTES, "{size} bytes");
        assert!(notification.message.contains(uri));
        assert!(
            notification
                .message
                .contains(&format!("{REPORT_PAGE}{}", links.page))
        );
        assert!(notification.message.contains("more in the full report"));
        assert!(
            notification.subject.chars().count() <= 100,
            "{}",
            notification.subject
        );
        let json = notification
            .message
            .split("--- JSON ---\n")
            .nth(1)
            .expect("a JSON part");
        let summary: serde_json::Value = serde_json::from_str(json).expect("the JSON part parses");
        assert_eq!(summary["locations"], 4000);
        assert_eq!(
            summary["failed"].as_array().map(Vec::len),
            Some(MAX_LISTED_FAILURES)
        );
        assert_eq!(
            notification.attributes.get("trigger").map(String::as_str),
            Some("schedule")
        );
        assert_eq!(
            notification.attributes.get("status").map(String::as_str),
            Some("Failed")
        );
    }

    #[test]
    fn when_chatbot_format_is_asked_then_the_summary_is_a_custom_notification_naming_the_report() {
        let report = big_report(1000);
        let uri = "s3://bucket/reports/runs/run.json";
        let links = ReportLinks {
            report: uri.to_owned(),
            page: "s3://bucket/reports/runs/run.html".to_owned(),
        };
        let message = chatbot_message(&run_notification(&report, &links));
        let value: serde_json::Value = serde_json::from_str(&message).expect("JSON");
        assert_eq!(value["version"], "1.0");
        assert_eq!(value["source"], "custom");
        let description = value["content"]["description"]
            .as_str()
            .expect("a description");
        assert!(
            description.starts_with(&format!("{FULL_REPORT}{uri}\n{REPORT_PAGE}{}", links.page)),
            "{description}"
        );
        assert!(description.chars().count() <= CHATBOT_MAX_DESCRIPTION_CHARS);
        assert_eq!(
            value["metadata"]["additionalContext"]["trigger"],
            "schedule"
        );
    }
}
