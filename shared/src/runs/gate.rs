//! Judging a run: whether a wave passed its gate (so the next starts), and a report's overall
//! status.

use crate::model::{LocationResult, LocationStatus, RunReport};
use crate::plan::RunPlan;

/// Whether `wave` of `report` passed its gate: the share of its locations that succeeded, in
/// percent, against the gate's minimum. `Err` carries the reason the next waves do not start.
pub fn gate(
    report: &RunReport,
    plan: &RunPlan,
    wave_index: usize,
) -> std::result::Result<(), String> {
    let Some(wave) = plan.waves.get(wave_index) else {
        return Ok(());
    };
    let Some(gate) = &wave.gate else {
        return Ok(());
    };
    let results: Vec<&LocationResult> = report
        .locations()
        .filter(|result| result.wave.as_deref() == Some(wave.name.as_str()))
        .filter(|result| !matches!(result.status, LocationStatus::Skipped(_)))
        .collect();
    let succeeded = results
        .iter()
        .filter(|result| matches!(result.status, LocationStatus::Automation(status) if status.is_success()))
        .count();
    let percent = if results.is_empty() {
        100
    } else {
        succeeded * 100 / results.len()
    };
    if percent >= usize::from(gate.min_success_percent) {
        Ok(())
    } else {
        Err(format!(
            "not started: wave {} succeeded in {percent}% of its locations ({succeeded} of {}), below its gate of {}%",
            wave.name,
            results.len(),
            gate.min_success_percent
        ))
    }
}

/// The overall status of a report: `Success` when every planned location succeeded,
/// `InProgress` while any runs, else `Failed`.
pub fn overall_status(report: &RunReport) -> &'static str {
    let mut any_running = false;
    let mut any_failed = false;
    for result in report.locations() {
        match &result.status {
            LocationStatus::Automation(status) if !status.is_final() => any_running = true,
            LocationStatus::Automation(status) if !status.is_success() => any_failed = true,
            LocationStatus::NotStarted(_) => any_failed = true,
            LocationStatus::Skipped(_) | LocationStatus::Automation(_) => {}
        }
    }
    match (any_running, any_failed) {
        (true, _) => "InProgress",
        (false, true) => "Failed",
        (false, false) => "Success",
    }
}
