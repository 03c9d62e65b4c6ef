//! What to run and where: a [`RunSpec`] (document, parameters, targets, target locations or
//! waves, rate control, alarms), and the [`RunRequest`] that pairs one with what triggered it.
//! Field names follow SSM's `StartAutomationExecution` in snake case.

use super::document::{DocumentRef, DocumentVersion};
use super::ids::{AccountId, AccountOrOu, Region, RoleName};
use super::rate_control::{Concurrency, ErrorThreshold};
use super::span::Span;
use super::targets::Target;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The role SSM assumes in each target account unless a target location names another.
pub const DEFAULT_EXECUTION_ROLE: &str = "AWS-SystemsManager-AutomationExecutionRole";
/// SSM's limit on `Targets` of one execution ("Only one resource group or tag can be specified
/// at a time").
const MAX_TARGETS: usize = 1;
/// SSM's limit on the length of a parameter name (and `TargetParameterName`).
const MAX_PARAMETER_NAME_LEN: usize = 50;
/// How long a run may take unless its spec says otherwise: well inside the run state
/// machine's own limit (`TimeoutSeconds`: 24 hours), so that the report is always published.
const DEFAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
/// How long a wave's approval waits unless its gate says otherwise.
const DEFAULT_APPROVAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The runbook parameters: name -> values, as SSM takes them.
pub type Parameters = BTreeMap<String, Vec<String>>;

/// A CloudWatch alarm that stops the automation when it goes into ALARM (SSM's
/// `AlarmConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmConfiguration {
    /// The alarm's name (SSM takes exactly one).
    #[schemars(length(min = 1, max = 255))]
    pub alarm: String,
    /// Go on when the alarm's state cannot be read.
    #[serde(default)]
    pub ignore_poll_alarm_failure: bool,
}

/// One of SSM's `TargetLocations`: accounts (or OUs) times Regions, with their own rate control.
/// Unlike SSM's, it may name more than 50 accounts or Regions: the planner splits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetLocation {
    /// Account ids and OU ids to run in.
    pub accounts: Vec<AccountOrOu>,
    /// Regions to run in; when empty, the config's default Regions.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// The role SSM assumes in each account (default `AWS-SystemsManager-AutomationExecutionRole`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_name: Option<RoleName>,
    /// How many locations run at once (SSM's default: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_max_concurrency: Option<Concurrency>,
    /// How many locations may fail before the rest are not started (SSM's default: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_max_errors: Option<ErrorThreshold>,
    /// An alarm that stops this location's automation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_location_alarm_configuration: Option<AlarmConfiguration>,
    /// Also run in the accounts of the OUs' child OUs, at any depth.
    #[serde(default)]
    pub include_child_organization_units: bool,
    /// Accounts (or OUs) left out even though `accounts` includes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_accounts: Vec<AccountOrOu>,
    /// What to act on in each location (SSM takes at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Target>,
    /// How many of a location's targets run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_max_concurrency: Option<Concurrency>,
    /// How many of a location's targets may fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_max_errors: Option<ErrorThreshold>,
}

impl TargetLocation {
    /// A target location with SSM's defaults for everything but accounts and Regions.
    pub fn new(accounts: Vec<AccountOrOu>, regions: Vec<Region>) -> Self {
        Self {
            accounts,
            regions,
            execution_role_name: None,
            target_location_max_concurrency: None,
            target_location_max_errors: None,
            target_location_alarm_configuration: None,
            include_child_organization_units: false,
            exclude_accounts: Vec::new(),
            targets: None,
            targets_max_concurrency: None,
            targets_max_errors: None,
        }
    }

    /// The role SSM assumes in the target accounts.
    pub fn execution_role(&self) -> RoleName {
        self.execution_role_name.clone().unwrap_or_else(|| {
            RoleName::new(DEFAULT_EXECUTION_ROLE).unwrap_or_else(|_| unreachable!())
        })
    }
}

/// What must hold after a wave for the next one to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveGate {
    /// The share of the wave's locations that must end in success, in percent.
    #[schemars(range(max = 100))]
    pub min_success_percent: u8,
    /// A person must also approve (`fabric approve RUN_ID`) before the next wave starts: the
    /// request is published to the topic, and the run waits for the answer. SSM's own
    /// `aws:approve` cannot be used here: it does not support multi-account and Region
    /// automations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalGate>,
}

/// A person's approval between two waves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalGate {
    /// How long the request waits for an answer (`30m`, `4h`; default `1h`); without one the
    /// run ends, reported, and the later waves do not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Span>,
}

impl ApprovalGate {
    /// How long the request waits for an answer.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .as_ref()
            .map_or(DEFAULT_APPROVAL_TIMEOUT, Span::duration)
    }
}

/// A group of target locations run together; waves run one after another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// A short name for reports, e.g. `canary`.
    pub name: String,
    /// Where this wave runs.
    pub target_locations: Vec<TargetLocation>,
    /// What this wave must achieve before the next starts (none: the next always starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<WaveGate>,
}

/// What to run: the document and its inputs, where, and how fast. Each field is valid by its
/// type; the rules that span fields are [`RunSpec::check`], which every loader (config, events)
/// calls before a spec goes anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The Automation document, by name or (when shared by another account) by ARN.
    pub document: DocumentRef,
    /// The document version (SSM's default: `$DEFAULT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_version: Option<DocumentVersion>,
    /// The document's parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: Parameters,
    /// The parameter that `targets` fan out over, e.g. `InstanceId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_parameter_name: Option<String>,
    /// What to act on (SSM takes one), when not given per target location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// How many targets run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<Concurrency>,
    /// How many targets may fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_errors: Option<ErrorThreshold>,
    /// Where to run, all at once. Give this or `waves`, not both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_locations: Vec<TargetLocation>,
    /// Where to run, one group after another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<Wave>,
    /// An alarm that stops the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_configuration: Option<AlarmConfiguration>,
    /// How long the run may take from its start to its report (`30m`, `4h`; default `12h`, at
    /// most `23h`). At the deadline the automations still running are stopped and the report
    /// is published with those locations `TimedOut`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Span>,
}

impl RunSpec {
    /// Checks the rules that span fields.
    pub fn check(&self) -> Result<()> {
        let invalid = |problem: String| Err(Error::InvalidRunRequest { problem });
        if !self.target_locations.is_empty() && !self.waves.is_empty() {
            return invalid("give either target_locations or waves, not both".to_owned());
        }
        if self.targets.len() > MAX_TARGETS {
            return invalid(format!(
                "{} targets given; SSM takes at most {MAX_TARGETS}",
                self.targets.len()
            ));
        }
        let names = self
            .parameters
            .keys()
            .chain(self.target_parameter_name.as_ref());
        for name in names {
            if name.is_empty() || name.len() > MAX_PARAMETER_NAME_LEN {
                return invalid(format!(
                    "parameter name {:?} must have 1 to {MAX_PARAMETER_NAME_LEN} characters",
                    crate::error::shown(name)
                ));
            }
        }
        let uses_targets = !self.targets.is_empty()
            || self
                .all_target_locations()
                .any(|location| location.targets.is_some());
        if uses_targets && self.target_parameter_name.is_none() {
            return invalid(
                "targets are given but target_parameter_name is not: name the document parameter \
                 the targets fill (e.g. InstanceId)"
                    .to_owned(),
            );
        }
        for (index, wave) in self.waves.iter().enumerate() {
            if wave.target_locations.is_empty() {
                return invalid(format!(
                    "wave {index} ({}) has no target_locations",
                    wave.name
                ));
            }
            if wave
                .gate
                .as_ref()
                .is_some_and(|gate| gate.min_success_percent > 100)
            {
                return invalid(format!(
                    "wave {index} ({}) asks for more than 100% success",
                    wave.name
                ));
            }
        }
        for location in self.all_target_locations() {
            if location.accounts.is_empty() {
                return invalid("a target location names no accounts or OUs".to_owned());
            }
        }
        Ok(())
    }

    /// Every target location, across waves.
    pub fn all_target_locations(&self) -> impl Iterator<Item = &TargetLocation> {
        self.target_locations
            .iter()
            .chain(self.waves.iter().flat_map(|wave| &wave.target_locations))
    }

    /// How long the run may take.
    pub fn deadline(&self) -> std::time::Duration {
        self.deadline
            .as_ref()
            .map_or(DEFAULT_DEADLINE, Span::duration)
    }

    /// The waves to run in order: the declared waves, or one unnamed wave of `target_locations`.
    pub fn waves(&self) -> Vec<Wave> {
        if self.waves.is_empty() {
            vec![Wave {
                name: "all".to_owned(),
                target_locations: self.target_locations.clone(),
                gate: None,
            }]
        } else {
            self.waves.clone()
        }
    }
}

/// Why a run was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunTrigger {
    /// An EventBridge schedule (a patch window).
    Schedule {
        /// The schedule's name.
        schedule_name: String,
        /// When the schedule fired, as the scheduler stated it.
        scheduled_time: String,
    },
    /// A CloudWatch alarm went into ALARM.
    Alarm {
        /// The alarm's name.
        alarm_name: String,
        /// The account the alarm is in.
        account_id: AccountId,
        /// The Region the alarm is in.
        region: Region,
    },
    /// Someone asked for it.
    Manual {
        /// Who asked, as they said.
        requested_by: String,
    },
}

/// A run to plan and start: what (spec), from which profile if any, and why (trigger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The run profile the spec came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What to run and where.
    pub spec: RunSpec,
    /// Why.
    pub trigger: RunTrigger,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<RunSpec, String> {
        let spec: RunSpec = serde_json::from_str(json).map_err(|e| e.to_string())?;
        spec.check().map_err(|e| e.to_string())?;
        Ok(spec)
    }

    #[test]
    fn when_a_spec_has_every_target_location_field_then_it_round_trips() {
        let json = r#"{
            "document": "Automation-RunPatchBaseline",
            "document_version": "$DEFAULT",
            "parameters": {"Operation": ["Install"]},
            "target_parameter_name": "InstanceId",
            "target_locations": [{
                "accounts": ["ou-ab12-cdef3456", "444455556666"],
                "regions": ["us-east-1", "us-west-2"],
                "execution_role_name": "AWS-SystemsManager-AutomationExecutionRole",
                "target_location_max_concurrency": "2",
                "target_location_max_errors": "10%",
                "target_location_alarm_configuration": {"alarm": "fleet-errors", "ignore_poll_alarm_failure": false},
                "include_child_organization_units": true,
                "exclude_accounts": ["777788889999"],
                "targets": {"key": "tag:Patch", "values": ["true"]},
                "targets_max_concurrency": "25%",
                "targets_max_errors": "1"
            }],
            "alarm_configuration": {"alarm": "org-errors", "ignore_poll_alarm_failure": true}
        }"#;
        let parsed = spec(json).expect("a complete spec parses");
        let again: RunSpec =
            serde_json::from_value(serde_json::to_value(&parsed).expect("serializes"))
                .expect("what was written reads back");
        assert_eq!(parsed, again);
        assert_eq!(
            parsed.target_locations[0].execution_role().as_str(),
            DEFAULT_EXECUTION_ROLE
        );
    }

    #[test]
    fn when_both_target_locations_and_waves_are_given_then_the_spec_is_refused() {
        let error = spec(
            r#"{"document": "Doc-Name",
                "target_locations": [{"accounts": ["444455556666"]}],
                "waves": [{"name": "canary", "target_locations": [{"accounts": ["444455556666"]}]}]}"#,
        )
        .expect_err("both is ambiguous");
        assert!(error.contains("not both"), "{error}");
    }

    #[test]
    fn when_targets_have_no_target_parameter_then_the_spec_says_which_is_missing() {
        let error = spec(
            r#"{"document": "Doc-Name",
                "target_locations": [{"accounts": ["444455556666"], "targets": {"key": "tag:Patch", "values": ["true"]}}]}"#,
        )
        .expect_err("targets need a target parameter");
        assert!(error.contains("target_parameter_name"), "{error}");
    }

    #[test]
    fn when_a_field_is_misspelled_then_it_is_refused_rather_than_ignored() {
        let error = spec(r#"{"document": "Doc-Name", "max_concurency": "2"}"#)
            .expect_err("unknown fields are errors");
        assert!(error.contains("max_concurency"), "{error}");
    }

    #[test]
    fn when_no_waves_are_declared_then_the_target_locations_are_one_wave() {
        let parsed = spec(
            r#"{"document": "Doc-Name", "target_locations": [{"accounts": ["444455556666"]}]}"#,
        )
        .expect("valid");
        let waves = parsed.waves();
        assert_eq!(waves.len(), 1);
        assert_eq!(waves[0].target_locations, parsed.target_locations);
    }
}
