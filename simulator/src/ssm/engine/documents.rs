//! The documents: where a runbook named in a request is (the caller's own, another account's
//! shared one, or AWS's), which `mainSteps` it has (the `steps` module runs them), whether a
//! multi-location start may run it, and the instance tag that scripts a target's behaviour.

use super::parameters::{Declared, aws_runbook, check, declared_in};
use super::steps::DocumentSteps;
use super::{AutomationStatus, Caller, Engine, Execution, lock};
use crate::wire::ApiError;
use crate::wire::StartRequest;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The instance tag that scripts a target's behaviour: `fail` (its steps fail), `fail-once`
/// (fail on the first attempt, succeed on a retry: `maxAttempts`), `sleep=<ms>` or
/// `fail-after=<ms>` (the step takes that much longer, then succeeds or fails). It applies to
/// the instance's `aws:runCommand` invocations, and to a document's first step of any action
/// the simulator does not model (`aws:executeScript`...) in a child acting on that instance.
pub const BEHAVIOUR_TAG: &str = "fabric-simulator";

/// Documents' steps: (owner, Region, name) -> their `mainSteps`.
pub(super) type StepCache = HashMap<(String, String, String), DocumentSteps>;

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
        self.check_approvals(caller, request, &source).await?;
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
        Ok(shares_with(&shared, account))
    }

    /// Runs the document's own steps in `execution` (see `steps`); the behaviour tag of the
    /// target instance (`tags`) scripts the steps' outcomes.
    pub(super) async fn run_document(
        &self,
        execution: &Execution,
        source: &DocumentSource,
        tags: &BTreeMap<String, String>,
    ) -> AutomationStatus {
        let document = self.document_steps(source, &execution.region).await;
        self.run_steps(execution, &document, tags).await
    }

    /// The document's `mainSteps` with their properties; one generic step for AWS-owned
    /// documents and for content the simulator cannot read.
    pub(super) async fn document_steps(
        &self,
        source: &DocumentSource,
        region: &str,
    ) -> DocumentSteps {
        let Some(owner) = &source.owner else {
            return DocumentSteps::generic();
        };
        let key = (owner.clone(), region.to_owned(), source.name.clone());
        if let Some(steps) = lock(&self.step_cache).get(&key) {
            return steps.clone();
        }
        let steps = match self.moto.document(owner, region, &source.name).await {
            Ok(Some((content, _))) => DocumentSteps::parse(&content),
            _ => None,
        }
        .unwrap_or_else(DocumentSteps::generic);
        lock(&self.step_cache).insert(key, steps.clone());
        steps
    }

    /// Refuses a multi-account and Region start of a document with an `aws:approve` step. The
    /// actions reference (`aws:approve`): "This action doesn't support multi-account and
    /// Region automations." The simulator refuses the start itself with
    /// `InvalidAutomationExecutionParametersException` (its choice: the reference names no
    /// error), so that nothing runs in any account: an approval that no child could ever take
    /// should not leave children half-way through a fleet.
    async fn check_approvals(
        &self,
        caller: &Caller,
        request: &StartRequest,
        source: &DocumentSource,
    ) -> Result<(), ApiError> {
        if request.target_locations.is_empty() {
            return Ok(());
        }
        let document = self.document_steps(source, &caller.region).await;
        match document
            .steps
            .iter()
            .find(|step| step.action == "aws:approve")
        {
            Some(step) => Err(ApiError::new(
                "InvalidAutomationExecutionParametersException",
                format!(
                    "Step {} of document {} is an aws:approve step: this action doesn't support multi-account and Region automations (TargetLocations).",
                    step.name, source.name
                ),
            )),
            None => Ok(()),
        }
    }
}

/// What the behaviour tag asks of a target.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Behaviour {
    /// Fail every attempt.
    pub(super) fail: bool,
    /// Fail the first attempt only.
    pub(super) fail_once: bool,
    /// How much longer the step takes.
    pub(super) delay: Duration,
}

impl Behaviour {
    /// `fail`, `fail-once`, `sleep=<ms>`, `fail-after=<ms>`; anything else behaves normally.
    pub(super) fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let Some(value) = tags.get(BEHAVIOUR_TAG) else {
            return Self::default();
        };
        let millis = |text: &str| Duration::from_millis(text.parse().unwrap_or(0));
        match value.split_once('=') {
            None if value == "fail" => Self {
                fail: true,
                ..Self::default()
            },
            None if value == "fail-once" => Self {
                fail_once: true,
                ..Self::default()
            },
            Some(("sleep", ms)) => Self {
                delay: millis(ms),
                ..Self::default()
            },
            Some(("fail-after", ms)) => Self {
                fail: true,
                delay: millis(ms),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }

    /// Whether attempt `number` (1 for the first) fails.
    pub(super) fn fails(self, number: u32) -> bool {
        self.fail || (self.fail_once && number == 1)
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

/// Whether a document shared with `accounts` (ids, or `all`) is shared with `account`.
pub(super) fn shares_with(accounts: &[String], account: &str) -> bool {
    accounts
        .iter()
        .any(|id| id == account || id.eq_ignore_ascii_case("all"))
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
        let once = Behaviour::from_tags(&tags("fail-once"));
        assert!(once.fails(1) && !once.fails(2));
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
