//! Idempotency keys: the same trigger, however often it is delivered, always yields the same
//! key, usable as a Step Functions execution name (which is unique for 90 days) and as the seed
//! of SSM `ClientToken`s.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Step Functions' limit on execution names.
const MAX_LEN: usize = 80;
/// How much of a subject (account id, schedule name) the key keeps readable.
const MAX_SUBJECT_LEN: usize = 32;
/// Hex digits of the identity hash: 64 bits, ample for the triggers of 90 days.
const HASH_HEX_DIGITS: usize = 16;

/// A deterministic key for one trigger: `<kind>-<subject>-<hash of identity>`, at most 80
/// characters of `[A-Za-z0-9_-]`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key for a trigger of `kind` about `subject` (an account id, a schedule name...),
    /// identified by `identity` (a CloudTrail event id, an alarm's ARN and state time...).
    pub fn derive(kind: &str, subject: Option<&str>, identity: &str) -> Self {
        let digest = Sha256::digest(identity.as_bytes());
        let hash = digest.iter().take(HASH_HEX_DIGITS / 2).fold(
            String::with_capacity(HASH_HEX_DIGITS),
            |mut hex, byte| {
                use std::fmt::Write;
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        );
        let mut key = sanitized(kind, MAX_SUBJECT_LEN);
        if let Some(subject) = subject {
            key.push('-');
            key.push_str(&sanitized(subject, MAX_SUBJECT_LEN));
        }
        key.truncate(MAX_LEN - HASH_HEX_DIGITS - 1);
        key.push('-');
        key.push_str(&hash);
        Self(key)
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` with every character outside `[A-Za-z0-9_-]` replaced by `_`, at most `max` long.
fn sanitized(value: &str, max: usize) -> String {
    value
        .chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn when_the_same_trigger_is_keyed_twice_then_the_keys_are_equal() {
        let first = IdempotencyKey::derive("account-joined", Some("444455556666"), "event-1");
        let again = IdempotencyKey::derive("account-joined", Some("444455556666"), "event-1");
        let other = IdempotencyKey::derive("account-joined", Some("444455556666"), "event-2");
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert!(first.as_str().starts_with("account-joined-444455556666-"));
    }

    proptest! {
        #[test]
        fn keys_are_always_valid_step_functions_execution_names(
            kind in "[a-z-]{1,40}", subject in proptest::option::of(".{0,200}"), identity in ".*"
        ) {
            let key = IdempotencyKey::derive(&kind, subject.as_deref(), &identity);
            prop_assert!(key.as_str().len() <= MAX_LEN);
            prop_assert!(key.as_str().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
