"""Python equivalent of functions/collect-results for benchmark B1, for its `CollectResults`
step (the payload the benchmark sends: a run id, no execution id): at init the config and the
run clients (organizations, account, ssm, sts, s3, sns); per invocation the run's state and
every started call's kept results read from the report bucket (s3:GetObject), the report
assembled (every planned location not started unless a result says otherwise, every skipped
one), and the wave's gate decided (a failed gate is kept in the state: s3:PutObject).
`CollectCall` (collecting one call from the child executions) is not part of the equivalent:
it answers a Fabric.Run error, as does a call whose results were never kept."""

import json

import common

CONFIG, SESSION = common.start()
SERVICES = common.RunServices(SESSION, CONFIG)
SUCCESS = {"Success", "CompletedWithSuccess"}


def key(location):
    return (location["account_id"], location["region"])


def handler(event, context):
    run_id = event["run_id"]
    if event.get("execution_id"):
        raise common.FabricError("Fabric.Run", "the Python equivalent covers CollectResults only")
    state = SERVICES.store.run_state(run_id)
    plan = state["plan"]
    report = {}
    for wave in plan["waves"]:
        for call in wave["calls"]:
            for location in call["locations"]:
                report[key(location)] = {"wave": wave["name"], "status": "NotStarted"}
    for skip in plan["skipped"]:
        report[key(skip["location"])] = {"wave": skip["wave"], "status": "Skipped"}
    for call in state["started"]:
        # Each call's kept results: its cursor, then the batches it counts.
        calls = f"state/runs/{run_id}/calls/{call['execution_id']}"
        try:
            cursor = json.loads(SERVICES.store.get(f"{calls}/cursor.json"))
        except SERVICES.store.s3.exceptions.NoSuchKey:
            raise common.FabricError("Fabric.Run", f"no results kept for {call['execution_id']}") from None
        if not cursor.get("complete"):
            raise common.FabricError("Fabric.Run", f"the call {call['execution_id']} is not collected yet")
        for batch in range(cursor["batches"]):
            for result in json.loads(SERVICES.store.get(f"{calls}/batch-{batch:05d}.json")):
                report[key(result["location"])] = result
    next_wave = False
    if state["next_wave"] < len(plan["waves"]) and not state.get("stopped"):
        wave = plan["waves"][state["next_wave"] - 1]
        gate = wave.get("gate") or {}
        results = [r for r in report.values() if r.get("wave") == wave["name"] and r["status"] != "Skipped"]
        succeeded = sum(1 for r in results if r["status"] in SUCCESS)
        percent = succeeded * 100 // len(results) if results else 100
        next_wave = percent >= gate.get("min_success_percent", 0)
        if not next_wave:
            state["stopped"] = f"not started: wave {wave['name']} succeeded in {percent}% of its locations"
            SERVICES.store.put(f"state/runs/{run_id}.json", json.dumps(state).encode())
    counts = {}
    for result in report.values():
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return {"run_id": run_id, "next_wave": next_wave, "collected": 0, "counts": dict(sorted(counts.items()))}
