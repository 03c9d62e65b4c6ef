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

/// The run a trigger asks for, or `None` for triggers that are not runs (account events).
pub fn run_request_for(
    trigger: &crate::events::Trigger,
    config: &crate::config::Config,
) -> Result<Option<RunRequest>> {
    use crate::events::{RunSource, Trigger};
    use crate::model::RunTrigger;
    let from_source = |run: &RunSource, trigger: RunTrigger| -> Result<RunRequest> {
        match run {
            RunSource::Profile(name) => {
                let spec = config.profile(name).ok_or_else(|| unknown_profile(name))?;
                Ok(RunRequest {
                    profile: Some(name.clone()),
                    spec: spec.clone(),
                    trigger,
                })
            }
            RunSource::Spec(spec) => Ok(RunRequest {
                profile: None,
                spec: (**spec).clone(),
                trigger,
            }),
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
            let Some(matched) = config.match_alarm(alarm_name, dimensions) else {
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
}
