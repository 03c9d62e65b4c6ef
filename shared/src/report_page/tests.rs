//! The report page against reports built here: one cell per location with its status and its
//! reason uncut, groups by wave and OU, HTML escaped, and the onboarding page's matrix.

use super::*;
use crate::model::{
    AccountOrOu, DocumentName, DocumentRef, DocumentShare, Location, RunRequest, RunSpec,
    TargetLocation,
};
use crate::plan::{PlannedCall, PlannedWave};

fn location(account: &str, region: &str) -> Location {
    Location::new(
        AccountId::new(account).expect("valid"),
        Region::new(region).expect("valid"),
    )
}

/// A run of two waves over three accounts (two in an OU, one named directly) x 2 Regions.
fn run() -> (RunReport, RunPlan) {
    let long_reason = "Unable to assume role arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole in account 190284592411: <not authorized> & \"denied\"";
    let mut results = Vec::new();
    for (account, wave) in [
        ("111111111111", "canary"),
        ("222222222222", "rest"),
        ("333333333333", "rest"),
    ] {
        for region in ["us-east-1", "eu-west-1"] {
            let mut result =
                LocationResult::not_started(location(account, region), Some(wave.to_owned()), "");
            result.status = LocationStatus::Automation(AutomationStatus::Success);
            if account == "222222222222" && region == "eu-west-1" {
                result.status = LocationStatus::Automation(AutomationStatus::Failed);
                result.failure_message = Some(long_reason.to_owned());
            }
            results.push(result);
        }
    }
    let mut skipped = LocationResult::not_started(
        location("444444444444", "us-east-1"),
        Some("rest".to_owned()),
        "",
    );
    skipped.status = LocationStatus::Skipped("the account is SUSPENDED".to_owned());
    results.push(skipped);
    let trigger = RunTrigger::Schedule {
        schedule_name: "patch-window".to_owned(),
        scheduled_time: "2026-11-29T02:00:00Z".to_owned(),
    };
    let document = DocumentRef::parse("Automation-RunPatchBaseline").expect("valid");
    let report = RunReport::new(
        "run-1",
        document.clone(),
        Some("patch".to_owned()),
        trigger.clone(),
        results,
    );
    let mut location_spec = TargetLocation::new(
        vec![AccountOrOu::Account(
            AccountId::new("111111111111").expect("valid"),
        )],
        Vec::new(),
    );
    location_spec.target_location_max_concurrency = Some("10%".parse().expect("valid"));
    let spec: RunSpec =
        serde_json::from_value(serde_json::json!({"document": "Automation-RunPatchBaseline"}))
            .expect("valid");
    let plan = RunPlan {
        run_id: "run-1".to_owned(),
        request: RunRequest {
            profile: Some("patch".to_owned()),
            spec: RunSpec {
                target_locations: vec![location_spec],
                ..spec
            },
            trigger,
        },
        waves: ["canary", "rest"]
            .map(|name| PlannedWave {
                name: name.to_owned(),
                gate: None,
                calls: Vec::<PlannedCall>::new(),
            })
            .to_vec(),
        skipped: Vec::new(),
        ous: [
            ("222222222222", "ou-abcd-workload1"),
            ("333333333333", "ou-abcd-workload1"),
            ("444444444444", "ou-abcd-workload1"),
        ]
        .into_iter()
        .map(|(account, ou)| {
            (
                AccountId::new(account).expect("valid"),
                crate::model::OuId::new(ou).expect("valid"),
            )
        })
        .collect(),
    };
    (report, plan)
}

/// The cells of `html`: (account, Region, status, reason), read back from the markup.
fn cells(html: &str) -> Vec<(String, String, String, String)> {
    let attribute = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    let mut found = Vec::new();
    for row in html.split("<tr data-account=\"").skip(1) {
        let account = row.split('"').next().unwrap_or_default().to_owned();
        let row = row.split("</tr>").next().unwrap_or_default();
        for tag in row.split("<td class=\"cell").skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            found.push((
                account.clone(),
                attribute(tag, "data-region"),
                attribute(tag, "data-status"),
                attribute(tag, "title"),
            ));
        }
    }
    found
}

#[test]
fn when_a_run_is_rendered_then_every_location_has_one_cell_with_its_status_and_full_reason() {
    let (report, plan) = run();
    let link = JsonLink {
        href: "run-1.json".to_owned(),
        text: "s3://bucket/runs/run-1.json".to_owned(),
    };
    let html = RunPage {
        report: &report,
        plan: &plan,
        begun_at: None,
        finished_at: Some(crate::report::now()),
        json_report: Some(&link),
    }
    .render();
    let cells = cells(&html);
    assert_eq!(cells.len(), report.locations().len());
    for result in report.locations() {
        let matching: Vec<_> = cells
            .iter()
            .filter(|(account, region, _, _)| {
                *account == result.location.account_id.as_str()
                    && *region == result.location.region.as_str()
            })
            .collect();
        assert_eq!(matching.len(), 1, "{}", result.location);
        assert_eq!(matching[0].2, status_name(&result.status));
    }
    let failed = cells
        .iter()
        .find(|cell| cell.2 == "Failed")
        .expect("the failed location");
    assert_eq!(
        failed.3,
        "Unable to assume role arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole in account 190284592411: &lt;not authorized&gt; &amp; &quot;denied&quot;"
    );
    assert!(html.contains("href=\"run-1.json\""));
    assert!(!html.contains("<not authorized>"), "reasons are escaped");
}

#[test]
fn when_a_run_is_rendered_then_accounts_are_grouped_by_wave_and_ou_with_totals_and_rate_control() {
    let (report, plan) = run();
    let html = RunPage {
        report: &report,
        plan: &plan,
        begun_at: None,
        finished_at: None,
        json_report: None,
    }
    .render();
    let canary = html.find("<h2>Wave canary</h2>").expect("the canary wave");
    let rest = html.find("<h2>Wave rest</h2>").expect("the rest wave");
    assert!(canary < rest);
    assert!(html.contains(&format!(
        "data-wave=\"canary\" data-ou=\"{ACCOUNTS_NAMED}\""
    )));
    assert!(html.contains("data-wave=\"rest\" data-ou=\"ou-abcd-workload1\""));
    assert!(html.contains("ou-abcd-workload1 (3 accounts)"));
    assert!(html.contains("<b data-total=\"Success\">5</b>"));
    assert!(html.contains("<b data-total=\"Failed\">1</b>"));
    assert!(html.contains("<b data-total=\"Skipped\">1</b>"));
    assert!(
        html.contains("wave all: locations 10% at once, error threshold SSM&#39;s default"),
        "{html}"
    );
    assert!(html.contains("still running"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external asset"
    );
}

#[test]
fn when_an_onboarding_is_rendered_then_each_document_has_a_cell_per_region_and_the_role_is_named() {
    let share = |document: &str, region: &str, outcome: ShareOutcome| DocumentShare {
        document: DocumentName::new(document).expect("valid"),
        region: Region::new(region).expect("valid"),
        outcome,
    };
    let report = OnboardingReport {
        account_id: AccountId::new("444455556666").expect("valid"),
        action: OnboardingAction::Onboard,
        trigger_key: "account-joined-444455556666".to_owned(),
        shares: vec![
            share(
                "Automation-RunPatchBaseline",
                "us-east-1",
                ShareOutcome::Shared,
            ),
            share(
                "Automation-RunPatchBaseline",
                "eu-west-1",
                ShareOutcome::Failed("AccessDenied".to_owned()),
            ),
            share(
                "Automation-RestartInstance",
                "us-east-1",
                ShareOutcome::AlreadyShared,
            ),
        ],
        role: RoleOutcome::Deployed,
        errors: Vec::new(),
    };
    let html = onboarding_page(&report, None);
    let cells = cells(&html);
    assert_eq!(cells.len(), 3);
    assert!(cells.contains(&(
        "Automation-RunPatchBaseline".to_owned(),
        "eu-west-1".to_owned(),
        "Failed".to_owned(),
        "AccessDenied".to_owned()
    )));
    assert!(html.contains("<dt>Execution role</dt><dd>Deployed</dd>"));
    assert!(html.contains("id=\"run-status\">Failed<"));
}
