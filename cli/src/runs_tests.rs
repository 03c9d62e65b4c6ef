//! The run report as the command line writes it: a table that wraps reasons whole, CSV, JSON.

use super::write_report;
use crate::output::OutputFormat;
use crate::style::Style;
use fabric::model::{
    AccountId, AutomationStatus, DocumentRef, Location, LocationResult, LocationStatus, Region,
    RunReport, RunTrigger,
};

/// SSM's reason when the execution role cannot be assumed, with more than 200 characters.
const LONG_REASON: &str = "Step fails when it is Executing. Fail to execute step: Unable to assume role arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole in account 190284592411, because its trust policy does not name the central account 111122223333; \"redeploy the role\", then retry.";

fn location(account: &str, region: &str) -> Location {
    Location::new(
        AccountId::new(account).expect("an account"),
        Region::new(region).expect("a Region"),
    )
}

/// A run of three locations: one failed with a long reason, one succeeded, one not started.
fn report() -> RunReport {
    let failed = location("190284592411", "us-east-1");
    let succeeded = location("444455556666", "us-west-2");
    let unstarted = location("777788889999", "eu-west-1");
    let mut report = RunReport::new(
        "run-1",
        DocumentRef::parse("Automation-RunPatchBaseline").expect("a document"),
        Some("patch-baseline".to_owned()),
        RunTrigger::Manual {
            requested_by: "test".to_owned(),
        },
        [&failed, &succeeded, &unstarted].map(|location| {
            LocationResult::not_started(location.clone(), Some("canary".to_owned()), "planned")
        }),
    );
    let mut result = LocationResult::not_started(failed, Some("canary".to_owned()), "");
    result.status = LocationStatus::Automation(AutomationStatus::Failed);
    result.failure_message = Some(LONG_REASON.to_owned());
    report.record(result).expect("planned");
    let mut result = LocationResult::not_started(succeeded, None, "");
    result.status = LocationStatus::Automation(AutomationStatus::Success);
    report.record(result).expect("planned");
    report
}

fn written(format: OutputFormat, style: Style) -> String {
    let mut out = Vec::new();
    write_report(&report(), format, style, &mut out).expect("written");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn when_a_reason_is_long_then_the_table_wraps_it_under_its_column_and_cuts_no_word() {
    assert!(LONG_REASON.len() > 200);
    let shown = written(OutputFormat::Table, Style::PLAIN);
    let lines: Vec<&str> = shown.lines().collect();
    let header = lines
        .iter()
        .find(|line| line.trim_start().starts_with("ACCOUNT"))
        .expect("a header");
    let column = header.find("DETAIL").expect("a DETAIL column");
    let first = lines
        .iter()
        .position(|line| line.contains("190284592411  us-east-1"))
        .expect("the failed location's line");
    assert_eq!(lines[first].find("Step fails"), Some(column), "{shown}");
    let continued: Vec<&str> = lines[first + 1..]
        .iter()
        .take_while(|line| line.starts_with(&" ".repeat(column)))
        .map(|line| line.trim())
        .collect();
    assert!(continued.len() >= 2, "{shown}");
    assert!(
        lines
            .iter()
            .all(|line| line.chars().count() <= Style::PLAIN.width
                || line.trim()
                    == "arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole"),
        "{shown}"
    );
    let mut detail = vec![lines[first][column..].trim()];
    detail.extend(continued);
    assert_eq!(detail.join(" "), LONG_REASON, "{shown}");
    crate::table::assert_every_word_whole(LONG_REASON, &shown);
    assert!(
        shown.contains("totals: Failed 1, NotStarted 1, Success 1"),
        "{shown}"
    );
}

#[test]
fn when_the_report_is_csv_then_each_location_is_a_record_with_its_reason_whole_and_quoted() {
    let shown = written(OutputFormat::Csv, Style::PLAIN);
    let quoted = format!("\"{}\"", LONG_REASON.replace('"', "\"\""));
    assert_eq!(
        shown,
        format!(
            "account,region,wave,status,detail\n\
             190284592411,us-east-1,canary,Failed,{quoted}\n\
             444455556666,us-west-2,,Success,\n\
             777788889999,eu-west-1,canary,NotStarted,planned\n"
        )
    );
}

#[test]
fn when_the_report_is_json_then_it_reads_back_as_the_same_report() {
    let shown = written(OutputFormat::Json, Style::PLAIN);
    let back: RunReport = serde_json::from_str(&shown).expect("the report as JSON");
    assert_eq!(back, report());
}

#[test]
fn when_colour_is_on_then_the_statuses_are_coloured_and_off_they_are_not() {
    let coloured = Style {
        colour: true,
        ..Style::PLAIN
    };
    let shown = written(OutputFormat::Table, coloured);
    assert!(shown.contains("\x1b[31mFailed\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[32mSuccess\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[33mNotStarted\x1b[0m"), "{shown:?}");
    assert!(!written(OutputFormat::Table, Style::PLAIN).contains('\x1b'));
    assert!(!written(OutputFormat::Csv, coloured).contains('\x1b'));
}
