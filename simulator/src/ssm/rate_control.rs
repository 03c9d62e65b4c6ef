//! SSM's rate-control strings (`MaxConcurrency`, `MaxErrors`, `TargetLocationMaxConcurrency`,
//! `TargetLocationMaxErrors`, `TargetsMaxConcurrency`, `TargetsMaxErrors`): which strings SSM
//! accepts, read to an absolute count or a percentage, and what each means for a given total.
//! The simulator's own reading, written from the API reference; public so that tests can hold
//! other readings of the same strings against it.

/// SSM's pattern for the concurrency strings. API reference, `StartAutomationExecution`
/// (`MaxConcurrency`) and `TargetLocation` (`TargetLocationMaxConcurrency`,
/// `TargetsMaxConcurrency`): "Length Constraints: Minimum length of 1. Maximum length of 7.
/// Pattern: `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`".
pub const CONCURRENCY_PATTERN: &str = "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$";
/// SSM's pattern for the error-threshold strings. API reference, `StartAutomationExecution`
/// (`MaxErrors`) and `TargetLocation` (`TargetLocationMaxErrors`, `TargetsMaxErrors`): "Length
/// Constraints: Minimum length of 1. Maximum length of 7. Pattern:
/// `^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`".
pub const ERRORS_PATTERN: &str = "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$";
/// The longest string either pattern may match ("Maximum length of 7").
pub const MAX_LENGTH: usize = 7;

/// Which of SSM's two rate-control patterns a string follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// How many run at once: a count from 1, or 1% to 100% ([`CONCURRENCY_PATTERN`]).
    Concurrency,
    /// How many may fail: a count from 0, or 0% to 100% ([`ERRORS_PATTERN`]).
    Errors,
}

/// What a rate-control string says: "You can specify a number, such as 10, or a percentage,
/// such as 10%" (API reference, `StartAutomationExecution`, `MaxConcurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// An absolute number.
    Count(u32),
    /// A percentage of the total, 0 to 100.
    Percent(u8),
}

impl Kind {
    /// The pattern SSM checks strings of this kind against.
    pub fn pattern(self) -> &'static str {
        match self {
            Self::Concurrency => CONCURRENCY_PATTERN,
            Self::Errors => ERRORS_PATTERN,
        }
    }

    /// `value` as SSM reads a string of this kind, or `None` when SSM refuses it: at most
    /// [`MAX_LENGTH`] characters, ASCII digits with no leading zero (a lone `0` is the only
    /// number that starts with one), then an optional `%`. A percentage is at most 100; zero,
    /// as a count or a percentage, is an error threshold only.
    pub fn parse(self, value: &str) -> Option<Amount> {
        if value.is_empty() || value.len() > MAX_LENGTH {
            return None;
        }
        let (digits, percent) = match value.strip_suffix('%') {
            Some(digits) => (digits, true),
            None => (value, false),
        };
        let canonical = !digits.is_empty()
            && digits.bytes().all(|byte| byte.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return None;
        }
        // At most seven digits: it fits.
        let number: u32 = digits.parse().ok()?;
        if number == 0 && self == Self::Concurrency {
            return None;
        }
        if percent {
            u8::try_from(number)
                .ok()
                .filter(|&share| share <= 100)
                .map(Amount::Percent)
        } else {
            Some(Amount::Count(number))
        }
    }
}

impl Amount {
    /// The number this amount stands for out of `total`: a count as it is, a percentage of
    /// `total` rounded down. The API reference (`StartAutomationExecution`, `MaxErrors`): "If you
    /// run an automation on 50 resources and set max-errors to 10%, then the system stops
    /// running the automation on additional targets when the sixth error is received", that is
    /// 10% of 50 tolerates 5. A concurrency that rounds down to 0 still runs one at a time (the
    /// simulator's choice: SSM does not say).
    pub fn of(self, total: u32) -> u32 {
        match self {
            Self::Count(count) => count,
            Self::Percent(percent) => {
                let share = u64::from(total) * u64::from(percent) / 100;
                // At most `total`.
                u32::try_from(share).unwrap_or(total)
            }
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_ssm_strings_are_read_then_each_pattern_accepts_what_the_api_reference_allows() {
        use Amount::{Count, Percent};
        use Kind::{Concurrency, Errors};
        let accepted = [
            (Concurrency, "1", Count(1)),
            (Concurrency, "9999999", Count(9_999_999)),
            (Concurrency, "1%", Percent(1)),
            (Concurrency, "100%", Percent(100)),
            (Errors, "0", Count(0)),
            (Errors, "0%", Percent(0)),
            (Errors, "25%", Percent(25)),
        ];
        for (kind, value, amount) in accepted {
            assert_eq!(kind.parse(value), Some(amount), "{kind:?} {value:?}");
        }
        let refused = [
            (
                Concurrency,
                ["", "0", "0%", "01", "101%", "10000000", "1%%", " 1"],
            ),
            (Errors, ["", "-1", "00", "00%", "05%", "1000%", "1.5", "+1"]),
        ];
        for (kind, values) in refused {
            for value in values {
                assert_eq!(kind.parse(value), None, "{kind:?} {value:?}");
            }
        }
    }

    #[test]
    fn when_an_amount_is_a_percentage_then_its_share_rounds_down() {
        assert_eq!(Amount::Percent(10).of(50), 5);
        assert_eq!(Amount::Percent(10).of(9), 0);
        assert_eq!(Amount::Percent(100).of(7), 7);
        assert_eq!(Amount::Count(3).of(1), 3);
    }

    #[test]
    fn when_an_amount_is_written_then_it_reads_back_the_same() {
        for value in ["7", "0", "0%", "42%", "100%"] {
            let amount = Kind::Errors.parse(value).expect(value);
            assert_eq!(amount.to_string(), value);
        }
    }
}
