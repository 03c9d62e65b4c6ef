//! How a run ended, location by location: SSM's automation statuses plus the fabric's own
//! `Skipped` and `NotStarted`, in a report that holds every planned location exactly once.

use super::document::DocumentRef;
use super::ids::Location;
use super::run_request::{Parameters, RunTrigger};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// SSM's `AutomationExecutionStatus`, every value it documents.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum AutomationStatus {
    /// Queued, not started.
    Pending,
    /// Running.
    InProgress,
    /// Waiting for a step (e.g. `aws:sleep`, `aws:waitForAwsResourceProperty`).
    Waiting,
    /// Ended in success.
    Success,
    /// A step ran past its timeout.
    TimedOut,
    /// Being stopped.
    Cancelling,
    /// Stopped.
    Cancelled,
    /// Ended in failure.
    Failed,
    /// Waiting for an approver.
    PendingApproval,
    /// An approver approved.
    Approved,
    /// An approver rejected.
    Rejected,
    /// Scheduled for later.
    Scheduled,
    /// A runbook step is running.
    RunbookInProgress,
    /// Waiting for a change calendar override.
    PendingChangeCalendarOverride,
    /// A change calendar override was approved.
    ChangeCalendarOverrideApproved,
    /// A change calendar override was rejected.
    ChangeCalendarOverrideRejected,
    /// A Change Manager request completed successfully.
    CompletedWithSuccess,
    /// A Change Manager request completed with failures.
    CompletedWithFailure,
    /// Exited early (e.g. an error threshold was reached).
    Exited,
    /// A status SSM reported that the fabric does not know (one added after it was built):
    /// taken as ended, neither success nor failure, so the run still ends and is reported, with
    /// this location shown as what it is. The raw status is logged where it is read.
    Unrecognized,
}

impl AutomationStatus {
    /// True once the status can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Success
                | Self::TimedOut
                | Self::Cancelled
                | Self::Failed
                | Self::Rejected
                | Self::ChangeCalendarOverrideRejected
                | Self::CompletedWithSuccess
                | Self::CompletedWithFailure
                | Self::Exited
                | Self::Unrecognized
        )
    }

    /// True for the statuses that count as success for error thresholds and wave gates.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::CompletedWithSuccess)
    }
}

/// Where one location stands. Written flat into its [`LocationResult`] as `"status"` (SSM's
/// name, or `Skipped` / `NotStarted`) and, for the fabric's own two, `"reason"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "StatusWire", into = "StatusWire")]
#[schemars(with = "StatusWire")]
pub enum LocationStatus {
    /// The child automation in this location has this SSM status.
    Automation(AutomationStatus),
    /// The planner left this location out on purpose (excluded, suspended account, Region not
    /// enabled...).
    Skipped(String),
    /// The location was planned but no automation was started there (an error threshold, a
    /// failed wave gate, a failed start...).
    NotStarted(String),
}

/// [`LocationStatus`] as written in reports.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct StatusWire {
    /// SSM's automation status, or `Skipped` or `NotStarted`.
    status: String,
    /// Why a location was skipped or not started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<LocationStatus> for StatusWire {
    fn from(status: LocationStatus) -> Self {
        let name = status_name(&status);
        let reason = match status {
            LocationStatus::Automation(_) => None,
            LocationStatus::Skipped(reason) | LocationStatus::NotStarted(reason) => Some(reason),
        };
        Self {
            status: name,
            reason,
        }
    }
}

impl TryFrom<StatusWire> for LocationStatus {
    type Error = Error;

    fn try_from(StatusWire { status, reason }: StatusWire) -> Result<Self> {
        let reason = reason.unwrap_or_default();
        match status.as_str() {
            "Skipped" => Ok(Self::Skipped(reason)),
            "NotStarted" => Ok(Self::NotStarted(reason)),
            _ => serde_json::from_value(serde_json::Value::String(status.clone()))
                .map(Self::Automation)
                .map_err(|_| {
                    Error::invalid_value(
                        "location status",
                        &status,
                        "an SSM automation status, Skipped or NotStarted",
                    )
                }),
        }
    }
}

/// One location's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocationResult {
    /// Where.
    pub location: Location,
    /// Which wave it belonged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Its status.
    #[serde(flatten)]
    pub status: LocationStatus,
    /// The child automation's id in the target account, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Why it failed, as SSM said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// The child automation's outputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: Parameters,
    /// Per-target results inside the location, when the run used targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetResult>,
}

impl LocationResult {
    /// What a person reads beside the location's status: why it failed, was skipped or was not
    /// started, whole; otherwise how many targets it had (empty when none).
    pub fn detail(&self) -> String {
        match &self.status {
            LocationStatus::NotStarted(reason) | LocationStatus::Skipped(reason) => reason.clone(),
            LocationStatus::Automation(_) => match (&self.failure_message, self.targets.len()) {
                (Some(message), _) => message.clone(),
                (None, 0) => String::new(),
                (None, targets) => format!("{targets} targets"),
            },
        }
    }

    /// A location that was planned and has not been heard of yet.
    pub fn not_started(
        location: Location,
        wave: Option<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            location,
            wave,
            status: LocationStatus::NotStarted(reason.into()),
            execution_id: None,
            failure_message: None,
            outputs: Parameters::new(),
            targets: Vec::new(),
        }
    }
}

/// One target's outcome inside a location (e.g. one instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetResult {
    /// The target, e.g. the instance id.
    pub target: String,
    /// Its automation's status.
    pub status: AutomationStatus,
    /// Why it failed, as SSM said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// The full account of one run: every planned location exactly once (a map keyed by location
/// cannot hold one twice, and results for unplanned locations are refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// The fabric's id of the run.
    pub run_id: String,
    /// The document that ran.
    pub document: DocumentRef,
    /// The profile the run came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Why it ran.
    pub trigger: RunTrigger,
    /// The parent automation executions (one per SSM call the run was split into).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_execution_ids: Vec<String>,
    /// Every planned location and its outcome (a list in JSON, in account then Region order).
    #[serde(with = "results_as_list")]
    #[schemars(with = "Vec<LocationResult>")]
    locations: BTreeMap<Location, LocationResult>,
}

/// JSON has no object keys but strings: the results travel as a list, and a list with a
/// location twice is refused when read.
mod results_as_list {
    use super::{Location, LocationResult};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(
        results: &BTreeMap<Location, LocationResult>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(results.values())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<Location, LocationResult>, D::Error> {
        let list = Vec::<LocationResult>::deserialize(deserializer)?;
        let mut results = BTreeMap::new();
        for result in list {
            let location = result.location.clone();
            if results.insert(location.clone(), result).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "location {location} appears twice"
                )));
            }
        }
        Ok(results)
    }
}

impl RunReport {
    /// A report for `planned` locations, all `NotStarted` until results arrive. A location
    /// planned twice is kept once.
    pub fn new(
        run_id: impl Into<String>,
        document: DocumentRef,
        profile: Option<String>,
        trigger: RunTrigger,
        planned: impl IntoIterator<Item = LocationResult>,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            document,
            profile,
            trigger,
            parent_execution_ids: Vec::new(),
            locations: planned
                .into_iter()
                .map(|result| (result.location.clone(), result))
                .collect(),
        }
    }

    /// Records the outcome of a planned location, replacing what was known of it.
    pub fn record(&mut self, result: LocationResult) -> Result<()> {
        match self.locations.get_mut(&result.location) {
            Some(slot) => {
                *slot = result;
                Ok(())
            }
            None => Err(Error::invalid_value(
                "location result",
                &result.location.to_string(),
                "a location the run planned",
            )),
        }
    }

    /// Every location's result, in account then Region order.
    pub fn locations(&self) -> impl ExactSizeIterator<Item = &LocationResult> {
        self.locations.values()
    }

    /// How many locations are in each status (`Success`, `Failed`, `Skipped`...).
    pub fn counts_by_status(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for result in self.locations.values() {
            *counts.entry(status_name(&result.status)).or_insert(0) += 1;
        }
        counts
    }
}

/// The name of a status as reports count it.
pub fn status_name(status: &LocationStatus) -> String {
    match status {
        LocationStatus::Automation(status) => format!("{status:?}"),
        LocationStatus::Skipped(_) => "Skipped".to_owned(),
        LocationStatus::NotStarted(_) => "NotStarted".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, Region};

    fn location(account: &str, region: &str) -> Location {
        Location::new(
            AccountId::new(account).expect("valid"),
            Region::new(region).expect("valid"),
        )
    }

    fn report(planned: &[Location]) -> RunReport {
        RunReport::new(
            "run-1",
            DocumentRef::parse("Automation-RunPatchBaseline").expect("valid"),
            None,
            RunTrigger::Manual {
                requested_by: "test".to_owned(),
            },
            planned
                .iter()
                .map(|l| LocationResult::not_started(l.clone(), None, "planned")),
        )
    }

    #[test]
    fn when_results_are_serialized_then_the_status_is_flat_and_ours_carry_a_reason() {
        let here = location("444455556666", "us-east-1");
        let mut failed = LocationResult::not_started(here.clone(), None, "");
        failed.status = LocationStatus::Automation(AutomationStatus::Failed);
        let skipped = LocationResult {
            status: LocationStatus::Skipped("account suspended".to_owned()),
            ..failed.clone()
        };
        let failed_json = serde_json::to_value(&failed).expect("serializes");
        assert_eq!(failed_json["status"], "Failed");
        assert!(failed_json.get("reason").is_none());
        let skipped_json = serde_json::to_value(&skipped).expect("serializes");
        assert_eq!(skipped_json["status"], "Skipped");
        assert_eq!(skipped_json["reason"], "account suspended");
        for (result, json) in [(failed, failed_json), (skipped, skipped_json)] {
            let back: LocationResult = serde_json::from_value(json).expect("reads back");
            assert_eq!(back, result);
        }
    }

    #[test]
    fn when_a_status_is_unknown_then_reading_it_fails_with_its_name() {
        let error =
            serde_json::from_value::<LocationStatus>(serde_json::json!({"status": "Exploded"}))
                .expect_err("not a status");
        assert!(error.to_string().contains("Exploded"), "{error}");
    }

    #[test]
    fn when_a_report_is_written_as_json_then_it_reads_back_the_same() {
        let planned = [
            location("444455556666", "us-east-1"),
            location("444455556666", "us-west-2"),
        ];
        let report = report(&planned);
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["locations"].as_array().map(Vec::len), Some(2));
        let back: RunReport = serde_json::from_value(json.clone()).expect("reads back");
        assert_eq!(back, report);
        let mut twice = json;
        let first = twice["locations"][0].clone();
        twice["locations"][1] = first;
        assert!(serde_json::from_value::<RunReport>(twice).is_err());
    }

    #[test]
    fn when_a_location_is_planned_twice_then_the_report_holds_it_once() {
        let here = location("444455556666", "us-east-1");
        let report = report(&[here.clone(), here]);
        assert_eq!(report.locations().len(), 1);
    }

    #[test]
    fn when_a_result_is_for_an_unplanned_location_then_it_is_refused() {
        let mut report = report(&[location("444455556666", "us-east-1")]);
        let stranger =
            LocationResult::not_started(location("444455556666", "eu-west-1"), None, "x");
        assert!(report.record(stranger).is_err());
        assert_eq!(report.locations().len(), 1);
    }

    #[test]
    fn when_results_are_recorded_then_counts_follow_them() {
        let planned = [
            location("444455556666", "us-east-1"),
            location("444455556666", "us-west-2"),
        ];
        let mut report = report(&planned);
        let mut done = LocationResult::not_started(planned[0].clone(), None, "");
        done.status = LocationStatus::Automation(AutomationStatus::Success);
        report.record(done).expect("planned");
        let counts = report.counts_by_status();
        assert_eq!(counts.get("Success"), Some(&1));
        assert_eq!(counts.get("NotStarted"), Some(&1));
    }
}
