"""The simulator driven with boto3: execution previews (`StartExecutionPreview`,
`GetExecutionPreview`), throttling, and the simulator's call counts."""

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    DOCUMENT,
    PARAMETERS,
    PATCH_TARGETS,
    accounts_under,
    central_session,
    control,
    error_code,
    new_token,
    wait_until,
)


# --- StartExecutionPreview / GetExecutionPreview -----------------------------------------------


def preview(ssm, locations, targets=PATCH_TARGETS):
    started = ssm.start_execution_preview(
        DocumentName=DOCUMENT,
        ExecutionInputs={
            "Automation": {
                "Parameters": PARAMETERS,
                "TargetParameterName": "InstanceId",
                "Targets": targets,
                "TargetLocations": locations,
            }
        },
    )
    answer = wait_until(
        "the preview to end",
        lambda: (lambda got: got if got["Status"] in {"Success", "Failed"} else None)(
            ssm.get_execution_preview(ExecutionPreviewId=started["ExecutionPreviewId"])
        ),
    )
    assert answer["ExecutionPreviewId"] == started["ExecutionPreviewId"]
    assert answer["Status"] == "Success", answer
    return answer["ExecutionPreview"]["Automation"]


def test_when_previewing_explicit_accounts_and_regions_then_total_accounts_and_regions_match_the_request(ssm, seed):
    accounts = seed.healthy[:3]
    regions = seed.regions
    automation = preview(ssm, [{"Accounts": accounts, "Regions": regions}])
    assert automation["TotalAccounts"] == len(accounts)
    assert sorted(automation["Regions"]) == sorted(regions)
    tagged = sum(len(seed.instances(a, r)) for a in accounts for r in regions)
    assert automation["TargetPreviews"] == [{"Count": tagged, "TargetType": "AWS::EC2::Instance"}]


def test_when_previewing_an_ou_with_child_ous_then_total_accounts_counts_the_accounts_below_it(ssm, seed, endpoint):
    ou = seed.ous["Workloads"]
    regions = seed.quiet_regions
    below = accounts_under(endpoint, ou, recursive=True)
    automation = preview(ssm, [{"Accounts": [ou], "IncludeChildOrganizationUnits": True, "Regions": regions}])
    assert automation["TotalAccounts"] == len(below) >= 2
    assert sorted(automation["Regions"]) == sorted(regions)


def test_when_previewing_an_ou_without_child_ous_then_only_its_direct_accounts_count(ssm, seed, endpoint):
    leaf = seed.ous["Production"]
    direct = accounts_under(endpoint, leaf, recursive=False)
    assert len(direct) >= 1
    automation = preview(ssm, [{"Accounts": [leaf, seed.ous["Workloads"]], "Regions": [seed.regions[0]]}])
    assert automation["TotalAccounts"] == len(direct), "Workloads has no account of its own"
    assert automation["Regions"] == [seed.regions[0]]


def test_when_the_preview_id_is_unknown_then_resource_not_found(ssm):
    with pytest.raises(ClientError) as excinfo:
        ssm.get_execution_preview(ExecutionPreviewId=new_token())
    assert error_code(excinfo) == "ResourceNotFoundException"


# --- throttling and call counts ----------------------------------------------------------------


def test_when_every_call_is_throttled_then_boto3_gets_throttling_exception(endpoint):
    client = central_session().client(
        "ssm", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1, "mode": "standard"})
    )
    before = control(endpoint, "stats")["throttled"].get("DescribeAutomationExecutions", 0)
    control(endpoint, "faults", {"throttle_rate": 1.0})
    try:
        with pytest.raises(ClientError) as excinfo:
            client.describe_automation_executions()
    finally:
        restored = control(endpoint, "faults", {})
    assert restored["throttle_rate"] == 0.0
    assert error_code(excinfo) == "ThrottlingException"
    metadata = excinfo.value.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 400
    # botocore's max_attempts counts retries: one retry, both throttled.
    after = control(endpoint, "stats")["throttled"].get("DescribeAutomationExecutions", 0)
    assert after - before == 1 + metadata["RetryAttempts"] == 2
    assert "AutomationExecutionMetadataList" in client.describe_automation_executions(MaxResults=1)


def test_when_automation_calls_are_made_then_stats_count_them_by_operation(endpoint, ssm):
    before = control(endpoint, "stats")["calls"]
    for _ in range(3):
        with pytest.raises(ClientError):
            ssm.get_automation_execution(AutomationExecutionId=new_token())
    ssm.describe_automation_executions(MaxResults=1)
    after = control(endpoint, "stats")["calls"]
    assert after.get("GetAutomationExecution", 0) - before.get("GetAutomationExecution", 0) == 3
    assert after.get("DescribeAutomationExecutions", 0) - before.get("DescribeAutomationExecutions", 0) == 1
    assert after.get("StartAutomationExecution", 0) == before.get("StartAutomationExecution", 0)
