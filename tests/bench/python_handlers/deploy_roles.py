"""Python equivalent of functions/deploy-roles for benchmark B1: at init the config and the
onboarding clients (organizations, account, cloudformation in the StackSet's Region); per
invocation cloudformation:ListStackInstances, and CreateStackInstances / DeleteStackInstances
only when the account's role is missing / still there."""

import common
import onboarding

CONFIG, SESSION = common.start()
SERVICES = common.OnboardingServices(SESSION, CONFIG)


def handler(event, context):
    model = CONFIG["execution_role"]["permission_model"]
    return {"role": onboarding.deploy_role(SERVICES.roles, model, event["account_id"], event["action"])}
