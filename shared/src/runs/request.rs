//! The run a trigger asks for: a schedule's or a manual input's run profile (or inline spec),
//! or the run profile of the alarm rule an alarm matches; nothing for other triggers.

use crate::model::RunRequest;
use crate::{Error, Result};

/// A run profile the config does not have.
fn unknown_profile(name: &str) -> Error {
    Error::not_found(
        "run profile",
        name,
        Some("the config's run_profiles lists the ones there are".to_owned()),
    )
}

/// The run id of a trigger: its idempotency key, but for an alarm under an alarm policy, the
/// alarm, its location and the window of `min_interval_seconds` it changed state in, so the
/// alarm going off again within the window finds the same run.
pub fn run_id_for(trigger: &crate::events::TriggerEvent, config: &crate::config::Config) -> String {
    use crate::events::{IdempotencyKey, Trigger};
    if let (
        Trigger::Alarm {
            alarm_name,
            alarm_arn,
            account_id,
            region,
            changed_at: Some(changed_at),
            ..
        },
        Some(policy),
    ) = (&trigger.trigger, &config.alarm_policy)
    {
        let at = chrono::DateTime::parse_from_rfc3339(changed_at)
            .or_else(|_| chrono::DateTime::parse_from_str(changed_at, "%Y-%m-%dT%H:%M:%S%.f%z"));
        if let Ok(at) = at {
            let window = at
                .timestamp()
                .div_euclid(i64::try_from(policy.min_interval_seconds).unwrap_or(i64::MAX));
            return IdempotencyKey::derive(
                "alarm",
                Some(alarm_name),
                &format!("{alarm_arn}|{account_id}|{region}|{window}"),
            )
            .to_string();
        }
    }
    trigger.idempotency_key.to_string()
}

/// The run a trigger asks for, or `None` for triggers that are not runs (account events).
pub fn run_request_for(
    trigger: &crate::events::Trigger,
    config: &crate::config::Config,
) -> Result<Option<RunRequest>> {
    use crate::events::{RunSource, Trigger};
    use crate::model::RunTrigger;
    let from_source = |run: &RunSource, trigger: RunTrigger| -> Result<RunRequest> {
        match run {
            RunSource::Profile { name, parameters } => Ok(RunRequest {
                profile: Some(name.clone()),
                spec: config.profile_with_overrides(name, parameters)?,
                trigger,
            }),
            RunSource::Spec(spec) => {
                config.admit_inline_spec(spec)?;
                Ok(RunRequest {
                    profile: None,
                    spec: (**spec).clone(),
                    trigger,
                })
            }
        }
    };
    match trigger {
        Trigger::Schedule {
            schedule_name,
            scheduled_time,
            run,
        } => from_source(
            run,
            RunTrigger::Schedule {
                schedule_name: schedule_name.clone(),
                scheduled_time: scheduled_time.clone(),
            },
        )
        .map(Some),
        Trigger::Manual {
            requested_by, run, ..
        } => from_source(
            run,
            RunTrigger::Manual {
                requested_by: requested_by.clone(),
            },
        )
        .map(Some),
        Trigger::Alarm {
            alarm_name,
            account_id,
            region,
            dimensions,
            ..
        } => {
            // An alarm no rule names is not the fabric's to act on (the central bus receives
            // every alarm the organization forwards): no run, and no failed workflow.
            let Some(matched) = config.admit_alarm(alarm_name, dimensions)? else {
                tracing::info!(%alarm_name, "no alarm rule matches the alarm: nothing to run");
                return Ok(None);
            };
            let profile = config
                .profile(matched.rule.profile.as_str())
                .ok_or_else(|| unknown_profile(matched.rule.profile.as_str()))?;
            let spec = crate::plan::alarm_spec(
                profile,
                account_id,
                region,
                matched.target_value.as_deref(),
                &matched.parameters,
            );
            Ok(Some(RunRequest {
                profile: Some(matched.rule.profile.to_string()),
                spec,
                trigger: RunTrigger::Alarm {
                    alarm_name: alarm_name.clone(),
                    account_id: account_id.clone(),
                    region: region.clone(),
                },
            }))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::events::TriggerEvent;

    const EXAMPLE: &str = include_str!("../../../config/fabric.example.yaml");
    const ALARM: &str =
        include_str!("../../../tests/fixtures/events/cloudwatch-alarm-metric-alarm.json");

    #[test]
    fn when_no_alarm_rule_matches_an_alarm_then_it_asks_for_no_run() {
        let config = Config::from_yaml(EXAMPLE).expect("the example loads");
        let other = ALARM.replace("ServerCpuTooHigh", "DiskAlmostFull");
        let trigger = TriggerEvent::from_slice(other.as_bytes()).expect("an alarm");
        assert_eq!(
            run_request_for(&trigger.trigger, &config).expect("no error"),
            None
        );

        let matched = TriggerEvent::from_slice(ALARM.as_bytes()).expect("an alarm");
        let request = run_request_for(&matched.trigger, &config)
            .expect("no error")
            .expect("the rule's run");
        assert_eq!(request.profile.as_deref(), Some("restart-instance"));
    }

    fn trigger(json: &str) -> TriggerEvent {
        TriggerEvent::from_slice(json.as_bytes()).expect("a trigger")
    }

    fn refused(config: &Config, json: &str) -> String {
        match run_request_for(&trigger(json).trigger, config) {
            Err(error @ Error::NotPermitted { .. }) => {
                assert!(error.is_bad_input());
                error.to_string()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn inline(document: &str, extra: &str) -> String {
        format!(
            r#"{{"manual": {{"requested_by": "mallory", "spec": {{"document": "{document}", "parameters": {{"InstanceId": ["i-0abcd1234ef567890"]{extra}}}, "target_locations": [{{"accounts": ["444455556666"], "regions": ["us-west-2"]}}]}}}}}}"#
        )
    }

    fn example_with(yaml: &str) -> Config {
        Config::from_yaml(&format!("{EXAMPLE}\n{yaml}")).expect("the example loads")
    }

    const INLINE_ALLOWED: &str = "run_inputs:\n  inline_specs: true\n  inline_documents: [AWS-RestartEC2Instance]\n  overridable_parameters:\n    patch-baseline:\n      Operation: \"Scan|Install\"\n";

    #[test]
    fn when_inline_specs_are_off_then_an_inline_spec_is_refused() {
        let config = Config::from_yaml(EXAMPLE).expect("the example loads");
        let message = refused(&config, &inline("AWS-RestartEC2Instance", ""));
        assert!(message.contains("inline specs are off"), "{message}");
    }

    #[test]
    fn when_an_inline_spec_names_a_document_off_the_allowlist_then_it_is_refused() {
        let config = example_with(INLINE_ALLOWED);
        let message = refused(&config, &inline("Attacker-RunScript", ""));
        assert!(
            message.contains("not on the inline-spec allowlist"),
            "{message}"
        );
        let foreign = "arn:aws:ssm:us-east-1:999988887777:document/AWS-RestartEC2Instance";
        let message = refused(&config, &inline(foreign, ""));
        assert!(message.contains("allowlist"), "{message}");
        let allowed = run_request_for(
            &trigger(&inline("AWS-RestartEC2Instance", "")).trigger,
            &config,
        )
        .expect("allowed")
        .expect("a run");
        assert_eq!(allowed.spec.document.to_string(), "AWS-RestartEC2Instance");
    }

    #[test]
    fn when_an_input_names_another_assume_role_then_it_is_refused() {
        let config = example_with(INLINE_ALLOWED);
        let other = r#", "AutomationAssumeRole": ["arn:aws:iam::111122223333:role/Admin"]"#;
        let message = refused(&config, &inline("AWS-RestartEC2Instance", other));
        assert!(message.contains("AutomationAssumeRole"), "{message}");
    }

    #[test]
    fn when_an_input_names_another_execution_role_then_it_is_refused() {
        let config = example_with(INLINE_ALLOWED);
        let json = inline("AWS-RestartEC2Instance", "").replace(
            r#""regions": ["us-west-2"]"#,
            r#""regions": ["us-west-2"], "execution_role_name": "OrganizationAccountAccessRole""#,
        );
        let message = refused(&config, &json);
        assert!(message.contains("execution role"), "{message}");
    }

    #[test]
    fn when_an_input_sets_a_parameter_then_only_a_declared_one_matching_its_pattern_is_taken() {
        let config = example_with(INLINE_ALLOWED);
        let manual = |parameters: &str| {
            format!(
                r#"{{"manual": {{"requested_by": "ops", "profile": "patch-baseline", "parameters": {parameters}}}}}"#
            )
        };
        let request = run_request_for(
            &trigger(&manual(r#"{"Operation": ["Scan"]}"#)).trigger,
            &config,
        )
        .expect("allowed")
        .expect("a run");
        assert_eq!(
            request.spec.parameters["Operation"],
            vec!["Scan".to_owned()]
        );
        let message = refused(&config, &manual(r#"{"Operation": ["Scan; rm -rf /"]}"#));
        assert!(message.contains("does not match"), "{message}");
        let message = refused(
            &config,
            &manual(r#"{"AutomationAssumeRole": ["arn:aws:iam::1:role/x"]}"#),
        );
        assert!(
            message.contains("declares no overridable parameter"),
            "{message}"
        );
    }

    #[test]
    fn when_an_alarm_lacks_the_prefix_or_has_a_malformed_dimension_then_it_is_refused() {
        let config = Config::from_yaml(EXAMPLE).expect("the example loads");
        let unprefixed = ALARM.replace("fabric-ServerCpuTooHigh", "ServerCpuTooHigh");
        let message = refused(&config, &unprefixed);
        assert!(message.contains("fabric-"), "{message}");
        let malformed = ALARM.replace("i-0abcd1234ef567890", "i-0abc; reboot everything");
        let message = refused(&config, &malformed);
        assert!(message.contains("InstanceId"), "{message}");
    }
}
