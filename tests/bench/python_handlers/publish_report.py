"""Python equivalent of functions/publish-report for benchmark B1, for an onboarding's report
(the payload the benchmark sends): at init the config and the run clients (organizations,
account, ssm, sts, s3, sns); per invocation the OnboardingReport assembled from the steps'
outputs, stored (s3:PutObject onboarding/year=/month=/day=/<account>-<key>.json) and its
summary published (sns:Publish with the status, trigger and action attributes). A run's report
is not part of the equivalent: it answers a Fabric.Run error."""

import datetime
import json

import common

CONFIG, SESSION = common.start()
SERVICES = common.RunServices(SESSION, CONFIG)
PROBLEMS = {"failed", "limit_reached"}


def handler(event, context):
    if "onboarding" not in event:
        raise common.FabricError("Fabric.Run", "the Python equivalent publishes onboarding reports only")
    request = event["onboarding"]
    source = request["input"]
    shares = request.get("shares") or {"shares": [], "errors": []}
    errors = list(shares["errors"])
    if request.get("error") is not None:
        errors.append(f"the onboarding failed: {json.dumps(request['error'])}")
    role = (request.get("role") or {}).get("role") or {"outcome": "skipped", "reason": "the role step did not run"}
    report = {
        "account_id": source["account_id"],
        "action": source["action"],
        "trigger_key": source["trigger_key"],
        "shares": shares["shares"],
        "role": role,
    }
    if errors:
        report["errors"] = errors
    now = datetime.datetime.now(datetime.timezone.utc)
    key = f"onboarding/year={now.year:04}/month={now.month:02}/day={now.day:02}/{source['account_id']}-{source['trigger_key']}.json"
    uri = SERVICES.store.put(key, json.dumps(report, indent=2).encode())
    problems = [f"{s['document']} in {s['region']}: {s['reason']}" for s in report["shares"] if s["outcome"] in PROBLEMS]
    if role["outcome"] == "failed":
        problems.append(f"execution role: {role['reason']}")
    problems += errors
    status = "Failed" if problems else "Success"
    verb = "onboarded" if source["action"] == "onboard" else "offboarded"
    message = f"Account {source['account_id']} {verb}: {status}.\n\n{len(report['shares'])} document shares, execution role: {role['outcome']}.\n"
    message += "".join(f"  {problem[:300]}\n" for problem in problems[:20])
    message += f"\nFull report: {uri}\n\n--- JSON ---"
    message += json.dumps({"account_id": source["account_id"], "action": source["action"], "status": status, "problems": len(problems), "report": uri})
    message_id = None
    if SERVICES.notifier is not None:
        message_id = SERVICES.notifier.publish(
            f"[Automation Fabric] Account {source['account_id']} {verb}: {status}",
            message,
            {"status": status, "trigger": "account", "action": verb},
        )
    return {"report": uri, "message_id": message_id}
