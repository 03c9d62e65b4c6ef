//! The fabric's rate-control parsers (`fabric::model::Concurrency`, `ErrorThreshold`) and the
//! simulator's own (`fabric_simulator::ssm::rate_control`), written apart, held against SSM's
//! published patterns and against each other: both accept exactly the strings the API reference
//! allows, and read each to the same count or percentage.
//!
//! The API reference (`StartAutomationExecution`: `MaxConcurrency`, `MaxErrors`;
//! `TargetLocation`: `TargetLocationMaxConcurrency`, `TargetLocationMaxErrors`,
//! `TargetsMaxConcurrency`, `TargetsMaxErrors`): "Length Constraints: Minimum length of 1.
//! Maximum length of 7." and the two patterns below.

#![allow(clippy::expect_used)] // a test fails by panicking

use fabric::model::{Concurrency, ErrorThreshold};
use fabric_simulator::ssm::rate_control::{self, Amount, Kind};
use proptest::prelude::*;
use regex::Regex;
use std::sync::LazyLock;

/// The published pattern of the concurrency strings.
const CONCURRENCY_PATTERN: &str = "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$";
/// The published pattern of the error-threshold strings.
const ERRORS_PATTERN: &str = "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$";
/// The published length limits of both.
const LENGTH: std::ops::RangeInclusive<usize> = 1..=7;

static CONCURRENCY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(CONCURRENCY_PATTERN).expect("the published pattern compiles"));
static ERRORS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(ERRORS_PATTERN).expect("the published pattern compiles"));

/// Cases per property: `FABRIC_FUZZ_CASES` when set (the long run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("FABRIC_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Whether SSM accepts `value` under `pattern`: the pattern and the length limit.
fn ssm_accepts(pattern: &Regex, value: &str) -> bool {
    pattern.is_match(value) && LENGTH.contains(&value.len())
}

/// The fabric's reading of a concurrency string, in the simulator's terms.
fn fabric_concurrency(value: &str) -> Option<Amount> {
    Concurrency::parse(value).ok().map(|parsed| match parsed {
        Concurrency::Count(count) => Amount::Count(count.get()),
        Concurrency::Percent(percent) => Amount::Percent(percent.get()),
    })
}

/// The fabric's reading of an error-threshold string, in the simulator's terms.
fn fabric_errors(value: &str) -> Option<Amount> {
    ErrorThreshold::parse(value)
        .ok()
        .map(|parsed| match parsed {
            ErrorThreshold::Count(count) => Amount::Count(count),
            ErrorThreshold::Percent(percent) => Amount::Percent(percent.get()),
        })
}

/// Strings generated from a published pattern (without its anchors, which only say that the
/// whole string must match).
fn from_pattern(pattern: &'static str) -> BoxedStrategy<String> {
    let body = pattern.trim_start_matches('^').trim_end_matches('$');
    proptest::string::string_regex(body)
        .expect("the published pattern generates strings")
        .boxed()
}

/// What the parsers are fed: digits with and without `%`, leading zeros, the empty string,
/// numbers past the length limit and past `u32`, percentages past 100, random ASCII, and
/// strings the two published patterns generate.
fn candidates() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,9}%?",
        "0{1,3}[0-9]{0,4}%?",
        Just(String::new()),
        any::<u64>().prop_map(|number| number.to_string()),
        (0_u32..1000).prop_map(|number| format!("{number}%")),
        "[\\x00-\\x7f]{0,9}",
        "[0-9% +.-]{0,9}",
        from_pattern(CONCURRENCY_PATTERN),
        from_pattern(ERRORS_PATTERN),
    ]
}

#[test]
fn when_the_parsers_cite_their_patterns_then_they_are_the_published_ones() {
    // Given the patterns the simulator and the fabric cite in their errors
    // When they are compared with the API reference's
    // Then they are the same, letter for letter
    assert_eq!(rate_control::CONCURRENCY_PATTERN, CONCURRENCY_PATTERN);
    assert_eq!(Kind::Concurrency.pattern(), CONCURRENCY_PATTERN);
    assert_eq!(fabric::model::CONCURRENCY_PATTERN, CONCURRENCY_PATTERN);
    assert_eq!(rate_control::ERRORS_PATTERN, ERRORS_PATTERN);
    assert_eq!(Kind::Errors.pattern(), ERRORS_PATTERN);
    assert_eq!(fabric::model::ERROR_THRESHOLD_PATTERN, ERRORS_PATTERN);
}

#[test]
fn when_edge_strings_are_parsed_then_both_parsers_read_them_as_ssm_does() {
    // Given strings at the edges of the patterns and the length limit
    use Amount::{Count, Percent};
    let cases = [
        ("0", None, Some(Count(0))),
        ("0%", None, Some(Percent(0))),
        ("1", Some(Count(1)), Some(Count(1))),
        ("9%", Some(Percent(9)), Some(Percent(9))),
        ("100%", Some(Percent(100)), Some(Percent(100))),
        ("101%", None, None),
        ("9999999", Some(Count(9_999_999)), Some(Count(9_999_999))),
        ("10000000", None, None),
        ("01", None, None),
        ("00", None, None),
        ("", None, None),
        ("%", None, None),
        ("-1", None, None),
    ];
    for (value, concurrency, errors) in cases {
        // When each parser reads it
        // Then it reads it as written above
        assert_eq!(
            Kind::Concurrency.parse(value),
            concurrency,
            "simulator {value:?}"
        );
        assert_eq!(fabric_concurrency(value), concurrency, "fabric {value:?}");
        assert_eq!(Kind::Errors.parse(value), errors, "simulator {value:?}");
        assert_eq!(fabric_errors(value), errors, "fabric {value:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(4096)))]

    #[test]
    fn when_a_string_is_parsed_then_both_accept_exactly_what_ssm_accepts_and_read_the_same_value(
        value in candidates()
    ) {
        // Given any string, and whether SSM's published patterns and length limit accept it
        let readings = [
            (Kind::Concurrency, &*CONCURRENCY, fabric_concurrency(&value)),
            (Kind::Errors, &*ERRORS, fabric_errors(&value)),
        ];
        for (kind, pattern, fabric) in readings {
            let accepted = ssm_accepts(pattern, &value);
            // When the simulator reads it as the fabric did
            let simulator = kind.parse(&value);
            // Then each accepts it exactly when SSM does, both read the same value, and that
            // value is written back as it was given
            prop_assert_eq!(fabric.is_some(), accepted, "fabric, {:?} {:?}", kind, value);
            prop_assert_eq!(simulator.is_some(), accepted, "simulator, {:?} {:?}", kind, value);
            prop_assert_eq!(fabric, simulator, "{:?} {:?}", kind, value);
            if let Some(amount) = simulator {
                prop_assert_eq!(amount.to_string(), value.as_str());
            }
        }
    }

    #[test]
    fn when_an_error_threshold_is_applied_to_a_total_then_both_tolerate_as_many_failures(
        value in prop_oneof![
            (0_u32..=9_999_999).prop_map(|count| count.to_string()),
            (0_u8..=100).prop_map(|percent| format!("{percent}%")),
        ],
        total in 0_u32..100_000,
    ) {
        // Given a threshold SSM accepts, read by both
        let fabric = ErrorThreshold::parse(&value).expect("SSM accepts it");
        let simulator = Kind::Errors.parse(&value).expect("SSM accepts it");
        // When each works out how many failures of `total` it tolerates
        // Then they agree (a percentage rounds down: 10% of 50 tolerates 5)
        prop_assert_eq!(fabric.resolve(total), simulator.of(total), "{:?} of {}", value, total);
    }
}
