"""Benchmark B1 (issue 7), init and memory: every function's release binary started cold under a
local Lambda Runtime API endpoint (runtime_api.py), beside its Python equivalent
(python_handlers/: boto3, the same config loading and clients) under the same endpoint.

Owns the measurement, not the build nor the stack: give it the built binaries, a running and
seeded local stack and the config. For each function and each of --runs cold starts, Rust then
Python (A B A B ..., so the machine's noise hits both), on a fresh endpoint each time:

  init              from just before the process is spawned to its first
                    GET /runtime/invocation/next (both on the driver's time.monotonic_ns clock)
  first invocation  from that `next` (answered at once with the payload) to the POST of
                    /invocation/{id}/response
  peak RSS          VmHWM of the process (/proc/<pid>/status), read once the response is in,
                    before the process is killed; for Python the interpreter's own process
                    (`python bootstrap.py MODULE.handler`, no wrapper). VmHWM at the first `next`
                    (init only) is kept in the JSON too.

Both get the same environment and nothing else from the caller's: AWS_LAMBDA_RUNTIME_API,
AWS_LAMBDA_FUNCTION_NAME / _MEMORY_SIZE (256) / _VERSION, AWS_LAMBDA_LOG_GROUP_NAME /
_STREAM_NAME, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, dummy credentials, FABRIC_CONFIG,
ONBOARDING_STATE_MACHINE_ARN (account-events), TZ, LANG, PATH, and an empty HOME (no
~/.aws files); Python also PYTHONDONTWRITEBYTECODE=1 (Lambda's task root is read-only: the
handlers are compiled at each start, boto3's installed .pyc files are used) and _HANDLER.
AWS_LAMBDA_LOG_FORMAT is left unset (text logs, each run's to a log file).

Payloads: each one makes the function do one real, cheap thing against the local stack, and
the Python equivalent makes the same calls (the answer's check and a summary that must be equal
for both are in FUNCTIONS below). None returns an error: an /error or /init/error is a failure.

| function        | payload                                                   | what it calls |
|-----------------|-----------------------------------------------------------|---------------|
| account-events  | Organizations CreateAccountResult SUCCEEDED for a seeded  | states:StartExecution (a new execution each start: the event's id is unique per run) of a stand-in state machine the driver creates (one Pass state: moto does not run Lambda tasks) |
|                 | member (tests/fixtures event, eventID made unique)        | |
| account-status  | {account_id: seeded member, action: onboard}              | organizations:DescribeAccount |
| share-documents | {account_id: seeded member (onboarded), action: onboard}  | per Region (3): ssm:ListDocuments, ssm:DescribeDocumentPermission per selected document; all already shared, nothing modified |
| deploy-roles    | {account_id: seeded member (role deployed), action: onboard} | cloudformation:ListStackInstances; already deployed, nothing created |
| start-run       | {manual: {profile: patch-scan-web, dry_run: true}}        | the plan (organizations:ListAccountsForParent / ListOrganizationalUnitsForParent over the profile's OU, account:ListRegions per account), then ssm:StartExecutionPreview + GetExecutionPreview; nothing starts |
| track-run       | {run_id: a finished run}                                  | s3:GetObject (run state), ssm:GetAutomationExecution + DescribeAutomationStepExecutions per started call |
| collect-results | {run_id: a finished run} (the CollectResults step)        | s3:GetObject (run state and each call's kept results); the report assembled and the gate decided |
| publish-report  | {onboarding: {input, shares, role}} (an onboarding report) | s3:PutObject (the report), sns:Publish (its summary) |
| reconcile       | a scheduled event (ignored by the function)               | organizations:ListRoots + the whole organization walked, ssm:ListDocuments + DescribeDocumentPermission per document and Region, cloudformation:ListStackInstances; in sync, nothing changed |

"A finished run" is one the caller made before (tests/bench/b1 runs `fabric run patch-scan-web --in-process
--wait`): --run-id, or the only run state in the config's report bucket.

Usage (what tests/bench/b1 does; the venv's python has boto3 and PyYAML):
  .local/venv/bin/python tests/bench/cold_start.py --binaries target/release \\
      --endpoint http://127.0.0.1:4566 --config .local/fabric.yaml --runs 10 --json b1.json
Prints the table on stdout, progress on stderr; exits 1 if any cold start failed (no response,
an error, a wrong answer, or Rust and Python answering differently).
"""

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

sys.dont_write_bytecode = True  # no __pycache__ left in the repository
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from runtime_api import RuntimeApi  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
HANDLERS = HERE / "python_handlers"
MEMORY_MB = 256
REGION = "us-east-1"
STATE_MACHINE_NAME = "automation-fabric-b1-onboarding"
# Targets of issue 7: Rust's init at most 1/5 of Python's, peak RSS at most 1/3.
INIT_TARGET = 5.0
RSS_TARGET = 3.0


@dataclass
class Function:
    name: str
    payload: object  # (stack, language, run) -> event
    check: object  # answer -> None, or what is wrong
    summary: object  # answer -> what Rust and Python must agree on
    what: str


def first_problem(*pairs):
    return next((problem for ok, problem in pairs if not ok), None)


def account_event(stack, language, run):
    event = json.loads((REPO / "tests/fixtures/events/org-create-account-result-succeeded.json").read_text())
    event["account"] = stack.central
    event["detail"]["recipientAccountId"] = stack.central
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["accountId"] = stack.member
    event["detail"]["eventID"] = f"b1-{language}-{run}-{uuid.uuid4()}"
    return event


def onboarding_input(stack, language, run):
    return {"account_id": stack.member, "action": "onboard", "trigger_key": "b1-bench"}


def onboarding_report(stack, language, run):
    shares = [
        {"document": document, "region": region, "outcome": "already_shared"}
        for region in stack.regions
        for document in ("Automation-RunPatchBaseline", "Centralized-cloudtrail")
    ]
    return {
        "onboarding": {
            "input": onboarding_input(stack, language, run),
            "shares": {"shares": shares, "errors": []},
            "role": {"role": {"outcome": "already_deployed"}},
        }
    }


FUNCTIONS = [
    Function(
        "account-events",
        account_event,
        lambda a: first_problem((str(a.get("workflow", "")).startswith("arn:aws:states:"), f"no execution started: {a}")),
        lambda a: a["workflow"].rsplit(":", 1)[0],
        "CreateAccountResult -> states:StartExecution",
    ),
    Function(
        "account-status",
        onboarding_input,
        lambda a: first_problem((a.get("ready") is True, f"the member is not ready: {a}")),
        lambda a: (a["ready"], a["status"]),
        "organizations:DescribeAccount",
    ),
    Function(
        "share-documents",
        onboarding_input,
        lambda a: first_problem(
            (bool(a.get("shares")), f"no shares: {a}"),
            (all(s["outcome"] == "already_shared" for s in a["shares"]), f"not all already shared: {a}"),
            (not a.get("errors"), f"errors: {a}"),
        ),
        lambda a: sorted((s["document"], s["region"], s["outcome"]) for s in a["shares"]),
        "ssm:ListDocuments + DescribeDocumentPermission x documents, 3 Regions",
    ),
    Function(
        "deploy-roles",
        onboarding_input,
        lambda a: first_problem((a.get("role", {}).get("outcome") == "already_deployed", f"role: {a}")),
        lambda a: a["role"],
        "cloudformation:ListStackInstances",
    ),
    Function(
        "start-run",
        lambda stack, language, run: {
            "trigger": {"manual": {"requested_by": "b1-bench", "profile": "patch-scan-web", "dry_run": True}},
            "execution": f"b1-bench-{language}-{run}",
        },
        lambda a: first_problem(
            (a.get("run_id") is None and str(a.get("reason", "")).startswith("dry run"), f"not a dry run: {a}"),
            (a.get("locations", 0) > 0, f"nothing planned: {a}"),
        ),
        lambda a: a["locations"],
        "dry run: plan (OU walk, ListRegions) + ssm preview",
    ),
    Function(
        "track-run",
        lambda stack, language, run: {"run_id": stack.run_id},
        lambda a: first_problem((a.get("done") is True and bool(a.get("counts")), f"run not tracked to its end: {a}")),
        lambda a: (a["run_id"], a["done"], a["counts"], sorted(a["calls"])),
        "s3:GetObject + ssm:GetAutomationExecution, DescribeAutomationStepExecutions",
    ),
    Function(
        "collect-results",
        lambda stack, language, run: {"run_id": stack.run_id},
        lambda a: first_problem((sum(a.get("counts", {}).values()) > 0, f"no locations: {a}")),
        lambda a: (a["run_id"], a["next_wave"], a["counts"]),
        "CollectResults: s3:GetObject x (1 + calls)",
    ),
    Function(
        "publish-report",
        onboarding_report,
        lambda a: first_problem(
            (str(a.get("report", "")).startswith("s3://"), f"no report stored: {a}"),
            (bool(a.get("message_id")), f"nothing published: {a}"),
        ),
        lambda a: a["report"],
        "onboarding report: s3:PutObject + sns:Publish",
    ),
    Function(
        "reconcile",
        # What the template's reconcile schedule sends.
        lambda stack, language, run: {
            "reconcile": {"schedule_name": "automation-fabric-reconcile", "scheduled_time": f"2026-01-01T00:{run:02d}:00Z"}
        },
        lambda a: first_problem(
            (a.get("accounts", 0) > 0, f"no accounts: {a}"),
            (not a.get("errors") and not a.get("roles_deployed") and not any(a.get("shared", {}).values()), f"not in sync: {a}"),
        ),
        lambda a: (a["accounts"], sorted(a["shared"]), a["roles_deployed"]),
        "organization walk + sharing read per document x Region + ListStackInstances",
    ),
]


class Stack:
    """What the payloads need from the seeded local stack, read once through boto3."""

    def __init__(self, endpoint, config_path, run_id, member):
        import boto3
        import yaml

        config = yaml.safe_load(pathlib.Path(config_path).read_text())
        self.central = str(config["central_account"])
        self.regions = list(config.get("documents", {}).get("regions") or config["regions"])
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        client = lambda service: session.client(service, endpoint_url=endpoint)  # noqa: E731
        organizations = client("organizations")
        members = [
            account["Id"]
            for page in organizations.get_paginator("list_accounts").paginate()
            for account in page["Accounts"]
            if account["Status"] == "ACTIVE" and account["Id"] != self.central
        ]
        if not members:
            sys.exit("cold_start: the organization has no member account: seed the stack first (fabric local seed)")
        self.member = member or sorted(members)[0]
        caller = client("sts").get_caller_identity()["Account"]
        self.state_machine = self._state_machine(client("stepfunctions"), caller)
        self.run_id = run_id or self._only_run(client("s3"), config)

    def _state_machine(self, sfn, caller):
        """A stand-in onboarding state machine (moto does not run Lambda tasks): one Pass state."""
        definition = json.dumps({"StartAt": "Onboard", "States": {"Onboard": {"Type": "Pass", "End": True}}})
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == STATE_MACHINE_NAME:
                    return machine["stateMachineArn"]
        role = f"arn:aws:iam::{caller}:role/automation-fabric-onboarding"
        return sfn.create_state_machine(name=STATE_MACHINE_NAME, definition=definition, roleArn=role)["stateMachineArn"]

    def _only_run(self, s3, config):
        reports = config.get("reports") or {}
        prefix = f"{reports.get('prefix', '')}state/runs/"
        runs = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=reports["bucket"], Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if "/" not in name and name.endswith(".json"):
                    runs.append((item["LastModified"], name[: -len(".json")]))
        if not runs:
            sys.exit(
                "cold_start: no run in the report bucket for track-run and collect-results: make one first "
                "(fabric run patch-scan-web --wait --in-process) or give --run-id"
            )
        return max(runs)[1]


def vm_status(pid):
    """VmHWM and VmRSS of `pid`, in KiB (None when it is gone)."""
    try:
        text = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(rest.split()[0])
    return values


def environment(function, endpoint, config, state_machine, home, api_address):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "HOME": str(home),
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"b1/{uuid.uuid4().hex}",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "FABRIC_CONFIG": str(config),
    }
    if function == "account-events":
        env["ONBOARDING_STATE_MACHINE_ARN"] = state_machine
    return env


def cold_start(language, command, env, event, function, workdir, timeout_s):
    """One cold start: the measurements, or the failure and the log's tail."""
    log_path = workdir / f"{function}-{language}.log"
    state = {"pid": None, "init_rss": None}

    def on_next(_now):
        if state["pid"] is not None and state["init_rss"] is None:
            state["init_rss"] = vm_status(state["pid"])

    api = RuntimeApi([event], function_name=function, timeout_s=timeout_s, on_next=on_next).start()
    env = {**env, "AWS_LAMBDA_RUNTIME_API": api.address}
    with open(log_path, "wb") as log:
        started = time.monotonic_ns()
        process = subprocess.Popen(command, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        state["pid"] = process.pid
        deadline = started + timeout_s * 1_000_000_000
        while not api.ended.wait(0.005) and process.poll() is None and time.monotonic_ns() < deadline:
            pass
        exited = process.poll()
        status = vm_status(process.pid) if exited is None else None
        process.kill()
        process.wait()
    api.stop()
    first_next, response = api.first("next"), api.first("response")
    result = {"language": language}
    failure = None
    if first_next is not None:
        result["init_ms"] = (first_next.at_ns - started) / 1e6
        result["init_rss_kb"] = (state["init_rss"] or {}).get("VmHWM")
    if response is not None and first_next is not None:
        result["first_invocation_ms"] = (response.at_ns - first_next.at_ns) / 1e6
        result["peak_rss_kb"] = (status or {}).get("VmHWM")
        try:
            result["answer"] = json.loads(response.body)
        except ValueError:
            failure = f"the response is not JSON: {response.body[:200]!r}"
    else:
        error = api.first("error") or api.first("init_error")
        if error is not None:
            try:
                body = json.loads(error.body)
                what = f"{body.get('errorType')}: {body.get('errorMessage')}"
            except ValueError:
                what = error.body.decode(errors="replace")
            failure = f"{error.kind} ({error.error_type}) {what}"
        elif exited is not None:
            stage = "its first `next`" if first_next is None else "its response"
            failure = f"the process exited ({exited}) before {stage}, posting no error"
        else:
            failure = f"no {'`next`' if first_next is None else 'response'} within {timeout_s:g} s"
    if failure is None and result.get("peak_rss_kb") is None:
        failure = "the process ended before its peak RSS could be read"
    if failure is not None:
        result["failure"] = " ".join(failure.split())[:300]
        result["log_tail"] = log_path.read_text(errors="replace")[-1500:].strip()
    return result


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def machine():
    cpu = next(
        (line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    memory = next(
        (line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
        "unknown",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "boto3": __import__("boto3").__version__,
    }


def fmt(value, unit=""):
    return "-" if value is None else f"{value:.1f}{unit}"


def ratio(python, rust):
    return None if not python or not rust else python / rust


def table(results):
    head = (
        f"{'function':<16} {'init Rust':>10} {'init Py':>9} {'Py/Rust':>8} {'RSS Rust':>9} {'RSS Py':>8} {'Py/Rust':>8}"
        f" {'1st inv Rust':>13} {'1st inv Py':>11}  targets"
    )
    lines = [head, "-" * len(head)]
    for name, entry in results.items():
        rust, python = entry["rust"]["median"], entry["python"]["median"]
        init_ratio, rss_ratio = entry["init_ratio"], entry["rss_ratio"]
        targets = []
        if init_ratio is not None:
            targets.append("init ok" if init_ratio >= INIT_TARGET else "init MISSED")
        if rss_ratio is not None:
            targets.append("rss ok" if rss_ratio >= RSS_TARGET else "rss MISSED")
        lines.append(
            f"{name:<16} {fmt(rust['init_ms'], ' ms'):>10} {fmt(python['init_ms'], ' ms'):>9} {fmt(init_ratio, 'x'):>8}"
            f" {fmt(kb_to_mb(rust['peak_rss_kb']), ' MB'):>9} {fmt(kb_to_mb(python['peak_rss_kb']), ' MB'):>8} {fmt(rss_ratio, 'x'):>8}"
            f" {fmt(rust['first_invocation_ms'], ' ms'):>13} {fmt(python['first_invocation_ms'], ' ms'):>11}  {', '.join(targets) or 'FAILED'}"
        )
    return "\n".join(lines)


def kb_to_mb(kb):
    return None if kb is None else kb / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binaries", required=True, help="the release binaries: ${CARGO_TARGET_DIR:-target}/release")
    parser.add_argument("--endpoint", required=True, help="the local stack's endpoint (AWS_ENDPOINT_URL)")
    parser.add_argument("--config", required=True, help="the fabric config (written by fabric local seed --config-out)")
    parser.add_argument("--runs", type=int, default=10, help="cold starts per function and language (default 10)")
    parser.add_argument("--json", help="write every measurement and the medians to this file")
    parser.add_argument("--functions", help="comma-separated subset (default: all)")
    parser.add_argument("--python", default=sys.executable, help="the Python for the equivalents (default: this one)")
    parser.add_argument("--run-id", help="the finished run for track-run and collect-results (default: the only one)")
    parser.add_argument("--account", help="the member account for the onboarding payloads (default: the first)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a cold start may take (default 60)")
    parser.add_argument("--keep-logs", help="keep the functions' logs in this directory")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    binaries = pathlib.Path(args.binaries).resolve()
    config = pathlib.Path(args.config).resolve()
    selected = [f for f in FUNCTIONS if not args.functions or f.name in args.functions.split(",")]
    if args.functions and len(selected) != len(args.functions.split(",")):
        parser.error(f"--functions: known functions are {', '.join(f.name for f in FUNCTIONS)}")
    known = {f.name for f in FUNCTIONS}
    for path in sorted((REPO / "functions").glob("*/src/main.rs")):
        if path.parent.parent.name not in known:
            print(f"cold_start: warning: functions/{path.parent.parent.name} has no B1 payload or Python equivalent", file=sys.stderr)
    missing = [f.name for f in selected if not (binaries / f.name).is_file()]
    if missing:
        sys.exit(f"cold_start: no release binary for {', '.join(missing)} in {binaries}: build them first")
    check = subprocess.run([args.python, "-c", "import boto3, yaml"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"cold_start: {args.python} lacks boto3 or PyYAML (scripts/install-local-stack installs both): {check.stderr.strip()}")

    stack = Stack(args.endpoint, config, args.run_id, args.account)
    print(
        f"B1: {len(selected)} functions x {args.runs} cold starts x (Rust, Python); member {stack.member}, run {stack.run_id}",
        file=sys.stderr,
    )
    workdir = pathlib.Path(args.keep_logs).resolve() if args.keep_logs else pathlib.Path(tempfile.mkdtemp(prefix="b1-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    home.mkdir(exist_ok=True)

    results, failures = {}, []
    for function in selected:
        module = function.name.replace("-", "_")
        commands = {
            "rust": [str(binaries / function.name)],
            "python": [args.python, str(HANDLERS / "bootstrap.py"), f"{module}.handler"],
        }
        samples = {"rust": [], "python": []}
        for run in range(args.runs):
            for language in ("rust", "python"):
                env = environment(function.name, args.endpoint, config, stack.state_machine, home, "")
                if language == "python":
                    env.update({"PYTHONDONTWRITEBYTECODE": "1", "_HANDLER": f"{module}.handler", "LAMBDA_TASK_ROOT": str(HANDLERS)})
                event = function.payload(stack, language, run)
                result = cold_start(language, commands[language], env, event, function.name, workdir, args.timeout)
                if "failure" not in result:
                    problem = function.check(result["answer"])
                    if problem:
                        result["failure"] = f"wrong answer: {problem}"
                if "failure" in result:
                    failures.append(f"{function.name} ({language}, run {run + 1}): {result['failure']}")
                    tail = result.get("log_tail", "").replace("\n", "\n      ")
                    print(f"  {function.name} ({language}) failed: {result['failure']}\n    its log's tail:\n      {tail}", file=sys.stderr)
                samples[language].append(result)
                print(
                    f"  {function.name:<16} {language:<6} run {run + 1:>2}: init {fmt(result.get('init_ms'), ' ms')},"
                    f" 1st invocation {fmt(result.get('first_invocation_ms'), ' ms')},"
                    f" peak RSS {fmt(kb_to_mb(result.get('peak_rss_kb')), ' MB')}" + (" FAILED" if "failure" in result else ""),
                    file=sys.stderr,
                )
        entry = {"payload": function.what, "binary_bytes": (binaries / function.name).stat().st_size}
        for language in ("rust", "python"):
            good = [sample for sample in samples[language] if "failure" not in sample]
            entry[language] = {
                "answer": next((sample["answer"] for sample in good), None),  # the first, as an example
                "runs": samples[language],
                "median": {
                    metric: median([sample.get(metric) for sample in good])
                    for metric in ("init_ms", "first_invocation_ms", "peak_rss_kb", "init_rss_kb")
                },
            }
        summaries = {
            language: {json.dumps(function.summary(s["answer"]), sort_keys=True) for s in samples[language] if "failure" not in s}
            for language in ("rust", "python")
        }
        entry["equivalent"] = summaries["rust"] == summaries["python"] and len(summaries["rust"]) == 1
        if summaries["rust"] and summaries["python"] and not entry["equivalent"]:
            failures.append(f"{function.name}: Rust and Python answered differently: {summaries['rust']} vs {summaries['python']}")
        rust, python = entry["rust"]["median"], entry["python"]["median"]
        entry["init_ratio"] = ratio(python["init_ms"], rust["init_ms"])
        entry["rss_ratio"] = ratio(python["peak_rss_kb"], rust["peak_rss_kb"])
        entry["targets_met"] = {
            "init": entry["init_ratio"] is not None and entry["init_ratio"] >= INIT_TARGET,
            "rss": entry["rss_ratio"] is not None and entry["rss_ratio"] >= RSS_TARGET,
        }
        results[function.name] = entry

    print(table(results))
    print(
        f"\nmedians of {args.runs} cold starts each; init = spawn -> first `next`; RSS = VmHWM after the first response;"
        f" targets: Rust init <= 1/{INIT_TARGET:g} of Python's (Py/Rust >= {INIT_TARGET:g}x), peak RSS <= 1/{RSS_TARGET:g} (>= {RSS_TARGET:g}x)",
        flush=True,
    )
    if args.json:
        for entry in results.values():
            for language in ("rust", "python"):
                for sample in entry[language]["runs"]:
                    sample.pop("answer", None)
        document = {
            "benchmark": "B1 init and memory (issue 7)",
            "machine": machine(),
            "runs": args.runs,
            "memory_size_mb": MEMORY_MB,
            "targets": {"init_ratio_at_least": INIT_TARGET, "rss_ratio_at_least": RSS_TARGET},
            "functions": results,
            "failures": failures,
        }
        pathlib.Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    if not args.keep_logs and not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} failed:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        if not args.keep_logs:
            print(f"  (logs kept in {workdir})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
