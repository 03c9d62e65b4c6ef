"""Python equivalent of functions/reconcile for benchmark B1: at init the config and the
onboarding clients (organizations, account, cloudformation); per invocation the organization
listed (ListRoots, then ListAccountsForParent and ListOrganizationalUnitsForParent breadth-first),
every selected document's sharing read in every Region, the StackSet's instances listed, and
only what is missing changed."""

import common
import onboarding

CONFIG, SESSION = common.start()
SERVICES = common.OnboardingServices(SESSION, CONFIG)


def handler(event, context):
    return onboarding.reconcile(SERVICES.directory, SERVICES.documents, SERVICES.roles, CONFIG)
