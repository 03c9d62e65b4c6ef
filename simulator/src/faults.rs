//! Fault injection, off by default: added latency on every Automation call, a share of calls
//! answered with `ThrottlingException` (forwarded calls too, when asked), SSM's
//! per-account-Region rate limits (1 start a second, 3 gets or describes a second), and
//! scripted errors for chosen operations (`sts.AssumeRole` for one account, `sns.Publish`...).
//! Also counts calls by operation, the simulator's own and those forwarded to moto, for tests
//! and benchmarks.

use crate::lock;
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
    /// With `tps_limits`, those rates times this factor: a benchmark that compresses SSM's
    /// time says by how much (0, the default, is 1: SSM's own rates).
    pub tps_scale: f64,
    /// The seed of the random throttling.
    pub seed: u64,
    /// Throttle forwarded calls (every service moto answers) at `throttle_rate` too.
    pub throttle_forwarded: bool,
    /// Errors answered instead of chosen calls, first matching rule first.
    pub errors: Vec<ScriptedError>,
}

/// An error answered instead of a call: to every matching call, or to the first `times` of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedError {
    /// The operation as [`CallStats`] names it: an Automation operation
    /// (`StartAutomationExecution`) or a forwarded one (`sts.AssumeRole`,
    /// `AmazonSSM.ModifyDocumentPermission`, `sns.Publish`, `s3.PUT`).
    pub operation: String,
    /// Only calls whose request (path, signing Region, body) contains this text: an account
    /// id, a Region, a document name.
    #[serde(default)]
    pub matching: Option<String>,
    /// The error code (`AccessDenied`, `InternalServerError`...).
    pub code: String,
    /// The error message.
    #[serde(default)]
    pub message: String,
    /// The HTTP status.
    #[serde(default = "default_error_status")]
    pub status: u16,
    /// How many matching calls get the error; every one when absent.
    #[serde(default)]
    pub times: Option<u64>,
}

fn default_error_status() -> u16 {
    400
}

/// The error a fault answers with: its code, message and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    /// The error code.
    pub code: String,
    /// The message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
}

/// Calls answered and throttled, by operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    /// Calls answered (throttled ones included), by operation.
    pub calls: BTreeMap<String, u64>,
    /// Calls answered with `ThrottlingException`, by operation.
    pub throttled: BTreeMap<String, u64>,
    /// Calls forwarded to moto, by operation (`AmazonSSM.ModifyDocumentPermission`,
    /// `cloudformation.CreateStackInstances`, `s3.PUT`...), answered ones and faulted ones.
    pub forwarded: BTreeMap<String, u64>,
    /// Calls answered with a scripted error, by operation.
    pub scripted: BTreeMap<String, u64>,
}

impl CallStats {
    /// All calls answered with `ThrottlingException` (each one a retry for the caller).
    pub fn throttled_total(&self) -> u64 {
        self.throttled.values().sum()
    }
}

/// What a fault answers a call with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error.
    Throttled,
    /// A scripted error.
    Scripted(InjectedError),
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
    /// For each scripted error, how many more calls get it (`None`: all).
    remaining: Mutex<Vec<Option<u64>>>,
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
        let faults = Self::default();
        faults.configure(settings);
        faults
    }

    /// Replaces the settings (and restarts the random sequence from their seed).
    pub fn configure(&self, settings: FaultSettings) {
        *lock(&self.random) = settings.seed.max(1);
        *lock(&self.remaining) = settings.errors.iter().map(|error| error.times).collect();
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

    /// Counts an Automation call, waits out the added latency, and says which fault, if any,
    /// answers it: a scripted error, or throttling.
    pub async fn admit(
        &self,
        operation: &str,
        account: &str,
        region: &str,
        request: &str,
    ) -> Option<Fault> {
        let settings = self.settings();
        if settings.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
        }
        lock(&self.stats)
            .calls
            .entry(operation.to_owned())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        if let Some(error) = self.scripted(&settings, operation, request) {
            return Some(Fault::Scripted(error));
        }
        let throttled = self.randomly_throttled(settings.throttle_rate)
            || (settings.tps_limits
                && !self.take_token(operation, account, region, settings.tps_scale));
        throttled.then(|| self.count_throttled(operation))
    }

    /// The fault, if any, that answers a call forwarded to moto: a scripted error, or
    /// throttling when forwarded calls are throttled too.
    pub fn admit_forwarded(&self, operation: &str, request: &str) -> Option<Fault> {
        let settings = self.settings();
        if let Some(error) = self.scripted(&settings, operation, request) {
            return Some(Fault::Scripted(error));
        }
        (settings.throttle_forwarded && self.randomly_throttled(settings.throttle_rate))
            .then(|| self.count_throttled(operation))
    }

    fn count_throttled(&self, operation: &str) -> Fault {
        *lock(&self.stats)
            .throttled
            .entry(operation.to_owned())
            .or_insert(0) += 1;
        Fault::Throttled
    }

    /// The first scripted error for `operation` whose text `request` contains, used up once.
    fn scripted(
        &self,
        settings: &FaultSettings,
        operation: &str,
        request: &str,
    ) -> Option<InjectedError> {
        let mut remaining = lock(&self.remaining);
        let (index, rule) = settings.errors.iter().enumerate().find(|(index, rule)| {
            rule.operation == operation
                && rule
                    .matching
                    .as_deref()
                    .is_none_or(|text| request.contains(text))
                && remaining.get(*index).copied().flatten() != Some(0)
        })?;
        if let Some(Some(left)) = remaining.get_mut(index) {
            *left -= 1;
        }
        *lock(&self.stats)
            .scripted
            .entry(operation.to_owned())
            .or_insert(0) += 1;
        Some(InjectedError {
            code: rule.code.clone(),
            message: if rule.message.is_empty() {
                format!("{} (injected by the simulator)", rule.code)
            } else {
                rule.message.clone()
            },
            status: rule.status,
        })
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

    fn take_token(&self, operation: &str, account: &str, region: &str, scale: f64) -> bool {
        let Some((class, rate)) = rate_limit(operation) else {
            return true;
        };
        let rate = if scale > 0.0 { rate * scale } else { rate };
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
            faults
                .admit("StartAutomationExecution", "111122223333", "us-east-1", "")
                .await
                .is_none()
        );
        assert!(
            faults
                .admit("StartAutomationExecution", "111122223333", "us-east-1", "")
                .await
                .is_some()
        );
        assert!(
            faults
                .admit("StartAutomationExecution", "111122223333", "us-west-2", "")
                .await
                .is_none(),
            "Regions are limited apart"
        );
        for _ in 0..3 {
            assert!(
                faults
                    .admit("GetAutomationExecution", "111122223333", "us-east-1", "")
                    .await
                    .is_none()
            );
        }
        assert!(
            faults
                .admit("GetAutomationExecution", "111122223333", "us-east-1", "")
                .await
                .is_some()
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
                .admit("GetAutomationExecution", "111122223333", "us-east-1", "")
                .await
                .is_some()
            {
                throttled += 1;
            }
        }
        assert!((500..700).contains(&throttled), "{throttled} of 2000");
    }

    #[tokio::test]
    async fn when_an_error_is_scripted_for_an_account_then_only_its_calls_get_it_as_often_as_asked()
    {
        let faults = Faults::new(FaultSettings {
            errors: vec![ScriptedError {
                operation: "sts.AssumeRole".to_owned(),
                matching: Some("222233334444".to_owned()),
                code: "AccessDenied".to_owned(),
                message: String::new(),
                status: 403,
                times: Some(2),
            }],
            ..FaultSettings::default()
        });
        let role =
            |account: &str| format!("RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2FReader");
        assert_eq!(
            faults.admit_forwarded("sts.AssumeRole", &role("111122223333")),
            None
        );
        for _ in 0..2 {
            let Some(Fault::Scripted(error)) =
                faults.admit_forwarded("sts.AssumeRole", &role("222233334444"))
            else {
                panic!("the scripted error answers the matching call");
            };
            assert_eq!((error.code.as_str(), error.status), ("AccessDenied", 403));
        }
        assert_eq!(
            faults.admit_forwarded("sts.AssumeRole", &role("222233334444")),
            None,
            "used up after `times` calls"
        );
        assert_eq!(faults.stats().scripted.get("sts.AssumeRole"), Some(&2));
    }

    #[tokio::test]
    async fn when_forwarded_calls_are_not_throttled_then_the_throttle_rate_spares_them() {
        let settings = FaultSettings {
            throttle_rate: 1.0,
            ..FaultSettings::default()
        };
        let faults = Faults::new(settings.clone());
        assert_eq!(faults.admit_forwarded("sns.Publish", ""), None);
        faults.configure(FaultSettings {
            throttle_forwarded: true,
            ..settings
        });
        assert_eq!(
            faults.admit_forwarded("sns.Publish", ""),
            Some(Fault::Throttled)
        );
        assert_eq!(faults.stats().throttled_total(), 1);
    }
}
