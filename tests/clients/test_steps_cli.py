"""A paused runbook resumed with the AWS CLI v1: `aws ssm create-document`, then
`start-automation-execution`, `send-automation-signal --signal-type Resume --payload
StepName=...` (the shorthand of the CLI reference) and the execution's end, as the CLI sees
them."""

import json

from conftest import new_token, wait_until


def status(cli, execution_id):
    return cli.json("ssm", "get-automation-execution", "--automation-execution-id", execution_id)[
        "AutomationExecution"
    ]["AutomationExecutionStatus"]


def test_when_the_cli_resumes_a_paused_step_then_the_automation_succeeds(cli):
    # aws:pause: "Once paused, the automation status is Waiting. To continue the automation,
    # use the SendAutomationSignal API operation with the Resume signal type."
    name = f"FabricStepsCli-{new_token()[:8]}"
    content = {
        "schemaVersion": "0.3",
        "mainSteps": [
            {"name": "hold", "action": "aws:pause", "inputs": {}},
            {"name": "after", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}},
        ],
    }
    cli.json(
        "ssm", "create-document", "--name", name, "--document-type", "Automation",
        "--document-format", "JSON", "--content", json.dumps(content),
    )
    execution_id = cli.json("ssm", "start-automation-execution", "--document-name", name)["AutomationExecutionId"]
    wait_until("the paused execution to wait", lambda: status(cli, execution_id) == "Waiting")
    refused = cli.run(
        "ssm", "send-automation-signal", "--automation-execution-id", execution_id,
        "--signal-type", "Approve",
    )
    assert refused.returncode != 0 and "(InvalidAutomationSignalException)" in refused.stderr, refused.stderr
    cli.json(
        "ssm", "send-automation-signal", "--automation-execution-id", execution_id,
        "--signal-type", "Resume", "--payload", "StepName=hold",
    )
    assert cli.wait_final(execution_id)["AutomationExecutionStatus"] == "Success"
