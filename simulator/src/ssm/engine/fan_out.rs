//! Running many items (locations or targets) under SSM's rate control: at most a concurrency at
//! once (reached by ramping up, for targets), and none started once the error threshold is
//! passed.

use super::{AutomationStatus, Engine};
use crate::ssm::rate_control::Kind;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;

impl Engine {
    /// Runs `run` over `items` for execution `id` under the request's rate-control strings
    /// (`concurrency`, `max_errors`: checked already; the `defaults` where absent), each a
    /// share of the number of items, ramping up to the concurrency when `ramp` says so; starts
    /// no more once `id` is stopped.
    pub(super) async fn fan_out<T, Fut>(
        self: &Arc<Self>,
        id: &str,
        items: Vec<T>,
        (concurrency, max_errors): (Option<&str>, Option<&str>),
        (default_concurrency, default_errors): (u32, u32),
        ramp: Ramp,
        run: impl Fn(Arc<Self>, T) -> Fut,
    ) -> Vec<Option<AutomationStatus>>
    where
        T: Send + 'static,
        Fut: Future<Output = AutomationStatus> + Send + 'static,
    {
        let total = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let concurrency = resolve(Kind::Concurrency, concurrency, total, default_concurrency);
        let max_errors = resolve(Kind::Errors, max_errors, total, default_errors);
        let engine = Arc::clone(self);
        run_rate_controlled(
            items,
            (concurrency, ramp),
            max_errors,
            || self.cancelled(id),
            move |item| run(Arc::clone(&engine), item),
        )
        .await
    }
}

/// How a fan-out reaches its concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ramp {
    /// Targets: "The queueing system delivers the automation to a single resource and waits
    /// until the initial invocation is complete before sending the automation to two more
    /// resources. The system exponentially sends the automation to more resources until the
    /// concurrency value is met." ("Control automations at scale"). The simulator doubles the
    /// number allowed at once each time one completes.
    Exponential,
    /// Locations: at the concurrency from the start (the docs describe no ramp-up for
    /// `TargetLocationMaxConcurrency`).
    None,
}

impl Ramp {
    /// How many may run at once after `completed` have completed, under `concurrency`.
    fn allowed(self, concurrency: usize, completed: u32) -> usize {
        match self {
            Self::None => concurrency,
            Self::Exponential => 1_usize
                .checked_shl(completed)
                .unwrap_or(usize::MAX)
                .min(concurrency),
        }
    }
}

/// The number a rate-control string of `kind` stands for out of `total`, or `absent` when the
/// request has none (the request was checked already, so the string is valid).
fn resolve(kind: Kind, value: Option<&str>, total: u32, absent: u32) -> u32 {
    value
        .and_then(|value| kind.parse(value))
        .map_or(absent, |amount| amount.of(total))
}

/// Runs `run` over `items`, at most `concurrency` at once (at least one); once more than
/// `max_errors` have not succeeded (or `cancelled` says so), starts no more. The API reference
/// (`StartAutomationExecution`, `MaxErrors`): "If you specify 3, for example, the system stops
/// running the automation when the fourth error is received", and "Executions that are already
/// running an automation when max-errors is reached are allowed to complete". Returns each
/// item's status, `None` for those never started.
async fn run_rate_controlled<T, F, Fut>(
    items: Vec<T>,
    (concurrency, ramp): (u32, Ramp),
    max_errors: u32,
    cancelled: impl Fn() -> bool,
    run: F,
) -> Vec<Option<AutomationStatus>>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = AutomationStatus> + Send + 'static,
{
    let concurrency = usize::try_from(concurrency.max(1)).unwrap_or(usize::MAX);
    let mut outcomes = vec![None; items.len()];
    let mut queue = items.into_iter().enumerate();
    let mut running = JoinSet::new();
    let mut failures = 0_u32;
    let mut completed = 0_u32;
    loop {
        while running.len() < ramp.allowed(concurrency, completed)
            && failures <= max_errors
            && !cancelled()
        {
            let Some((index, item)) = queue.next() else {
                break;
            };
            let future = run(item);
            running.spawn(async move { (index, future.await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (index, status) = done.unwrap_or((usize::MAX, AutomationStatus::Failed));
        completed = completed.saturating_add(1);
        if !status.is_success() {
            failures += 1;
        }
        if let Some(outcome) = outcomes.get_mut(index) {
            *outcome = Some(status);
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn when_errors_exceed_the_threshold_then_no_more_items_start() {
        // Items 0 and 1 fail; with one error allowed and one at a time, item 2 must not start.
        let outcomes = run_rate_controlled(
            vec![false, false, true, true],
            (1, Ramp::None),
            1,
            || false,
            |ok| async move {
                if ok {
                    AutomationStatus::Success
                } else {
                    AutomationStatus::Failed
                }
            },
        )
        .await;
        assert_eq!(
            outcomes,
            vec![
                Some(AutomationStatus::Failed),
                Some(AutomationStatus::Failed),
                None,
                None
            ]
        );
    }

    /// Runs `count` items that each take a few milliseconds and succeed; returns their
    /// outcomes and, for each start in order, how many were running with it.
    async fn run_counting(
        count: u32,
        rate: (u32, Ramp),
    ) -> (Vec<Option<AutomationStatus>>, Vec<usize>) {
        let running = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let outcomes = run_rate_controlled(
            (0..count).collect(),
            rate,
            0,
            || false,
            |_| {
                let (running, seen) = (Arc::clone(&running), Arc::clone(&seen));
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    crate::lock(&seen).push(now);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    AutomationStatus::Success
                }
            },
        )
        .await;
        let seen = crate::lock(&seen).clone();
        (outcomes, seen)
    }

    #[tokio::test]
    async fn when_concurrency_is_two_then_at_most_two_run_at_once() {
        let (outcomes, seen) = run_counting(6, (2, Ramp::None)).await;
        assert!(
            outcomes
                .iter()
                .all(|o| *o == Some(AutomationStatus::Success))
        );
        assert_eq!(seen.iter().max(), Some(&2));
    }

    #[tokio::test]
    async fn when_targets_ramp_up_then_one_runs_first_then_two_growing_exponentially() {
        // "The queueing system delivers the automation to a single resource and waits until
        // the initial invocation is complete before sending the automation to two more
        // resources. The system exponentially sends the automation to more resources until the
        // concurrency value is met."
        let (_, seen) = run_counting(12, (5, Ramp::Exponential)).await;
        assert_eq!(seen.first(), Some(&1), "the first runs alone: {seen:?}");
        assert_eq!(seen.get(1), Some(&1), "the next once it ended: {seen:?}");
        assert_eq!(seen.get(2), Some(&2), "and one more beside it: {seen:?}");
        assert_eq!(
            seen.iter().max(),
            Some(&5),
            "up to the concurrency: {seen:?}"
        );
        assert_eq!(Ramp::Exponential.allowed(5, 0), 1);
        assert_eq!(Ramp::Exponential.allowed(5, 1), 2);
        assert_eq!(Ramp::Exponential.allowed(5, 2), 4);
        assert_eq!(Ramp::Exponential.allowed(5, 3), 5);
        assert_eq!(Ramp::Exponential.allowed(5, 70), 5);
        assert_eq!(Ramp::None.allowed(5, 0), 5);
    }

    #[test]
    fn when_a_rate_control_string_is_absent_then_the_default_applies() {
        assert_eq!(resolve(Kind::Concurrency, None, 40, 1), 1);
        assert_eq!(resolve(Kind::Concurrency, Some("25%"), 40, 1), 10);
        assert_eq!(resolve(Kind::Errors, Some("0"), 40, u32::MAX), 0);
        assert_eq!(resolve(Kind::Errors, None, 40, u32::MAX), u32::MAX);
    }
}
