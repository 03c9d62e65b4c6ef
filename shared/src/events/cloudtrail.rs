//! The CloudTrail record inside Organizations and Control Tower events: the fields every such
//! event shares, and typed access to its event-specific parts with errors that name the path.

use crate::model::AccountId;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The identity that made the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentity {
    /// The caller's account.
    #[serde(default)]
    pub(crate) account_id: Option<AccountId>,
}

/// The `detail` of an "AWS API Call via CloudTrail" or "AWS Service Event via CloudTrail"
/// event. The event-specific parts stay JSON until [`CloudTrailRecord::part`] reads them as
/// the type the event name calls for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudTrailRecord {
    /// The API call or service event, e.g. `CreateAccountResult`.
    pub(crate) event_name: String,
    /// CloudTrail's id of the record: the same however often it is delivered.
    #[serde(rename = "eventID", default)]
    pub(crate) event_id: Option<String>,
    /// Who called.
    #[serde(default)]
    pub(crate) user_identity: UserIdentity,
    /// Set when the call failed.
    #[serde(default)]
    pub(crate) error_code: Option<String>,
    /// The call's parameters.
    #[serde(default)]
    pub(crate) request_parameters: Option<Value>,
    /// The call's response.
    #[serde(default)]
    pub(crate) response_elements: Option<Value>,
    /// The details of a service event.
    #[serde(default)]
    pub(crate) service_event_details: Option<Value>,
}

impl CloudTrailRecord {
    /// Reads `detail.<section>` as `T`, or says which field of it is missing or wrong.
    pub(crate) fn part<T: DeserializeOwned>(&self, event: &str, section: Section) -> Result<T> {
        let (name, value) = match section {
            Section::Request => ("requestParameters", &self.request_parameters),
            Section::Response => ("responseElements", &self.response_elements),
            Section::ServiceEvent => ("serviceEventDetails", &self.service_event_details),
        };
        let path = format!("detail.{name}");
        let Some(value) = value else {
            return Err(Error::EventShape {
                event: event.to_owned(),
                path,
                problem: "missing or null".to_owned(),
            });
        };
        read_at(event, &path, value)
    }

    /// The identity used for idempotency: CloudTrail's event id, else EventBridge's.
    pub(crate) fn identity<'a>(&'a self, envelope_id: Option<&'a str>) -> &'a str {
        self.event_id
            .as_deref()
            .or(envelope_id)
            .unwrap_or(&self.event_name)
    }
}

/// The event-specific sections of a CloudTrail record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Section {
    /// `requestParameters`.
    Request,
    /// `responseElements`.
    Response,
    /// `serviceEventDetails`.
    ServiceEvent,
}

/// Reads `value` (found at `path` of an `event` event) as `T`, naming the exact field on error.
pub(crate) fn read_at<T: DeserializeOwned>(event: &str, path: &str, value: &Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        Error::EventShape {
            event: event.to_owned(),
            path: match (path, inner.as_str()) {
                ("", ".") => "(top level)".to_owned(),
                (_, ".") => path.to_owned(),
                ("", _) => inner,
                _ => format!("{path}.{inner}"),
            },
            problem: error.into_inner().to_string(),
        }
    })
}
