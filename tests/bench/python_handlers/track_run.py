"""Python equivalent of functions/track-run for benchmark B1: at init the config and the run
clients (organizations, account, ssm, sts, s3, sns); per invocation the run's state read from
the report bucket (s3:GetObject state/runs/<run id>.json), then for every started call
ssm:GetAutomationExecution (has the parent ended?) and ssm:DescribeAutomationStepExecutions
(every location's status), answered as RunTracked."""

import common

CONFIG, SESSION = common.start()
SERVICES = common.RunServices(SESSION, CONFIG)
FINAL = {
    "Success", "TimedOut", "Cancelled", "Failed", "Rejected", "ChangeCalendarOverrideRejected",
    "CompletedWithSuccess", "CompletedWithFailure", "Exited",
}


def handler(event, context):
    run_id = event["run_id"]
    state = SERVICES.store.run_state(run_id)
    done, counts = True, {}
    for call in state["started"]:
        parent = SERVICES.ssm.get_automation_execution(AutomationExecutionId=call["execution_id"])["AutomationExecution"]
        done = done and parent["AutomationExecutionStatus"] in FINAL
        pages = SERVICES.ssm.get_paginator("describe_automation_step_executions").paginate(AutomationExecutionId=call["execution_id"])
        for page in pages:
            for step in page["StepExecutions"]:
                counts[step["StepStatus"]] = counts.get(step["StepStatus"], 0) + 1
    waves = state["plan"]["waves"]
    latest = waves[state["next_wave"] - 1]["name"] if 0 < state["next_wave"] <= len(waves) else None
    calls = [call["execution_id"] for call in state["started"] if call["wave"] == latest]
    return {"run_id": run_id, "done": done, "counts": dict(sorted(counts.items())), "calls": calls}
