"""The simulator's runbook step semantics driven with boto3: documents created in moto with
`create_document`, then `aws:sleep`, `aws:pause` and `aws:approve` with `SendAutomationSignal`,
the properties shared by all actions (`timeoutSeconds`, `onFailure`, `isCritical`,
`maxAttempts`, `nextStep`, `isEnd`), `aws:changeInstanceState` and `aws:executeAwsApi` acting
on moto's EC2, and `aws:runCommand` per instance. Each test quotes the AWS documentation
sentence it checks. Document time runs 1000 times faster than wall time (one second lasts a
millisecond), as the simulator's `steps` module states."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import (
    BEHAVIOUR_TAG,
    CENTRAL,
    EXECUTION_ROLE,
    IMAGE,
    central_session,
    error_code,
    member_session,
    new_token,
    wait_final,
    wait_until,
)




def create_document(client, steps, parameters=None):
    """An Automation document of `steps` in the client's account and Region; its name."""
    name = f"FabricSteps-{new_token()[:8]}"
    content = {"schemaVersion": "0.3", "parameters": parameters or {}, "mainSteps": steps}
    client.create_document(
        Name=name, Content=json.dumps(content), DocumentType="Automation", DocumentFormat="JSON"
    )
    return name


def run(client, steps, parameters=None, values=None):
    """Starts a document of `steps` and returns the execution once final."""
    name = create_document(client, steps, parameters)
    execution_id = client.start_automation_execution(DocumentName=name, Parameters=values or {})[
        "AutomationExecutionId"
    ]
    return wait_final(client, execution_id)


def start(client, steps, parameters=None, values=None):
    name = create_document(client, steps, parameters)
    return client.start_automation_execution(DocumentName=name, Parameters=values or {})["AutomationExecutionId"]


def wait_status(client, execution_id, status):
    def probe():
        execution = client.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
        return execution if execution["AutomationExecutionStatus"] == status else None

    return wait_until(f"execution {execution_id} reaching {status}", probe)


def steps_of(execution):
    return {step["StepName"]: step for step in execution["StepExecutions"]}


def sleep(name, duration="PT1S", **properties):
    return {"name": name, "action": "aws:sleep", "inputs": {"Duration": duration}, **properties}


def failing(name, **properties):
    """A step that fails: an aws:sleep whose Duration is not an ISO 8601 duration."""
    return sleep(name, "soon", **properties)


PAUSE = {"name": "hold", "action": "aws:pause", "inputs": {}}


def launch(session, endpoint, tags=()):
    """A running instance in the session's account and Region, with `tags`."""
    client = session.client("ec2", endpoint_url=endpoint)
    request = {"ImageId": IMAGE, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
    if tags:
        request["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        ]
    return client, client.run_instances(**request)["Instances"][0]["InstanceId"]


def state_of(client, instance):
    return client.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]


# --- aws:sleep ---------------------------------------------------------------------------------


def test_when_a_sleep_step_runs_then_it_delays_the_automation_for_its_duration(ssm):
    # aws:sleep: "Delays an automation for a specified amount of time. This action uses the
    # International Organization for Standardization (ISO) 8601 date and time format."
    execution = run(
        ssm,
        [sleep("wait", "{{ Wait }}")],
        parameters={"Wait": {"type": "String"}},
        values={"Wait": ["PT300S"]},
    )
    assert execution["AutomationExecutionStatus"] == "Success"
    step = steps_of(execution)["wait"]
    assert step["StepStatus"] == "Success"
    assert step["Inputs"]["Duration"] == "PT300S", "the parameter's value replaces {{ Wait }}"
    elapsed = (step["ExecutionEndTime"] - step["ExecutionStartTime"]).total_seconds()
    assert 0.25 <= elapsed < 5, f"300 document seconds last about 0.3 s, took {elapsed}"


# --- aws:pause and aws:approve -----------------------------------------------------------------


def test_when_a_pause_step_runs_then_the_automation_waits_until_resumed(ssm):
    # aws:pause: "Once paused, the automation status is Waiting. To continue the automation,
    # use the SendAutomationSignal API operation with the Resume signal type."
    execution_id = start(ssm, [PAUSE, sleep("after")])
    waiting = wait_status(ssm, execution_id, "Waiting")
    assert steps_of(waiting)["hold"]["StepStatus"] == "Waiting"
    assert steps_of(waiting)["after"]["StepStatus"] == "Pending"
    assert (waiting["CurrentStepName"], waiting["CurrentAction"]) == ("hold", "aws:pause")
    listed = ssm.describe_automation_executions(Filters=[{"Key": "ExecutionStatus", "Values": ["Waiting"]}])
    assert execution_id in {e["AutomationExecutionId"] for e in listed["AutomationExecutionMetadataList"]}
    described = ssm.describe_automation_step_executions(AutomationExecutionId=execution_id)["StepExecutions"]
    assert described[0]["StepStatus"] == "Waiting"
    ssm.send_automation_signal(AutomationExecutionId=execution_id, SignalType="Resume", Payload={"StepName": ["hold"]})
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Success"
    assert {step["StepStatus"] for step in execution["StepExecutions"]} == {"Success"}


APPROVE = {
    "name": "approve",
    "action": "aws:approve",
    "inputs": {"Approvers": [f"arn:aws:iam::{CENTRAL}:root"], "MinRequiredApprovals": 2},
}


def test_when_the_required_approvals_are_reached_then_the_automation_resumes(ssm):
    # aws:approve: "Temporarily pauses an automation until designated principals either
    # approve or reject the action. After the required number of approvals is reached, the
    # automation resumes."
    execution_id = start(ssm, [APPROVE, sleep("after")])
    wait_status(ssm, execution_id, "Waiting")
    ssm.send_automation_signal(AutomationExecutionId=execution_id, SignalType="Approve", Payload={"Comment": ["one"]})
    still = ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert still["AutomationExecutionStatus"] == "Waiting", "one approval of the two required"
    ssm.send_automation_signal(AutomationExecutionId=execution_id, SignalType="Approve")
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Success"
    assert steps_of(execution)["approve"]["Outputs"]["ApprovalStatus"] == ["Approved"]


def test_when_an_approval_is_rejected_then_the_step_fails_with_status_rejected(ssm):
    # aws:approve, output ApprovalStatus: "The status can be one of the following: Approved,
    # Rejected, or Waiting." The step fails, and onFailure (default Abort) ends the automation.
    execution_id = start(ssm, [APPROVE, sleep("after")])
    wait_status(ssm, execution_id, "Waiting")
    ssm.send_automation_signal(AutomationExecutionId=execution_id, SignalType="Reject", Payload={"Comment": ["no"]})
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Failed"
    approve = steps_of(execution)["approve"]
    assert approve["StepStatus"] == "Failed"
    assert approve["Outputs"]["ApprovalStatus"] == ["Rejected"]
    assert steps_of(execution)["after"]["StepStatus"] == "Pending"


def test_when_an_approval_document_starts_across_accounts_then_the_start_is_refused(ssm, seed):
    # aws:approve: "This action doesn't support multi-account and Region automations." (The
    # simulator refuses the start; the error is its choice.)
    name = create_document(ssm, [APPROVE])
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(
            DocumentName=name,
            TargetLocations=[{"Accounts": [seed.healthy[0]], "Regions": ["us-east-1"], "ExecutionRoleName": EXECUTION_ROLE}],
        )
    assert error_code(excinfo) == "InvalidAutomationExecutionParametersException"
    assert "aws:approve" in excinfo.value.response["Error"]["Message"]


def test_when_a_waiting_execution_is_stopped_then_it_is_cancelled(ssm):
    # StopAutomationExecution: "Stop an Automation that is currently running."
    execution_id = start(ssm, [PAUSE])
    wait_status(ssm, execution_id, "Waiting")
    ssm.stop_automation_execution(AutomationExecutionId=execution_id)
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert steps_of(execution)["hold"]["StepStatus"] == "Cancelled"


# --- SendAutomationSignal's errors ----------------------------------------------------------------


def test_when_a_signal_is_not_valid_then_send_automation_signal_says_which_error(ssm, endpoint, seed):
    # SendAutomationSignal, errors: AutomationExecutionNotFoundException ("There is no
    # automation execution information for the requested automation execution ID."),
    # AutomationStepNotFoundException ("The specified step name and execution ID don't
    # exist."), InvalidAutomationSignalException ("The signal isn't valid for the current
    # Automation execution.").
    execution_id = start(ssm, [PAUSE])
    wait_status(ssm, execution_id, "Waiting")

    def code(client=ssm, **request):
        with pytest.raises(ClientError) as excinfo:
            client.send_automation_signal(**{"AutomationExecutionId": execution_id, **request})
        return error_code(excinfo)

    assert code(AutomationExecutionId=new_token(), SignalType="Resume", Payload={"StepName": ["hold"]}) == (
        "AutomationExecutionNotFoundException"
    )
    member = member_session(endpoint, seed.healthy[0]).client("ssm", endpoint_url=endpoint)
    assert code(client=member, SignalType="Resume", Payload={"StepName": ["hold"]}) == (
        "AutomationExecutionNotFoundException"
    ), "another account cannot signal the execution"
    assert code(SignalType="Resume", Payload={"StepName": ["nope"]}) == "AutomationStepNotFoundException"
    assert code(SignalType="Approve") == "InvalidAutomationSignalException", "nothing waits for approval"
    assert code(SignalType="StartStep", Payload={"StepName": ["hold"]}) == "InvalidAutomationSignalException"
    ssm.stop_automation_execution(AutomationExecutionId=execution_id)
    wait_final(ssm, execution_id)
    assert code(SignalType="Resume", Payload={"StepName": ["hold"]}) == "InvalidAutomationSignalException"


def test_when_a_child_in_a_member_account_pauses_then_the_member_resumes_it(ssm, endpoint, seed):
    # SendAutomationSignal goes to the execution in the caller's account and Region; aws:pause:
    # "Once paused, the automation status is Waiting." The parent stays InProgress meanwhile.
    account = seed.healthy[0]
    name = create_document(ssm, [PAUSE])
    ssm.modify_document_permission(Name=name, PermissionType="Share", AccountIdsToAdd=[account])
    parent_id = ssm.start_automation_execution(
        DocumentName=name,
        TargetLocations=[{"Accounts": [account], "Regions": ["us-east-1"], "ExecutionRoleName": EXECUTION_ROLE}],
    )["AutomationExecutionId"]

    def child():
        steps = ssm.get_automation_execution(AutomationExecutionId=parent_id)["AutomationExecution"]["StepExecutions"]
        return steps and steps[0]["Outputs"].get("ExecutionId", [None])[0]

    child_id = wait_until("the location's child to start", child)
    member = member_session(endpoint, account).client("ssm", endpoint_url=endpoint)
    wait_status(member, child_id, "Waiting")
    parent = ssm.get_automation_execution(AutomationExecutionId=parent_id)["AutomationExecution"]
    assert parent["AutomationExecutionStatus"] == "InProgress"
    assert parent["StepExecutions"][0]["StepStatus"] == "InProgress"
    with pytest.raises(ClientError) as excinfo:
        ssm.send_automation_signal(AutomationExecutionId=child_id, SignalType="Resume", Payload={"StepName": ["hold"]})
    assert error_code(excinfo) == "AutomationExecutionNotFoundException"
    member.send_automation_signal(AutomationExecutionId=child_id, SignalType="Resume", Payload={"StepName": ["hold"]})
    assert wait_final(ssm, parent_id)["AutomationExecutionStatus"] == "Success"
    assert wait_final(member, child_id)["AutomationExecutionStatus"] == "Success"


# --- properties shared by all actions ----------------------------------------------------------


def test_when_a_step_runs_past_its_timeout_then_it_and_the_automation_time_out(ssm):
    # "Handling timeouts in runbooks": "By default, if an action times out, the automation
    # execution status will be Timed Out."
    execution = run(ssm, [sleep("slow", "PT60S", timeoutSeconds=5), sleep("after")])
    assert execution["AutomationExecutionStatus"] == "TimedOut"
    assert steps_of(execution)["slow"]["StepStatus"] == "TimedOut"
    assert steps_of(execution)["slow"]["TimeoutSeconds"] == 5
    assert execution["ProgressCounters"]["TimedOutSteps"] == 1


def test_when_a_critical_step_fails_with_on_failure_continue_then_the_next_step_runs_and_the_automation_fails(ssm):
    # onFailure: "Indicates whether the workflow should abort, continue, or go to a different
    # step on failure." isCritical: "If a step with this designation fails, then Automation
    # reports the final status of the Automation as Failed."
    execution = run(ssm, [failing("bad", onFailure="Continue"), sleep("next")])
    assert steps_of(execution)["bad"]["StepStatus"] == "Failed"
    assert steps_of(execution)["bad"]["OnFailure"] == "Continue"
    assert steps_of(execution)["next"]["StepStatus"] == "Success"
    assert execution["AutomationExecutionStatus"] == "Failed"


def test_when_a_step_that_is_not_critical_fails_then_the_automation_succeeds(ssm):
    # "Handling timeouts in runbooks": "To prevent a timeout from affecting the automation
    # execution status, specify false for the isCritical property."
    execution = run(ssm, [failing("bad", onFailure="Continue", isCritical=False), sleep("slow", "PT60S", timeoutSeconds=1, isCritical=False, onFailure="Continue"), sleep("next")])
    assert steps_of(execution)["bad"]["StepStatus"] == "Failed"
    assert steps_of(execution)["bad"]["IsCritical"] is False
    assert steps_of(execution)["slow"]["StepStatus"] == "TimedOut"
    assert execution["AutomationExecutionStatus"] == "Success"


def test_when_a_step_fails_with_on_failure_step_then_the_automation_jumps_to_that_step(ssm):
    # onFailure: "Valid values: Abort | Continue | step:step_name".
    execution = run(
        ssm,
        [failing("bad", onFailure="step:recover", isCritical=False), sleep("skipped"), sleep("recover")],
    )
    steps = steps_of(execution)
    assert (steps["bad"]["StepStatus"], steps["skipped"]["StepStatus"], steps["recover"]["StepStatus"]) == (
        "Failed", "Pending", "Success"
    )
    assert execution["AutomationExecutionStatus"] == "Success"


def test_when_steps_set_next_step_and_is_end_then_the_automation_follows_them(ssm):
    # nextStep: "Specifies which step in an Automation workflow to process next after
    # successfully completing a step." isEnd: "This option stops an Automation execution at the
    # end of a specific step."
    execution = run(ssm, [sleep("first", nextStep="third"), sleep("second"), sleep("third", isEnd=True), sleep("fourth")])
    statuses = {name: step["StepStatus"] for name, step in steps_of(execution).items()}
    assert statuses == {"first": "Success", "second": "Pending", "third": "Success", "fourth": "Pending"}
    assert steps_of(execution)["first"]["NextStep"] == "third"
    assert steps_of(execution)["third"]["IsEnd"] is True
    assert "CurrentStepName" not in execution, "skipped steps stay Pending; none is current once it ended"
    assert execution["AutomationExecutionStatus"] == "Success"


@pytest.fixture(scope="module")
def fail_once_instance(endpoint):
    client, instance = launch(central_session(), endpoint, [(BEHAVIOUR_TAG, "fail-once")])
    yield instance
    client.terminate_instances(InstanceIds=[instance])


RUN_COMMAND = {
    "name": "patch",
    "action": "aws:runCommand",
    "inputs": {"DocumentName": "AWS-RunShellScript", "InstanceIds": ["{{ InstanceIds }}"], "Parameters": {"commands": ["date"]}},
}
INSTANCE_IDS = {"InstanceIds": {"type": "StringList"}}


def test_when_a_step_fails_once_and_has_max_attempts_then_a_retry_succeeds(ssm, fail_once_instance):
    # maxAttempts: "The number of times the step should be retried in case of failure. If the
    # value is greater than 1, the step is not considered to have failed until all retry
    # attempts have failed."
    values = {"InstanceIds": [fail_once_instance]}
    retried = run(ssm, [{**RUN_COMMAND, "maxAttempts": 2}], INSTANCE_IDS, values)
    assert retried["AutomationExecutionStatus"] == "Success"
    assert steps_of(retried)["patch"]["MaxAttempts"] == 2
    once = run(ssm, [RUN_COMMAND], INSTANCE_IDS, values)
    assert once["AutomationExecutionStatus"] == "Failed"


# --- aws:runCommand, aws:changeInstanceState, aws:executeAwsApi --------------------------------


def test_when_a_command_runs_on_instances_then_each_invocation_has_its_own_status(ssm, endpoint):
    # aws:runCommand: "Runs the specified commands." ListCommandInvocations: "A command
    # invocation applies to one managed node."
    client, healthy = launch(central_session(), endpoint)
    _, failing_instance = launch(central_session(), endpoint, [(BEHAVIOUR_TAG, "fail")])
    try:
        execution = run(ssm, [RUN_COMMAND], INSTANCE_IDS, {"InstanceIds": [healthy, failing_instance]})
    finally:
        client.terminate_instances(InstanceIds=[healthy, failing_instance])
    step = steps_of(execution)["patch"]
    assert step["Outputs"][f"{healthy}.Status"] == ["Success"]
    assert step["Outputs"][f"{failing_instance}.Status"] == ["Failed"]
    assert step["Outputs"]["Status"] == ["Failed"] and len(step["Outputs"]["CommandId"][0]) == 36
    assert failing_instance in step["FailureMessage"] and healthy not in step["FailureMessage"]
    assert json.loads(step["Inputs"]["InstanceIds"]) == [healthy, failing_instance]
    assert execution["AutomationExecutionStatus"] == "Failed"


def test_when_steps_change_instance_state_then_the_member_account_sees_its_instance_stopped_and_started(endpoint, seed):
    # aws:changeInstanceState: "Changes or asserts the state of the instance." aws:executeAwsApi:
    # "Calls and runs AWS API operations."
    session = member_session(endpoint, seed.healthy[0])
    member = session.client("ssm", endpoint_url=endpoint)
    ec2, instance = launch(session, endpoint)
    parameters = {"InstanceId": {"type": "String"}}
    values = {"InstanceId": [instance]}
    try:
        stop = {"name": "stop", "action": "aws:changeInstanceState",
                "inputs": {"InstanceIds": ["{{ InstanceId }}"], "DesiredState": "stopped"}}
        assert run(member, [stop], parameters, values)["AutomationExecutionStatus"] == "Success"
        assert state_of(ec2, instance) == "stopped"
        start_api = {"name": "start", "action": "aws:executeAwsApi",
                     "inputs": {"Service": "ec2", "Api": "StartInstances", "InstanceIds": ["{{ InstanceId }}"]}}
        assert run(member, [start_api], parameters, values)["AutomationExecutionStatus"] == "Success"
        assert state_of(ec2, instance) == "running"
        missing = run(member, [stop], parameters, {"InstanceId": ["i-0123456789abcdef0"]})
        assert missing["AutomationExecutionStatus"] == "Failed"
        assert "InvalidInstanceID" in missing["StepExecutions"][0]["FailureMessage"]
    finally:
        ec2.terminate_instances(InstanceIds=[instance])
