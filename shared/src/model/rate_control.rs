//! SSM's rate control: how many targets or locations run at once (`MaxConcurrency`) and how
//! many may fail before the rest are not started (`MaxErrors`). Parsed once, at the edge, with
//! SSM's exact patterns; formatted back to the same string; resolved against a count.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;

/// SSM's pattern for `MaxConcurrency` (and `TargetLocationMaxConcurrency`, `TargetsMaxConcurrency`).
pub const CONCURRENCY_PATTERN: &str = "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$";
/// SSM's pattern for `MaxErrors` (and `TargetLocationMaxErrors`, `TargetsMaxErrors`).
pub const ERROR_THRESHOLD_PATTERN: &str = "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$";
/// SSM's length limit for both strings.
const MAX_LEN: usize = 7;

/// A percentage from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u8);

impl Percent {
    /// `value` percent, if it is at most 100.
    pub fn new(value: u8) -> Option<Self> {
        (value <= 100).then_some(Self(value))
    }

    /// The number of percent.
    pub fn get(self) -> u8 {
        self.0
    }

    /// `self` percent of `count`, rounded down.
    fn of(self, count: u32) -> u32 {
        let share = u64::from(count) * u64::from(self.0) / 100;
        // At most `count`, so it fits.
        u32::try_from(share).unwrap_or(count)
    }
}

/// How many run at once: a count (at least 1) or a percentage (1% to 100%) of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Concurrency {
    /// At most this many at once.
    Count(NonZeroU32),
    /// At most this share of the total at once (never less than one).
    Percent(Percent),
}

/// How many may fail before the rest are not started: a count (0 stops at the first error) or
/// a percentage (0% to 100%) of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorThreshold {
    /// At most this many failures are tolerated.
    Count(u32),
    /// At most this share of the total may fail.
    Percent(Percent),
}

/// Splits `value` into its number and whether it ends in `%`, after SSM's length check.
fn number_and_unit(what: &'static str, value: &str, expected: &str) -> Result<(u32, bool)> {
    let invalid = || Error::invalid_value(what, value, expected);
    if value.is_empty() || value.len() > MAX_LEN {
        return Err(invalid());
    }
    let (digits, percent) = match value.strip_suffix('%') {
        Some(digits) => (digits, true),
        None => (value, false),
    };
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    if digits.is_empty() || leading_zero || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let number = digits.parse::<u32>().map_err(|_| invalid())?;
    Ok((number, percent))
}

impl Concurrency {
    const EXPECTED: &'static str = "a whole number from 1 or a percentage from 1% to 100% (SSM pattern ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$)";

    /// Parses SSM's string form, e.g. `10` or `25%`.
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = || Error::invalid_value("max concurrency", value, Self::EXPECTED);
        match number_and_unit("max concurrency", value, Self::EXPECTED)? {
            (number, true) => u8::try_from(number)
                .ok()
                .filter(|&n| n >= 1)
                .and_then(Percent::new)
                .map(Self::Percent)
                .ok_or_else(invalid),
            (number, false) => NonZeroU32::new(number).map(Self::Count).ok_or_else(invalid),
        }
    }

    /// How many of `total` run at once: a count is capped at `total`, a percentage is rounded
    /// down but never below one (while there is anything to run).
    pub fn resolve(self, total: u32) -> u32 {
        match self {
            Self::Count(count) => count.get().min(total),
            Self::Percent(percent) => percent.of(total).max(total.min(1)),
        }
    }
}

impl ErrorThreshold {
    const EXPECTED: &'static str = "a whole number from 0 or a percentage from 0% to 100% (SSM pattern ^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$)";

    /// Parses SSM's string form, e.g. `0`, `1` or `10%`.
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = || Error::invalid_value("max errors", value, Self::EXPECTED);
        match number_and_unit("max errors", value, Self::EXPECTED)? {
            (number, true) => u8::try_from(number)
                .ok()
                .and_then(Percent::new)
                .map(Self::Percent)
                .ok_or_else(invalid),
            (number, false) => Ok(Self::Count(number)),
        }
    }

    /// How many failures of `total` are tolerated: a percentage is rounded down. The next
    /// failure beyond this stops what has not started yet.
    pub fn resolve(self, total: u32) -> u32 {
        match self {
            Self::Count(count) => count,
            Self::Percent(percent) => percent.of(total),
        }
    }
}

impl std::fmt::Display for Concurrency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::Percent(percent) => write!(f, "{}%", percent.get()),
        }
    }
}

impl std::fmt::Display for ErrorThreshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::Percent(percent) => write!(f, "{}%", percent.get()),
        }
    }
}

/// Serde and JSON Schema for the two rate-control strings: both travel as SSM writes them.
macro_rules! ssm_string_form {
    ($name:ident, $pattern:expr, $description:literal) => {
        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(value: &str) -> Result<Self> {
                Self::parse(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // YAML users write `max_errors: 0`, so numbers are taken as their decimal string.
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum StringOrNumber {
                    String(String),
                    Number(u64),
                }
                let value = match StringOrNumber::deserialize(deserializer)? {
                    StringOrNumber::String(value) => value,
                    StringOrNumber::Number(number) => number.to_string(),
                };
                Self::parse(&value).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": $description,
                    "oneOf": [
                        { "type": "string", "pattern": $pattern },
                        { "type": "integer", "minimum": 0 }
                    ]
                })
            }
        }
    };
}

ssm_string_form!(
    Concurrency,
    CONCURRENCY_PATTERN,
    "How many run at once: a count such as 10 or a percentage such as 25%."
);
ssm_string_form!(
    ErrorThreshold,
    ERROR_THRESHOLD_PATTERN,
    "How many may fail before the rest are not started: a count such as 0 or a percentage such as 10%."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    fn concurrency(value: &str) -> Concurrency {
        Concurrency::parse(value).expect(value)
    }

    fn errors(value: &str) -> ErrorThreshold {
        ErrorThreshold::parse(value).expect(value)
    }

    #[test]
    fn when_concurrency_is_a_percentage_then_it_rounds_down_but_never_below_one() {
        assert_eq!(concurrency("10%").resolve(50), 5);
        assert_eq!(concurrency("10%").resolve(5), 1);
        assert_eq!(concurrency("100%").resolve(7), 7);
        assert_eq!(concurrency("1%").resolve(0), 0);
    }

    #[test]
    fn when_concurrency_is_a_count_then_it_is_capped_at_the_total() {
        assert_eq!(concurrency("10").resolve(3), 3);
        assert_eq!(concurrency("2").resolve(60), 2);
    }

    #[test]
    fn when_errors_are_a_percentage_then_they_round_down() {
        assert_eq!(errors("10%").resolve(50), 5);
        assert_eq!(errors("10%").resolve(9), 0);
        assert_eq!(errors("0%").resolve(100), 0);
        assert_eq!(errors("3").resolve(1), 3);
    }

    #[test]
    fn when_yaml_gives_a_number_then_it_is_read_as_ssm_would_read_its_string() {
        let parsed: ErrorThreshold = serde_json::from_str("0").expect("0 is a valid MaxErrors");
        assert_eq!(parsed, ErrorThreshold::Count(0));
        assert!(serde_json::from_str::<Concurrency>("0").is_err());
    }

    #[test]
    fn when_a_value_is_rejected_then_the_error_names_the_field_and_ssm_pattern() {
        let error = Concurrency::parse("0").expect_err("0 is not a concurrency");
        let message = error.to_string();
        assert!(message.contains("max concurrency"), "{message}");
        assert!(message.contains(CONCURRENCY_PATTERN), "{message}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::fuzz_cases(4096)))]

        #[test]
        fn concurrency_accepts_exactly_what_ssm_accepts(value in "[0-9]{0,8}%?|[0-9a-z% .-]{0,8}") {
            let ssm = Regex::new(CONCURRENCY_PATTERN).expect("pattern compiles");
            let accepted = Concurrency::parse(&value);
            prop_assert_eq!(accepted.is_ok(), ssm.is_match(&value) && value.len() <= MAX_LEN, "{:?}", value);
            if let Ok(parsed) = accepted {
                prop_assert_eq!(parsed.to_string(), value);
            }
        }

        #[test]
        fn error_threshold_accepts_exactly_what_ssm_accepts(value in "[0-9]{0,8}%?|[0-9a-z% .-]{0,8}") {
            let ssm = Regex::new(ERROR_THRESHOLD_PATTERN).expect("pattern compiles");
            let accepted = ErrorThreshold::parse(&value);
            prop_assert_eq!(accepted.is_ok(), ssm.is_match(&value) && value.len() <= MAX_LEN, "{:?}", value);
            if let Ok(parsed) = accepted {
                prop_assert_eq!(parsed.to_string(), value);
            }
        }

        #[test]
        fn resolved_values_stay_within_the_total(percent in 1u8..=100, total in 0u32..100_000) {
            let concurrency = Concurrency::parse(&format!("{percent}%")).expect("valid");
            let resolved = concurrency.resolve(total);
            prop_assert!(resolved <= total);
            prop_assert!(total == 0 || resolved >= 1);
            let errors = ErrorThreshold::parse(&format!("{percent}%")).expect("valid");
            prop_assert!(errors.resolve(total) <= total);
        }
    }
}
