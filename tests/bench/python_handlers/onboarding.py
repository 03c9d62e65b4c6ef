"""Onboarding's logic for the Python equivalents (share-documents, deploy-roles, reconcile), as
shared/src/onboarding.rs does it: the configured documents selected in each Region (names, or
every owned document with a prefix), sharing read before it is changed, roles deployed through
the StackSet only where missing, the reconciler's batches of 20 accounts per change.
"""

MAX_SHARED_ACCOUNTS = 1000


def sharing_regions(config):
    return config["documents"].get("regions") or config["regions"]


def selected_documents(documents, config, region):
    """[(name, None)] for each selected document, [(name, reason)] for a named one that is missing."""
    owned = set(documents.owned(region))
    selected, seen = [], set()
    for selector in config["documents"]["share"]:
        if "name" in selector:
            name = selector["name"]
            if name in seen:
                continue
            seen.add(name)
            reason = None if name in owned else f"the central account has no document {name} in {region}"
            selected.append((name, reason))
        else:
            for name in sorted(owned):
                if name.startswith(selector["prefix"]) and name not in seen:
                    seen.add(name)
                    selected.append((name, None))
    return selected


def share_documents(documents, config, account, action):
    shares, errors = [], []
    for region in sharing_regions(config):
        try:
            selected = selected_documents(documents, config, region)
        except Exception as error:  # noqa: BLE001 - one Region's failure is reported, the rest go on
            errors.append(f"cannot list the documents in {region}: {error}")
            continue
        for name, reason in selected:
            outcome = {"outcome": "failed", "reason": reason} if reason else share_one(documents, name, region, account, action)
            shares.append({"document": name, "region": region, **outcome})
    return shares, errors


def share_one(documents, name, region, account, action):
    try:
        current = documents.shared_with(name, region)
    except Exception as error:  # noqa: BLE001
        return {"outcome": "failed", "reason": f"cannot read its sharing: {error}"}
    has = account in current
    if action == "onboard" and has:
        return {"outcome": "already_shared"}
    if action == "offboard" and not has:
        return {"outcome": "not_shared"}
    if action == "onboard" and len(current) >= MAX_SHARED_ACCOUNTS:
        return {"outcome": "limit_reached", "reason": f"{name} is shared with {len(current)} accounts in {region}"}
    try:
        if action == "onboard":
            documents.modify_sharing(name, region, [account], [])
            return {"outcome": "shared"}
        documents.modify_sharing(name, region, [], [account])
        return {"outcome": "unshared"}
    except Exception as error:  # noqa: BLE001
        return {"outcome": "failed", "reason": str(error)}


def deploy_role(roles, model, account, action):
    try:
        deployed = account in roles.deployed()
    except Exception as error:  # noqa: BLE001
        return {"outcome": "failed", "reason": f"cannot list the role's stack instances: {error}"}
    if model == "service_managed":
        if action == "onboard":
            return {"outcome": "verified_auto_deployed"} if deployed else {"outcome": "failed", "reason": "no stack instance yet"}
        return {"outcome": "not_deployed"} if not deployed else {"outcome": "failed", "reason": "a stack instance is still there"}
    if action == "onboard" and deployed:
        return {"outcome": "already_deployed"}
    if action == "offboard" and not deployed:
        return {"outcome": "not_deployed"}
    try:
        if action == "onboard":
            roles.deploy([account])
            return {"outcome": "deployed"}
        roles.remove([account])
        return {"outcome": "removed"}
    except Exception as error:  # noqa: BLE001
        return {"outcome": "failed", "reason": str(error)}


def reconcile(directory, documents, roles, config):
    central = str(config["central_account"])
    root = directory.root()
    active = sorted(
        {account["Id"] for account in directory.accounts_under(root, True) if account["Status"] == "ACTIVE" and account["Id"] != central}
    )
    report = {"accounts": len(active), "shared": {}, "roles_deployed": [], "errors": [], "dry_run": False}
    for region in sharing_regions(config):
        for name, reason in selected_documents(documents, config, region):
            if reason:
                report["errors"].append(reason)
                continue
            current = set(documents.shared_with(name, region))
            missing = [account for account in active if account not in current]
            free = max(0, MAX_SHARED_ACCOUNTS - len(current))
            if len(missing) > free:
                report["errors"].append(f"{name} in {region}: {len(missing)} accounts are missing but only {free} more shares are allowed")
                missing = missing[:free]
            if missing:
                try:
                    documents.modify_sharing(name, region, missing, [])
                except Exception as error:  # noqa: BLE001
                    report["errors"].append(f"{name} in {region}: {error}")
                    continue
            report["shared"][f"{name}@{region}"] = missing
    deployed = roles.deployed()
    missing = [account for account in active if account not in deployed]
    if missing:
        try:
            roles.deploy(missing)
        except Exception as error:  # noqa: BLE001
            report["errors"].append(f"the execution role: {error}")
    report["roles_deployed"] = missing
    return report
