"""The simulator driven with the AWS CLI v1: the commands of the AWS guide "Running automations
in multiple AWS Regions and accounts" as it prints them (the generic template and Examples 1-3,
with the `--target-locations` shorthand and JSON syntaxes), adapted to the seeded organization,
then its monitoring commands; rate control, idempotency, errors, stopping, previews and
throttling as the CLI sees them."""

import json

import pytest

from conftest import (
    ADMINISTRATION_ROLE_ARN,
    BEHAVIOUR_TAG,
    DOCUMENT,
    EXECUTION_ROLE,
    UNABLE_TO_ASSUME,
    accounts_under,
    control,
    new_token,
    steps_by_location,
    wait_until,
)


def start(cli, *args, **kwargs):
    return cli.json("ssm", "start-automation-execution", *args, **kwargs)["AutomationExecutionId"]


def scan(cli, targets, locations):
    """The document's scan of `targets` in `locations` (as the CLI takes them), run to its end."""
    return cli.wait_final(
        start(
            cli,
            "--document-name", DOCUMENT,
            "--parameters", f"AutomationAssumeRole={ADMINISTRATION_ROLE_ARN},Operation=Scan",
            "--target-parameter-name", "InstanceId",
            "--targets", targets,
            "--target-locations", locations,
        )
    )


def statuses(execution):
    return {location: step["StepStatus"] for location, step in steps_by_location(execution).items()}


def child_of(execution, location):
    ids = steps_by_location(execution)[location]["Outputs"]["ExecutionId"]
    assert len(ids) == 1 and len(ids[0]) == 36, ids
    return ids[0]


def assert_cli_error(result, code):
    assert result.returncode != 0, f"aws {' '.join(result.args)} succeeded: {result.stdout}"
    assert f"({code})" in result.stderr, result.stderr


# --- the guide's Example 1, as printed: tag targets, shorthand, default rate control ----------


@pytest.fixture(scope="module")
def example_1(cli, seed):
    """`aws ssm start-automation-execution --document-name AWS-RestartEC2Instance ...
    --target-locations Accounts=A,B,Regions=R1,R2,ExecutionRoleName=...`, A onboarded and
    healthy, B without the execution role. Nothing is said about rate control, so SSM's defaults
    apply: one location at a time (TargetLocationMaxConcurrency 1), stop at the first error
    (TargetLocationMaxErrors 0)."""
    healthy, without_role = seed.healthy[0], seed.without_role[0]
    regions = [seed.regions[0], seed.regions[1]]
    execution_id = start(
        cli,
        "--document-name", "AWS-RestartEC2Instance",
        "--parameters", f"AutomationAssumeRole={ADMINISTRATION_ROLE_ARN}",
        "--target-parameter-name", "InstanceId",
        "--targets", "Key=tag:Patch,Values=true",
        "--target-locations",
        f"Accounts={healthy},{without_role},Regions={regions[0]},{regions[1]},ExecutionRoleName={EXECUTION_ROLE}",
    )
    execution = cli.wait_final(execution_id)
    return {"id": execution_id, "execution": execution, "healthy": healthy, "without_role": without_role,
            "regions": regions}


def test_when_the_guide_example_1_runs_then_locations_run_one_at_a_time_and_stop_at_the_first_error(example_1):
    healthy, without_role = example_1["healthy"], example_1["without_role"]
    first, second = example_1["regions"]
    assert statuses(example_1["execution"]) == {
        (healthy, first): "Success",
        (healthy, second): "Success",
        (without_role, first): "Failed",
        (without_role, second): "Cancelled",
    }
    assert example_1["execution"]["AutomationExecutionStatus"] == "Failed"
    assert example_1["execution"]["TargetLocations"][0]["Accounts"] == [healthy, without_role]
    assert example_1["execution"]["TargetLocations"][0]["ExecutionRoleName"] == EXECUTION_ROLE


def test_when_the_account_has_no_execution_role_then_the_cli_shows_unable_to_assume_role(example_1):
    step = steps_by_location(example_1["execution"])[(example_1["without_role"], example_1["regions"][0])]
    assert UNABLE_TO_ASSUME in step["FailureMessage"]
    assert f"arn:aws:iam::{example_1['without_role']}:role/{EXECUTION_ROLE}" in step["FailureMessage"]


def test_when_describe_automation_executions_filters_by_execution_id_then_the_cli_lists_only_that_parent(cli, example_1):
    listed = cli.json(
        "ssm", "describe-automation-executions", "--filters", f"Key=ExecutionId,Values={example_1['id']}"
    )["AutomationExecutionMetadataList"]
    assert [item["AutomationExecutionId"] for item in listed] == [example_1["id"]]
    assert listed[0]["AutomationType"] == "CrossAccount"
    assert listed[0]["DocumentName"] == "AWS-RestartEC2Instance"
    assert listed[0]["AutomationExecutionStatus"] == "Failed"


def test_when_describe_automation_step_executions_runs_then_successful_steps_output_child_ids(cli, example_1):
    steps = cli.json(
        "ssm", "describe-automation-step-executions", "--automation-execution-id", example_1["id"]
    )["StepExecutions"]
    assert len(steps) == 4
    succeeded = cli.json(
        "ssm", "describe-automation-step-executions", "--automation-execution-id", example_1["id"],
        "--filters", "Key=StepExecutionStatus,Values=Success",
    )["StepExecutions"]
    assert {step["TargetLocation"]["Accounts"][0] for step in succeeded} == {example_1["healthy"]}
    assert sorted(step["TargetLocation"]["Regions"][0] for step in succeeded) == sorted(example_1["regions"])
    for step in succeeded:
        assert step["Action"] == "aws:executeAutomation"
        assert len(step["Outputs"]["ExecutionId"][0]) == 36


def test_when_the_member_account_assumes_its_role_then_the_cli_gets_its_child(cli, example_1, cli_member_credentials):
    account, region = example_1["healthy"], example_1["regions"][1]
    child = child_of(example_1["execution"], (account, region))
    credentials = cli_member_credentials(account)
    identity = cli.json("sts", "get-caller-identity", credentials=credentials)
    assert identity["Account"] == account
    execution = cli.json(
        "ssm", "get-automation-execution", "--automation-execution-id", child, credentials=credentials, region=region
    )["AutomationExecution"]
    assert execution["AutomationExecutionStatus"] == "Success"
    assert execution["ParentAutomationExecutionId"] == example_1["id"]


def test_when_the_central_account_asks_for_a_child_then_the_cli_exits_non_zero_with_not_found(cli, example_1):
    child = child_of(example_1["execution"], (example_1["healthy"], example_1["regions"][1]))
    result = cli.run(
        "ssm", "get-automation-execution", "--automation-execution-id", child, region=example_1["regions"][1]
    )
    assert_cli_error(result, "AutomationExecutionNotFoundException")


def test_when_the_member_filters_by_parent_execution_id_then_the_cli_lists_the_per_target_executions(cli, seed, example_1, cli_member_credentials):
    account, region = example_1["healthy"], example_1["regions"][0]
    child = child_of(example_1["execution"], (account, region))
    listed = cli.json(
        "ssm", "describe-automation-executions", "--filters", f"Key=ParentExecutionId,Values={child}",
        credentials=cli_member_credentials(account), region=region,
    )["AutomationExecutionMetadataList"]
    assert sorted(item["Target"] for item in listed) == sorted(seed.instances(account, region))
    assert {item["AutomationExecutionStatus"] for item in listed} == {"Success"}


# --- a failing instance, the guide's template with rate control in the shorthand ---------------


def test_when_a_location_has_a_failing_instance_then_only_its_step_fails(cli, seed):
    account = seed.failing_account
    regions = [seed.failing_region, seed.quiet_regions[0]]
    execution = scan(
        cli,
        "Key=tag:Patch,Values=true",
        f"Accounts={account},Regions={regions[0]},{regions[1]},ExecutionRoleName={EXECUTION_ROLE},"
        "TargetLocationMaxConcurrency=2,TargetLocationMaxErrors=1",
    )
    assert statuses(execution) == {(account, regions[0]): "Failed", (account, regions[1]): "Success"}
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert steps_by_location(execution)[(account, regions[0])]["FailureMessage"]


# --- the guide's Example 2: a resource group ---------------------------------------------------


def test_when_the_guide_example_2_targets_the_webservers_group_then_each_child_resolves_the_group_member(cli, seed, cli_member_credentials):
    accounts = [seed.healthy[0], seed.healthy[1]]
    region = seed.quiet_regions[-1]
    execution = scan(
        cli,
        "Key=ResourceGroup,Values=WebServers",
        f"Accounts={accounts[0]},{accounts[1]},Regions={region},ExecutionRoleName={EXECUTION_ROLE}",
    )
    assert statuses(execution) == {(a, region): "Success" for a in accounts}
    for account in accounts:
        child = cli.json(
            "ssm", "get-automation-execution", "--automation-execution-id", child_of(execution, (account, region)),
            credentials=cli_member_credentials(account), region=region,
        )["AutomationExecution"]
        assert child["ResolvedTargets"]["ParameterValues"] == seed.instances(account, region)[:1]


# --- the guide's Example 3: an OU, with its child OUs ------------------------------------------


@pytest.mark.parametrize("syntax", ["json", "shorthand"])
def test_when_the_guide_example_3_targets_an_ou_with_child_ous_then_every_account_below_runs(cli, seed, endpoint, syntax):
    ou = seed.ous["Workloads"]
    regions = seed.quiet_regions
    below = accounts_under(endpoint, ou, recursive=True)
    assert len(below) >= 2
    if syntax == "json":
        locations = json.dumps(
            [
                {
                    "Accounts": [ou],
                    "IncludeChildOrganizationUnits": True,
                    "Regions": regions,
                    "ExecutionRoleName": EXECUTION_ROLE,
                    "TargetLocationMaxConcurrency": "100%",
                }
            ]
        )
    else:
        locations = (
            f"Accounts={ou},Regions={','.join(regions)},IncludeChildOrganizationUnits=true,"
            f"ExecutionRoleName={EXECUTION_ROLE},TargetLocationMaxConcurrency=100%"
        )
    execution = scan(cli, "Key=ResourceGroup,Values=WebServers", locations)
    assert statuses(execution) == {(a, r): "Success" for a in below for r in regions}
    assert execution["AutomationExecutionStatus"] == "Success"


# --- rate control: error threshold -------------------------------------------------------------


def test_when_an_early_location_fails_with_max_errors_0_then_the_cli_shows_later_locations_cancelled(cli, seed):
    accounts = [seed.without_role[0], seed.healthy[0], seed.healthy[1]]
    region = seed.quiet_regions[0]
    execution_id = start(
        cli,
        "--document-name", DOCUMENT,
        "--parameters", "Operation=Scan",
        "--target-parameter-name", "InstanceId",
        "--targets", "Key=tag:Patch,Values=true",
        "--target-locations",
        f"Accounts={','.join(accounts)},Regions={region},TargetLocationMaxConcurrency=1,TargetLocationMaxErrors=0",
    )
    execution = cli.wait_final(execution_id)
    assert statuses(execution) == {
        (accounts[0], region): "Failed",
        (accounts[1], region): "Cancelled",
        (accounts[2], region): "Cancelled",
    }
    assert execution["AutomationExecutionStatus"] == "Failed"


# --- ClientToken -------------------------------------------------------------------------------


def test_when_the_cli_repeats_a_client_token_then_same_request_same_id_and_different_request_mismatch(cli):
    token = new_token()
    instance = "InstanceId=i-0123456789abcdef0"
    first = start(cli, "--document-name", DOCUMENT, "--parameters", f"Operation=Scan,{instance}", "--client-token", token)
    again = start(cli, "--document-name", DOCUMENT, "--parameters", f"Operation=Scan,{instance}", "--client-token", token)
    assert again == first
    different = cli.run(
        "ssm", "start-automation-execution", "--document-name", DOCUMENT,
        "--parameters", f"Operation=Install,{instance}", "--client-token", token,
    )
    assert_cli_error(different, "IdempotentParameterMismatch")


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code",
    [
        (["get-automation-execution", "--automation-execution-id", "UNKNOWN"], "AutomationExecutionNotFoundException"),
        (["describe-automation-step-executions", "--automation-execution-id", "UNKNOWN"], "AutomationExecutionNotFoundException"),
        (["stop-automation-execution", "--automation-execution-id", "UNKNOWN"], "AutomationExecutionNotFoundException"),
        (["start-automation-execution", "--document-name", DOCUMENT, "--target-parameter-name", "InstanceId",
          "--targets", "Key=tag:Patch,Values=true", "--max-concurrency", "0"], "ValidationException"),
        (["start-automation-execution", "--document-name", DOCUMENT, "--target-parameter-name", "InstanceId",
          "--targets", "Key=tag:Patch,Values=true", "--target-locations",
          "Accounts=111122223333,Regions=us-east-1,TargetLocationMaxConcurrency=0"], "ValidationException"),
        (["start-automation-execution", "--document-name", "Fabric-No-Such-Runbook"], "AutomationDefinitionNotFoundException"),
        # Seed 001's command with its typo: AWS owns no runbook of that name.
        (["start-automation-execution", "--document-name", "AWS-RestartEC2Instances",
          "--parameters", "InstanceId=i-0123456789abcdef0"], "AutomationDefinitionNotFoundException"),
        # A Command document is not an Automation runbook.
        (["start-automation-execution", "--document-name", "AWS-RunPatchBaseline"], "AutomationDefinitionNotFoundException"),
        (["start-automation-execution", "--document-name", "AWS-RestartEC2Instance"], "InvalidAutomationExecutionParametersException"),
        (["start-automation-execution", "--document-name", "AWS-RestartEC2Instance",
          "--parameters", "InstanceId=i-0123456789abcdef0,Force=yes"], "InvalidAutomationExecutionParametersException"),
    ],
    ids=["get-unknown", "steps-unknown", "stop-unknown", "max-concurrency-0", "location-concurrency-0", "missing-document",
         "aws-typo", "command-document", "missing-required-parameter", "undefined-parameter"],
)
def test_when_the_request_is_wrong_then_the_cli_exits_non_zero_with_the_error_code(cli, args, code):
    args = [new_token() if arg == "UNKNOWN" else arg for arg in args]
    assert_cli_error(cli.run("ssm", *args), code)


# --- StopAutomationExecution -------------------------------------------------------------------


def test_when_the_cli_stops_a_running_parent_then_it_ends_cancelled(cli, seed, cli_member_credentials):
    account, region = seed.healthy[2], seed.quiet_regions[-1]
    instance = seed.instances(account, region)[1]
    marker = new_token()
    credentials = cli_member_credentials(account)
    cli.json(
        "ec2", "create-tags", "--resources", instance, "--tags",
        f"Key={BEHAVIOUR_TAG},Value=sleep=3000", f"Key=FabricStopTest,Value={marker}",
        credentials=credentials, region=region,
    )
    try:
        execution_id = start(
            cli,
            "--document-name", DOCUMENT,
            "--parameters", "Operation=Scan",
            "--target-parameter-name", "InstanceId",
            "--targets", f"Key=tag:FabricStopTest,Values={marker}",
            "--target-locations", f"Accounts={account},Regions={region}",
        )

        def running():
            execution = cli.json(
                "ssm", "get-automation-execution", "--automation-execution-id", execution_id
            )["AutomationExecution"]
            steps = execution["StepExecutions"]
            return execution if steps and steps[0]["StepStatus"] == "InProgress" else None

        wait_until("the location step to be running", running)
        stopped = cli.run("ssm", "stop-automation-execution", "--automation-execution-id", execution_id)
        assert stopped.returncode == 0, stopped.stderr
        execution = cli.wait_final(execution_id)
    finally:
        cli.run(
            "ec2", "delete-tags", "--resources", instance, "--tags", f"Key={BEHAVIOUR_TAG}", "Key=FabricStopTest",
            credentials=credentials, region=region,
        )
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert statuses(execution) == {(account, region): "Cancelled"}


# --- StartExecutionPreview / GetExecutionPreview -----------------------------------------------


def test_when_the_cli_previews_a_run_then_total_accounts_and_regions_match_the_request(cli, seed):
    accounts = seed.healthy[:2] + seed.without_role
    regions = seed.regions[:2]
    inputs = {
        "Automation": {
            "Parameters": {"Operation": ["Scan"]},
            "TargetParameterName": "InstanceId",
            "Targets": [{"Key": "tag:Patch", "Values": ["true"]}],
            "TargetLocations": [{"Accounts": accounts, "Regions": regions}],
        }
    }
    preview_id = cli.json(
        "ssm", "start-execution-preview", "--document-name", DOCUMENT, "--execution-inputs", json.dumps(inputs)
    )["ExecutionPreviewId"]

    def ended():
        answer = cli.json("ssm", "get-execution-preview", "--execution-preview-id", preview_id)
        return answer if answer["Status"] in {"Success", "Failed"} else None

    answer = wait_until("the preview to end", ended)
    assert answer["Status"] == "Success"
    automation = answer["ExecutionPreview"]["Automation"]
    assert automation["TotalAccounts"] == len(accounts)
    assert sorted(automation["Regions"]) == sorted(regions)


# --- throttling --------------------------------------------------------------------------------


def test_when_every_call_is_throttled_then_the_cli_exits_non_zero_with_throttling_exception(cli, endpoint):
    control(endpoint, "faults", {"throttle_rate": 1.0})
    try:
        result = cli.run(
            "ssm", "describe-automation-executions",
            extra_env={"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"},
        )
    finally:
        restored = control(endpoint, "faults", {})
    assert restored["throttle_rate"] == 0.0
    assert_cli_error(result, "ThrottlingException")
    assert cli.run("ssm", "describe-automation-executions", "--max-items", "1").returncode == 0
