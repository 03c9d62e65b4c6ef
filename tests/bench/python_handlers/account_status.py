"""Python equivalent of functions/account-status for benchmark B1: at init the config and the
directory's clients (organizations and account, both us-east-1); per invocation
organizations:DescribeAccount, answered as AccountReadiness."""

import common

CONFIG, SESSION = common.start()
DIRECTORY = common.directory(SESSION, CONFIG)


def handler(event, context):
    account = DIRECTORY.account(event["account_id"])
    if account is None:
        return {"ready": False, "status": "NOT_A_MEMBER"}
    return {"ready": account["Status"] == "ACTIVE", "status": account["Status"].upper()}
