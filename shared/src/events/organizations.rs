//! Organizations events (CloudTrail, us-east-1): account creation, invitations, removal,
//! closure and moves, read from the fields each event really carries.

use super::cloudtrail::{CloudTrailRecord, Section, read_at};
use super::{JoinedVia, LeftVia, Trigger, TriggerEvent, account_trigger};
use crate::Result;
use crate::model::{AccountId, OuId};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

/// `createAccountStatus`, in `CreateAccount`'s response and `CreateAccountResult`'s details.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAccountStatus {
    /// The request id (`car-...`).
    id: String,
    /// `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    state: String,
    /// Set once the account exists.
    #[serde(default)]
    account_id: Option<AccountId>,
    /// Set when the creation failed, e.g. `EMAIL_ALREADY_EXISTS`.
    #[serde(default)]
    failure_reason: Option<String>,
}

/// `CreateAccountResult`'s `serviceEventDetails`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAccountResultDetails {
    create_account_status: CreateAccountStatus,
}

/// `InviteAccountToOrganization`'s `requestParameters`.
#[derive(Deserialize)]
struct InviteRequest {
    target: HandshakeParty,
}

/// A party of a handshake, or an invitation's target.
#[derive(Deserialize)]
struct HandshakeParty {
    /// An account id, an email address or an organization id, by `type`.
    id: String,
    /// `ACCOUNT`, `EMAIL` or `ORGANIZATION`.
    #[serde(rename = "type")]
    kind: String,
}

/// `AcceptHandshake`'s `responseElements`.
#[derive(Deserialize)]
struct AcceptHandshakeResponse {
    handshake: Handshake,
}

/// A handshake, as `AcceptHandshake` returns it.
#[derive(Deserialize)]
struct Handshake {
    /// `INVITE`, `ENABLE_ALL_FEATURES`... (AWS's own examples differ in case).
    action: String,
    /// `ACCEPTED` once accepted.
    state: String,
    /// The account and the organization.
    parties: Vec<HandshakeParty>,
}

/// `requestParameters` of calls about one account (`RemoveAccountFromOrganization`, `CloseAccount`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountRequest {
    account_id: AccountId,
}

/// `MoveAccount`'s `requestParameters`, named as AWS names them.
#[derive(Deserialize)]
#[allow(clippy::struct_field_names)]
#[serde(rename_all = "camelCase")]
struct MoveAccountRequest {
    account_id: AccountId,
    source_parent_id: OuId,
    destination_parent_id: OuId,
}

/// What one record means: the kind of key, the account it is about, and the trigger.
type Meaning = (&'static str, Option<AccountId>, Trigger);

/// Turns an Organizations CloudTrail event into a trigger.
pub(super) fn normalize(envelope: &EventBridgeEvent<Value>) -> Result<TriggerEvent> {
    let record: CloudTrailRecord = read_at("Organizations", "detail", &envelope.detail)?;
    let event = format!("Organizations {}", record.event_name);
    let (kind, account_id, trigger) = if let Some(code) = &record.error_code {
        ignored(format!(
            "the {} call failed ({code}): nothing changed",
            record.event_name
        ))
    } else {
        match record.event_name.as_str() {
            "CreateAccountResult" => create_account_result(&record, &event)?,
            "CreateAccount" => create_account(&record, &event)?,
            "InviteAccountToOrganization" => invite(&record, &event)?,
            "AcceptHandshake" => accept_handshake(&record, &event)?,
            "RemoveAccountFromOrganization" => left(&record, &event, LeftVia::Removed)?,
            "CloseAccount" => left(&record, &event, LeftVia::Closed)?,
            "LeaveOrganization" => leave(&record, event)?,
            "MoveAccount" => moved(&record, &event)?,
            other => ignored(format!(
                "Organizations {other} does not change which accounts are members"
            )),
        }
    };
    let identity = record.identity(envelope.id.as_deref());
    Ok(account_trigger(
        kind,
        account_id.as_ref(),
        identity,
        trigger,
    ))
}

fn ignored(reason: String) -> Meaning {
    ("ignored", None, Trigger::Ignored { reason })
}

fn joined(account_id: AccountId, via: JoinedVia) -> Meaning {
    (
        "account-joined",
        Some(account_id.clone()),
        Trigger::AccountJoined {
            account_id,
            via,
            ou_id: None,
        },
    )
}

fn create_account_result(record: &CloudTrailRecord, event: &str) -> Result<Meaning> {
    let details: CreateAccountResultDetails = record.part(event, Section::ServiceEvent)?;
    let status = details.create_account_status;
    Ok(match (status.state.as_str(), status.account_id) {
        ("SUCCEEDED", Some(account_id)) => joined(account_id, JoinedVia::CreatedAccount),
        ("SUCCEEDED", None) => {
            return Err(crate::Error::EventShape {
                event: event.to_owned(),
                path: "detail.serviceEventDetails.createAccountStatus.accountId".to_owned(),
                problem: "missing although the state is SUCCEEDED".to_owned(),
            });
        }
        ("FAILED", account_id) => (
            "account-creation-failed",
            account_id.clone(),
            Trigger::AccountCreationFailed {
                account_id,
                reason: format!(
                    "Organizations could not create the account (request {}): {}",
                    status.id,
                    status
                        .failure_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            },
        ),
        (state, account_id) => (
            "account-pending",
            account_id.clone(),
            Trigger::AccountPending {
                account_id,
                reason: format!("account creation {} is {state}", status.id),
            },
        ),
    })
}

fn create_account(record: &CloudTrailRecord, event: &str) -> Result<Meaning> {
    let response: CreateAccountResultDetails = record.part(event, Section::Response)?;
    Ok((
        "account-pending",
        None,
        Trigger::AccountPending {
            account_id: None,
            reason: format!(
                "account creation {} was requested; the account is onboarded when \
                 CreateAccountResult reports SUCCEEDED",
                response.create_account_status.id
            ),
        },
    ))
}

fn invite(record: &CloudTrailRecord, event: &str) -> Result<Meaning> {
    let request: InviteRequest = record.part(event, Section::Request)?;
    let account_id = account_party(event, "detail.requestParameters.target", &request.target)?;
    Ok((
        "account-pending",
        account_id.clone(),
        Trigger::AccountPending {
            account_id,
            reason:
                "invited: nothing is shared before the invitation is accepted (AcceptHandshake)"
                    .to_owned(),
        },
    ))
}

fn accept_handshake(record: &CloudTrailRecord, event: &str) -> Result<Meaning> {
    let response: AcceptHandshakeResponse = record.part(event, Section::Response)?;
    let handshake = response.handshake;
    if !handshake.action.eq_ignore_ascii_case("INVITE") || handshake.state != "ACCEPTED" {
        return Ok(ignored(format!(
            "a {} handshake in state {} does not add an account",
            handshake.action, handshake.state
        )));
    }
    let party = handshake
        .parties
        .iter()
        .find(|party| party.kind == "ACCOUNT")
        .map(|party| account_party(event, "detail.responseElements.handshake.parties", party))
        .transpose()?
        .flatten();
    match party.or_else(|| record.user_identity.account_id.clone()) {
        Some(account_id) => Ok(joined(account_id, JoinedVia::AcceptedInvitation)),
        None => Err(crate::Error::EventShape {
            event: event.to_owned(),
            path: "detail.responseElements.handshake.parties".to_owned(),
            problem: "no ACCOUNT party and no caller account".to_owned(),
        }),
    }
}

fn left(record: &CloudTrailRecord, event: &str, via: LeftVia) -> Result<Meaning> {
    let request: AccountRequest = record.part(event, Section::Request)?;
    Ok(left_by(request.account_id, via))
}

fn left_by(account_id: AccountId, via: LeftVia) -> Meaning {
    (
        "account-left",
        Some(account_id.clone()),
        Trigger::AccountLeft { account_id, via },
    )
}

fn leave(record: &CloudTrailRecord, event: String) -> Result<Meaning> {
    match record.user_identity.account_id.clone() {
        Some(account_id) => Ok(left_by(account_id, LeftVia::Left)),
        None => Err(crate::Error::EventShape {
            event,
            path: "detail.userIdentity.accountId".to_owned(),
            problem: "missing: the account that left is the caller".to_owned(),
        }),
    }
}

fn moved(record: &CloudTrailRecord, event: &str) -> Result<Meaning> {
    let request: MoveAccountRequest = record.part(event, Section::Request)?;
    Ok((
        "account-moved",
        Some(request.account_id.clone()),
        Trigger::AccountMoved {
            account_id: request.account_id,
            from: request.source_parent_id,
            to: request.destination_parent_id,
        },
    ))
}

/// The account id of a party, or `None` for an invitation by email; an `ACCOUNT` party whose
/// id is not an account id is an error.
fn account_party(event: &str, path: &str, party: &HandshakeParty) -> Result<Option<AccountId>> {
    match party.kind.as_str() {
        "ACCOUNT" => AccountId::new(party.id.as_str())
            .map(Some)
            .map_err(|error| crate::Error::EventShape {
                event: event.to_owned(),
                path: format!("{path}.id"),
                problem: error.to_string(),
            }),
        _ => Ok(None),
    }
}
