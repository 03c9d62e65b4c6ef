"""Python equivalent of functions/start-run for benchmark B1, for the manual dry run the
benchmark sends (as the state machine's StartRun does: the trigger and the execution): at init the config and the run clients (organizations, account, ssm, sts, s3,
sns); per invocation the run planned as shared/src/plan does it (an account entry read with
organizations:DescribeAccount, an OU or root walked with ListAccountsForParent and
ListOrganizationalUnitsForParent, excluded and inactive accounts left out, each account's
enabled Regions read once with account:ListRegions, accounts with the same Regions grouped, at
most 50 accounts and 50 Regions a target location and 100 target locations a call), then every
call previewed by SSM (ssm:StartExecutionPreview, ssm:GetExecutionPreview until it ends).
Starting a run (no dry_run) or a next wave is not part of the equivalent: it answers a
Fabric.Run error."""

import time

import common

CONFIG, SESSION = common.start()
SERVICES = common.RunServices(SESSION, CONFIG)
DEFAULT_EXECUTION_ROLE = "AWS-SystemsManager-AutomationExecutionRole"
PREVIEW_POLL_INTERVAL_S = 0.5
PREVIEW_POLLS = 120


def spec_of(run):
    if run.get("spec"):
        return run["spec"]
    profile = CONFIG["run_profiles"].get(run.get("profile"))
    if profile is None:
        raise common.FabricError("Fabric.Run", f"the config has no run profile {run.get('profile')!r}")
    return profile


def waves_of(spec):
    if spec.get("waves"):
        return spec["waves"]
    return [{"name": "all", "target_locations": spec.get("target_locations", [])}]


def resolve(entries, recursive):
    """[(account id, active?)] for account ids and OU / root ids, each once, in order."""
    resolved, seen = [], set()
    for entry in entries:
        if common.ACCOUNT_ID.match(str(entry)):
            account = SERVICES.directory.account(str(entry))
            found = [(str(entry), account is not None and account["Status"] == "ACTIVE")]
        else:
            found = [(a["Id"], a["Status"] == "ACTIVE") for a in SERVICES.directory.accounts_under(entry, recursive)]
        for account_id, active in found:
            if account_id not in seen:
                seen.add(account_id)
                resolved.append((account_id, active))
    return resolved


def plan(spec):
    """The calls of every wave, each a list of SSM TargetLocations, and how many locations."""
    planned, enabled, calls, count = set(), {}, [], 0
    for wave in waves_of(spec):
        groups = []
        for template in wave["target_locations"]:
            regions = template.get("regions") or CONFIG["regions"]
            excluded = {a for a, _ in resolve(template.get("exclude_accounts", []), True)}
            by_regions = {}
            for account, active in resolve(template["accounts"], template.get("include_child_organization_units", False)):
                if account in excluded or not active:
                    continue
                if account not in enabled:
                    enabled[account] = SERVICES.directory.enabled_regions(account)
                kept = [r for r in regions if r in enabled[account] and (account, r) not in planned]
                planned.update((account, r) for r in kept)
                if kept:
                    by_regions.setdefault(tuple(kept), []).append(account)
            for regions_key, accounts in by_regions.items():
                for start in range(0, len(accounts), 50):
                    for region_start in range(0, len(regions_key), 50):
                        chunk, chunk_regions = accounts[start : start + 50], list(regions_key[region_start : region_start + 50])
                        groups.append(target_location(template, chunk, chunk_regions))
                        count += len(chunk) * len(chunk_regions)
        calls.extend(groups[start : start + 100] for start in range(0, len(groups), 100))
    return calls, count


def target_location(template, accounts, regions):
    location = {
        "Accounts": accounts,
        "Regions": regions,
        "ExecutionRoleName": template.get("execution_role_name", DEFAULT_EXECUTION_ROLE),
        "IncludeChildOrganizationUnits": False,
    }
    for field, name in (
        ("target_location_max_concurrency", "TargetLocationMaxConcurrency"),
        ("target_location_max_errors", "TargetLocationMaxErrors"),
        ("targets_max_concurrency", "TargetsMaxConcurrency"),
        ("targets_max_errors", "TargetsMaxErrors"),
    ):
        if field in template:
            location[name] = str(template[field])
    if template.get("targets"):
        location["Targets"] = [{"Key": template["targets"]["key"], "Values": template["targets"]["values"]}]
    return location


def preview(spec, target_locations):
    inputs = {"TargetLocations": target_locations}
    if spec.get("parameters"):
        inputs["Parameters"] = spec["parameters"]
    if spec.get("target_parameter_name"):
        inputs["TargetParameterName"] = spec["target_parameter_name"]
    arguments = {"DocumentName": spec["document"], "ExecutionInputs": {"Automation": inputs}}
    if spec.get("document_version"):
        arguments["DocumentVersion"] = str(spec["document_version"])
    preview_id = SERVICES.ssm.start_execution_preview(**arguments)["ExecutionPreviewId"]
    for _ in range(PREVIEW_POLLS):
        answer = SERVICES.ssm.get_execution_preview(ExecutionPreviewId=preview_id)
        if answer["Status"] == "Success":
            automation = answer.get("ExecutionPreview", {}).get("Automation", {})
            targets = sum(target.get("Count", 0) for target in automation.get("TargetPreviews", []))
            return automation.get("TotalAccounts", 0), set(automation.get("Regions", [])), targets
        if answer["Status"] == "Failed":
            raise common.FabricError("Fabric.Run", f"SSM could not preview the run: {answer.get('StatusMessage')}")
        time.sleep(PREVIEW_POLL_INTERVAL_S)
    raise common.FabricError("Fabric.Retryable", f"the preview {preview_id} did not end in time")


def handler(event, context):
    run = (event.get("trigger") or {}).get("manual") or {}
    if not run.get("dry_run"):
        raise common.FabricError("Fabric.Run", "the Python equivalent plans and previews manual dry runs only")
    spec = spec_of(run)
    calls, count = plan(spec)
    accounts, regions, targets = 0, set(), 0
    for call in calls:
        call_accounts, call_regions, call_targets = preview(spec, call)
        accounts, targets = accounts + call_accounts, targets + call_targets
        regions |= call_regions
    return {
        "run_id": None,
        "locations": count,
        "reason": f"dry run: {count} locations planned; SSM's preview: {accounts} accounts, {len(regions)} Regions, {targets} targets",
    }
