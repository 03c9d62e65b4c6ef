//! A step's inputs as the action receives them: `{{ Parameter }}` placeholders replaced by the
//! execution's parameter values, and the ISO 8601 durations and timestamps `aws:sleep` reads.

use crate::wire::Parameters;
use serde_json::Value;

/// A parameter's value (a string, a list, a number...) as the values SSM keeps for it.
pub(super) fn values_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(values_of).collect(),
        Value::String(text) => vec![text.clone()],
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// The name inside `{{ name }}` when `text` is exactly one placeholder.
fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{")).then(|| inner.trim())
}

/// `inputs` with every `{{ name }}` of a known parameter replaced: a list element that is one
/// placeholder becomes all the parameter's values (a `StringList` spreads into the list),
/// a placeholder inside text becomes its values joined by commas. Placeholders of unknown
/// names (step outputs, `global:` variables) stay as written.
pub(super) fn resolve(inputs: &Value, parameters: &Parameters) -> Value {
    match inputs {
        Value::String(text) => Value::String(replace(text, parameters)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .flat_map(|item| match item {
                    Value::String(text) => {
                        match whole_placeholder(text).and_then(|name| parameters.get(name)) {
                            Some(values) => values.iter().cloned().map(Value::String).collect(),
                            None => vec![Value::String(replace(text, parameters))],
                        }
                    }
                    other => vec![resolve(other, parameters)],
                })
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), resolve(value, parameters)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn replace(text: &str, parameters: &Parameters) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let name = rest[open + 2..open + close].trim();
        out.push_str(&rest[..open]);
        match parameters.get(name) {
            Some(values) => out.push_str(&values.join(",")),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The strings of input `key` (a string or a list of strings).
pub(super) fn strings(inputs: &Value, key: &str) -> Vec<String> {
    inputs.get(key).map(values_of).unwrap_or_default()
}

/// The seconds of an ISO 8601 duration such as `PT10M`, `PT1H30M5S`, `P1DT2H` or `PT0.5S`
/// (`aws:sleep`, `Duration`: "An ISO 8601 duration. You can't specify a negative duration.");
/// `None` when it is not one. Years and months are refused: their length is not fixed.
pub(super) fn iso_duration(text: &str) -> Option<f64> {
    let body = text.trim().strip_prefix('P')?;
    if body.is_empty() {
        return None;
    }
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    if body.ends_with('T') {
        return None;
    }
    let mut seconds = 0.0;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let (_, factor) = units.iter().find(|(unit, _)| *unit == c)?;
            seconds += number.parse::<f64>().ok()? * factor;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    read(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    read(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    Some(seconds)
}

/// The seconds from now until an ISO 8601 timestamp (`aws:sleep`, `Timestamp`); zero when it
/// has passed ("If the specified date and time has passed, the action proceeds
/// immediately."); `None` when it is not a timestamp.
pub(super) fn seconds_until(timestamp: &str, now: f64) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(timestamp.trim()).ok()?;
    #[allow(clippy::cast_precision_loss)]
    let at = at.timestamp_millis() as f64 / 1000.0;
    Some((at - now).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parameters() -> Parameters {
        [
            ("InstanceId".to_owned(), vec!["i-1".to_owned()]),
            (
                "InstanceIds".to_owned(),
                vec!["i-2".to_owned(), "i-3".to_owned()],
            ),
            ("Operation".to_owned(), vec!["Scan".to_owned()]),
        ]
        .into()
    }

    #[test]
    fn when_inputs_name_parameters_then_their_values_replace_the_placeholders() {
        // The actions reference (aws:runCommand): `InstanceIds: - '{{InstanceIds}}'`.
        let inputs = json!({
            "InstanceIds": ["{{ InstanceId }}", "{{InstanceIds}}"],
            "Parameters": { "Operation": "{{Operation}}", "Note": "run {{ Operation }} now" },
            "Other": "{{ previous.Output }}",
            "Count": 3,
        });
        assert_eq!(
            resolve(&inputs, &parameters()),
            json!({
                "InstanceIds": ["i-1", "i-2", "i-3"],
                "Parameters": { "Operation": "Scan", "Note": "run Scan now" },
                "Other": "{{ previous.Output }}",
                "Count": 3,
            })
        );
    }

    #[test]
    fn when_a_sleep_names_an_iso_8601_duration_then_its_seconds_are_read() {
        // aws:sleep: "inputs: Duration: PT10M".
        assert_eq!(iso_duration("PT10M"), Some(600.0));
        assert_eq!(iso_duration("PT1H30M5S"), Some(5405.0));
        assert_eq!(iso_duration("P1DT2H"), Some(93_600.0));
        assert_eq!(iso_duration("PT0.5S"), Some(0.5));
        for refused in ["", "P", "PT", "10M", "PT-5S", "P1Y", "PT5X"] {
            assert_eq!(iso_duration(refused), None, "{refused}");
        }
    }

    #[test]
    fn when_a_sleep_timestamp_has_passed_then_it_proceeds_immediately() {
        // aws:sleep: "If the specified date and time has passed, the action proceeds
        // immediately."
        let now = 1_700_000_000.0;
        assert_eq!(seconds_until("2020-01-01T01:00:00Z", now), Some(0.0));
        assert_eq!(seconds_until("2023-11-14T22:13:30Z", now), Some(10.0));
        assert_eq!(seconds_until("tomorrow", now), None);
    }
}
