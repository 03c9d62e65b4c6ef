"""Shared fixtures for the client tests: the stack under test, the seeded organization, boto3
sessions (central and assumed into member accounts), the AWS CLI v1, and polling helpers.

The stack is named by two environment variables, both required (a missing one fails every test,
it never skips):

* ``FABRIC_ENDPOINT``: the simulator's endpoint, e.g. ``http://127.0.0.1:4766``;
* ``FABRIC_SEED``: the JSON summary ``local-stack/seed.py`` printed (``--output``) for that
  stack, seeded with ``--accounts 5 --onboard --without-role 1 --failing-instances 1``.
"""

import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

CENTRAL = "123456789012"
ADMINISTRATION_ROLE_ARN = f"arn:aws:iam::{CENTRAL}:role/AWS-SystemsManager-AutomationAdministrationRole"
EXECUTION_ROLE = "AWS-SystemsManager-AutomationExecutionRole"
MEMBER_ACCESS_ROLE = "OrganizationAccountAccessRole"
DOCUMENT = "Automation-RunPatchBaseline"
BEHAVIOUR_TAG = "fabric-simulator"
# The image the tests launch instances from (the local stack's moto loads no default AMIs and
# does not check image ids).
IMAGE = "ami-12c6146b"
PATCH_TARGETS = [{"Key": "tag:Patch", "Values": ["true"]}]
# The patch runbook's parameters for a scan, as the guide's examples pass them.
PARAMETERS = {"AutomationAssumeRole": [ADMINISTRATION_ROLE_ARN], "Operation": ["Scan"]}
WEB_SERVERS = [{"Key": "ResourceGroup", "Values": ["WebServers"]}]
UNABLE_TO_ASSUME = "Unable to assume role"
FINAL = {"Success", "Failed", "Cancelled", "TimedOut", "Rejected", "Exited", "CompletedWithSuccess", "CompletedWithFailure"}
# How long any run of these tests may take to reach a final status.
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.1
REPO = pathlib.Path(__file__).resolve().parents[2]


def _required_env(name, what):
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(
            f"{name} is not set: it must name {what}. Start a private stack (moto + "
            "`fabric local serve`), seed it with local-stack/seed.py --accounts 5 --onboard "
            "--without-role 1 --failing-instances 1 --output FILE, then run e.g. "
            "FABRIC_ENDPOINT=http://127.0.0.1:4766 FABRIC_SEED=FILE pytest tests/clients",
            pytrace=False,
        )
    return value


class Seed:
    """The seeded organization, and what each location is expected to do."""

    def __init__(self, data):
        self.data = data
        self.accounts = data["accounts"]
        self.regions = data["regions"]
        self.ous = data["ous"]
        self.root_id = data["root_id"]
        self.failing = {(f["account"], f["region"]): f["instance"] for f in data["failing_instances"]}
        self.without_role = [a["id"] for a in self.accounts if not a["execution_role"]]
        failing_accounts = {account for account, _ in self.failing}
        self.healthy = [
            a["id"] for a in self.accounts if a["execution_role"] and a["id"] not in failing_accounts
        ]
        self.failing_account, self.failing_region = next(iter(self.failing))
        self.failing_instance = self.failing[(self.failing_account, self.failing_region)]
        # A Region where no instance is told to fail.
        self.quiet_regions = [r for r in self.regions if all(region != r for _, region in self.failing)]

    def account(self, account_id):
        return next(a for a in self.accounts if a["id"] == account_id)

    def instances(self, account_id, region):
        return self.account(account_id)["instances"][region]

    def expected_status(self, account_id, region, targets="tag"):
        """What the parent's step for a location ends in: no role -> Failed; a target instance
        told to fail -> Failed; else Success. `targets`: "tag" (every instance) or
        "group" (the WebServers group: the first instance of each location)."""
        if account_id in self.without_role:
            return "Failed"
        failing = self.failing.get((account_id, region))
        if failing is None:
            return "Success"
        targeted = self.instances(account_id, region) if targets == "tag" else self.instances(account_id, region)[:1]
        return "Failed" if failing in targeted else "Success"


@pytest.fixture(scope="session")
def endpoint():
    url = _required_env("FABRIC_ENDPOINT", "the simulator's endpoint (http://127.0.0.1:PORT)").rstrip("/")
    try:
        with urllib.request.urlopen(f"{url}/fabric-simulator/health", timeout=5) as answer:
            health = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        pytest.fail(f"FABRIC_ENDPOINT={url} does not answer /fabric-simulator/health: {error}", pytrace=False)
    assert health == {"status": "ok"}, health
    return url


@pytest.fixture(scope="session")
def seed():
    path = _required_env("FABRIC_SEED", "the JSON summary file local-stack/seed.py wrote (--output)")
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError) as error:
        pytest.fail(f"FABRIC_SEED={path} cannot be read as the seed summary: {error}", pytrace=False)
    missing = {"accounts", "regions", "ous", "root_id", "failing_instances", "management_account"} - set(data)
    if missing:
        pytest.fail(f"FABRIC_SEED={path} is not a seed summary: it lacks {sorted(missing)}", pytrace=False)
    result = Seed(data)
    problems = []
    if data["management_account"] != CENTRAL:
        problems.append(f"management account {data['management_account']} is not {CENTRAL}")
    if len(result.accounts) < 5:
        problems.append(f"{len(result.accounts)} accounts, expected 5")
    if len(result.without_role) != 1:
        problems.append(f"{len(result.without_role)} accounts without the execution role, expected 1 (--without-role 1)")
    if len(result.failing) != 1:
        problems.append(f"{len(result.failing)} failing instances, expected 1 (--failing-instances 1)")
    if len(result.healthy) < 3:
        problems.append(f"{len(result.healthy)} onboarded accounts without failing instances, expected at least 3")
    if len(result.regions) < 3 or not result.quiet_regions:
        problems.append(f"regions {result.regions}: expected us-east-1,us-west-2,eu-central-1")
    if problems:
        pytest.fail(f"FABRIC_SEED={path} was not seeded as these tests need: " + "; ".join(problems), pytrace=False)
    return result


# --- boto3 ------------------------------------------------------------------------------------


def central_session(region="us-east-1"):
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )


def assume_member(endpoint, account_id):
    """Credentials of `account_id`, assumed from the central account through STS at the endpoint."""
    credentials = central_session().client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ACCESS_ROLE}",
        RoleSessionName="fabric-client-tests",
    )["Credentials"]
    return credentials


def member_session(endpoint, account_id, region="us-east-1"):
    credentials = assume_member(endpoint, account_id)
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


@pytest.fixture(scope="session")
def ssm(endpoint):
    """SSM of the central account in us-east-1 (no retries hide a wrong answer)."""
    return central_session().client(
        "ssm", endpoint_url=endpoint, config=Config(retries={"max_attempts": 0, "mode": "standard"})
    )


@pytest.fixture(scope="session")
def member_ssm(endpoint):
    """`member_ssm(account, region)`: SSM with that account's assumed credentials."""
    cache = {}

    def client(account_id, region):
        key = (account_id, region)
        if key not in cache:
            cache[key] = member_session(endpoint, account_id, region).client(
                "ssm", endpoint_url=endpoint, config=Config(retries={"max_attempts": 0, "mode": "standard"})
            )
        return cache[key]

    return client


def wait_until(what, probe, deadline=DEADLINE_SECONDS):
    """Calls `probe()` until it returns something truthy; fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(POLL_SECONDS)
    pytest.fail(f"{what} did not happen within {deadline} s (last seen: {last!r})")


def wait_final(client, execution_id, deadline=DEADLINE_SECONDS):
    """The execution once its status is final (boto3)."""

    def probe():
        execution = client.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
        return execution if execution["AutomationExecutionStatus"] in FINAL else None

    return wait_until(f"execution {execution_id} reaching a final status", probe, deadline)


def steps_by_location(execution):
    """The parent's steps, keyed by (account, Region) of their TargetLocation."""
    steps = {}
    for step in execution["StepExecutions"]:
        location = step["TargetLocation"]
        assert len(location["Accounts"]) == 1 and len(location["Regions"]) == 1, location
        key = (location["Accounts"][0], location["Regions"][0])
        assert key not in steps, f"two steps for {key}"
        steps[key] = step
    return steps


def new_token():
    return str(uuid.uuid4())


# --- the simulator's control endpoint ---------------------------------------------------------


def control(endpoint, path, body=None):
    """GET (body None) or POST JSON to `/fabric-simulator/<path>`; the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{endpoint}/fabric-simulator/{path}",
        data=data,
        method="GET" if body is None else "POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


# --- the AWS CLI v1 ---------------------------------------------------------------------------


def _aws_cli():
    """The project's `aws` (its shebang is the virtualenv's Python), else the one beside the
    Python running the tests."""
    for candidate in (REPO / ".local/venv/bin/aws", pathlib.Path(sys.executable).parent / "aws"):
        if candidate.exists():
            return [str(candidate)]
    pytest.fail("the AWS CLI is not installed in the project's virtualenv (.local/venv/bin/aws)", pytrace=False)


class CliResult:
    def __init__(self, args, completed):
        self.args = args
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self):
        assert self.returncode == 0, f"aws {' '.join(self.args)} exited {self.returncode}: {self.stderr}"
        return json.loads(self.stdout) if self.stdout.strip() else {}


class Cli:
    """Runs `aws ...` (v1, the project's) against the endpoint, as the central account or with
    given credentials, isolated from any config or credentials file of the machine."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.command = _aws_cli()

    def environment(self, credentials=None, region="us-east-1", extra=None):
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_") and key not in {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
        }
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": region,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_MAX_ATTEMPTS": "1",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        if credentials is not None:
            env["AWS_ACCESS_KEY_ID"] = credentials["AccessKeyId"]
            env["AWS_SECRET_ACCESS_KEY"] = credentials["SecretAccessKey"]
            env["AWS_SESSION_TOKEN"] = credentials["SessionToken"]
        env.update(extra or {})
        return env

    def run(self, *args, credentials=None, region="us-east-1", extra_env=None):
        args = [str(arg) for arg in args]
        completed = subprocess.run(
            [*self.command, *args, "--output", "json"],
            env=self.environment(credentials, region, extra_env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return CliResult(args, completed)

    def json(self, *args, **kwargs):
        return self.run(*args, **kwargs).json()

    def wait_final(self, execution_id, credentials=None, region="us-east-1", deadline=DEADLINE_SECONDS):
        """The execution once final, polled with `aws ssm get-automation-execution`."""

        def probe():
            execution = self.json(
                "ssm", "get-automation-execution", "--automation-execution-id", execution_id,
                credentials=credentials, region=region,
            )["AutomationExecution"]
            return execution if execution["AutomationExecutionStatus"] in FINAL else None

        return wait_until(f"execution {execution_id} reaching a final status (CLI)", probe, deadline)


@pytest.fixture(scope="session")
def cli(endpoint):
    tool = Cli(endpoint)
    version = tool.run("--version")
    text = (version.stdout + version.stderr).strip()
    assert version.returncode == 0 and text.startswith("aws-cli/1."), f"not the AWS CLI v1: {text}"
    return tool


@pytest.fixture(scope="session")
def cli_member_credentials(endpoint):
    """`cli_member_credentials(account)`: credentials assumed with `aws sts assume-role`."""
    cache = {}

    def credentials(account_id):
        if account_id not in cache:
            cache[account_id] = Cli(endpoint).json(
                "sts", "assume-role",
                "--role-arn", f"arn:aws:iam::{account_id}:role/{MEMBER_ACCESS_ROLE}",
                "--role-session-name", "fabric-cli-tests",
            )["Credentials"]
        return cache[account_id]

    return credentials


def accounts_under(endpoint, parent, recursive):
    """The accounts in OU/root `parent` (and its child OUs when `recursive`), per Organizations."""
    org = central_session().client("organizations", endpoint_url=endpoint)
    found, parents = [], [parent]
    while parents:
        current = parents.pop()
        for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=current):
            found.extend(a["Id"] for a in page["Accounts"] if a["Status"] == "ACTIVE")
        if recursive:
            for page in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=current):
                parents.extend(unit["Id"] for unit in page["OrganizationalUnits"])
    return found


def error_code(excinfo):
    """The AWS error code of a `pytest.raises(ClientError)`."""
    return excinfo.value.response["Error"]["Code"]
