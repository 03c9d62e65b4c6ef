//! [`Span`]: a length of time as people write it in the config (`90s`, `30m`, `4h`), for a
//! run's deadline and an approval's timeout.

use super::validated::validated_string;
use std::time::Duration;

validated_string! {
    /// A length of time: a whole number of seconds (`90s`), minutes (`30m`) or hours (`4h`),
    /// at most 23 hours (one state machine execution lasts at most 24).
    Span, what: "length of time",
    expected: "a whole number and s, m or h (90s, 30m, 4h), from 1s to 23h",
    pattern: "^[1-9][0-9]{0,4}[smh]$",
    validate: |value| parse(value).is_some()
}

/// The longest span: one state machine execution's 24 hours, less an hour to stop what still
/// runs, collect and publish.
const LONGEST: Duration = Duration::from_secs(23 * 3600);

fn parse(value: &str) -> Option<Duration> {
    let unit = match value.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        _ => return None,
    };
    let number = value.get(..value.len() - 1)?;
    if number.is_empty() || number.starts_with('0') || number.len() > 5 {
        return None;
    }
    let amount: u64 = number.parse().ok()?;
    Some(Duration::from_secs(amount.checked_mul(unit)?)).filter(|span| *span <= LONGEST)
}

impl Span {
    /// The span as a duration.
    pub fn duration(&self) -> Duration {
        parse(self.as_str()).unwrap_or(LONGEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_span_is_written_with_a_unit_then_it_is_that_many_seconds() {
        let seconds = |text: &str| Span::new(text).map(|span| span.duration().as_secs());
        assert_eq!(seconds("90s").ok(), Some(90));
        assert_eq!(seconds("30m").ok(), Some(1800));
        assert_eq!(seconds("23h").ok(), Some(82_800));
    }

    #[test]
    fn when_a_span_is_malformed_or_too_long_then_it_is_refused_naming_the_form() {
        for bad in [
            "",
            "h",
            "0m",
            "01m",
            "24h",
            "1d",
            "1.5h",
            "-1h",
            "99999999h",
            "5 m",
        ] {
            let error = Span::new(bad).expect_err(bad).to_string();
            assert!(error.contains("90s, 30m, 4h"), "{bad}: {error}");
        }
    }
}
