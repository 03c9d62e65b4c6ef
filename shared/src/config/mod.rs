//! The fabric's configuration: one YAML file saying which documents to share and where, how the
//! execution role is deployed, the run profiles, the alarm rules, and where reports go. Typed,
//! and validated once at load with errors that name the field.

mod alarm_rules;
mod run_inputs;

pub use alarm_rules::{AlarmMatch, AlarmPolicy, AlarmRule};
pub use run_inputs::{ASSUME_ROLE_PARAMETER, RunInputs};

use crate::model::validated::{all_bytes_within, validated_string};
use crate::model::{AccountId, DocumentName, Region, RoleName, RunSpec};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The largest config file the fabric reads (a config naming 100,000 accounts is ~2 MB).
pub const MAX_CONFIG_BYTES: usize = 32 * 1024 * 1024;
/// The role the central account's automations assume to start child automations.
pub const DEFAULT_ADMINISTRATION_ROLE: &str = "AWS-SystemsManager-AutomationAdministrationRole";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The central (administration) account that owns the documents and starts the runs.
    pub central_account: AccountId,
    /// The Regions runs and shares use unless they name their own.
    pub regions: Vec<Region>,
    /// The documents every member account gets.
    pub documents: DocumentSharing,
    /// How the automation execution role reaches every member account.
    pub execution_role: ExecutionRole,
    /// The role the fabric assumes in member accounts to read child automations' results.
    #[serde(default = "default_results_role")]
    pub results_role_name: RoleName,
    /// Named run specs that schedules, alarm rules and people start by name.
    #[serde(default)]
    pub run_profiles: BTreeMap<ProfileName, RunSpec>,
    /// Which alarms start which profile, first match wins.
    #[serde(default)]
    pub alarm_rules: Vec<AlarmRule>,
    /// What every alarm must meet (required when there are alarm rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_policy: Option<AlarmPolicy>,
    /// What run inputs may ask beyond a profile's name (by default, nothing).
    #[serde(default)]
    pub run_inputs: RunInputs,
    /// Where summaries are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// Where full reports are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<Reports>,
    /// How long one run state machine execution follows a run before it hands the run over to
    /// a fresh execution with the same run id (`30m`, `6h`; default `6h`): well before Step
    /// Functions' 25,000 history events (a 30 s poll writes about 9) or the execution's timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_over_after: Option<crate::model::Span>,
}

/// How long an execution follows a run unless the config says otherwise.
const DEFAULT_HAND_OVER_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl Config {
    /// How long one execution follows a run before handing it over.
    pub fn hand_over_after(&self) -> std::time::Duration {
        self.hand_over_after
            .as_ref()
            .map_or(DEFAULT_HAND_OVER_AFTER, crate::model::Span::duration)
    }
}

validated_string! {
    /// A run profile's name: letters, digits, `-` and `_`, so it can appear in execution names.
    ProfileName, what: "run profile name", expected: "1-64 letters, digits, - or _",
    pattern: "^[A-Za-z0-9_-]{1,64}$",
    validate: |value| all_bytes_within(value, 1, 64, |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which documents to share, and in which Regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentSharing {
    /// Documents by exact name or by name prefix.
    pub share: Vec<DocumentSelector>,
    /// The Regions to share in; when empty, the config's `regions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
}

/// One entry of `documents.share`: `{name: ...}` or `{prefix: ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "SelectorFields", into = "SelectorFields")]
#[schemars(with = "SelectorFields")]
pub enum DocumentSelector {
    /// The document with exactly this name.
    Name(DocumentName),
    /// Every document of the central account whose name starts with this.
    Prefix(String),
}

/// [`DocumentSelector`] as written: exactly one of the two fields.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SelectorFields {
    /// The document with exactly this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<DocumentName>,
    /// Every document of the central account whose name starts with this (1-128 letters,
    /// digits, `_`, `-` or `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
}

impl TryFrom<SelectorFields> for DocumentSelector {
    type Error = String;

    fn try_from(fields: SelectorFields) -> Result<Self, String> {
        match (fields.name, fields.prefix) {
            (Some(name), None) => Ok(Self::Name(name)),
            (None, Some(prefix)) => {
                let valid = (1..=128).contains(&prefix.len())
                    && prefix
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
                if valid {
                    Ok(Self::Prefix(prefix))
                } else {
                    Err(format!(
                        "prefix {:?} is not the start of an SSM document name (1-128 letters, digits, _ - .)",
                        crate::error::shown(&prefix)
                    ))
                }
            }
            _ => Err("give exactly one of name or prefix".to_owned()),
        }
    }
}

impl From<DocumentSelector> for SelectorFields {
    fn from(selector: DocumentSelector) -> Self {
        match selector {
            DocumentSelector::Name(name) => Self {
                name: Some(name),
                prefix: None,
            },
            DocumentSelector::Prefix(prefix) => Self {
                name: None,
                prefix: Some(prefix),
            },
        }
    }
}

/// How the execution role is deployed into member accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRole {
    /// The role's name in every member account.
    #[serde(default = "default_execution_role")]
    pub role_name: RoleName,
    /// The central account's role that SSM passes to start child automations, and that the
    /// execution role trusts.
    #[serde(default = "default_administration_role")]
    pub administration_role_name: RoleName,
    /// The StackSet that deploys the role.
    pub stack_set_name: String,
    /// Who creates the stack instances.
    pub permission_model: PermissionModel,
    /// The Region the role's stack instances are created in (IAM is global: one is enough).
    pub stack_region: Region,
}

/// StackSets' two permission models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PermissionModel {
    /// The fabric creates a stack instance for each account that joins (`CreateStackInstances`).
    SelfManaged,
    /// Organizations auto-deployment creates them; the fabric verifies the role is there.
    ServiceManaged,
}

/// Where run summaries are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// The SNS topic's ARN.
    pub topic_arn: String,
    /// Also shape messages in AWS Chatbot's custom notification format.
    #[serde(default)]
    pub chatbot_format: bool,
}

/// Where full reports are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reports {
    /// The S3 bucket.
    pub bucket: String,
    /// The key prefix, e.g. `reports/`.
    #[serde(default)]
    pub prefix: String,
}

fn default_execution_role() -> RoleName {
    known_role(crate::model::DEFAULT_EXECUTION_ROLE)
}

fn default_administration_role() -> RoleName {
    known_role(DEFAULT_ADMINISTRATION_ROLE)
}

fn default_results_role() -> RoleName {
    known_role("AutomationFabric-ResultsReader")
}

/// A role name written in this crate, known to be valid.
fn known_role(name: &str) -> RoleName {
    RoleName::new(name).unwrap_or_else(|_| unreachable!("{name} is a valid role name"))
}

impl Config {
    /// The parameters of `infra/template.yaml` that must agree with this config (its Metadata
    /// says so): the roles, the StackSet, the report bucket, prefix and topic, the alarm
    /// prefix. `fabric config check` prints them; `OrganizationId` is the deployer's to add.
    pub fn template_parameters(&self) -> BTreeMap<String, String> {
        let role = &self.execution_role;
        let mut parameters = BTreeMap::from([
            ("ExecutionRoleName".to_owned(), role.role_name.to_string()),
            (
                "AdministrationRoleName".to_owned(),
                role.administration_role_name.to_string(),
            ),
            (
                "ExecutionRoleStackSetName".to_owned(),
                role.stack_set_name.clone(),
            ),
            (
                "ExecutionRoleStackSetRegion".to_owned(),
                role.stack_region.to_string(),
            ),
            (
                "ResultsReaderRoleName".to_owned(),
                self.results_role_name.to_string(),
            ),
        ]);
        if let Some(policy) = &self.alarm_policy {
            parameters.insert("AlarmNamePrefix".to_owned(), policy.name_prefix.clone());
        }
        // The documents the functions' policies name: what is shared, and what may run.
        let shared: Vec<String> = self
            .documents
            .share
            .iter()
            .map(|selector| match selector {
                DocumentSelector::Name(name) => name.to_string(),
                DocumentSelector::Prefix(prefix) => format!("{prefix}*"),
            })
            .collect();
        parameters.insert("SharedDocuments".to_owned(), shared.join(","));
        let runbooks: BTreeSet<String> = self
            .run_profiles
            .values()
            .map(|spec| spec.document.name().to_string())
            .chain(
                self.run_inputs
                    .inline_documents
                    .iter()
                    .map(ToString::to_string),
            )
            .collect();
        parameters.insert(
            "AutomationDocuments".to_owned(),
            runbooks.into_iter().collect::<Vec<_>>().join(","),
        );
        if let Some(reports) = &self.reports {
            parameters.insert("ReportBucketName".to_owned(), reports.bucket.clone());
            parameters.insert("ReportPrefix".to_owned(), reports.prefix.clone());
        }
        if let Some(topic) = self
            .notifications
            .as_ref()
            .and_then(|notifications| notifications.topic_arn.rsplit(':').next())
        {
            parameters.insert("TopicName".to_owned(), topic.to_owned());
        }
        parameters
    }

    /// The Region of the central account's resources: the topic's, else the StackSet's.
    pub fn home_region(&self) -> String {
        self.notifications
            .as_ref()
            .and_then(|notifications| notifications.topic_arn.split(':').nth(3))
            .map_or_else(
                || self.execution_role.stack_region.to_string(),
                str::to_owned,
            )
    }

    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Parses and validates a config from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(Error::TooLarge {
                what: "the config",
                size: text.len(),
                limit: MAX_CONFIG_BYTES,
            });
        }
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let config: Self = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let path = if path == "." {
                "(top level)".to_owned()
            } else {
                path
            };
            // The YAML error starts with (part of) the path itself, and ends with the line and
            // column: keep the full path once, and the line.
            let message = error.into_inner().to_string();
            let problem = match message.split_once(": ") {
                Some((prefix, rest)) if path.starts_with(prefix) => rest.to_owned(),
                _ => message,
            };
            Error::InvalidConfig { path, problem }
        })?;
        config.check()?;
        Ok(config)
    }

    /// The rules that span fields.
    fn check(&self) -> Result<()> {
        let invalid = |path: String, problem: String| Err(Error::InvalidConfig { path, problem });
        if self.regions.is_empty() {
            return invalid("regions".to_owned(), "name at least one Region".to_owned());
        }
        if self.documents.share.is_empty() {
            return invalid(
                "documents.share".to_owned(),
                "name at least one document or prefix to share".to_owned(),
            );
        }
        if self.execution_role.stack_set_name.is_empty()
            || self.execution_role.stack_set_name.len() > 128
            || !self
                .execution_role
                .stack_set_name
                .starts_with(|c: char| c.is_ascii_alphabetic())
            || !self
                .execution_role
                .stack_set_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return invalid(
                "execution_role.stack_set_name".to_owned(),
                "a StackSet name starts with a letter and has up to 128 letters, digits or -"
                    .to_owned(),
            );
        }
        for (name, spec) in &self.run_profiles {
            spec.check().map_err(|error| Error::InvalidConfig {
                path: format!("run_profiles.{name}"),
                problem: error.to_string(),
            })?;
        }
        let prefix = self
            .alarm_policy
            .as_ref()
            .map(|policy| policy.name_prefix.as_str());
        match prefix {
            None if !self.alarm_rules.is_empty() => {
                return invalid(
                    "alarm_policy".to_owned(),
                    "alarm rules need an alarm_policy with a name_prefix: anyone who can create an alarm in a member account can send one".to_owned(),
                );
            }
            Some(prefix) if prefix.is_empty() || prefix.contains('*') => {
                return invalid(
                    "alarm_policy.name_prefix".to_owned(),
                    "a literal, non-empty prefix".to_owned(),
                );
            }
            _ => {}
        }
        if self
            .alarm_policy
            .as_ref()
            .is_some_and(|policy| policy.min_interval_seconds == 0)
        {
            return invalid(
                "alarm_policy.min_interval_seconds".to_owned(),
                "at least 1".to_owned(),
            );
        }
        for (index, rule) in self.alarm_rules.iter().enumerate() {
            if let Some(prefix) = prefix {
                if !rule.alarm_name.starts_with(prefix) {
                    return invalid(
                        format!("alarm_rules[{index}].alarm_name"),
                        format!("must start with alarm_policy.name_prefix {prefix:?}"),
                    );
                }
            }
            if !self.run_profiles.contains_key(&rule.profile) {
                return invalid(
                    format!("alarm_rules[{index}].profile"),
                    format!("no run profile is named {:?}", rule.profile.as_str()),
                );
            }
        }
        if let Some(notifications) = &self.notifications {
            if !is_sns_topic_arn(&notifications.topic_arn) {
                return invalid(
                    "notifications.topic_arn".to_owned(),
                    "expected arn:aws:sns:<region>:<account id>:<topic name>".to_owned(),
                );
            }
        }
        if let Some(reports) = &self.reports {
            if !is_bucket_name(&reports.bucket) {
                return invalid(
                    "reports.bucket".to_owned(),
                    "an S3 bucket name has 3-63 lowercase letters, digits, . or -, and starts and ends with a letter or digit".to_owned(),
                );
            }
        }
        Ok(())
    }

    /// The Regions documents are shared in.
    pub fn sharing_regions(&self) -> &[Region] {
        if self.documents.regions.is_empty() {
            &self.regions
        } else {
            &self.documents.regions
        }
    }

    /// The run profile called `name`.
    pub fn profile(&self, name: &str) -> Option<&RunSpec> {
        ProfileName::new(name)
            .ok()
            .and_then(|name| self.run_profiles.get(&name))
    }

    /// The JSON Schema of the config file, for editors and for review.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
    }
}

fn is_sns_topic_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "sns", region, account, topic]
            if partition.starts_with("aws")
                && Region::new(*region).is_ok()
                && AccountId::new(*account).is_ok()
                && (1..=256).contains(&topic.len())
                && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    )
}

fn is_bucket_name(value: &str) -> bool {
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge_ok(value.bytes().next())
        && edge_ok(value.bytes().last())
}

#[cfg(test)]
mod tests;
