//! What a run input (a schedule's or a person's) may ask beyond naming a run profile: inline
//! specs only when the config allows them and only for its allowlisted documents, profile
//! parameters only where the config declares them overridable (each with a pattern), and never
//! another execution role or `AutomationAssumeRole` than the config's. Everything else is
//! refused before any API call.

use super::{Config, ProfileName};
use crate::model::{DocumentName, DocumentRef, Parameters, RunSpec};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The document parameter whose value is the role Automation runs the parent as.
pub const ASSUME_ROLE_PARAMETER: &str = "AutomationAssumeRole";

/// What run inputs may ask for (by default: a profile by name, nothing else).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInputs {
    /// Whether a run input may carry an inline spec instead of naming a profile.
    #[serde(default)]
    pub inline_specs: bool,
    /// The documents an inline spec may run (by name; an ARN must be the central account's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_documents: Vec<DocumentName>,
    /// Per profile, the parameters a run input may set, each with the regular expression its
    /// every value must match in full.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overridable_parameters: BTreeMap<ProfileName, BTreeMap<String, String>>,
}

fn refused(what: &str, rule: impl Into<String>) -> Error {
    Error::NotPermitted {
        what: what.to_owned(),
        rule: rule.into(),
    }
}

impl Config {
    /// The role Automation runs each parent as: the administration role in the central account.
    pub fn automation_assume_role_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role/{}",
            self.central_account, self.execution_role.administration_role_name
        )
    }

    /// Profile `name`'s spec with the input's `overrides` applied, each one checked against
    /// the parameters the config declares overridable for that profile.
    pub fn profile_with_overrides(&self, name: &str, overrides: &Parameters) -> Result<RunSpec> {
        let spec = self.profile(name).ok_or_else(|| Error::NotFound {
            what: "run profile",
            name: name.to_owned(),
            hint: Some(format!(
                "the config's run profiles: {}",
                self.run_profiles
                    .keys()
                    .map(ProfileName::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })?;
        let declared = ProfileName::new(name)
            .ok()
            .and_then(|name| self.run_inputs.overridable_parameters.get(&name));
        let mut spec = spec.clone();
        for (parameter, values) in overrides {
            let what = format!("parameters.{parameter}");
            let pattern = declared.and_then(|declared| declared.get(parameter)).ok_or_else(|| {
                refused(
                    &what,
                    format!("profile {name} declares no overridable parameter {parameter} (run_inputs.overridable_parameters)"),
                )
            })?;
            let whole = regex_lite::Regex::new(&format!("^(?:{pattern})$")).map_err(|error| {
                refused(
                    &what,
                    format!("its pattern {pattern:?} is not a regular expression: {error}"),
                )
            })?;
            if let Some(value) = values.iter().find(|value| !whole.is_match(value)) {
                return Err(refused(
                    &what,
                    format!(
                        "{:?} does not match {pattern:?}",
                        crate::error::shown(value)
                    ),
                ));
            }
            spec.parameters.insert(parameter.clone(), values.clone());
        }
        self.check_roles(&spec)?;
        Ok(spec)
    }

    /// An inline spec, admitted only as the config allows: inline specs on, the document on
    /// the allowlist, and the config's roles.
    pub fn admit_inline_spec(&self, spec: &RunSpec) -> Result<()> {
        if !self.run_inputs.inline_specs {
            return Err(refused(
                "spec",
                "inline specs are off (run_inputs.inline_specs): name a run profile",
            ));
        }
        let document = spec.document.name();
        let ours = match &spec.document {
            DocumentRef::Name(_) => true,
            DocumentRef::Arn { owner, .. } => *owner == self.central_account,
        };
        if !ours || !self.run_inputs.inline_documents.contains(document) {
            return Err(refused(
                "spec.document",
                format!(
                    "{} is not on the inline-spec allowlist (run_inputs.inline_documents)",
                    spec.document
                ),
            ));
        }
        self.check_roles(spec)
    }

    /// The roles a spec runs with are the config's: the execution role of every target
    /// location, and `AutomationAssumeRole`.
    fn check_roles(&self, spec: &RunSpec) -> Result<()> {
        for location in spec.all_target_locations() {
            if let Some(role) = &location.execution_role_name {
                if *role != self.execution_role.role_name {
                    return Err(refused(
                        "execution_role_name",
                        format!(
                            "runs use the config's execution role {}, not {role}",
                            self.execution_role.role_name
                        ),
                    ));
                }
            }
        }
        let expected = self.automation_assume_role_arn();
        if let Some(values) = spec.parameters.get(ASSUME_ROLE_PARAMETER) {
            if values.iter().any(|value| *value != expected) {
                return Err(refused(
                    &format!("parameters.{ASSUME_ROLE_PARAMETER}"),
                    format!("runs assume the config's administration role {expected}"),
                ));
            }
        }
        Ok(())
    }
}
