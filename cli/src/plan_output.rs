//! `fabric plan`'s output: each wave's calls, the rate control SSM will apply to each, and the
//! locations planned and skipped.

use crate::output::OutputFormat;
use crate::style::Style;
use crate::table::{Cell, Table};
use fabric::plan::RunPlan;
use std::io::Write;

/// The plan as `format` asks: text, JSON, or CSV (one record per location, planned or skipped).
pub(crate) fn print_plan(
    plan: &RunPlan,
    format: OutputFormat,
    style: Style,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => print_text(plan, style, out),
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(plan).map_err(std::io::Error::other)?
        ),
        OutputFormat::Csv => locations_table(plan).write_csv(out),
    }
}

/// Every location of the plan: account, Region, wave, `Planned` or `Skipped`, and why it was
/// skipped.
fn locations_table(plan: &RunPlan) -> Table<5> {
    let mut table = Table::new(["ACCOUNT", "REGION", "WAVE", "STATUS", "DETAIL"]);
    for wave in &plan.waves {
        for location in wave.locations() {
            table.push([
                Cell::text(location.account_id.as_str()),
                Cell::text(location.region.as_str()),
                Cell::text(wave.name.as_str()),
                Cell::status("Planned"),
                Cell::text(""),
            ]);
        }
    }
    for skip in &plan.skipped {
        table.push([
            Cell::text(skip.location.account_id.as_str()),
            Cell::text(skip.location.region.as_str()),
            Cell::text(skip.wave.as_str()),
            Cell::status("Skipped"),
            Cell::text(skip.reason.as_str()),
        ]);
    }
    table
}

/// The plan for a person: each wave's calls and rate control, its locations, then the skipped
/// ones and why.
fn print_text(plan: &RunPlan, style: Style, out: &mut impl Write) -> std::io::Result<()> {
    let spec = &plan.request.spec;
    writeln!(
        out,
        "run {}: {} locations planned, {} skipped; deadline {}",
        plan.run_id,
        plan.planned_count(),
        plan.skipped.len(),
        spec.deadline.as_ref().map_or_else(
            || format!("{} s (the default)", spec.deadline().as_secs()),
            ToString::to_string
        )
    )?;
    for wave in &plan.waves {
        let gate = wave
            .gate
            .as_ref()
            .map(|g| {
                let approval = g.approval.as_ref().map_or(String::new(), |approval| {
                    format!(
                        " and a person's approval (fabric approve; {} s to answer)",
                        approval.timeout().as_secs()
                    )
                });
                format!(", gate {}% success{approval}", g.min_success_percent)
            })
            .unwrap_or_default();
        writeln!(
            out,
            "\nwave {} ({} calls{gate})",
            wave.name,
            wave.calls.len()
        )?;
        for (index, call) in wave.calls.iter().enumerate() {
            writeln!(
                out,
                "  call {} of {}: {} locations",
                index + 1,
                wave.calls.len(),
                call.locations.len()
            )?;
            for line in rate_control_lines(call) {
                writeln!(out, "    {line}")?;
            }
        }
        if wave.calls.len() > 1 {
            writeln!(
                out,
                "  SSM applies each call's rate control to that call alone: an entry split over calls (at most 50 accounts and 50 Regions each) runs its calls side by side"
            )?;
        }
        let mut locations = Table::new(["ACCOUNT", "REGION"]);
        for location in wave.locations() {
            locations.push([
                Cell::text(location.account_id.as_str()),
                Cell::text(location.region.as_str()),
            ]);
        }
        locations.write_text(style, out)?;
    }
    let mut skipped = Table::new(["ACCOUNT", "REGION", "REASON"]);
    for skip in &plan.skipped {
        skipped.push([
            Cell::text(skip.location.account_id.as_str()),
            Cell::text(skip.location.region.as_str()),
            Cell::text(skip.reason.as_str()),
        ]);
    }
    if !skipped.is_empty() {
        writeln!(out, "\nskipped")?;
        skipped.write_text(style, out)?;
    }
    Ok(())
}

/// The rate control SSM will apply to a call, one line per target location: how many
/// locations run at once and how many may fail, and the same for each location's targets;
/// SSM's defaults where the spec sets none.
fn rate_control_lines(call: &fabric::plan::PlannedCall) -> Vec<String> {
    call.target_locations
        .iter()
        .map(|location| {
            let or_default = |value: Option<String>, default: &str| {
                value.unwrap_or_else(|| format!("{default} (SSM's default)"))
            };
            let targets = match (&location.targets_max_concurrency, &location.targets_max_errors) {
                (None, None) => String::new(),
                (concurrency, errors) => format!(
                    "; targets: TargetsMaxConcurrency {}, TargetsMaxErrors {}",
                    concurrency.as_ref().map_or_else(|| "not set".to_owned(), ToString::to_string),
                    errors.as_ref().map_or_else(|| "not set".to_owned(), ToString::to_string)
                ),
            };
            format!(
                "{} accounts x {} Regions: TargetLocationMaxConcurrency {}, TargetLocationMaxErrors {}{targets}",
                location.accounts.len(),
                location.regions.len(),
                or_default(
                    location.target_location_max_concurrency.as_ref().map(ToString::to_string),
                    "1"
                ),
                or_default(
                    location.target_location_max_errors.as_ref().map(ToString::to_string),
                    "0"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rate_control_lines;
    use fabric::model::{
        AccountId, AccountOrOu, Concurrency, ErrorThreshold, Region, TargetLocation,
    };

    #[test]
    fn when_a_call_is_planned_then_its_rate_control_is_shown_with_ssms_defaults_where_unset() {
        let account = AccountOrOu::Account(AccountId::new("111122223333").expect("an account"));
        let mut set = TargetLocation::new(
            vec![account.clone()],
            vec![Region::new("us-east-1").expect("a Region")],
        );
        set.target_location_max_concurrency = Some(Concurrency::parse("20%").expect("valid"));
        set.target_location_max_errors = Some(ErrorThreshold::parse("25%").expect("valid"));
        set.targets_max_concurrency = Some(Concurrency::parse("10%").expect("valid"));
        let unset = TargetLocation::new(
            vec![account],
            vec![Region::new("us-west-2").expect("a Region")],
        );
        let call = fabric::plan::PlannedCall {
            client_token: "token".to_owned(),
            target_locations: vec![set, unset],
            locations: Vec::new(),
        };
        assert_eq!(
            rate_control_lines(&call),
            vec![
                "1 accounts x 1 Regions: TargetLocationMaxConcurrency 20%, TargetLocationMaxErrors 25%; targets: TargetsMaxConcurrency 10%, TargetsMaxErrors not set".to_owned(),
                "1 accounts x 1 Regions: TargetLocationMaxConcurrency 1 (SSM's default), TargetLocationMaxErrors 0 (SSM's default)".to_owned(),
            ]
        );
    }
}
