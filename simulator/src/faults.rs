//! Fault injection, off by default: added latency on every Automation call, a share of calls
//! answered with `ThrottlingException`, and SSM's per-account-Region rate limits (1 start a
//! second, 3 gets or describes a second). Also counts calls by operation, the simulator's own
//! and those forwarded to moto, for tests and benchmarks.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to inject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Added to every Automation API call.
    pub latency_ms: u64,
    /// The share (0.0 to 1.0) of calls throttled at random (seeded, so runs repeat).
    pub throttle_rate: f64,
    /// Enforce SSM's per-account-Region rates: 1 start a second, 3 gets/describes a second.
    pub tps_limits: bool,
    /// The seed of the random throttling.
    pub seed: u64,
}

/// Calls answered and throttled, by operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    /// Calls answered (throttled ones included), by operation.
    pub calls: BTreeMap<String, u64>,
    /// Calls answered with `ThrottlingException`, by operation.
    pub throttled: BTreeMap<String, u64>,
    /// Calls forwarded to moto, by operation (`AmazonSSM.ModifyDocumentPermission`,
    /// `cloudformation.CreateStackInstances`, `s3.PUT`...).
    pub forwarded: BTreeMap<String, u64>,
}

/// A token bucket: `rate` tokens a second, at most `rate` stored.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The state of fault injection.
#[derive(Debug, Default)]
pub struct Faults {
    settings: Mutex<FaultSettings>,
    buckets: Mutex<HashMap<(String, String, &'static str), Bucket>>,
    random: Mutex<u64>,
    stats: Mutex<CallStats>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The rate class of an operation and its limit per second, as SSM documents them.
fn rate_limit(operation: &str) -> Option<(&'static str, f64)> {
    match operation {
        "StartAutomationExecution" => Some(("start", 1.0)),
        "GetAutomationExecution"
        | "DescribeAutomationExecutions"
        | "DescribeAutomationStepExecutions" => Some(("read", 3.0)),
        _ => None,
    }
}

impl Faults {
    /// Fault injection with `settings`.
    pub fn new(settings: FaultSettings) -> Self {
        let seed = settings.seed;
        Self {
            settings: Mutex::new(settings),
            random: Mutex::new(seed.max(1)),
            ..Self::default()
        }
    }

    /// Replaces the settings (and restarts the random sequence from their seed).
    pub fn configure(&self, settings: FaultSettings) {
        *lock(&self.random) = settings.seed.max(1);
        *lock(&self.settings) = settings;
        lock(&self.buckets).clear();
    }

    /// The settings in force.
    pub fn settings(&self) -> FaultSettings {
        lock(&self.settings).clone()
    }

    /// The counts so far.
    pub fn stats(&self) -> CallStats {
        lock(&self.stats).clone()
    }

    /// Forgets the counts.
    pub fn reset_stats(&self) {
        *lock(&self.stats) = CallStats::default();
    }

    /// Counts a call that is forwarded to moto (no fault is injected into those).
    pub fn count_forwarded(&self, operation: &str) {
        *lock(&self.stats)
            .forwarded
            .entry(operation.to_owned())
            .or_insert(0) += 1;
    }

    /// Counts the call, waits out the added latency, and says whether to throttle it.
    pub async fn admit(&self, operation: &str, account: &str, region: &str) -> bool {
        let settings = self.settings();
        if settings.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
        }
        let throttled = self.randomly_throttled(settings.throttle_rate)
            || (settings.tps_limits && !self.take_token(operation, account, region));
        let mut stats = lock(&self.stats);
        *stats.calls.entry(operation.to_owned()).or_insert(0) += 1;
        if throttled {
            *stats.throttled.entry(operation.to_owned()).or_insert(0) += 1;
        }
        throttled
    }

    fn randomly_throttled(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        // xorshift64: deterministic for a seed, good enough to spread throttles.
        let mut state = lock(&self.random);
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        #[allow(clippy::cast_precision_loss)]
        let draw = (*state % 1_000_000) as f64 / 1_000_000.0;
        draw < rate
    }

    fn take_token(&self, operation: &str, account: &str, region: &str) -> bool {
        let Some((class, rate)) = rate_limit(operation) else {
            return true;
        };
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        let bucket = buckets
            .entry((account.to_owned(), region.to_owned(), class))
            .or_insert(Bucket {
                tokens: rate,
                updated: now,
            });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_tps_limits_are_on_then_a_second_start_in_the_same_second_is_throttled() {
        let faults = Faults::new(FaultSettings {
            tps_limits: true,
            ..FaultSettings::default()
        });
        assert!(
            !faults
                .admit("StartAutomationExecution", "111122223333", "us-east-1")
                .await
        );
        assert!(
            faults
                .admit("StartAutomationExecution", "111122223333", "us-east-1")
                .await
        );
        assert!(
            !faults
                .admit("StartAutomationExecution", "111122223333", "us-west-2")
                .await,
            "Regions are limited apart"
        );
        for _ in 0..3 {
            assert!(
                !faults
                    .admit("GetAutomationExecution", "111122223333", "us-east-1")
                    .await
            );
        }
        assert!(
            faults
                .admit("GetAutomationExecution", "111122223333", "us-east-1")
                .await
        );
        assert_eq!(
            faults.stats().throttled.get("StartAutomationExecution"),
            Some(&1)
        );
    }

    #[tokio::test]
    async fn when_a_throttle_rate_is_set_then_about_that_share_is_throttled() {
        let faults = Faults::new(FaultSettings {
            throttle_rate: 0.3,
            seed: 7,
            ..FaultSettings::default()
        });
        let mut throttled = 0;
        for _ in 0..2000 {
            if faults
                .admit("GetAutomationExecution", "111122223333", "us-east-1")
                .await
            {
                throttled += 1;
            }
        }
        assert!((500..700).contains(&throttled), "{throttled} of 2000");
    }
}
