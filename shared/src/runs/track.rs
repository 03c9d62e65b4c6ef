//! Following a run: where its started automations stand, from one `GetAutomationExecution`
//! per parent (its progress counters count the locations' steps), and each parent's ended
//! locations kept as they end ([`super::keep`]).

use super::keep::Parent;
use super::state::StartedCall;
use crate::Result;
use crate::ports::Automation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a run stands: each location's status as its parent's step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// True when every parent has ended.
    pub done: bool,
    /// Locations by status.
    pub counts: BTreeMap<String, usize>,
    /// Where each parent stands, by execution id (a parent without progress counters counts
    /// as running with none of its steps ended until it ends).
    #[serde(skip)]
    pub parents: BTreeMap<String, Parent>,
}

/// The progress of the started calls; a parent without counters has its steps listed.
pub async fn progress(automation: &dyn Automation, started: &[StartedCall]) -> Result<Progress> {
    let mut done = true;
    let mut counts = BTreeMap::new();
    let mut parents = BTreeMap::new();
    let mut add = |status: &str, n: usize| {
        if n > 0 {
            *counts.entry(status.to_owned()).or_insert(0) += n;
        }
    };
    for call in started {
        let parent = automation.execution(&call.execution_id).await?;
        done &= parent.status.is_final();
        let ended_steps = parent.step_counts.as_ref().map_or(0, |steps| {
            steps.success + steps.failed + steps.cancelled + steps.timed_out
        });
        parents.insert(
            call.execution_id.clone(),
            if parent.status.is_final() {
                Parent::Ended
            } else {
                Parent::Running { ended_steps }
            },
        );
        if let Some(steps) = parent.step_counts {
            let ended = ended_steps;
            add("Success", steps.success);
            add("Failed", steps.failed);
            add("Cancelled", steps.cancelled);
            add("TimedOut", steps.timed_out);
            add("InProgress", steps.total.saturating_sub(ended));
        } else {
            for step in automation.location_steps(&call.execution_id).await? {
                add(&format!("{:?}", step.status), 1);
            }
        }
    }
    Ok(Progress {
        done,
        counts,
        parents,
    })
}
