//! Reports people look at: one self-contained HTML page per run (an accounts x Regions matrix
//! grouped by wave and OU, each cell coloured by status with its reason on hover and click,
//! totals, filters by status, OU and Region, what ran and how) and per onboarding (documents x
//! Regions for the account, and the role). No external asset: the page works offline, from S3
//! or from a file.

use crate::model::{
    AccountId, AutomationStatus, LocationResult, LocationStatus, OnboardingAction,
    OnboardingReport, Region, RoleOutcome, RunReport, RunTrigger, ShareOutcome, status_name,
};
use crate::plan::RunPlan;
use crate::report::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The page's style sheet.
const STYLE: &str = include_str!("page.css");
/// The page's filters and cell details.
const SCRIPT: &str = include_str!("page.js");

/// The group of the accounts a run named directly rather than through an OU.
pub const ACCOUNTS_NAMED: &str = "accounts named directly";

/// A link to the machine-readable report beside the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonLink {
    /// Where it points (relative to the page when both are stored side by side).
    pub href: String,
    /// What it says (the report's `s3://` location).
    pub text: String,
}

/// A run's page: its report, the plan it came from (rate control, gates, each account's OU)
/// and when it ran.
#[derive(Debug, Clone, Copy)]
pub struct RunPage<'a> {
    /// Every location's result.
    pub report: &'a RunReport,
    /// The plan the run carried out.
    pub plan: &'a RunPlan,
    /// When the run was accepted.
    pub begun_at: Option<Timestamp>,
    /// When its report was published (`None` while it runs).
    pub finished_at: Option<Timestamp>,
    /// The JSON report, when it is stored.
    pub json_report: Option<&'a JsonLink>,
}

/// How a status looks: its colour class and the glyph in its cell.
fn look(status: &LocationStatus) -> (&'static str, &'static str) {
    match status {
        LocationStatus::Automation(status) if status.is_success() => ("k-ok", "✓"),
        LocationStatus::Automation(status) if status.is_final() => ("k-bad", "✗"),
        LocationStatus::Automation(AutomationStatus::Waiting) => ("k-warn", "…"),
        LocationStatus::Automation(_) => ("k-run", "…"),
        LocationStatus::NotStarted(_) => ("k-warn", "!"),
        LocationStatus::Skipped(_) => ("k-skip", "–"),
    }
}

/// `text` with HTML's special characters escaped, for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A whole page: `title`, the header's `facts` (name, value as HTML) and `body` (HTML).
fn page(
    title: &str,
    status: &str,
    status_look: &str,
    facts: &[(&str, String)],
    body: &str,
) -> String {
    let mut html = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 4096);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — Automation Fabric</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>{title} <span class=\"status {status_look}\" id=\"run-status\">{status}</span></h1>\n\
         <dl class=\"facts\">\n",
        title = escape(title),
        status = escape(status),
    );
    for (name, value) in facts {
        let _ = writeln!(html, "<dt>{}</dt><dd>{value}</dd>", escape(name));
    }
    let _ = write!(
        html,
        "</dl>\n</header>\n<main>\n{body}</main>\n\
         <section id=\"detail\" aria-live=\"polite\"><span class=\"muted\">Click a cell for its details.</span></section>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    html
}

/// The totals, each a status filter: `counts` by status name, each with a sample status for
/// its colour.
fn totals(counts: &BTreeMap<String, (usize, &'static str)>) -> String {
    let mut html = String::from("<div class=\"totals\" id=\"totals\">\n");
    for (name, (count, class)) in counts {
        let _ = writeln!(
            html,
            "<label><input type=\"checkbox\" name=\"status\" value=\"{name}\" checked>\
             <span class=\"swatch {class}\"></span>{name} <b data-total=\"{name}\">{count}</b></label>",
            name = escape(name),
        );
    }
    html.push_str("</div>\n");
    html
}

/// A `<select>` filter over `values`, `id` naming it.
fn select(id: &str, label: &str, all: &str, values: impl IntoIterator<Item = String>) -> String {
    let mut html = format!("<label>{label} <select id=\"{id}\"><option value=\"\">{all}</option>");
    for value in values {
        let _ = write!(html, "<option>{}</option>", escape(&value));
    }
    html.push_str("</select></label>\n");
    html
}

/// How a trigger reads on the page.
fn trigger_text(trigger: &RunTrigger) -> String {
    match trigger {
        RunTrigger::Schedule {
            schedule_name,
            scheduled_time,
        } => format!("schedule {schedule_name} at {scheduled_time}"),
        RunTrigger::Alarm {
            alarm_name,
            account_id,
            region,
        } => format!("alarm {alarm_name} in {account_id} {region}"),
        RunTrigger::Manual { requested_by } => format!("manual, by {requested_by}"),
    }
}

/// The rate control and gates the plan asked SSM and the fabric for, one line per wave (and
/// one for the targets in each location, when the run has targets).
fn rate_control(plan: &RunPlan) -> Vec<String> {
    let spec = &plan.request.spec;
    let or_default = |value: Option<String>| value.unwrap_or_else(|| "SSM's default".to_owned());
    let mut lines = Vec::new();
    for wave in spec.waves() {
        let mut limits: Vec<String> = Vec::new();
        for location in &wave.target_locations {
            let limit = format!(
                "{} at once, error threshold {}",
                or_default(
                    location
                        .target_location_max_concurrency
                        .map(|c| c.to_string())
                ),
                or_default(location.target_location_max_errors.map(|e| e.to_string())),
            );
            if !limits.contains(&limit) {
                limits.push(limit);
            }
        }
        let gate = wave.gate.as_ref().map_or_else(String::new, |gate| {
            format!(
                "; the next wave needs {}% success{}",
                gate.min_success_percent,
                if gate.approval.is_some() {
                    " and a person's approval"
                } else {
                    ""
                }
            )
        });
        lines.push(format!(
            "wave {}: locations {}{gate}",
            wave.name,
            limits.join(" / ")
        ));
    }
    if spec.max_concurrency.is_some() || spec.max_errors.is_some() || !spec.targets.is_empty() {
        lines.push(format!(
            "targets in each location: {} at once, error threshold {}",
            or_default(spec.max_concurrency.map(|c| c.to_string())),
            or_default(spec.max_errors.map(|e| e.to_string())),
        ));
    }
    lines
}

/// `seconds` as people read a duration.
fn duration_text(seconds: i64) -> String {
    match seconds {
        ..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// One wave's accounts, grouped by OU: group -> account -> Region -> result.
type WaveRows<'a> =
    BTreeMap<String, BTreeMap<&'a AccountId, BTreeMap<&'a Region, &'a LocationResult>>>;

/// A run's locations as the page lays them out: by wave (in the plan's order), OU and account,
/// one column per Region, with the counts by status.
struct Matrix<'a> {
    waves: Vec<(String, WaveRows<'a>)>,
    regions: BTreeSet<&'a Region>,
    counts: BTreeMap<String, (usize, &'static str)>,
}

impl<'a> Matrix<'a> {
    /// The matrix of `page`'s report.
    fn of(page: &RunPage<'a>) -> Self {
        let mut matrix = Self {
            waves: page
                .plan
                .waves
                .iter()
                .map(|wave| (wave.name.clone(), WaveRows::new()))
                .collect(),
            regions: BTreeSet::new(),
            counts: BTreeMap::new(),
        };
        for result in page.report.locations() {
            let wave = result.wave.clone().unwrap_or_else(|| "-".to_owned());
            let at = if let Some(at) = matrix.waves.iter().position(|(name, _)| *name == wave) {
                at
            } else {
                matrix.waves.push((wave, WaveRows::new()));
                matrix.waves.len() - 1
            };
            let account = &result.location.account_id;
            let group = page
                .plan
                .ous
                .get(account)
                .map_or_else(|| ACCOUNTS_NAMED.to_owned(), ToString::to_string);
            matrix.waves[at]
                .1
                .entry(group)
                .or_default()
                .entry(account)
                .or_default()
                .insert(&result.location.region, result);
            matrix.regions.insert(&result.location.region);
            matrix
                .counts
                .entry(status_name(&result.status))
                .or_insert((0, look(&result.status).0))
                .0 += 1;
        }
        matrix
    }

    /// The totals, the filters and one table per wave.
    fn write(&self, body: &mut String) {
        let groups: BTreeSet<&String> = self
            .waves
            .iter()
            .flat_map(|(_, rows)| rows.keys())
            .collect();
        body.push_str(&totals(&self.counts));
        body.push_str("<div class=\"filters\">\n");
        body.push_str(&select(
            "filter-ou",
            "OU",
            "every OU",
            groups.iter().map(|g| (*g).clone()),
        ));
        body.push_str(&select(
            "filter-region",
            "Region",
            "every Region",
            self.regions.iter().map(ToString::to_string),
        ));
        body.push_str("</div>\n");
        for (wave, rows) in &self.waves {
            if !rows.is_empty() {
                self.write_wave(body, wave, rows);
            }
        }
    }

    /// One wave's table: a group of rows per OU, a row per account.
    fn write_wave(&self, body: &mut String, wave: &str, rows: &WaveRows<'_>) {
        let _ = writeln!(body, "<h2>Wave {}</h2>", escape(wave));
        body.push_str("<table class=\"matrix\">\n<thead><tr><th></th>");
        for region in &self.regions {
            let _ = write!(body, "<th data-region=\"{region}\">{region}</th>");
        }
        body.push_str("</tr></thead>\n");
        for (group, accounts) in rows {
            let _ = writeln!(
                body,
                "<tbody data-wave=\"{wave}\" data-ou=\"{group}\"><tr class=\"group\"><th colspan=\"{}\">{group} ({} account{})</th></tr>",
                self.regions.len() + 1,
                accounts.len(),
                if accounts.len() == 1 { "" } else { "s" },
                wave = escape(wave),
                group = escape(group),
            );
            for (account, cells) in accounts {
                let _ = write!(body, "<tr data-account=\"{account}\"><th>{account}</th>");
                for region in &self.regions {
                    match cells.get(region) {
                        Some(result) => cell(body, result),
                        None => {
                            let _ =
                                write!(body, "<td class=\"none\" data-region=\"{region}\"></td>");
                        }
                    }
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</tbody>\n");
        }
        body.push_str("</table>\n");
    }
}

impl RunPage<'_> {
    /// The page, as HTML.
    pub fn render(&self) -> String {
        let report = self.report;
        let mut body = format!("<h2>{} locations</h2>\n", report.locations().len());
        Matrix::of(self).write(&mut body);
        let status = crate::runs::overall_status(report);
        let status_look = match status {
            "Success" => "k-ok",
            "Failed" => "k-bad",
            _ => "k-run",
        };
        page(
            &format!("Run {}", report.run_id),
            status,
            status_look,
            &self.facts(),
            &body,
        )
    }

    /// What ran and how: the header's facts, values as HTML.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let report = self.report;
        let mut facts = vec![
            ("Document", escape(&report.document.to_string())),
            ("Trigger", escape(&trigger_text(&report.trigger))),
        ];
        if let Some(profile) = &report.profile {
            facts.push(("Profile", escape(profile)));
        }
        let rate = rate_control(self.plan);
        if !rate.is_empty() {
            facts.push((
                "Rate control",
                rate.iter()
                    .map(|line| escape(line))
                    .collect::<Vec<_>>()
                    .join("<br>"),
            ));
        }
        if let Some(begun) = self.begun_at {
            facts.push(("Began", begun.format("%Y-%m-%d %H:%M:%S UTC").to_string()));
        }
        let ended = self.finished_at.map_or_else(
            || "still running".to_owned(),
            |finished| {
                let took = self
                    .begun_at
                    .map(|begun| {
                        format!(
                            " (after {})",
                            duration_text((finished - begun).num_seconds())
                        )
                    })
                    .unwrap_or_default();
                format!("{}{took}", finished.format("%Y-%m-%d %H:%M:%S UTC"))
            },
        );
        facts.push(("Ended", ended));
        facts.push((
            "Parent executions",
            report.parent_execution_ids.len().to_string(),
        ));
        if let Some(link) = self.json_report {
            facts.push((
                "Full report",
                format!(
                    "<a href=\"{}\">{}</a> (JSON index; the locations as JSON lines beside it)",
                    escape(&link.href),
                    escape(&link.text)
                ),
            ));
        }
        facts
    }
}

/// A location's cell.
fn cell(html: &mut String, result: &LocationResult) {
    let (class, glyph) = look(&result.status);
    let name = status_name(&result.status);
    let _ = write!(
        html,
        "<td class=\"cell {class}\" data-region=\"{region}\" data-status=\"{name}\" title=\"{reason}\"",
        region = result.location.region,
        reason = escape(&result.detail()),
    );
    if let Some(execution) = &result.execution_id {
        let _ = write!(html, " data-execution=\"{}\"", escape(execution));
    }
    let _ = write!(html, " aria-label=\"{name}\">{glyph}</td>");
}

/// An onboarding's page: each document's share in each Region, and the role.
pub fn onboarding_page(report: &OnboardingReport, json_report: Option<&JsonLink>) -> String {
    let regions: BTreeSet<&Region> = report.shares.iter().map(|share| &share.region).collect();
    let mut documents: BTreeMap<String, BTreeMap<&Region, &ShareOutcome>> = BTreeMap::new();
    let mut counts: BTreeMap<String, (usize, &'static str)> = BTreeMap::new();
    for share in &report.shares {
        documents
            .entry(share.document.to_string())
            .or_default()
            .insert(&share.region, &share.outcome);
        let (name, class, _, _) = share_look(&share.outcome);
        counts.entry(name.to_owned()).or_insert((0, class)).0 += 1;
    }
    let mut body = format!("<h2>{} document shares</h2>\n", report.shares.len());
    body.push_str(&totals(&counts));
    body.push_str("<table class=\"matrix\">\n<thead><tr><th></th>");
    for region in &regions {
        let _ = write!(body, "<th data-region=\"{region}\">{region}</th>");
    }
    body.push_str("</tr></thead>\n<tbody data-ou=\"\">\n");
    for (document, shares) in &documents {
        let _ = write!(
            body,
            "<tr data-account=\"{0}\"><th>{0}</th>",
            escape(document)
        );
        for region in &regions {
            match shares.get(region) {
                Some(outcome) => {
                    let (name, class, glyph, reason) = share_look(outcome);
                    let _ = write!(
                        body,
                        "<td class=\"cell {class}\" data-region=\"{region}\" data-status=\"{name}\" title=\"{}\" aria-label=\"{name}\">{glyph}</td>",
                        escape(reason)
                    );
                }
                None => {
                    let _ = write!(body, "<td class=\"none\" data-region=\"{region}\"></td>");
                }
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    if !report.errors.is_empty() {
        body.push_str("<h2>Errors</h2>\n<ul>\n");
        for error in &report.errors {
            let _ = writeln!(body, "<li>{}</li>", escape(error));
        }
        body.push_str("</ul>\n");
    }
    let role = match &report.role {
        RoleOutcome::Failed(reason) => format!("failed: {reason}"),
        RoleOutcome::Skipped(reason) => format!("skipped: {reason}"),
        other => format!("{other:?}"),
    };
    let mut facts = vec![
        ("Execution role", escape(&role)),
        ("Trigger", escape(&report.trigger_key)),
    ];
    if let Some(link) = json_report {
        facts.push((
            "Full report",
            format!(
                "<a href=\"{}\">{}</a>",
                escape(&link.href),
                escape(&link.text)
            ),
        ));
    }
    let verb = match report.action {
        OnboardingAction::Onboard => "onboarded",
        OnboardingAction::Offboard => "offboarded",
    };
    let (status, look) = if report.succeeded() {
        ("Success", "k-ok")
    } else {
        ("Failed", "k-bad")
    };
    page(
        &format!("Account {} {verb}", report.account_id),
        status,
        look,
        &facts,
        &body,
    )
}

/// How a share's outcome looks: its name, colour class, glyph and reason.
fn share_look(outcome: &ShareOutcome) -> (&'static str, &'static str, &'static str, &str) {
    match outcome {
        ShareOutcome::AlreadyShared => ("AlreadyShared", "k-ok", "✓", ""),
        ShareOutcome::Shared => ("Shared", "k-ok", "✓", ""),
        ShareOutcome::Unshared => ("Unshared", "k-ok", "✓", ""),
        ShareOutcome::NotShared => ("NotShared", "k-skip", "–", ""),
        ShareOutcome::WouldShare => ("WouldShare", "k-run", "…", "dry run"),
        ShareOutcome::WouldUnshare => ("WouldUnshare", "k-run", "…", "dry run"),
        ShareOutcome::LimitReached(reason) => ("LimitReached", "k-bad", "✗", reason),
        ShareOutcome::Failed(reason) => ("Failed", "k-bad", "✗", reason),
    }
}

#[cfg(test)]
mod tests;
