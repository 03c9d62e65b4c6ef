//! The concurrency quota of each account and Region and its queue: which executions run, which
//! wait `Pending`, and when `StartAutomationExecution` is refused; adaptive concurrency (the
//! service setting that raises the quota); and the settings a test may change.
//!
//! The Automation concepts page: "Each AWS account can run 100 automations simultaneously.
//! This includes child automations (automations that are started by another automation), and
//! rate control automations. If you attempt to run more automations than this, Systems Manager
//! adds the additional automations to a queue and displays a status of Pending." And: "Each AWS
//! account can queue 1,000 automations. When an automation is complete (or reaches a terminal
//! state), the first automation in the queue is started."

use super::{Engine, Execution, lock};
use crate::wire::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The service setting that turns adaptive concurrency on for an account and Region.
pub const ADAPTIVE_CONCURRENCY_SETTING: &str = "/ssm/automation/enable-adaptive-concurrency";

/// The Automation quotas of one account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Automations running at once: "By default, Automation lets you run up to 100 concurrent
    /// automations at a time" (Allowing Automation to adapt to your concurrency needs).
    pub concurrent: usize,
    /// With adaptive concurrency: "your concurrency automation quota can accommodate up to 500
    /// concurrent automations, depending on available resources" (the simulator always has
    /// the resources, so it allows the 500).
    pub adaptive_concurrent: usize,
    /// Automations waiting: "Each AWS account can queue 1,000 automations."
    pub queue: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            concurrent: 100,
            adaptive_concurrent: 500,
            queue: 1000,
        }
    }
}

/// What `POST /fabric-simulator/automation` changes; absent fields keep their values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// How long each simulated document step takes, in milliseconds.
    pub step_duration_ms: Option<u64>,
    /// How often alarms are polled, in milliseconds.
    pub alarm_poll_ms: Option<u64>,
    /// The concurrency quota.
    pub concurrent: Option<usize>,
    /// The concurrency quota with adaptive concurrency.
    pub adaptive_concurrent: Option<usize>,
    /// The queue quota.
    pub queue: Option<usize>,
}

/// Where an execution stands in its account-Region's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// It runs (or already ran).
    Admitted,
    /// It waits for a slot.
    Wait,
    /// It was stopped (or is gone) before it got one.
    Stopped,
}

impl Engine {
    /// Applies `change` to the settings and returns them.
    pub fn change_settings(&self, change: &SettingsChange) -> serde_json::Value {
        let mut settings = self.settings();
        if let Some(ms) = change.step_duration_ms {
            settings.step_duration = Duration::from_millis(ms);
        }
        if let Some(ms) = change.alarm_poll_ms {
            settings.alarm_poll = Duration::from_millis(ms.max(1));
        }
        let quotas = &mut settings.quotas;
        quotas.concurrent = change.concurrent.unwrap_or(quotas.concurrent).max(1);
        quotas.adaptive_concurrent = change
            .adaptive_concurrent
            .unwrap_or(quotas.adaptive_concurrent)
            .max(1);
        quotas.queue = change.queue.unwrap_or(quotas.queue);
        let answer = serde_json::json!({
            "step_duration_ms": u64::try_from(settings.step_duration.as_millis()).unwrap_or(u64::MAX),
            "alarm_poll_ms": u64::try_from(settings.alarm_poll.as_millis()).unwrap_or(u64::MAX),
            "concurrent": settings.quotas.concurrent,
            "adaptive_concurrent": settings.quotas.adaptive_concurrent,
            "queue": settings.quotas.queue,
        });
        self.configure(settings);
        self.slots.send_modify(|bumps| *bumps += 1);
        answer
    }

    /// Turns adaptive concurrency on or off for `account` in `region`
    /// (`UpdateServiceSetting` of [`ADAPTIVE_CONCURRENCY_SETTING`]).
    pub fn set_adaptive_concurrency(&self, account: &str, region: &str, enabled: bool) {
        let key = (account.to_owned(), region.to_owned());
        let mut adaptive = lock(&self.adaptive);
        if enabled {
            adaptive.insert(key);
        } else {
            adaptive.remove(&key);
        }
        drop(adaptive);
        self.slots.send_modify(|bumps| *bumps += 1);
    }

    /// True when `account` turned adaptive concurrency on in `region`.
    pub fn adaptive_concurrency(&self, account: &str, region: &str) -> bool {
        lock(&self.adaptive).contains(&(account.to_owned(), region.to_owned()))
    }

    /// How many automations may run at once in `account` and `region`.
    fn concurrency_limit(&self, account: &str, region: &str) -> usize {
        let quotas = self.settings().quotas;
        if self.adaptive_concurrency(account, region) {
            quotas.adaptive_concurrent
        } else {
            quotas.concurrent
        }
    }

    /// Stores `execution` (a new `StartAutomationExecution`) unless its account-Region's queue
    /// is full: the API reference's `AutomationExecutionLimitExceededException`, "The number of
    /// simultaneously running Automation executions exceeded the allowable limit."
    pub(super) fn enqueue(&self, mut execution: Execution) -> Result<String, ApiError> {
        let limit = self.concurrency_limit(&execution.account, &execution.region);
        let queue = self.settings().quotas.queue;
        let mut executions = lock(&self.executions);
        let pool = self.pool(&executions, &execution.account, &execution.region);
        // Those waiting take the slots that free first: the new one is past the queue when the
        // running and waiting ones already fill the quota and the queue.
        if pool.running + pool.waiting.len() >= limit.saturating_add(queue) {
            return Err(ApiError::new(
                "AutomationExecutionLimitExceededException",
                "The number of simultaneously running Automation executions exceeded the allowable limit.",
            ));
        }
        execution.sequence = self.next_sequence();
        Ok(self.store(&mut executions, execution))
    }

    /// Stores `execution` in `executions` (the engine's, locked by the caller) and in its
    /// account-Region's pool; returns its id.
    pub(super) fn store(
        &self,
        executions: &mut BTreeMap<String, Execution>,
        execution: Execution,
    ) -> String {
        let id = execution.id.clone();
        lock(&self.pools)
            .entry((execution.account.clone(), execution.region.clone()))
            .or_default()
            .push(id.clone());
        executions.insert(id.clone(), execution);
        id
    }

    /// The executions of `account` in `region`, as the quota sees them (`executions` is the
    /// engine's, locked by the caller).
    fn pool(&self, executions: &BTreeMap<String, Execution>, account: &str, region: &str) -> Pool {
        let pools = lock(&self.pools);
        let ids = pools
            .get(&(account.to_owned(), region.to_owned()))
            .map_or(&[][..], Vec::as_slice);
        Pool::of(ids.iter().filter_map(|id| executions.get(id)))
    }

    /// The next place in the queue.
    pub(super) fn next_sequence(&self) -> u64 {
        self.sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until execution `id` may run in its account-Region, then marks it `InProgress`.
    /// False when it was stopped while it waited (it is then `Cancelled`).
    pub(super) async fn admit(&self, id: &str) -> bool {
        let mut changes = self.slots.subscribe();
        loop {
            changes.mark_unchanged();
            match self.try_admit(id) {
                Admission::Admitted => {
                    self.slots.send_modify(|bumps| *bumps += 1);
                    return true;
                }
                Admission::Stopped => {
                    self.finish(id, super::AutomationStatus::Cancelled, None);
                    return false;
                }
                Admission::Wait => {}
            }
            if changes.changed().await.is_err() {
                return false;
            }
        }
    }

    fn try_admit(&self, id: &str) -> Admission {
        let Some((account, region)) = self
            .snapshot(id)
            .map(|execution| (execution.account, execution.region))
        else {
            return Admission::Stopped;
        };
        let limit = self.concurrency_limit(&account, &region);
        let mut executions = lock(&self.executions);
        let Some(execution) = executions.get(id) else {
            return Admission::Stopped;
        };
        if execution.cancel_requested {
            return Admission::Stopped;
        }
        if execution.admitted {
            return Admission::Admitted;
        }
        let pool = self.pool(&executions, &account, &region);
        let first = pool.waiting.first().map(|(_, first)| first.as_str());
        let is_child = execution.parent_id.is_some();
        // The simulator's choice where the docs are silent: a child goes before the queued
        // top-level automations (its parent already holds a slot), and a child starts even past
        // the quota when every running automation here only waits for its children, since no
        // slot could ever free otherwise.
        let deadlocked = is_child && pool.running > 0 && pool.running == pool.fanning_out;
        if (pool.running < limit && first == Some(id)) || deadlocked {
            if let Some(execution) = executions.get_mut(id) {
                execution.admitted = true;
                execution.status = super::AutomationStatus::InProgress;
                execution.start = super::now();
            }
            return Admission::Admitted;
        }
        Admission::Wait
    }

    /// Tells the waiting executions that a slot may have freed.
    pub(super) fn slot_freed(&self) {
        self.slots.send_modify(|bumps| *bumps += 1);
    }
}

/// One account-Region's executions, as the quota sees them.
struct Pool {
    /// Admitted and not ended.
    running: usize,
    /// Of those, the ones that only wait for their children (rate-controlled or multi-location
    /// parents).
    fanning_out: usize,
    /// Not admitted yet, not stopped: (children first, then order of creation), id.
    waiting: Vec<((bool, u64), String)>,
}

impl Pool {
    /// The pool of an account-Region's `executions`.
    fn of<'a>(executions: impl Iterator<Item = &'a Execution>) -> Self {
        let mut pool = Self {
            running: 0,
            fanning_out: 0,
            waiting: Vec::new(),
        };
        for execution in executions.filter(|execution| !execution.status.is_final()) {
            if execution.admitted {
                pool.running += 1;
                let request = &execution.request;
                if !request.targets.is_empty()
                    || !request.target_maps.is_empty()
                    || !request.target_locations.is_empty()
                {
                    pool.fanning_out += 1;
                }
            } else if !execution.cancel_requested {
                let order = (execution.parent_id.is_none(), execution.sequence);
                pool.waiting.push((order, execution.id.clone()));
            }
        }
        pool.waiting.sort();
        pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moto::Moto;
    use crate::ssm::engine::{AutomationStatus, Settings};
    use crate::wire::StartRequest;

    fn engine(concurrent: usize, queue: usize) -> std::sync::Arc<Engine> {
        let engine = Engine::new(Moto::new("http://127.0.0.1:9"), Settings::default());
        engine.change_settings(&SettingsChange {
            concurrent: Some(concurrent),
            queue: Some(queue),
            ..SettingsChange::default()
        });
        engine
    }

    fn local(engine: &Engine) -> Result<String, ApiError> {
        engine.enqueue(Execution::new(
            "111122223333",
            "us-east-1",
            StartRequest::default(),
            String::new(),
        ))
    }

    #[tokio::test]
    async fn when_the_quota_is_used_then_the_next_ones_wait_pending_and_past_the_queue_are_refused()
    {
        // "If you attempt to run more automations than this, Systems Manager adds the
        // additional automations to a queue and displays a status of Pending."
        let engine = engine(2, 1);
        let first = local(&engine).expect("room");
        let second = local(&engine).expect("room");
        assert!(engine.admit(&first).await && engine.admit(&second).await);
        let third = local(&engine).expect("queued");
        assert_eq!(engine.try_admit(&third), Admission::Wait);
        assert_eq!(
            engine.snapshot(&third).map(|e| e.status),
            Some(AutomationStatus::Pending)
        );
        let refused = local(&engine).expect_err("the queue is full");
        assert_eq!(refused.code, "AutomationExecutionLimitExceededException");
        // "When an automation is complete (or reaches a terminal state), the first automation
        // in the queue is started."
        engine.finish(&first, AutomationStatus::Success, None);
        assert_eq!(engine.try_admit(&third), Admission::Admitted);
    }

    #[tokio::test]
    async fn when_adaptive_concurrency_is_on_then_its_quota_applies_in_that_account_region_only() {
        let engine = engine(1, 0);
        engine.change_settings(&SettingsChange {
            adaptive_concurrent: Some(2),
            ..SettingsChange::default()
        });
        engine.set_adaptive_concurrency("111122223333", "us-east-1", true);
        let first = local(&engine).expect("room");
        assert!(engine.admit(&first).await);
        let second = local(&engine).expect("adaptive concurrency makes room");
        assert!(engine.admit(&second).await);
        assert!(local(&engine).is_err());
        assert_eq!(engine.concurrency_limit("111122223333", "us-west-2"), 1);
    }
}
