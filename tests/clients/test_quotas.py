"""The simulator's quotas and safeguards driven with boto3: the concurrency quota and its queue
(Pending, then started as slots free; past the queue AutomationExecutionLimitExceededException),
the ramp-up of rate control, CloudWatch alarms that stop a run, and the target checks (two
Targets, an empty OU, a Region the account has not enabled, a resource group built on a
CloudFormation stack). Each test quotes the AWS documentation sentence it checks."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    ADMINISTRATION_ROLE_ARN,
    CENTRAL,
    DOCUMENT,
    EXECUTION_ROLE,
    FINAL,
    IMAGE,
    PATCH_TARGETS,
    central_session,
    control,
    error_code,
    wait_final,
    wait_until,
)

# An AWS-owned runbook with one step: every execution of it lasts one step duration.
ONE_STEP = "AWS-StartEC2Instance"
INSTANCE = "i-0123456789abcdef0"



@pytest.fixture
def automation_settings(endpoint):
    """`automation_settings(**change)`: changes the simulator's Automation settings for one test
    and puts the previous ones back afterwards."""
    before = control(endpoint, "automation", {})
    yield lambda **change: control(endpoint, "automation", change)
    control(endpoint, "automation", before)


@pytest.fixture
def ssm_in(endpoint):
    """`ssm_in(region)`: the central account's SSM in `region`."""
    def client(region):
        return central_session(region).client(
            "ssm", endpoint_url=endpoint, config=Config(retries={"max_attempts": 0, "mode": "standard"})
        )

    return client


# --- the concurrency quota and its queue -------------------------------------------------------


def test_when_150_automations_start_past_the_quota_then_the_rest_wait_pending_and_all_end(ssm_in, automation_settings):
    """Automation concepts: "Each AWS account can run 100 automations simultaneously. [...] If
    you attempt to run more automations than this, Systems Manager adds the additional
    automations to a queue and displays a status of Pending." and "When an automation is
    complete (or reaches a terminal state), the first automation in the queue is started."
    The quota is lowered to 50 and the queue to 100 so that 150 fill both."""
    automation_settings(concurrent=50, queue=100, step_duration_ms=1500)
    # A Region no other test runs in: the account-Region's quota is this test's alone.
    ssm = ssm_in("ca-central-1")

    def start(_):
        return ssm.start_automation_execution(DocumentName=ONE_STEP, Parameters={"InstanceId": [INSTANCE]})[
            "AutomationExecutionId"
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(start, range(150)))
    # The API reference: AutomationExecutionLimitExceededException, "The number of
    # simultaneously running Automation executions exceeded the allowable limit."
    with pytest.raises(ClientError) as refused:
        start(150)
    assert error_code(refused) == "AutomationExecutionLimitExceededException"
    assert "simultaneously running Automation executions exceeded the allowable limit" in str(refused.value)

    statuses = [ssm.get_automation_execution(AutomationExecutionId=i)["AutomationExecution"]["AutomationExecutionStatus"] for i in ids]
    running = sum(status == "InProgress" for status in statuses)
    assert running <= 50, statuses
    assert statuses.count("Pending") >= 50, statuses

    ends = [wait_final(ssm, i, deadline=30) for i in ids]
    assert [e["AutomationExecutionStatus"] for e in ends] == ["Success"] * 150, "none lost"
    # First in, first out: the last started began after the first ended.
    assert ends[-1]["ExecutionStartTime"] >= ends[0]["ExecutionEndTime"]


def test_when_adaptive_concurrency_is_turned_on_then_the_service_setting_reads_true(ssm_in):
    """"Allowing Automation to adapt to your concurrency needs": `aws ssm update-service-setting
    --setting-id /ssm/automation/enable-adaptive-concurrency --setting-value True` turns it on
    "for your account in the requesting Region"."""
    setting = "/ssm/automation/enable-adaptive-concurrency"
    ssm, elsewhere = ssm_in("ca-central-1"), ssm_in("us-east-2")
    ssm.update_service_setting(SettingId=setting, SettingValue="True")
    try:
        assert ssm.get_service_setting(SettingId=setting)["ServiceSetting"]["SettingValue"] == "True"
        assert elsewhere.get_service_setting(SettingId=setting)["ServiceSetting"]["SettingValue"] == "False"
    finally:
        ssm.reset_service_setting(SettingId=setting)
    assert ssm.get_service_setting(SettingId=setting)["ServiceSetting"]["SettingValue"] == "False"


# --- rate control ramps up ---------------------------------------------------------------------


def start_on_instances(ssm, count, concurrency, **extra):
    """Starts the one-step runbook on `count` instance ids (one child each) under `concurrency`."""
    return ssm.start_automation_execution(
        DocumentName=ONE_STEP,
        TargetParameterName="InstanceId",
        Targets=[{"Key": "ParameterValues", "Values": [f"i-{n:017x}" for n in range(count)]}],
        MaxConcurrency=concurrency,
        **extra,
    )["AutomationExecutionId"]


def test_when_targets_run_under_a_concurrency_then_one_runs_first_then_two_then_more(ssm, automation_settings):
    """"Control automations at scale": "The queueing system delivers the automation to a single
    resource and waits until the initial invocation is complete before sending the automation
    to two more resources. The system exponentially sends the automation to more resources
    until the concurrency value is met." """
    automation_settings(step_duration_ms=200)
    execution = wait_final(ssm, start_on_instances(ssm, 7, "10"))
    assert execution["AutomationExecutionStatus"] == "Success"
    steps = sorted(execution["StepExecutions"], key=lambda step: step["ExecutionStartTime"])
    assert len(steps) == 7
    first, second, third = steps[:3]
    assert second["ExecutionStartTime"] >= first["ExecutionEndTime"], "the first runs alone"
    assert third["ExecutionStartTime"] >= first["ExecutionEndTime"]
    assert third["ExecutionStartTime"] < second["ExecutionEndTime"], "then two together"

    def at_once(moment):
        return sum(s["ExecutionStartTime"] <= moment < s["ExecutionEndTime"] for s in steps)

    assert max(at_once(s["ExecutionStartTime"]) for s in steps) > 2, "and more after them"


# --- CloudWatch alarms -------------------------------------------------------------------------


@pytest.fixture
def alarm(endpoint):
    """An alarm of the central account in us-east-1, `OK` to begin with."""
    cloudwatch = central_session().client("cloudwatch", endpoint_url=endpoint)
    name = f"quota-tests-fleet-errors-{time.time_ns()}"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="Fabric/Tests",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quota tests")
    yield cloudwatch, name
    cloudwatch.delete_alarms(AlarmNames=[name])


def test_when_the_alarm_goes_into_alarm_then_the_run_stops_and_names_it(ssm, alarm, automation_settings):
    """"Configure Automation to monitor CloudWatch alarms": "If a specified alarm enters the
    ALARM state, Automation stops the execution. For executions that use rate control or run
    across multiple accounts, Automation cancels all pending executions." """
    cloudwatch, name = alarm
    automation_settings(step_duration_ms=300)
    execution_id = start_on_instances(ssm, 6, "1", AlarmConfiguration={"Alarms": [{"Name": name}]})
    wait_until(
        "the first target starting",
        lambda: ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]["StepExecutions"],
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="quota tests")
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    # The API reference (AutomationExecution): TriggeredAlarms, "The CloudWatch alarm that was
    # invoked by the automation."
    assert execution["TriggeredAlarms"] == [{"Name": name, "State": "ALARM"}]
    assert execution["AlarmConfiguration"]["Alarms"] == [{"Name": name}]
    assert len(execution["StepExecutions"]) < 6, "the pending targets were cancelled"
    assert all(step["StepStatus"] in FINAL for step in execution["StepExecutions"])


@pytest.mark.parametrize("ignore, expected", [(False, "Cancelled"), (True, "Success")])
def test_when_the_alarm_cannot_be_read_then_ignore_poll_alarm_failure_decides(ssm, ignore, expected):
    """The API reference (AlarmConfiguration, IgnorePollAlarmFailure): "When this value is true,
    your automation or command continues to run in cases where we can't retrieve alarm status
    information from CloudWatch. [...] Default is false." """
    execution_id = ssm.start_automation_execution(
        DocumentName=ONE_STEP,
        Parameters={"InstanceId": [INSTANCE]},
        AlarmConfiguration={"Alarms": [{"Name": "quota-tests-no-such-alarm"}], "IgnorePollAlarmFailure": ignore},
    )["AutomationExecutionId"]
    assert wait_final(ssm, execution_id)["AutomationExecutionStatus"] == expected


# --- targets -----------------------------------------------------------------------------------


def test_when_targets_hold_two_items_then_invalid_automation_execution_parameters(ssm):
    """The API reference (StartAutomationExecution, Targets): "Maximum number of 1 item." """
    with pytest.raises(ClientError) as refused:
        ssm.start_automation_execution(
            DocumentName=ONE_STEP,
            TargetParameterName="InstanceId",
            Targets=[PATCH_TARGETS[0], {"Key": "tag:Name", "Values": ["web"]}],
        )
    assert error_code(refused) == "InvalidAutomationExecutionParametersException"


def location_run(ssm, location):
    execution_id = ssm.start_automation_execution(
        DocumentName=DOCUMENT,
        Parameters={"AutomationAssumeRole": [ADMINISTRATION_ROLE_ARN], "Operation": ["Scan"]},
        TargetParameterName="InstanceId",
        Targets=PATCH_TARGETS,
        TargetLocations=[{"ExecutionRoleName": EXECUTION_ROLE, **location}],
    )["AutomationExecutionId"]
    return wait_final(ssm, execution_id)


def test_when_an_ou_holds_no_accounts_then_the_run_fails_saying_so(ssm, seed, endpoint):
    """The multi-account guide's considerations: "Automation can only target OUs which contain
    accounts"."""
    org = central_session().client("organizations", endpoint_url=endpoint)
    empty = org.create_organizational_unit(ParentId=seed.root_id, Name=f"empty-{time.time_ns()}")["OrganizationalUnit"]["Id"]
    execution = location_run(ssm, {"Accounts": [empty], "Regions": [seed.regions[0]]})
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert "Automation can only target OUs which contain accounts" in execution["FailureMessage"]


def test_when_a_region_is_not_enabled_in_the_account_then_its_location_fails_before_a_child(ssm, seed, endpoint):
    """A location in a Region its account has not enabled cannot run (the simulator's message:
    SSM documents none)."""
    account, region = seed.healthy[0], seed.quiet_regions[0]
    control(endpoint, "regions", {"account": account, "region": region, "enabled": False})
    try:
        execution = location_run(ssm, {"Accounts": [account], "Regions": [region]})
    finally:
        control(endpoint, "regions", {"account": account, "region": region, "enabled": True})
    (step,) = execution["StepExecutions"]
    assert step["StepStatus"] == "Failed"
    assert f"The Region {region} is not enabled in account {account}" in step["FailureMessage"]
    assert "ExecutionId" not in step["Outputs"]


def test_when_a_resource_group_is_built_on_a_stack_then_its_instances_are_the_targets(ssm, endpoint):
    """The group query's StackIdentifier (CloudFormation's AWS::ResourceGroups::Group Query):
    "Specifies the ARN of a CloudFormation stack. All supported resources of the CloudFormation
    stack are members of the resource group." """
    session = central_session()
    stack_name = f"quota-tests-{time.time_ns()}"
    template = (
        '{"Resources": {"Web": {"Type": "AWS::EC2::Instance", "Properties": '
        f'{{"ImageId": "{IMAGE}", "InstanceType": "t3.micro"}}}}}}}}'
    )
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=template)["StackId"]
    (resource,) = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    groups = session.client("resource-groups", endpoint_url=endpoint)
    groups.create_group(
        Name=stack_name,
        ResourceQuery={
            "Type": "CLOUDFORMATION_STACK_1_0",
            "Query": '{"ResourceTypeFilters": ["AWS::AllSupported"], "StackIdentifier": "%s"}' % stack_id,
        },
    )
    execution_id = ssm.start_automation_execution(
        DocumentName=ONE_STEP,
        TargetParameterName="InstanceId",
        Targets=[{"Key": "ResourceGroup", "Values": [stack_name]}],
    )["AutomationExecutionId"]
    execution = wait_final(ssm, execution_id)
    assert execution["AutomationExecutionStatus"] == "Success", execution.get("FailureMessage")
    assert execution["ResolvedTargets"]["ParameterValues"] == [resource["PhysicalResourceId"]]
    assert CENTRAL in execution["ExecutedBy"]
