//! The crate's one error type: every way the fabric refuses input or fails, each variant a
//! sentence that tells the reader what went wrong and what to do, with a stable `error_type`
//! that state machine `Retry`/`Catch` rules and the CLI's exit codes match on.

use std::path::PathBuf;

/// How many characters of a rejected value an error message repeats back.
const SHOWN_VALUE_CHARS: usize = 64;

/// Everything the `fabric` crate can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value does not have the shape AWS (or the fabric) requires, e.g. an 11-digit account id.
    #[error("{what} {value:?} is not valid: expected {expected}")]
    InvalidValue {
        /// What the value was meant to be ("account id", "MaxConcurrency", ...).
        what: &'static str,
        /// The value as given, shortened when long.
        value: String,
        /// What would have been accepted.
        expected: String,
    },

    /// The input is not JSON (or not an object) at all.
    #[error("the event is not valid JSON: {problem}")]
    MalformedEvent {
        /// What the JSON parser said.
        problem: String,
    },

    /// The input is JSON, but a field the fabric needs is missing or has the wrong type.
    #[error("the {event} event does not have the expected shape at `{path}`: {problem}")]
    EventShape {
        /// Which event the input was recognised as.
        event: String,
        /// Where in the document the problem is (`detail.serviceEventDetails...`).
        path: String,
        /// What is wrong there.
        problem: String,
    },

    /// The input is a well-formed event, but not one the fabric knows how to handle.
    #[error(
        "the fabric does not handle this event: {description}; send an Organizations, Control Tower, \
         CloudWatch alarm, schedule or manual run event"
    )]
    UnsupportedEvent {
        /// The source and type of the event, as far as they could be read.
        description: String,
    },

    /// The configuration is invalid; `path` names the field.
    #[error("config {path}: {problem}")]
    InvalidConfig {
        /// The field, e.g. `run_profiles.patch.target_locations[0].regions[1]`.
        path: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A run request is inconsistent in itself (both `target_locations` and `waves`, ...).
    #[error("invalid run request: {problem}")]
    InvalidRunRequest {
        /// What is wrong with it.
        problem: String,
    },

    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },

    /// An AWS call failed. `retryable` says whether trying again later can help (throttling,
    /// a transient fault), so callers and state machines retry only those.
    #[error("{service} {operation}{} failed{}: {message}", region.as_deref().map(|region| format!(" in {region}")).unwrap_or_default(), code.as_deref().map(|code| format!(" ({code})")).unwrap_or_default())]
    Aws {
        /// The service, e.g. `ssm`.
        service: &'static str,
        /// The operation, e.g. `StartAutomationExecution`.
        operation: &'static str,
        /// The Region the call went to, when the client that made it says (boxed: the error
        /// stays small enough to return by value).
        region: Option<Box<str>>,
        /// AWS's error code, when there was one.
        code: Option<String>,
        /// What AWS said, or what the fabric made of a failure without an answer ("found no
        /// AWS credentials").
        message: String,
        /// Whether the same call may succeed later.
        retryable: bool,
        /// What the failure comes down to for whoever must act on it.
        failure: AwsFailure,
        /// The SDK's full account of the failure (every cause, the raw response), for logs and
        /// `--verbose`; never part of the message, which stays one readable line.
        detail: Option<Box<str>>,
    },

    /// Something the caller named does not exist: a run profile, a run, a started call.
    #[error("{what} {name:?} does not exist{}", hint.as_deref().map(|hint| format!(": {hint}")).unwrap_or_default())]
    NotFound {
        /// What was looked for ("run profile", "run", "started call").
        what: &'static str,
        /// The name it was looked for by, shortened when long.
        name: String,
        /// What to do instead, when there is advice to give.
        hint: Option<String>,
    },

    /// A run input asks for more than the config grants (an inline spec, another role, a
    /// parameter no profile declares overridable): refused before any call.
    #[error("refused: {what}: {rule}")]
    NotPermitted {
        /// The field of the input.
        what: String,
        /// The rule it breaks, and where the config says so.
        rule: String,
    },

    /// A run cannot be carried out as asked: the request is valid, but what it resolves to is
    /// not (a target location without Regions, SSM refusing a preview).
    #[error("cannot run: {problem}")]
    Unrunnable {
        /// What is wrong.
        problem: String,
    },

    /// An account the fabric must not onboard or offboard: the central account, or one that is
    /// not an active member.
    #[error("account {account} cannot be {action}: {reason}")]
    NotOnboardable {
        /// The account.
        account: String,
        /// "onboarded" or "offboarded".
        action: &'static str,
        /// Why not.
        reason: String,
    },

    /// Stored state exists but cannot be read back (a run's state written by another version,
    /// or damaged). Nothing re-plans over it: look at the object, then delete or repair it.
    #[error(
        "the stored state at {key} cannot be read: {problem}; inspect or delete it, it is never overwritten"
    )]
    CorruptState {
        /// Where the state is stored.
        key: String,
        /// What the parser said.
        problem: String,
    },

    /// A fault of the fabric itself (a value it made that it cannot serialize, an SDK builder
    /// refusing what the fabric built): not the caller's doing, and worth a bug report.
    #[error("internal error: {problem}")]
    Internal {
        /// What failed.
        problem: String,
    },

    /// An input is larger than the fabric accepts.
    #[error("{what} is {size} bytes, more than the {limit} bytes the fabric accepts")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
}

/// What a failed AWS call comes down to, as far as a person can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AwsFailure {
    /// The SDK's credentials provider chain found no credentials, or could not load them.
    NoCredentials,
    /// The endpoint could not be reached: the connection was refused, the host name did not
    /// resolve, connecting timed out.
    Unreachable,
    /// The credentials' session has expired.
    ExpiredToken,
    /// The credentials are not valid, or may not make the call.
    AccessDenied,
    /// The service still throttled the call when the retries ran out.
    Throttled {
        /// The most attempts the fabric's retry configuration allows a call.
        max_attempts: u32,
    },
    /// Anything else: the service's code and message say what.
    Other,
}

impl AwsFailure {
    /// What to do about a failure of `service`'s `operation`, when there is more to say than
    /// the service's own message.
    fn advice(self, service: &str, operation: &str) -> Option<String> {
        match self {
            Self::NoCredentials => Some(
                "set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); \
                 for the local stack: eval \"$(fabric local env)\""
                    .to_owned(),
            ),
            Self::Unreachable => Some(
                "check AWS_ENDPOINT_URL and the network; for the local stack: `fabric local up`, \
                 then eval \"$(fabric local env)\""
                    .to_owned(),
            ),
            Self::ExpiredToken => {
                Some("the credentials have expired: refresh them and try again".to_owned())
            }
            Self::AccessDenied => {
                let action = crate::aws::iam_action(service, operation);
                Some(if operation == "AssumeRole" {
                    format!(
                        "check that the credentials are valid, that their IAM role or user allows \
                         {action}, and that the assumed role's trust policy names them"
                    )
                } else {
                    format!(
                        "check that the credentials are valid and that their IAM role or user \
                         allows {action}"
                    )
                })
            }
            Self::Throttled { max_attempts } => Some(format!(
                "still throttled after up to {max_attempts} attempts: try again later, or lower \
                 the concurrency"
            )),
            Self::Other => None,
        }
    }
}

impl Error {
    /// A stable name for the kind of error, for state machine `Retry`/`Catch` rules
    /// (`ErrorEquals`) and structured logs. Renaming one is a breaking change.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidValue { .. } => "Fabric.InvalidValue",
            Self::MalformedEvent { .. } => "Fabric.MalformedEvent",
            Self::EventShape { .. } => "Fabric.EventShape",
            Self::UnsupportedEvent { .. } => "Fabric.UnsupportedEvent",
            Self::InvalidConfig { .. } => "Fabric.InvalidConfig",
            Self::InvalidRunRequest { .. } => "Fabric.InvalidRunRequest",
            Self::Read { .. } => "Fabric.Read",
            Self::TooLarge { .. } => "Fabric.TooLarge",
            Self::Aws {
                retryable: true, ..
            } => "Fabric.Retryable",
            Self::Aws { .. } => "Fabric.Aws",
            Self::NotFound { .. } => "Fabric.NotFound",
            Self::Unrunnable { .. } => "Fabric.Unrunnable",
            Self::NotPermitted { .. } => "Fabric.NotPermitted",
            Self::NotOnboardable { .. } => "Fabric.NotOnboardable",
            Self::CorruptState { .. } => "Fabric.CorruptState",
            Self::Internal { .. } => "Fabric.Internal",
        }
    }

    /// The AWS error code, when an AWS call failed with one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// What to do about the error, when its message alone does not say: for an AWS failure
    /// with no credentials, an unreachable endpoint, expired credentials, access denied or
    /// throttling.
    pub fn advice(&self) -> Option<String> {
        match self {
            Self::Aws {
                service,
                operation,
                failure,
                ..
            } => failure.advice(service, operation),
            _ => None,
        }
    }

    /// The technical account of the error behind its message (an SDK failure's every cause
    /// and raw response), when there is one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Aws { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// True when the input itself is wrong (so retrying it can never succeed): the CLI exits 2
    /// for these, and state machines route them to a report instead of retrying.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::InvalidValue { .. }
            | Self::MalformedEvent { .. }
            | Self::EventShape { .. }
            | Self::UnsupportedEvent { .. }
            | Self::InvalidConfig { .. }
            | Self::InvalidRunRequest { .. }
            | Self::TooLarge { .. }
            // The user named a file that cannot be read.
            | Self::Read { .. }
            // The caller named a profile, run or call that is not there.
            | Self::NotFound { .. }
            | Self::Unrunnable { .. }
            | Self::NotPermitted { .. }
            | Self::NotOnboardable { .. } => true,
            Self::Aws { .. } | Self::CorruptState { .. } | Self::Internal { .. } => false,
        }
    }

    /// True when the same call may succeed later (throttling, a transient AWS fault).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Aws {
                retryable: true,
                ..
            }
        )
    }

    /// An [`Error::Internal`] for a value the fabric made and could not serialize.
    pub(crate) fn unserializable(what: &str, error: &serde_json::Error) -> Self {
        Self::Internal {
            problem: format!("{what} cannot be written as JSON: {error}"),
        }
    }

    /// An [`Error::NotFound`] whose name is shortened when long.
    pub(crate) fn not_found(what: &'static str, name: &str, hint: Option<String>) -> Self {
        Self::NotFound {
            what,
            name: shown(name),
            hint,
        }
    }

    /// An [`Error::InvalidValue`] that repeats at most the first characters of `value`.
    pub(crate) fn invalid_value(
        what: &'static str,
        value: &str,
        expected: impl Into<String>,
    ) -> Self {
        Self::InvalidValue {
            what,
            value: shown(value),
            expected: expected.into(),
        }
    }
}

/// `value` shortened for an error message, so that a hostile 10 MB string does not become a
/// 10 MB log line.
pub(crate) fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_rejected_value_is_long_then_the_message_repeats_only_its_start() {
        let long = "x".repeat(10_000);
        let error = Error::invalid_value("account id", &long, "12 digits");
        let message = error.to_string();
        assert!(message.len() < 200, "{message}");
        assert!(message.contains('…'));
    }

    #[test]
    fn when_a_value_has_multibyte_characters_then_shortening_does_not_split_them() {
        let value = "é".repeat(100);
        assert_eq!(shown(&value).chars().count(), SHOWN_VALUE_CHARS + 1);
    }
}
