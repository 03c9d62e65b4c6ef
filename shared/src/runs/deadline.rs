//! A run's deadline: once it passes, the automations still running are stopped, the waves not
//! started stay unstarted, and the report is published with each unfinished location
//! `TimedOut`, saying the status it last had. A run waiting on approvals or on long steps is
//! therefore always reported, inside one state machine execution's 24 hours.

use super::state::RunState;
use crate::Result;
use crate::model::{AutomationStatus, Location, LocationStatus, RunReport};
use crate::ports::Automation;
use crate::report::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the run looked like when its deadline passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePassed {
    /// When the fabric saw it pass.
    pub at: Timestamp,
    /// The deadline, from the run's start, as the spec wrote it (or the default).
    pub deadline: String,
    /// Each location still unfinished then, with the status its parent's step last gave it.
    pub unfinished: Vec<Unfinished>,
}

/// A location that had not finished at the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    /// Where.
    pub location: Location,
    /// Its last known status.
    pub status: AutomationStatus,
}

impl RunState {
    /// True when the run has a start time and its spec's deadline has passed at `now`.
    pub fn past_deadline(&self, now: Timestamp) -> bool {
        let deadline = self.plan.request.spec.deadline();
        self.begun_at.is_some_and(|begun| {
            chrono::Duration::from_std(deadline).is_ok_and(|deadline| now >= begun + deadline)
        })
    }

    /// The run's deadline as its spec wrote it, or the default.
    fn deadline_text(&self) -> String {
        let spec = &self.plan.request.spec;
        spec.deadline.as_ref().map_or_else(
            || format!("{}h, the default", spec.deadline().as_secs() / 3600),
            ToString::to_string,
        )
    }

    /// Ends the run at its deadline: every started call still running is stopped (with all
    /// it started), the locations it had not finished are recorded with their last status, and
    /// the waves not started are left so, with the reason. The caller saves the state.
    pub async fn end_at_deadline(
        &mut self,
        automation: &dyn Automation,
        now: Timestamp,
    ) -> Result<()> {
        let mut unfinished = Vec::new();
        for call in &self.started {
            let parent = automation.execution(&call.execution_id).await?;
            if parent.status.is_final() {
                continue;
            }
            let steps = automation.location_steps(&call.execution_id).await?;
            let mut seen = BTreeSet::new();
            for step in steps {
                let Some(location) = step.location else {
                    continue;
                };
                seen.insert(location.clone());
                if !step.status.is_final() {
                    unfinished.push(Unfinished {
                        location,
                        status: step.status,
                    });
                }
            }
            // Locations SSM has made no step for yet are still queued behind the others.
            unfinished.extend(
                call.locations
                    .iter()
                    .filter(|location| !seen.contains(*location))
                    .map(|location| Unfinished {
                        location: location.clone(),
                        status: AutomationStatus::Pending,
                    }),
            );
            automation.stop(&call.execution_id).await?;
        }
        let deadline = self.deadline_text();
        tracing::warn!(
            run_id = %self.plan.run_id,
            deadline,
            unfinished = unfinished.len(),
            "the run's deadline passed: its running automations were stopped"
        );
        if !self.all_started() {
            self.stopped = Some(format!(
                "not started: the run's deadline ({deadline}) passed first"
            ));
        }
        self.deadline_passed = Some(DeadlinePassed {
            at: now,
            deadline,
            unfinished,
        });
        Ok(())
    }

    /// Marks in `report` the locations unfinished at the deadline as `TimedOut`, each saying
    /// the status it had then.
    pub(super) fn mark_timed_out(&self, report: &mut RunReport) -> Result<()> {
        let Some(passed) = &self.deadline_passed else {
            return Ok(());
        };
        let mut results: Vec<_> = report
            .locations()
            .filter(|result| {
                passed
                    .unfinished
                    .iter()
                    .any(|unfinished| unfinished.location == result.location)
            })
            .cloned()
            .collect();
        for result in &mut results {
            let last = passed
                .unfinished
                .iter()
                .find(|unfinished| unfinished.location == result.location)
                .map_or(AutomationStatus::InProgress, |unfinished| unfinished.status);
            result.status = LocationStatus::Automation(AutomationStatus::TimedOut);
            result.failure_message = Some(format!(
                "the run's deadline ({}) passed while this location was {}; the fabric stopped its automation",
                passed.deadline,
                crate::model::status_name(&LocationStatus::Automation(last))
            ));
        }
        for result in results {
            report.record(result)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::fakes::FakeServices;
    use crate::model::{AccountId, Region, RunRequest, RunSpec, RunTrigger};
    use crate::plan::{PlanContext, plan_run};
    use crate::runs::start_wave;
    use std::time::Duration;

    pub(in crate::runs) const WAVES: &str = r#"{"document": "Fabric-Restart", "deadline": "5m", "waves": [
        {"name": "first", "target_locations": [{"accounts": ["444455556666", "777788889999"], "regions": ["us-east-1"]}]},
        {"name": "second", "target_locations": [{"accounts": ["555566667777"], "regions": ["us-east-1"]}]}
    ]}"#;

    /// Run `run-1` of `spec` planned over the fakes, begun at the epoch.
    pub(in crate::runs) async fn run_state(spec: &str, fakes: &FakeServices) -> RunState {
        let spec: RunSpec = serde_json::from_str(spec).expect("a valid spec");
        let request = RunRequest {
            profile: None,
            spec,
            trigger: RunTrigger::Manual {
                requested_by: "test".to_owned(),
            },
        };
        let regions = [Region::new("us-east-1").expect("a Region")];
        let context = PlanContext {
            default_regions: &regions,
        };
        let plan = plan_run("run-1", request, &fakes.directory, &context)
            .await
            .expect("plans");
        let mut state = RunState::new(plan);
        state.begun_at = Some(chrono::DateTime::UNIX_EPOCH);
        state
    }

    /// `minutes` after the epoch.
    pub(in crate::runs) fn at_minutes(minutes: i64) -> Timestamp {
        chrono::DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes)
    }

    fn location(account: &str) -> Location {
        Location::new(
            AccountId::new(account).expect("an account id"),
            Region::new("us-east-1").expect("a Region"),
        )
    }

    #[tokio::test]
    async fn when_the_spec_sets_no_deadline_then_the_default_twelve_hours_apply() {
        let fakes = FakeServices::example();
        let state = run_state(&WAVES.replace(r#""deadline": "5m", "#, ""), &fakes).await;
        assert!(!state.past_deadline(at_minutes(719)));
        assert!(state.past_deadline(at_minutes(720)));
    }

    #[tokio::test]
    async fn when_the_spec_sets_a_deadline_then_it_passes_at_that_minute() {
        let fakes = FakeServices::example();
        let mut state = run_state(WAVES, &fakes).await;
        assert!(!state.past_deadline(at_minutes(4)));
        assert!(state.past_deadline(at_minutes(5)));
        state.begun_at = None;
        assert!(
            !state.past_deadline(at_minutes(10_000)),
            "no start time, no deadline"
        );
    }

    #[tokio::test]
    async fn when_the_deadline_passes_then_unfinished_locations_are_stopped_and_reported_timed_out()
    {
        let fakes = FakeServices::example();
        let mut state = run_state(WAVES, &fakes).await;
        fakes
            .automation
            .script(location("444455556666"), AutomationStatus::InProgress);
        fakes.automation.keep_running(1);
        start_wave(&mut state, &fakes.automation, &fakes.store, Duration::ZERO)
            .await
            .expect("the first wave starts");

        state
            .end_at_deadline(&fakes.automation, at_minutes(6))
            .await
            .expect("ends the run");

        let passed = state.deadline_passed.clone().expect("recorded");
        assert_eq!(passed.deadline, "5m");
        assert_eq!(
            passed.unfinished,
            vec![Unfinished {
                location: location("444455556666"),
                status: AutomationStatus::InProgress,
            }]
        );
        let report = state.report(&fakes.sources()).await.expect("a report");
        let status = |account: &str| {
            report
                .locations()
                .find(|result| result.location == location(account))
                .map(|result| (result.status.clone(), result.failure_message.clone()))
                .expect("every planned location is reported")
        };
        let (timed_out, why) = status("444455556666");
        assert_eq!(
            timed_out,
            LocationStatus::Automation(AutomationStatus::TimedOut)
        );
        assert!(why.is_some_and(|why| {
            why.contains("deadline (5m) passed while this location was InProgress")
        }),);
        assert_eq!(
            status("777788889999").0,
            LocationStatus::Automation(AutomationStatus::Success),
            "a location that had finished keeps its status"
        );
        assert!(
            matches!(status("555566667777").0, LocationStatus::NotStarted(why) if why.contains("deadline (5m) passed first")),
            "the wave after the deadline is not started, and says why"
        );
    }
}
