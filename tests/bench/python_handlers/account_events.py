"""Python equivalent of functions/account-events for benchmark B1: at init the config, the
onboarding state machine's ARN (ONBOARDING_STATE_MACHINE_ARN) and the clients (stepfunctions,
and sns when the config names a topic); per invocation the event normalized and, for an account
that joined or left, states:StartExecution named by the event's idempotency key
(ExecutionAlreadyExists = already started); a failed account creation is published on the topic.

Normalizes the Organizations events the benchmark sends (CreateAccountResult, CloseAccount,
RemoveAccountFromOrganization, LeaveOrganization); anything else is answered as not a workflow,
where the Rust crate knows every event of the README's table."""

import hashlib
import json
import re

import common

CONFIG, SESSION = common.start()
STATE_MACHINE = common.required_env("ONBOARDING_STATE_MACHINE_ARN")
SFN = SESSION.client("stepfunctions")
NOTIFIER = common.notifier(SESSION, CONFIG)
LEFT = {"CloseAccount", "RemoveAccountFromOrganization", "LeaveOrganization"}


def idempotency_key(kind, subject, identity):
    """As shared/src/events/idempotency.rs: kind-subject-<16 hex digits of sha256(identity)>."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    key = re.sub(r"[^A-Za-z0-9_-]", "_", kind[:32])
    if subject is not None:
        key += "-" + re.sub(r"[^A-Za-z0-9_-]", "_", subject[:32])
    return f"{key[: 80 - 17]}-{digest}"


def normalize(event):
    detail = event.get("detail") or {}
    if event.get("source") != "aws.organizations" or event.get("detail-type") != "AWS Service Event via CloudTrail":
        return "ignored", None, {"reason": "not an account event"}
    identity = detail.get("eventID") or event.get("id") or ""
    name = detail.get("eventName")
    if name == "CreateAccountResult":
        status = detail["serviceEventDetails"]["createAccountStatus"]
        account = status.get("accountId")
        if account is not None and not common.ACCOUNT_ID.match(account):
            raise common.FabricError("Fabric.EventShape", f"createAccountStatus.accountId {account!r} is not an account id")
        if status["state"] == "SUCCEEDED" and account:
            return "account_joined", account, {"key": idempotency_key("account-joined", account, identity)}
        if status["state"] == "FAILED":
            reason = f"Organizations could not create the account (request {status['id']}): {status.get('failureReason', 'no reason given')}"
            return "account_creation_failed", account, {"key": idempotency_key("account-creation-failed", account, identity), "reason": reason}
        return "account_pending", account, {"key": idempotency_key("account-pending", account, identity)}
    if name in LEFT:
        account = (detail.get("requestParameters") or {}).get("accountId") or detail.get("userIdentity", {}).get("accountId")
        return "account_left", account, {"key": idempotency_key("account-left", account, identity)}
    return "ignored", None, {"key": idempotency_key("ignored", None, identity), "reason": f"{name} is not an account event"}


def handler(event, context):
    kind, account, details = normalize(event)
    trigger = {"trigger": kind, "account_id": account, **details}
    if kind == "account_creation_failed" and NOTIFIER is not None:
        NOTIFIER.publish(
            "[Automation Fabric] Account creation failed: nothing was onboarded",
            f"Account {account or '(no id assigned)'}: {details['reason']}\n\nEvent key: {details['key']}",
            {"status": "Failed", "trigger": "account", "action": "none"},
        )
        return {"trigger": trigger, "workflow": "none", "reported": True}
    if kind not in ("account_joined", "account_left"):
        return {"trigger": trigger, "workflow": "none"}
    action = "onboard" if kind == "account_joined" else "offboard"
    body = json.dumps({"account_id": account, "action": action, "trigger_key": details["key"]})
    try:
        workflow = SFN.start_execution(stateMachineArn=STATE_MACHINE, name=details["key"], input=body)["executionArn"]
    except SFN.exceptions.ExecutionAlreadyExists:
        workflow = "already started"
    return {"trigger": trigger, "workflow": workflow}
