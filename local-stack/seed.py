"""Seeds the local stack with an organization to run against.

An organization with nested OUs and N member accounts; the central (management) account's
Automation documents (local-stack/documents/*.json) in every Region and its administration
role; in every member account and Region, tagged EC2 instances and the `WebServers` resource
group. With --onboard, also what onboarding does (documents shared, execution role deployed),
for tests that need an organization that is ready to run in.

Prints one JSON object describing what it made. Run through `fabric local seed`.
"""

import argparse
import json
import pathlib
import re
import sys

import boto3

CENTRAL = "123456789012"  # moto's default account: whoever calls with plain test credentials
ADMINISTRATION_ROLE = "AWS-SystemsManager-AutomationAdministrationRole"
EXECUTION_ROLE = "AWS-SystemsManager-AutomationExecutionRole"
STACK_SET = "automation-fabric-execution-role"  # as in config/fabric.example.yaml
ROLE_TEMPLATE = pathlib.Path(__file__).parent.parent / "infra/member-account-roles.yaml"
BEHAVIOUR_TAG = "fabric-simulator"
DOCUMENTS = pathlib.Path(__file__).parent / "documents"
# One of the images moto knows in every Region (looking one up costs most of a second a call).
IMAGE = "ami-12c6146b"
# OU tree: name -> parent name (None: the root). Accounts go round-robin into the leaves.
OUS = {
    "Workloads": None,
    "Production": "Workloads",
    "Development": "Workloads",
    "Infrastructure": None,
    "Sandbox": None,
    "Experiments": "Sandbox",
    "Canary": None,
}
# Canary second: the first account (where --failing-instances starts) and the last ones (where
# --without-role starts) are then outside the canary OU.
LEAVES = ["Production", "Canary", "Development", "Infrastructure", "Experiments"]


SESSIONS = {}
CLIENTS = {}


def client(endpoint, service, account=None, region="us-east-1"):
    """A client of `service` in `region` as `account` (made once: a boto3 client costs ~0.1 s)."""
    key = (service, account or CENTRAL, region)
    if key not in CLIENTS:
        CLIENTS[key] = session(endpoint, account).client(service, endpoint_url=endpoint, region_name=region)
    return CLIENTS[key]


def session(endpoint, account=None):
    """A boto3 session for the central account, or for `account` through STS (made once)."""
    key = account or CENTRAL
    if key not in SESSIONS:
        SESSIONS[key] = new_session(endpoint, account)
    return SESSIONS[key]


def new_session(endpoint, account):
    base = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    if account is None or account == CENTRAL:
        return base
    credentials = client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="fabric-seed",
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def trust_policy(principal):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def create_organization(org):
    try:
        existing = org.describe_organization()["Organization"]
        sys.exit(
            f"the stack is already seeded (organization {existing['Id']}): "
            "restart it with `fabric local down && fabric local up` to seed anew"
        )
    except org.exceptions.AWSOrganizationsNotInUseException:
        pass
    organization = org.create_organization(FeatureSet="ALL")["Organization"]
    root = org.list_roots()["Roots"][0]["Id"]
    ous = {}
    for name, parent in OUS.items():
        parent_id = root if parent is None else ous[parent]
        ous[name] = org.create_organizational_unit(ParentId=parent_id, Name=name)["OrganizationalUnit"]["Id"]
    return organization["Id"], root, ous


def create_accounts(org, root, ous, count):
    accounts = []
    for index in range(count):
        name = f"fabric-member-{index + 1:02d}"
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        account_id = org.describe_create_account_status(CreateAccountRequestId=status["Id"])[
            "CreateAccountStatus"
        ]["AccountId"]
        ou = LEAVES[index % len(LEAVES)]
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ous[ou])
        accounts.append({"id": account_id, "name": name, "ou": ou, "ou_id": ous[ou]})
    return accounts


def create_documents(endpoint, regions, extra):
    """The documents in local-stack/documents/, and `extra` copies of the first one named
    Fabric-Extra-NN (the example config shares every document named Fabric-...)."""
    sources = [(path.stem, path.read_text()) for path in sorted(DOCUMENTS.glob("*.json"))]
    sources += [(f"Fabric-Extra-{n + 1:02d}", sources[0][1]) for n in range(extra)]
    for name, content in sources:
        for region in regions:
            client(endpoint, "ssm", region=region).create_document(
                Name=name, Content=content, DocumentType="Automation", DocumentFormat="JSON"
            )
    return [name for name, _ in sources]


def create_role_stack_set(endpoint, organization_id):
    """The execution role's StackSet (self-managed), as the central stack would create it."""
    client(endpoint, "cloudformation").create_stack_set(
        StackSetName=STACK_SET,
        TemplateBody=ROLE_TEMPLATE.read_text(),
        Parameters=[
            {"ParameterKey": "AdministrationAccountId", "ParameterValue": CENTRAL},
            {"ParameterKey": "OrganizationId", "ParameterValue": organization_id},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
        PermissionModel="SELF_MANAGED",
    )


def create_administration_role(endpoint):
    client(endpoint, "iam").create_role(
        RoleName=ADMINISTRATION_ROLE,
        AssumeRolePolicyDocument=trust_policy({"Service": "ssm.amazonaws.com"}),
    )


def create_member_resources(endpoint, account, regions, per_location):
    """Tagged instances and the WebServers resource group in every Region of `account`."""
    instances = {}
    for region in regions:
        ec2 = client(endpoint, "ec2", account, region)
        ids = []
        for number in range(per_location):
            tags = [{"Key": "Patch", "Value": "true"}, {"Key": "Role", "Value": "web"}]
            if number == 0:
                tags.append({"Key": "Name", "Value": "WebServers"})
            reservation = ec2.run_instances(
                ImageId=IMAGE,
                MinCount=1,
                MaxCount=1,
                InstanceType="t3.micro",
                TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
            )
            ids.append(reservation["Instances"][0]["InstanceId"])
        client(endpoint, "resource-groups", account, region).create_group(
            Name="WebServers",
            ResourceQuery={
                "Type": "TAG_FILTERS_1_0",
                "Query": json.dumps(
                    {
                        "ResourceTypeFilters": ["AWS::EC2::Instance"],
                        "TagFilters": [{"Key": "Name", "Values": ["WebServers"]}],
                    }
                ),
            },
        )
        instances[region] = ids
    return instances


def onboard(endpoint, accounts, documents, regions, without_role, without_shares):
    """What onboarding does: share every document in every Region, deploy the execution role
    (leaving the role out of the last `without_role` accounts and the shares out of the last
    `without_shares`: drift for the reconciler to find)."""
    ids = [account["id"] for account in accounts[: len(accounts) - without_shares]]
    for account in accounts:
        account["shared"] = account["id"] in ids
    for region in regions:
        ssm = client(endpoint, "ssm", region=region)
        for document in documents:
            for start in range(0, len(ids), 20):
                ssm.modify_document_permission(
                    Name=document, PermissionType="Share", AccountIdsToAdd=ids[start : start + 20]
                )
    with_role = accounts[: len(accounts) - without_role]
    cloudformation = client(endpoint, "cloudformation")
    # In operations of ROLE_BATCH accounts: one operation over thousands of accounts outlasts the
    # client's read timeout, and its retry finds the stack instances made.
    for start in range(0, len(with_role), ROLE_BATCH):
        batch = with_role[start : start + ROLE_BATCH]
        operation = cloudformation.create_stack_instances(
            StackSetName=STACK_SET, Accounts=[account["id"] for account in batch], Regions=["us-east-1"]
        )["OperationId"]
        status = cloudformation.describe_stack_set_operation(StackSetName=STACK_SET, OperationId=operation)[
            "StackSetOperation"
        ]["Status"]
        if status != "SUCCEEDED":
            sys.exit(f"deploying the execution role through {STACK_SET} ended {status}")
    for account in with_role:
        account["execution_role"] = True


# How many accounts one CreateStackInstances operation deploys the execution role to.
ROLE_BATCH = 500

# The example config's placeholders for what only exists once seeded.
EXAMPLE_ACCOUNT = "111122223333"
EXAMPLE_IDS = {"r-ab12": "root", "ou-ab12-canary01": "Canary", "ou-ab12-workload": "Workloads"}


def create_report_destinations(endpoint):
    """The report bucket and topic of the example config, in the central account."""
    client(endpoint, "s3").create_bucket(Bucket=f"automation-fabric-reports-{CENTRAL}")
    client(endpoint, "sns").create_topic(Name="automation-fabric-reports")


def write_config(example, target, root, ous, regions):
    """The example config with the seeded organization's ids in place of its placeholders, and
    the seeded Regions as its default Regions."""
    text = pathlib.Path(example).read_text().replace(EXAMPLE_ACCOUNT, CENTRAL)
    for placeholder, name in EXAMPLE_IDS.items():
        text = text.replace(placeholder, root if name == "root" else ous[name])
    text, replaced = re.subn(r"(?m)^regions: \[.*\]$", f"regions: [{', '.join(regions)}]", text)
    if replaced != 1:
        sys.exit("seed: the example config has no one-line top-level `regions: [...]`")
    pathlib.Path(target).write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="the local stack's endpoint")
    parser.add_argument("--accounts", type=int, default=20, help="member accounts (default 20)")
    parser.add_argument(
        "--regions", default="us-east-1,us-west-2,eu-central-1", help="comma-separated Regions"
    )
    parser.add_argument("--instances-per-location", type=int, default=2)
    parser.add_argument("--onboard", action="store_true", help="share documents and deploy roles")
    parser.add_argument(
        "--extra-documents", type=int, default=0, help="also N copies of the first document, named Fabric-Extra-NN"
    )
    parser.add_argument(
        "--without-role", type=int, default=0, help="with --onboard: leave the role out of the last N accounts"
    )
    parser.add_argument(
        "--without-shares", type=int, default=0, help="with --onboard: share nothing with the last N accounts"
    )
    parser.add_argument(
        "--failing-instances",
        type=int,
        default=0,
        help=f"tag the first instance of the first N accounts (first Region) {BEHAVIOUR_TAG}=fail "
        "(or the --behaviour given)",
    )
    parser.add_argument(
        "--behaviour",
        default="fail",
        help=f"the {BEHAVIOUR_TAG} tag value of --failing-instances' instances: fail, sleep=MS or fail-after=MS",
    )
    parser.add_argument("--output", help="also write the JSON summary to this file")
    parser.add_argument(
        "--config-out",
        help="write the example config (config/fabric.example.yaml) with the seeded ids to this file, "
        "and create its report bucket and topic",
    )
    args = parser.parse_args()
    regions = [region for region in args.regions.split(",") if region]
    if args.accounts < 1 or not regions:
        parser.error("seed at least one account in at least one Region")

    org = client(args.endpoint, "organizations")
    organization_id, root, ous = create_organization(org)
    accounts = create_accounts(org, root, ous, args.accounts)
    documents = create_documents(args.endpoint, regions, args.extra_documents)
    create_administration_role(args.endpoint)
    create_role_stack_set(args.endpoint, organization_id)
    for account in accounts:
        account["execution_role"] = False
        account["shared"] = False
        account["instances"] = (
            create_member_resources(args.endpoint, account["id"], regions, args.instances_per_location)
            if args.instances_per_location > 0
            else {region: [] for region in regions}
        )
    if args.onboard:
        onboard(args.endpoint, accounts, documents, regions, args.without_role, args.without_shares)
    failing = []
    for account in accounts[: args.failing_instances]:
        instance = account["instances"][regions[0]][0]
        client(args.endpoint, "ec2", account["id"], regions[0]).create_tags(Resources=[instance], Tags=[{"Key": BEHAVIOUR_TAG, "Value": args.behaviour}])
        failing.append({"account": account["id"], "region": regions[0], "instance": instance})

    if args.config_out:
        create_report_destinations(args.endpoint)
        write_config(pathlib.Path(__file__).parent.parent / "config/fabric.example.yaml", args.config_out, root, ous, regions)

    summary = {
        "organization_id": organization_id,
        "root_id": root,
        "management_account": CENTRAL,
        "ous": ous,
        "ou_parents": {ous[name]: (root if parent is None else ous[parent]) for name, parent in OUS.items()},
        "regions": regions,
        "documents": documents,
        "accounts": accounts,
        "failing_instances": failing,
    }
    text = json.dumps(summary, indent=2)
    if args.output:
        pathlib.Path(args.output).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
