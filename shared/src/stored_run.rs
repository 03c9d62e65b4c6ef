//! A run's report as stored, at any size: a small index object under the dated
//! `runs/year=/month=/day=/<run id>.json` key (what ran, its status and counts, where its
//! locations are), and the locations as newline-delimited JSON parts of
//! [`LOCATIONS_PER_PART`] under `locations/year=/month=/day=/run_id=<run id>/`, one object per
//! location with its run's id: the rows of the Glue table that Athena (or any SQL engine that
//! reads JSON lines) queries across runs.

use crate::model::{DocumentRef, LocationResult, RunReport, RunTrigger};
use crate::ports::ReportStore;
use crate::report::Timestamp;
use crate::{Error, Result};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many locations one part holds: a few MB of JSON lines, read in one GET.
pub const LOCATIONS_PER_PART: usize = 5_000;

/// The index of a stored run: everything but the locations, and where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRun {
    /// The fabric's id of the run.
    pub run_id: String,
    /// The document that ran.
    pub document: DocumentRef,
    /// The profile the run came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Why it ran.
    pub trigger: RunTrigger,
    /// `Success`, `Failed` or `InProgress`, as the summary says.
    pub status: String,
    /// How many locations the run has (planned and skipped).
    pub locations: usize,
    /// Locations by status.
    pub counts: BTreeMap<String, usize>,
    /// The parent automation executions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_execution_ids: Vec<String>,
    /// The keys of the parts holding the locations, in order.
    pub parts: Vec<String>,
}

impl StoredRun {
    /// The report these and `results` (as [`read_run`] reads them) make.
    pub fn into_report(self, results: Vec<LocationResult>) -> RunReport {
        let mut report = RunReport::new(
            self.run_id,
            self.document,
            self.profile,
            self.trigger,
            results,
        );
        report.parent_execution_ids = self.parent_execution_ids;
        report
    }
}

/// One line of a part: a location's result and its run's id.
#[derive(Serialize)]
struct Line<'a> {
    run_id: &'a str,
    #[serde(flatten)]
    result: &'a LocationResult,
}

/// A line read back.
#[derive(Deserialize)]
struct OwnedLine {
    #[serde(flatten)]
    result: LocationResult,
}

/// Where the index of run `run_id`, finished at `finished`, is stored.
pub fn index_key(run_id: &str, finished: Timestamp) -> String {
    format!("runs/{}/{run_id}.json", date_partition(finished))
}

/// Where the page of run `run_id` ([`crate::report_page`]), finished at `finished`, is stored:
/// beside its index.
pub fn page_key(run_id: &str, finished: Timestamp) -> String {
    format!("runs/{}/{run_id}.html", date_partition(finished))
}

/// Where part `part` of run `run_id`'s locations is stored.
pub fn part_key(run_id: &str, finished: Timestamp, part: usize) -> String {
    format!(
        "locations/{}/run_id={run_id}/part-{part:05}.ndjson",
        date_partition(finished)
    )
}

/// `year=YYYY/month=MM/day=DD`: the partitions Athena projects.
fn date_partition(at: Timestamp) -> String {
    format!(
        "year={:04}/month={:02}/day={:02}",
        at.year(),
        at.month(),
        at.day()
    )
}

/// Stores `report`: its parts first, then its index (so an index never names a missing
/// part). Returns the index's location (`s3://...`).
pub async fn store_run(
    report: &RunReport,
    status: &str,
    finished: Timestamp,
    store: &dyn ReportStore,
) -> Result<String> {
    let results: Vec<&LocationResult> = report.locations().collect();
    let mut parts = Vec::new();
    for (part, chunk) in results.chunks(LOCATIONS_PER_PART).enumerate() {
        let mut body = Vec::new();
        for result in chunk {
            serde_json::to_writer(
                &mut body,
                &Line {
                    run_id: &report.run_id,
                    result,
                },
            )
            .map_err(|error| Error::unserializable("a location of the report", &error))?;
            body.push(b'\n');
        }
        let key = part_key(&report.run_id, finished, part);
        store.put(&key, body).await?;
        parts.push(key);
    }
    let index = StoredRun {
        run_id: report.run_id.clone(),
        document: report.document.clone(),
        profile: report.profile.clone(),
        trigger: report.trigger.clone(),
        status: status.to_owned(),
        locations: results.len(),
        counts: report.counts_by_status(),
        parent_execution_ids: report.parent_execution_ids.clone(),
        parts,
    };
    let body = serde_json::to_vec_pretty(&index)
        .map_err(|error| Error::unserializable("the report's index", &error))?;
    store.put(&index_key(&report.run_id, finished), body).await
}

/// The stored run whose index is at `key`, and its locations read from its parts, in order.
/// A missing part or a line that cannot be read is [`Error::CorruptState`].
pub async fn read_run(
    store: &dyn ReportStore,
    key: &str,
) -> Result<Option<(StoredRun, Vec<LocationResult>)>> {
    let Some(body) = store.get(key).await? else {
        return Ok(None);
    };
    let corrupt = |key: &str, problem: String| Error::CorruptState {
        key: key.to_owned(),
        problem,
    };
    let index: StoredRun =
        serde_json::from_slice(&body).map_err(|error| corrupt(key, error.to_string()))?;
    let mut results = Vec::with_capacity(index.locations);
    for part in &index.parts {
        let body = store.get(part).await?.ok_or_else(|| {
            corrupt(
                part,
                "the index names this part, and it is missing".to_owned(),
            )
        })?;
        for line in body
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
        {
            let line: OwnedLine =
                serde_json::from_slice(line).map_err(|error| corrupt(part, error.to_string()))?;
            results.push(line.result);
        }
    }
    if results.len() != index.locations {
        return Err(corrupt(
            key,
            format!(
                "the index counts {} locations and its parts hold {}",
                index.locations,
                results.len()
            ),
        ));
    }
    Ok(Some((index, results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::MemoryStore;
    use crate::model::{AccountId, Location, Region, RunTrigger};

    fn at() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-03-07T10:00:00Z")
            .map(|at| at.with_timezone(&chrono::Utc))
            .expect("valid")
    }

    fn report(locations: usize) -> RunReport {
        let planned = (0..locations).map(|n| {
            LocationResult::not_started(
                Location::new(
                    AccountId::new(format!("{:012}", n / 4 + 1)).expect("an account id"),
                    Region::new(["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"][n % 4])
                        .expect("a Region"),
                ),
                Some("all".to_owned()),
                "no automation was started here",
            )
        });
        RunReport::new(
            "run-1".to_owned(),
            DocumentRef::parse("Fabric-Patch").expect("a name"),
            None,
            RunTrigger::Manual {
                requested_by: "test".to_owned(),
            },
            planned,
        )
    }

    #[test]
    fn when_a_run_is_stored_then_its_keys_are_partitioned_by_date_and_run() {
        assert_eq!(
            index_key("run-1", at()),
            "runs/year=2026/month=03/day=07/run-1.json"
        );
        assert_eq!(
            part_key("run-1", at(), 2),
            "locations/year=2026/month=03/day=07/run_id=run-1/part-00002.ndjson"
        );
    }

    #[tokio::test]
    async fn when_a_large_run_is_stored_then_its_parts_hold_every_location_once_and_read_back_equal()
     {
        let store = MemoryStore::default();
        let report = report(LOCATIONS_PER_PART * 2 + 7);
        let uri = store_run(&report, "Failed", at(), &store)
            .await
            .expect("stored");
        assert!(
            uri.ends_with("runs/year=2026/month=03/day=07/run-1.json"),
            "{uri}"
        );

        let (index, results) = read_run(&store, &index_key("run-1", at()))
            .await
            .expect("read")
            .expect("there");
        assert_eq!(index.parts.len(), 3);
        assert_eq!(index.locations, LOCATIONS_PER_PART * 2 + 7);
        assert_eq!(index.counts.get("NotStarted"), Some(&index.locations));
        assert_eq!(results, report.locations().cloned().collect::<Vec<_>>());
        let first_part = store.object(&index.parts[0]).expect("the first part");
        let first_line: serde_json::Value = serde_json::from_slice(
            first_part
                .split(|byte| *byte == b'\n')
                .next()
                .expect("a line"),
        )
        .expect("JSON");
        assert_eq!(first_line["run_id"], "run-1", "each line names its run");
        assert!(index_key("run-1", at()).len() < 200);
        assert!(
            store
                .object(&index_key("run-1", at()))
                .expect("the index")
                .len()
                < 4_096,
            "the index stays small whatever the run's size"
        );
    }

    #[tokio::test]
    async fn when_a_part_is_missing_then_reading_the_run_says_which() {
        let store = MemoryStore::default();
        store_run(&report(3), "Failed", at(), &store)
            .await
            .expect("stored");
        store.insert(&part_key("run-1", at(), 0), b"{ not json\n");
        let error = read_run(&store, &index_key("run-1", at()))
            .await
            .expect_err("corrupt");
        assert!(error.to_string().contains("part-00000"), "{error}");
    }
}
