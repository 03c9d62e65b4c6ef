"""The simulator driven with boto3: the calls of the AWS guide "Running automations in multiple
AWS Regions and accounts" (tag, resource-group and OU targets, then the monitoring calls) against
the seeded organization, rate control across locations, idempotency, errors and stopping (previews, throttling and the
simulator's call counts are in test_previews.py)."""

import itertools

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ADMINISTRATION_ROLE_ARN,
    BEHAVIOUR_TAG,
    CENTRAL,
    DOCUMENT,
    EXECUTION_ROLE,
    PARAMETERS,
    PATCH_TARGETS,
    UNABLE_TO_ASSUME,
    WEB_SERVERS,
    accounts_under,
    control,
    error_code,
    member_session,
    new_token,
    steps_by_location,
    wait_final,
    wait_until,
)




def start_multi_location(ssm, targets, locations, **extra):
    request = {
        "DocumentName": DOCUMENT,
        "Parameters": PARAMETERS,
        "TargetParameterName": "InstanceId",
        "Targets": targets,
        "TargetLocations": locations,
        **extra,
    }
    execution_id = ssm.start_automation_execution(**request)["AutomationExecutionId"]
    return execution_id, wait_final(ssm, execution_id)


def child_id(step):
    ids = step["Outputs"]["ExecutionId"]
    assert len(ids) == 1 and len(ids[0]) == 36, step["Outputs"]
    return ids[0]


# --- Example 1: tag targets in several accounts and Regions ----------------------------------


@pytest.fixture(scope="module")
def tag_run(ssm, seed):
    """A healthy account, the account with the failing instance and the account without the
    execution role, in the failing instance's Region and a quiet one; every location allowed
    to run and to fail."""
    accounts = [seed.healthy[0], seed.failing_account, seed.without_role[0]]
    regions = [seed.failing_region, seed.quiet_regions[0]]
    execution_id, execution = start_multi_location(
        ssm,
        PATCH_TARGETS,
        [
            {
                "Accounts": accounts,
                "Regions": regions,
                "ExecutionRoleName": EXECUTION_ROLE,
                "TargetLocationMaxConcurrency": "100%",
                "TargetLocationMaxErrors": "100%",
            }
        ],
    )
    return {
        "id": execution_id,
        "execution": execution,
        "steps": steps_by_location(execution),
        "locations": list(itertools.product(accounts, regions)),
    }


def test_when_started_across_accounts_and_regions_then_the_parent_has_one_execute_automation_step_per_location(tag_run):
    steps = tag_run["steps"]
    assert sorted(steps) == sorted(tag_run["locations"])
    assert {step["Action"] for step in steps.values()} == {"aws:executeAutomation"}
    assert tag_run["execution"]["ProgressCounters"]["TotalSteps"] == len(tag_run["locations"])


def test_when_an_onboarded_account_has_no_failing_instance_then_its_location_step_succeeds_with_a_child_execution_id(tag_run, seed):
    expected_success = [loc for loc in tag_run["locations"] if seed.expected_status(*loc) == "Success"]
    assert len(expected_success) == 3, expected_success
    children = set()
    for location in expected_success:
        step = tag_run["steps"][location]
        assert step["StepStatus"] == "Success", (location, step)
        children.add(child_id(step))
    assert len(children) == len(expected_success), "each location has a child of its own"
    assert tag_run["execution"]["ProgressCounters"]["SuccessSteps"] == len(expected_success)


def test_when_the_account_has_no_execution_role_then_its_location_steps_fail_with_unable_to_assume_role(tag_run, seed):
    account = seed.without_role[0]
    for location in tag_run["locations"]:
        if location[0] != account:
            continue
        step = tag_run["steps"][location]
        assert step["StepStatus"] == "Failed", step
        assert UNABLE_TO_ASSUME in step["FailureMessage"], step["FailureMessage"]
        assert f"arn:aws:iam::{account}:role/{EXECUTION_ROLE}" in step["FailureMessage"]
        assert "ExecutionId" not in step["Outputs"], "no child can start without the role"


def test_when_a_location_has_a_failing_instance_then_its_step_fails_and_the_parent_fails(tag_run, seed):
    failing = tag_run["steps"][(seed.failing_account, seed.failing_region)]
    assert failing["StepStatus"] == "Failed", failing
    assert failing["FailureMessage"]
    same_account_elsewhere = tag_run["steps"][(seed.failing_account, seed.quiet_regions[0])]
    assert same_account_elsewhere["StepStatus"] == "Success"
    assert tag_run["execution"]["AutomationExecutionStatus"] == "Failed"
    assert tag_run["execution"]["ProgressCounters"]["FailedSteps"] == 3


def test_when_the_target_account_asks_for_its_child_then_it_is_found_with_the_parent_id(tag_run, seed, member_ssm):
    account, region = seed.healthy[0], seed.quiet_regions[0]
    child = child_id(tag_run["steps"][(account, region)])
    execution = member_ssm(account, region).get_automation_execution(AutomationExecutionId=child)["AutomationExecution"]
    assert execution["AutomationExecutionId"] == child
    assert execution["AutomationExecutionStatus"] == "Success"
    assert execution["ParentAutomationExecutionId"] == tag_run["id"]
    assert sorted(execution["ResolvedTargets"]["ParameterValues"]) == sorted(seed.instances(account, region))


def test_when_the_central_account_asks_for_a_child_then_it_is_not_found(tag_run, seed, ssm, member_ssm):
    account, region = seed.healthy[0], seed.quiet_regions[0]
    child = child_id(tag_run["steps"][(account, region)])
    with pytest.raises(ClientError) as central:
        ssm.get_automation_execution(AutomationExecutionId=child)
    assert error_code(central) == "AutomationExecutionNotFoundException"
    other_region = seed.failing_region
    with pytest.raises(ClientError) as elsewhere:
        member_ssm(account, other_region).get_automation_execution(AutomationExecutionId=child)
    assert error_code(elsewhere) == "AutomationExecutionNotFoundException", "a child lives in one Region"


def test_when_the_target_account_filters_by_parent_execution_id_then_the_per_target_executions_are_listed(tag_run, seed, member_ssm):
    account, region = seed.failing_account, seed.failing_region
    child = child_id(tag_run["steps"][(account, region)])
    listed = member_ssm(account, region).describe_automation_executions(
        Filters=[{"Key": "ParentExecutionId", "Values": [child]}]
    )["AutomationExecutionMetadataList"]
    by_target = {item["Target"]: item for item in listed}
    assert sorted(by_target) == sorted(seed.instances(account, region))
    assert all(item["ParentAutomationExecutionId"] == child for item in listed)
    for instance, item in by_target.items():
        expected = "Failed" if instance == seed.failing_instance else "Success"
        assert item["AutomationExecutionStatus"] == expected, (instance, item)


def test_when_the_target_account_filters_by_the_central_parent_id_then_its_location_child_is_listed(tag_run, seed, member_ssm):
    account, region = seed.healthy[0], seed.quiet_regions[0]
    listed = member_ssm(account, region).describe_automation_executions(
        Filters=[{"Key": "ParentExecutionId", "Values": [tag_run["id"]]}]
    )["AutomationExecutionMetadataList"]
    assert [item["AutomationExecutionId"] for item in listed] == [child_id(tag_run["steps"][(account, region)])]


def test_when_describing_executions_by_execution_id_then_only_the_cross_account_parent_is_listed(tag_run, ssm):
    listed = ssm.describe_automation_executions(
        Filters=[{"Key": "ExecutionId", "Values": [tag_run["id"]]}]
    )["AutomationExecutionMetadataList"]
    assert len(listed) == 1
    parent = listed[0]
    assert parent["AutomationExecutionId"] == tag_run["id"]
    assert parent["AutomationType"] == "CrossAccount"
    assert parent["AutomationExecutionStatus"] == "Failed"
    assert parent["DocumentName"] == DOCUMENT
    assert parent["ExecutionEndTime"] >= parent["ExecutionStartTime"]


def test_when_filtering_by_execution_status_then_the_parent_is_listed_only_under_its_status(tag_run, ssm):
    def listed(status):
        pages = ssm.get_paginator("describe_automation_executions").paginate(
            Filters=[
                {"Key": "ExecutionStatus", "Values": [status]},
                {"Key": "DocumentNamePrefix", "Values": [DOCUMENT[:10]]},
            ]
        )
        return {item["AutomationExecutionId"] for page in pages for item in page["AutomationExecutionMetadataList"]}

    assert tag_run["id"] in listed("Failed")
    assert tag_run["id"] not in listed("Success")


def test_when_describing_step_executions_filtered_by_status_then_only_those_locations_are_listed(tag_run, seed, ssm):
    every = ssm.describe_automation_step_executions(AutomationExecutionId=tag_run["id"])["StepExecutions"]
    assert len(every) == len(tag_run["locations"])
    failed = ssm.describe_automation_step_executions(
        AutomationExecutionId=tag_run["id"],
        Filters=[{"Key": "StepExecutionStatus", "Values": ["Failed"]}],
    )["StepExecutions"]
    expected = {loc for loc in tag_run["locations"] if seed.expected_status(*loc) == "Failed"}
    assert {(s["TargetLocation"]["Accounts"][0], s["TargetLocation"]["Regions"][0]) for s in failed} == expected


def test_when_tagged_instances_are_stopped_then_a_run_targeting_the_tag_still_resolves_them(ssm, seed, endpoint, member_ssm):
    """Seed 000's command starts the stopped instances tagged Name=Non-Prod with
    AWS-StartEC2Instance: targets by tag resolve stopped instances too."""
    account, region = seed.healthy[0], seed.quiet_regions[0]
    instance = seed.instances(account, region)[0]
    name = f"Non-Prod-{new_token()[:8]}"
    ec2 = member_session(endpoint, account, region).client("ec2", endpoint_url=endpoint)
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "Name", "Value": name}])
    ec2.stop_instances(InstanceIds=[instance])
    try:
        execution_id = ssm.start_automation_execution(
            DocumentName="AWS-StartEC2Instance",
            Parameters={"AutomationAssumeRole": [ADMINISTRATION_ROLE_ARN]},
            TargetParameterName="InstanceId",
            Targets=[{"Key": "tag:Name", "Values": [name]}],
            TargetLocations=[{"Accounts": [account], "Regions": [region], "ExecutionRoleName": EXECUTION_ROLE}],
        )["AutomationExecutionId"]
        execution = wait_final(ssm, execution_id)
        step = steps_by_location(execution)[(account, region)]
        child = member_ssm(account, region).get_automation_execution(AutomationExecutionId=child_id(step))["AutomationExecution"]
        assert child["ResolvedTargets"]["ParameterValues"] == [instance]
    finally:
        ec2.start_instances(InstanceIds=[instance])


# --- Example 2: the WebServers resource group -------------------------------------------------


@pytest.fixture(scope="module")
def group_run(ssm, seed):
    accounts = [seed.failing_account, seed.healthy[1]]
    regions = [seed.failing_region, seed.quiet_regions[-1]]
    execution_id, execution = start_multi_location(
        ssm,
        WEB_SERVERS,
        [
            {
                "Accounts": accounts,
                "Regions": regions,
                "ExecutionRoleName": EXECUTION_ROLE,
                "TargetLocationMaxConcurrency": "4",
                "TargetLocationMaxErrors": "4",
            }
        ],
    )
    return {"id": execution_id, "execution": execution, "steps": steps_by_location(execution),
            "locations": list(itertools.product(accounts, regions))}


def test_when_targeting_a_resource_group_then_only_the_location_whose_group_holds_the_failing_instance_fails(group_run, seed):
    statuses = {loc: step["StepStatus"] for loc, step in group_run["steps"].items()}
    assert statuses == {loc: seed.expected_status(*loc, targets="group") for loc in group_run["locations"]}
    assert statuses[(seed.failing_account, seed.failing_region)] == "Failed"
    assert group_run["execution"]["AutomationExecutionStatus"] == "Failed"


def test_when_targeting_a_resource_group_then_each_child_resolves_only_the_group_members(group_run, seed, member_ssm):
    for (account, region), step in group_run["steps"].items():
        child = member_ssm(account, region).get_automation_execution(AutomationExecutionId=child_id(step))["AutomationExecution"]
        assert child["Targets"] == WEB_SERVERS
        assert child["ResolvedTargets"]["ParameterValues"] == seed.instances(account, region)[:1], (account, region)


# --- Example 3: an OU and its child OUs ------------------------------------------------------


@pytest.fixture(scope="module")
def ou_run(ssm, seed, endpoint):
    ou = seed.ous["Workloads"]
    regions = seed.quiet_regions
    expected_accounts = accounts_under(endpoint, ou, recursive=True)
    execution_id, execution = start_multi_location(
        ssm,
        WEB_SERVERS,
        [
            {
                "Accounts": [ou],
                "IncludeChildOrganizationUnits": True,
                "Regions": regions,
                "ExecutionRoleName": EXECUTION_ROLE,
                "TargetLocationMaxConcurrency": "100%",
            }
        ],
    )
    return {"id": execution_id, "execution": execution, "steps": steps_by_location(execution),
            "locations": list(itertools.product(expected_accounts, regions)), "accounts": expected_accounts}


def test_when_targeting_an_ou_with_child_ous_included_then_every_account_below_it_runs_in_every_region(ou_run, seed):
    assert len(ou_run["accounts"]) >= 2, "Workloads holds accounts only in its child OUs"
    assert not set(ou_run["accounts"]) & {CENTRAL}
    assert {seed.account(a)["ou"] for a in ou_run["accounts"]} == {"Production", "Development"}
    assert sorted(ou_run["steps"]) == sorted(ou_run["locations"])


def test_when_every_ou_account_is_onboarded_then_the_ou_run_succeeds_with_a_child_per_location(ou_run, seed):
    for location, step in ou_run["steps"].items():
        assert seed.expected_status(*location, targets="group") == "Success"
        assert step["StepStatus"] == "Success", (location, step)
        child_id(step)
    assert ou_run["execution"]["AutomationExecutionStatus"] == "Success"


# --- rate control across locations ------------------------------------------------------------


@pytest.fixture(scope="module")
def threshold_run(ssm, seed):
    accounts = [seed.without_role[0], seed.healthy[0], seed.healthy[1]]
    region = seed.quiet_regions[0]
    execution_id, execution = start_multi_location(
        ssm,
        PATCH_TARGETS,
        [
            {
                "Accounts": accounts,
                "Regions": [region],
                "TargetLocationMaxConcurrency": "1",
                "TargetLocationMaxErrors": "0",
            }
        ],
    )
    return {"id": execution_id, "execution": execution, "steps": steps_by_location(execution),
            "accounts": accounts, "region": region}


def test_when_an_early_location_fails_with_no_errors_allowed_then_later_locations_are_cancelled_and_the_parent_fails(threshold_run):
    first, *later = threshold_run["accounts"]
    region = threshold_run["region"]
    assert threshold_run["steps"][(first, region)]["StepStatus"] == "Failed"
    assert UNABLE_TO_ASSUME in threshold_run["steps"][(first, region)]["FailureMessage"]
    for account in later:
        assert threshold_run["steps"][(account, region)]["StepStatus"] == "Cancelled", account
    assert threshold_run["execution"]["AutomationExecutionStatus"] == "Failed"
    assert threshold_run["execution"]["ProgressCounters"]["CancelledSteps"] == len(later)


def test_when_a_location_is_cancelled_by_the_error_threshold_then_no_child_runs_in_its_account(threshold_run, member_ssm):
    region = threshold_run["region"]
    for account in threshold_run["accounts"][1:]:
        step = threshold_run["steps"][(account, region)]
        assert "ExecutionId" not in step["Outputs"], step
        listed = member_ssm(account, region).describe_automation_executions(
            Filters=[{"Key": "ParentExecutionId", "Values": [threshold_run["id"]]}]
        )["AutomationExecutionMetadataList"]
        assert listed == [], f"{account} ran a child although its location was cancelled"


# --- ClientToken -------------------------------------------------------------------------------


def local_request(token, operation="Scan"):
    return {
        "DocumentName": DOCUMENT,
        "Parameters": {"Operation": [operation], "InstanceId": ["i-0123456789abcdef0"]},
        "ClientToken": token,
    }


def test_when_the_same_client_token_comes_with_the_same_request_then_the_same_execution_is_returned(ssm):
    token = new_token()
    first = ssm.start_automation_execution(**local_request(token))["AutomationExecutionId"]
    again = ssm.start_automation_execution(**local_request(token))["AutomationExecutionId"]
    assert again == first
    listed = ssm.describe_automation_executions(Filters=[{"Key": "ExecutionId", "Values": [first]}])
    assert len(listed["AutomationExecutionMetadataList"]) == 1


def test_when_the_same_client_token_comes_with_a_different_request_then_idempotent_parameter_mismatch(ssm):
    token = new_token()
    ssm.start_automation_execution(**local_request(token))
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(**local_request(token, operation="Install"))
    assert error_code(excinfo) == "IdempotentParameterMismatch"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_when_the_client_token_differs_only_in_case_then_the_same_execution_is_returned(ssm):
    # SSM documents ClientToken as "case insensitive".
    token = new_token()
    first = ssm.start_automation_execution(**local_request(token.lower()))["AutomationExecutionId"]
    again = ssm.start_automation_execution(**local_request(token.upper()))["AutomationExecutionId"]
    assert again == first


def test_when_the_client_token_is_not_a_uuid_then_validation_exception(ssm):
    # SSM's IdempotencyToken pattern: [a-fA-F0-9]{8}-[a-fA-F0-9]{4}-...-[a-fA-F0-9]{12}; botocore
    # checks only the length (36), the service checks the pattern.
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(**local_request("z" + new_token()[1:]))
    assert error_code(excinfo) == "ValidationException"


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    ["get_automation_execution", "describe_automation_step_executions", "stop_automation_execution"],
)
def test_when_the_execution_id_is_unknown_then_automation_execution_not_found(ssm, call):
    with pytest.raises(ClientError) as excinfo:
        getattr(ssm, call)(AutomationExecutionId=new_token())
    assert error_code(excinfo) == "AutomationExecutionNotFoundException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "field",
    [
        {"MaxConcurrency": "0"},
        {"MaxErrors": "-1"},
        {"TargetLocations": [{"Accounts": ["111122223333"], "TargetLocationMaxConcurrency": "0"}]},
        {"TargetLocations": [{"Accounts": ["111122223333"], "TargetLocationMaxErrors": "101%"}]},
    ],
    ids=["MaxConcurrency=0", "MaxErrors=-1", "TargetLocationMaxConcurrency=0", "TargetLocationMaxErrors=101%"],
)
def test_when_a_rate_control_value_is_invalid_then_validation_exception(ssm, field):
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(
            DocumentName=DOCUMENT, TargetParameterName="InstanceId", Targets=PATCH_TARGETS, **field
        )
    assert error_code(excinfo) == "ValidationException"


def test_when_a_parameter_value_is_not_allowed_then_invalid_parameters_with_ssms_wording(ssm):
    """SSM's wording, as CloudTrail records it: `Parameter "Action" has value "install" not
    found in [Install, Uninstall].`"""
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(
            DocumentName=DOCUMENT,
            Parameters={"Operation": ["scan"], "InstanceId": ["i-0123456789abcdef0"]},
        )
    assert error_code(excinfo) == "InvalidAutomationExecutionParametersException"
    assert excinfo.value.response["Error"]["Message"] == (
        'Parameter "Operation" has value "scan" not found in [Scan, Install].'
    )


def test_when_a_required_parameter_is_missing_then_invalid_parameters_naming_it(ssm):
    """SSM's wording, as CloudTrail records it: `Missing required parameter: InstanceIds in
    user inputs.`"""
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(DocumentName="AWS-RestartEC2Instance", Parameters={})
    assert error_code(excinfo) == "InvalidAutomationExecutionParametersException"
    assert excinfo.value.response["Error"]["Message"] == (
        "Missing required parameter: InstanceId in user inputs."
    )


def test_when_the_document_does_not_exist_then_automation_definition_not_found(ssm):
    name = f"Fabric-Missing-{new_token()[:8]}"
    with pytest.raises(ClientError) as excinfo:
        ssm.start_automation_execution(DocumentName=name, Parameters={"Operation": ["Scan"]})
    assert error_code(excinfo) == "AutomationDefinitionNotFoundException"
    listed = ssm.describe_automation_executions(Filters=[{"Key": "DocumentNamePrefix", "Values": [name]}])
    assert listed["AutomationExecutionMetadataList"] == [], "nothing was started"


# --- StopAutomationExecution -------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped_run(ssm, seed, endpoint, member_ssm):
    """A run whose only target sleeps 3 s, stopped while that target runs."""
    account, region = seed.healthy[1], seed.quiet_regions[-1]
    instance = seed.instances(account, region)[1]
    marker = new_token()
    ec2 = member_session(endpoint, account, region).client("ec2", endpoint_url=endpoint)
    tags = [{"Key": BEHAVIOUR_TAG, "Value": "sleep=3000"}, {"Key": "FabricStopTest", "Value": marker}]
    ec2.create_tags(Resources=[instance], Tags=tags)
    try:
        execution_id = ssm.start_automation_execution(
            DocumentName=DOCUMENT,
            Parameters=PARAMETERS,
            TargetParameterName="InstanceId",
            Targets=[{"Key": "tag:FabricStopTest", "Values": [marker]}],
            TargetLocations=[{"Accounts": [account], "Regions": [region], "ExecutionRoleName": EXECUTION_ROLE}],
        )["AutomationExecutionId"]
        member = member_ssm(account, region)

        def target_running():
            step = ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]["StepExecutions"]
            if not step or "ExecutionId" not in step[0]["Outputs"]:
                return None
            listed = member.describe_automation_executions(
                Filters=[{"Key": "ParentExecutionId", "Values": [step[0]["Outputs"]["ExecutionId"][0]]}]
            )["AutomationExecutionMetadataList"]
            return listed if listed and listed[0]["AutomationExecutionStatus"] == "InProgress" else None

        running = wait_until("the sleeping target to be running", target_running)
        ssm.stop_automation_execution(AutomationExecutionId=execution_id)
        right_after = ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
        parent = wait_final(ssm, execution_id)
        step = parent["StepExecutions"][0]
        child = member.get_automation_execution(AutomationExecutionId=child_id(step))["AutomationExecution"]
        target = wait_final(member, running[0]["AutomationExecutionId"])
    finally:
        ec2.delete_tags(Resources=[instance], Tags=[{"Key": t["Key"]} for t in tags])
    return {"right_after": right_after, "parent": parent, "step": step, "child": child, "target": target,
            "instance": instance}


def test_when_a_running_parent_is_stopped_then_it_ends_cancelled(stopped_run):
    assert stopped_run["right_after"]["AutomationExecutionStatus"] in {"Cancelling", "Cancelled"}
    assert stopped_run["parent"]["AutomationExecutionStatus"] == "Cancelled"


def test_when_a_running_parent_is_stopped_then_its_location_step_and_child_end_cancelled(stopped_run):
    assert stopped_run["step"]["StepStatus"] == "Cancelled"
    assert stopped_run["child"]["AutomationExecutionStatus"] == "Cancelled"


def test_when_a_running_parent_is_stopped_then_the_running_per_target_execution_ends_cancelled(stopped_run):
    # It was InProgress when the stop came: SSM cancels it (Cancelling -> Cancelled); it must
    # not finish its step and report Success.
    assert stopped_run["target"]["Target"] == stopped_run["instance"]
    assert stopped_run["target"]["AutomationExecutionStatus"] == "Cancelled"
