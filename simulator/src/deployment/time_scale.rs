//! The time scale of a local deployment: every `Wait` state's `Seconds` and every `Retry`'s
//! `IntervalSeconds` and `MaxDelaySeconds` divided by it (at least 1 s, as Step Functions
//! requires whole seconds), so 30 s polls take 1 s at a scale of 30.

use serde_json::Value;

/// `definition` with its waits and retry intervals divided by `scale`.
pub fn scale_definition(definition: &mut Value, scale: f64) {
    if scale <= 1.0 {
        return;
    }
    match definition {
        Value::Object(object) => {
            let is_wait = object.get("Type").and_then(Value::as_str) == Some("Wait");
            for (key, value) in object.iter_mut() {
                let scaled = match key.as_str() {
                    "Seconds" if is_wait => true,
                    "IntervalSeconds" | "MaxDelaySeconds" => true,
                    _ => false,
                };
                match value.as_f64() {
                    Some(seconds) if scaled => *value = Value::from(divided(seconds, scale)),
                    _ => scale_definition(value, scale),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                scale_definition(item, scale);
            }
        }
        _ => {}
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn divided(seconds: f64, scale: f64) -> u64 {
    (seconds / scale).round().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_a_definition_is_scaled_then_waits_and_retry_intervals_shrink_to_at_least_a_second() {
        let mut definition = json!({"States": {
            "Wait": {"Type": "Wait", "Seconds": 30, "Next": "Task"},
            "Task": {"Type": "Task", "TimeoutSeconds": 900, "Retry": [{"IntervalSeconds": 2, "MaxAttempts": 6}]},
            "Pass": {"Type": "Pass", "Result": {"Seconds": 30}}
        }});
        scale_definition(&mut definition, 30.0);
        assert_eq!(definition["States"]["Wait"]["Seconds"], 1);
        assert_eq!(
            definition["States"]["Task"]["Retry"][0]["IntervalSeconds"],
            1
        );
        assert_eq!(definition["States"]["Task"]["TimeoutSeconds"], 900);
        assert_eq!(definition["States"]["Pass"]["Result"]["Seconds"], 30);
    }
}
