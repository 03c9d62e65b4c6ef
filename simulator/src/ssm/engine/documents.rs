//! The documents: where a runbook named in a request is (the caller's own, another account's
//! shared one, or AWS's), which `mainSteps` it has, and how a child runs them, including the
//! instance tag that scripts a target's behaviour.

use super::parameters::{Declared, aws_runbook, check, declared_in};
use super::{AutomationStatus, Caller, Engine, Execution, Step, lock};
use crate::wire::ApiError;
use crate::wire::StartRequest;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The instance tag that scripts a target's behaviour: `fail`, `sleep=<ms>` or
/// `fail-after=<ms>`.
pub const BEHAVIOUR_TAG: &str = "fabric-simulator";

/// Documents' steps: (owner, Region, name) -> (step name, action) of each `mainSteps` entry.
pub(super) type StepCache = HashMap<(String, String, String), Vec<(String, String)>>;

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DocumentSource {
    /// The owning account (`None`: an AWS-owned document, available everywhere).
    pub(super) owner: Option<String>,
    /// Its name.
    pub(super) name: String,
    /// Its declared parameters (`None`: an AWS-owned runbook the simulator does not catalogue,
    /// whose parameters are not checked).
    pub(super) parameters: Option<Vec<Declared>>,
}

impl Engine {
    /// Where `name` (a name or an ARN) is, checked as SSM checks it when a run starts. The API
    /// reference (`StartAutomationExecution`, `DocumentName`): "To run a shared document
    /// belonging to another account, specify the document ARN."
    pub(super) async fn document_source(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<DocumentSource, ApiError> {
        let not_found = || {
            ApiError::new(
                "AutomationDefinitionNotFoundException",
                format!(
                    "Automation definition {name} was not found: an Automation runbook with the specified name couldn't be found."
                ),
            )
        };
        let (owner, region, short) = match parse_document_arn(name) {
            Some((region, owner, short)) => (owner, region, short),
            None if name.starts_with("AWS-") => {
                let parameters = aws_runbook(name).ok_or_else(not_found)?;
                return Ok(DocumentSource {
                    owner: None,
                    name: name.to_owned(),
                    parameters: Some(parameters),
                });
            }
            None if is_aws_owned(name) => {
                return Ok(DocumentSource {
                    owner: None,
                    name: name.to_owned(),
                    parameters: None,
                });
            }
            None => (
                caller.account.clone(),
                caller.region.clone(),
                name.to_owned(),
            ),
        };
        let Some((content, _)) = self.moto.document(&owner, &region, &short).await? else {
            return Err(not_found());
        };
        if owner != caller.account
            && !self
                .is_shared(&owner, &region, &short, &caller.account)
                .await?
        {
            return Err(not_found());
        }
        Ok(DocumentSource {
            owner: Some(owner),
            name: short,
            parameters: Some(declared_in(&content)),
        })
    }

    /// The document a start names, found as SSM finds it, with the start's parameters checked
    /// against the ones it declares.
    pub(super) async fn checked_source(
        &self,
        caller: &Caller,
        request: &StartRequest,
    ) -> Result<DocumentSource, ApiError> {
        let source = self.document_source(caller, &request.document_name).await?;
        if let Some(declared) = &source.parameters {
            check(
                declared,
                &request.parameters,
                request.target_parameter_name.as_deref(),
            )?;
        }
        Ok(source)
    }

    /// Whether `owner` shares document `name` in `region` with `account` (or with all).
    pub(super) async fn is_shared(
        &self,
        owner: &str,
        region: &str,
        name: &str,
        account: &str,
    ) -> Result<bool, ApiError> {
        let shared = self.moto.shared_with(owner, region, name).await?;
        Ok(shared
            .iter()
            .any(|id| id == account || id.eq_ignore_ascii_case("all")))
    }

    /// The document's own steps, each taking the configured time; the behaviour tag of the
    /// target instance can make one fail or take longer.
    pub(super) async fn run_document(
        &self,
        execution: &Execution,
        source: &DocumentSource,
        tags: &BTreeMap<String, String>,
    ) -> AutomationStatus {
        let steps = self.document_steps(source, &execution.region).await;
        let behaviour = Behaviour::from_tags(tags);
        let step_duration = self.settings().step_duration;
        self.update(&execution.id, |e| {
            e.steps = steps
                .iter()
                .map(|(name, action)| Step::pending(name.clone(), action))
                .collect();
        });
        for index in 0..steps.len() {
            if self.cancelled(&execution.id) {
                self.finish(&execution.id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            self.set_step(&execution.id, index, AutomationStatus::InProgress, None);
            let extra = if index == 0 {
                behaviour.delay
            } else {
                Duration::ZERO
            };
            tokio::time::sleep(step_duration + extra).await;
            if self.cancelled(&execution.id) {
                self.set_step(&execution.id, index, AutomationStatus::Cancelled, None);
                self.finish(&execution.id, AutomationStatus::Cancelled, None);
                return AutomationStatus::Cancelled;
            }
            if index == 0 && behaviour.fail {
                let target = execution.target.as_deref().unwrap_or("the target");
                let message = format!(
                    "Step fails when it is Executing. Fail message: the simulator was told to fail {target} (instance tag {BEHAVIOUR_TAG})."
                );
                self.set_step(
                    &execution.id,
                    index,
                    AutomationStatus::Failed,
                    Some(message.clone()),
                );
                self.finish(&execution.id, AutomationStatus::Failed, Some(message));
                return AutomationStatus::Failed;
            }
            self.set_step(&execution.id, index, AutomationStatus::Success, None);
        }
        self.finish(&execution.id, AutomationStatus::Success, None);
        AutomationStatus::Success
    }

    /// (name, action) of each of the document's `mainSteps`; one generic step for AWS-owned
    /// documents and for content the simulator cannot read.
    pub(super) async fn document_steps(
        &self,
        source: &DocumentSource,
        region: &str,
    ) -> Vec<(String, String)> {
        let fallback = vec![("RunDocument".to_owned(), "aws:executeScript".to_owned())];
        let Some(owner) = &source.owner else {
            return fallback;
        };
        let key = (owner.clone(), region.to_owned(), source.name.clone());
        if let Some(steps) = lock(&self.step_cache).get(&key) {
            return steps.clone();
        }
        let steps = match self.moto.document(owner, region, &source.name).await {
            Ok(Some((content, _))) => serde_json::from_str::<Value>(&content)
                .ok()
                .and_then(|document| document["mainSteps"].as_array().cloned())
                .map(|steps| {
                    steps
                        .iter()
                        .filter_map(|step| {
                            Some((
                                step["name"].as_str()?.to_owned(),
                                step["action"].as_str()?.to_owned(),
                            ))
                        })
                        .collect::<Vec<_>>()
                })
                .filter(|steps| !steps.is_empty())
                .unwrap_or(fallback),
            _ => fallback,
        };
        lock(&self.step_cache).insert(key, steps.clone());
        steps
    }
}

/// What the behaviour tag asks of a target.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Behaviour {
    fail: bool,
    delay: Duration,
}

impl Behaviour {
    /// `fail`, `sleep=<ms>`, `fail-after=<ms>`; anything else behaves normally.
    fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let Some(value) = tags.get(BEHAVIOUR_TAG) else {
            return Self::default();
        };
        let millis = |text: &str| Duration::from_millis(text.parse().unwrap_or(0));
        match value.split_once('=') {
            None if value == "fail" => Self {
                fail: true,
                delay: Duration::ZERO,
            },
            Some(("sleep", ms)) => Self {
                fail: false,
                delay: millis(ms),
            },
            Some(("fail-after", ms)) => Self {
                fail: true,
                delay: millis(ms),
            },
            _ => Self::default(),
        }
    }
}

/// True for documents AWS owns and shares with every account (`AWS-RestartEC2Instance`).
fn is_aws_owned(name: &str) -> bool {
    name.starts_with("AWS-")
        || name.starts_with("AWSSupport-")
        || name.starts_with("AWSConfigRemediation-")
}

/// (Region, owner, name) of `arn:aws:ssm:<region>:<owner>:document/<name>`.
fn parse_document_arn(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(_), Some("ssm"), Some(region), Some(owner), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((
        region.to_owned(),
        owner.to_owned(),
        resource.strip_prefix("document/")?.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_an_instance_is_tagged_then_its_behaviour_follows_the_tag() {
        let tags = |value: &str| [(BEHAVIOUR_TAG.to_owned(), value.to_owned())].into();
        assert!(Behaviour::from_tags(&tags("fail")).fail);
        assert_eq!(
            Behaviour::from_tags(&tags("sleep=250")).delay,
            Duration::from_millis(250)
        );
        let both = Behaviour::from_tags(&tags("fail-after=100"));
        assert!(both.fail && both.delay == Duration::from_millis(100));
        assert_eq!(Behaviour::from_tags(&BTreeMap::new()), Behaviour::default());
    }

    #[test]
    fn when_a_document_is_named_by_arn_then_region_owner_and_name_are_read() {
        let arn = "arn:aws:ssm:eu-west-1:111122223333:document/Fabric-Patch";
        assert_eq!(
            parse_document_arn(arn),
            Some((
                "eu-west-1".to_owned(),
                "111122223333".to_owned(),
                "Fabric-Patch".to_owned()
            ))
        );
        assert_eq!(parse_document_arn("Fabric-Patch"), None);
        assert!(is_aws_owned("AWS-RestartEC2Instance"));
    }
}
