"""What every Python equivalent shares, as functions/runtime (crate fabric-lambda) and
shared/src/aws do for the Rust functions: startup done once at import (logging, the fabric's
YAML config from FABRIC_CONFIG, a boto3 session from the environment), the clients built the
way shared/src/aws/wiring.rs builds them, and thin adapters over the calls the handlers make.

Only for benchmark B1: the Python side must pay the same init (config loading, the same
clients) and make the same calls per invocation as the Rust functions, nothing more. The
config is checked for the fields the handlers use, not validated as fully as the Rust crate
does (that costs the Rust side, not this one).
"""

import json
import logging
import os
import re
import sys
import time

import boto3
import yaml
from botocore.config import Config as BotoConfig

LOG = logging.getLogger("fabric")
# libyaml's loader when PyYAML has it (the fastest safe loader), else the pure-Python one.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class FabricError(Exception):
    """A failure with the stable `Fabric.*` type the state machines match on."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def invalid_config(path, problem):
    return FabricError("Fabric.InvalidConfig", f"the config's {path}: {problem}")


def check_config(config):
    """The fields the handlers use, with the types they need."""
    if not isinstance(config, dict):
        raise invalid_config("(top)", "must be a mapping")
    for key in ("central_account", "regions", "documents", "execution_role"):
        if key not in config:
            raise invalid_config(key, "is missing")
    if not ACCOUNT_ID.match(str(config["central_account"])):
        raise invalid_config("central_account", "must be 12 digits")
    for index, region in enumerate(config["regions"]):
        if not REGION.match(str(region)):
            raise invalid_config(f"regions[{index}]", f"{region!r} is not a Region")
    for index, selector in enumerate(config["documents"].get("share", [])):
        if not isinstance(selector, dict) or len(set(selector) & {"name", "prefix"}) != 1:
            raise invalid_config(f"documents.share[{index}]", "give exactly one of name or prefix")
    role = config["execution_role"]
    role.setdefault("permission_model", "self_managed")
    role.setdefault("stack_region", "us-east-1")
    if "stack_set_name" not in role:
        raise invalid_config("execution_role.stack_set_name", "is missing")
    config.setdefault("results_role_name", "AutomationFabric-ResultsReader")
    config.setdefault("run_profiles", {})
    return config


def start():
    """Logging, the config and the session, once per execution environment (as
    fabric_lambda::start: a missing or invalid config stops the function at init)."""
    # As in Lambda's Python runtime: the root logger at WARNING (botocore's INFO lines stay out),
    # the function's own logger at INFO, as the Rust functions log theirs.
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    LOG.setLevel(logging.INFO)
    path = os.environ.get("FABRIC_CONFIG", "fabric.yaml")
    with open(path, "rb") as file:
        config = check_config(yaml.load(file, Loader=LOADER))
    session = boto3.session.Session()  # Region, credentials and AWS_ENDPOINT_URL from the environment
    LOG.info("started config=%s", path)
    return config, session


def required_env(name):
    value = os.environ.get(name)
    if value is None:
        raise FabricError("Runtime.InitError", f"the function needs the environment variable {name}")
    return value


def aws_error(service, operation, error):
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    retryable = code in ("ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable")
    kind = "Fabric.Retryable" if retryable else "Fabric.Aws"
    return FabricError(kind, f"{service}:{operation} failed: {error}")


# Clients, as shared/src/aws/wiring.rs builds them.


def organizations_client(session):
    """Organizations lives in us-east-1 whatever the function's Region."""
    return session.client("organizations", region_name="us-east-1")


def directory(session, config):
    return Directory(
        organizations_client(session),
        session.client("account", region_name="us-east-1"),
        str(config["central_account"]),
    )


def s3_client(session):
    """Path-style addressing when the endpoint is overridden (a local stack has no bucket hosts)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return session.client("s3", config=BotoConfig(s3={"addressing_style": "path"}))
    return session.client("s3")


def notifier(session, config):
    notifications = config.get("notifications")
    if not notifications:
        return None
    return Notifier(session.client("sns"), notifications["topic_arn"])


class RunServices:
    """Everything a run talks to: organizations + account, ssm, sts, s3, sns."""

    def __init__(self, session, config):
        reports = config.get("reports")
        if not reports or "bucket" not in reports:
            raise invalid_config("reports", "runs need a report bucket (reports.bucket)")
        self.directory = directory(session, config)
        self.ssm = session.client("ssm")
        self.sts = session.client("sts")  # the results role is assumed through it
        self.store = Store(s3_client(session), reports["bucket"], reports.get("prefix", ""))
        self.notifier = notifier(session, config)


class OnboardingServices:
    """Everything onboarding talks to: organizations + account, ssm per Region (made when
    used, as SsmDocuments does), cloudformation in the StackSet's Region."""

    def __init__(self, session, config):
        role = config["execution_role"]
        self.directory = directory(session, config)
        self.documents = Documents(session)
        self.roles = Roles(session.client("cloudformation", region_name=role["stack_region"]), role["stack_set_name"], role["stack_region"])


# Adapters: the calls, as shared/src/aws makes them.


class Directory:
    def __init__(self, organizations, accounts, caller):
        self.organizations = organizations
        self.accounts = accounts
        self.caller = caller

    def account(self, account_id):
        """The member account, or None when it is not one."""
        try:
            return self.organizations.describe_account(AccountId=account_id)["Account"]
        except self.organizations.exceptions.AccountNotFoundException:
            return None

    def root(self):
        return self.organizations.list_roots()["Roots"][0]["Id"]

    def accounts_under(self, parent, recursive):
        """Accounts under `parent`, nested OUs walked breadth-first, every page read."""
        accounts, parents = [], [parent]
        while parents:
            parent = parents.pop(0)
            for page in self.organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                accounts.extend(page["Accounts"])
            if recursive:
                for page in self.organizations.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
                    parents.extend(unit["Id"] for unit in page["OrganizationalUnits"])
        return accounts

    def enabled_regions(self, account_id):
        arguments = {"RegionOptStatusContains": ["ENABLED", "ENABLED_BY_DEFAULT"]}
        if account_id != self.caller:
            arguments["AccountId"] = account_id
        regions = set()
        for page in self.accounts.get_paginator("list_regions").paginate(**arguments):
            regions.update(region["RegionName"] for region in page["Regions"])
        return regions


class Documents:
    """The central account's documents, a client per Region."""

    def __init__(self, session):
        self.session = session
        self.clients = {}

    def client(self, region):
        if region not in self.clients:
            self.clients[region] = self.session.client("ssm", region_name=region)
        return self.clients[region]

    def owned(self, region):
        filters = [{"Key": "Owner", "Values": ["Self"]}, {"Key": "DocumentType", "Values": ["Automation"]}]
        names = set()
        for page in self.client(region).get_paginator("list_documents").paginate(Filters=filters):
            names.update(document["Name"] for document in page["DocumentIdentifiers"])
        return sorted(names)

    def shared_with(self, name, region):
        accounts, token = [], None
        while True:
            arguments = {"Name": name, "PermissionType": "Share"}
            if token:
                arguments["NextToken"] = token
            answer = self.client(region).describe_document_permission(**arguments)
            accounts.extend(answer.get("AccountIds", []))
            token = answer.get("NextToken")
            if not token:
                return accounts

    def modify_sharing(self, name, region, add, remove):
        for start in range(0, max(len(add), len(remove)), 20):
            arguments = {"Name": name, "PermissionType": "Share"}
            if add[start : start + 20]:
                arguments["AccountIdsToAdd"] = add[start : start + 20]
            if remove[start : start + 20]:
                arguments["AccountIdsToRemove"] = remove[start : start + 20]
            self.client(region).modify_document_permission(**arguments)


class Roles:
    """The execution role's StackSet."""

    def __init__(self, cloudformation, stack_set, region):
        self.cloudformation = cloudformation
        self.stack_set = stack_set
        self.region = region

    def deployed(self):
        accounts = set()
        for page in self.cloudformation.get_paginator("list_stack_instances").paginate(StackSetName=self.stack_set):
            accounts.update(instance["Account"] for instance in page["Summaries"])
        return accounts

    def deploy(self, accounts):
        if accounts:
            operation = self.cloudformation.create_stack_instances(StackSetName=self.stack_set, Accounts=accounts, Regions=[self.region])
            self.wait(operation["OperationId"])

    def remove(self, accounts):
        if accounts:
            operation = self.cloudformation.delete_stack_instances(
                StackSetName=self.stack_set, Accounts=accounts, Regions=[self.region], RetainStacks=False
            )
            self.wait(operation["OperationId"])

    def wait(self, operation_id):
        for _ in range(900):
            status = self.cloudformation.describe_stack_set_operation(StackSetName=self.stack_set, OperationId=operation_id)[
                "StackSetOperation"
            ]["Status"]
            if status == "SUCCEEDED":
                return
            if status in ("FAILED", "STOPPED"):
                raise FabricError("Fabric.Aws", f"StackSet {self.stack_set} operation {operation_id} ended {status}")
            time.sleep(2)
        raise FabricError("Fabric.Retryable", f"StackSet operation {operation_id} is still running")


class Store:
    """Reports and run state in one bucket, under a prefix."""

    def __init__(self, s3, bucket, prefix):
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    def put(self, key, body):
        key = f"{self.prefix}{key}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self.bucket}/{key}"

    def get(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}{key}")["Body"].read()

    def run_state(self, run_id):
        try:
            return json.loads(self.get(f"state/runs/{run_id}.json"))
        except self.s3.exceptions.NoSuchKey:
            raise FabricError("Fabric.Run", f"there is no run {run_id}") from None


class Notifier:
    def __init__(self, sns, topic_arn):
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, subject, message, attributes):
        answer = self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
        )
        return answer["MessageId"]
