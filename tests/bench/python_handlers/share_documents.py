"""Python equivalent of functions/share-documents for benchmark B1: at init the config and the
session (the Rust function builds its SSM clients per Region when it calls, so no client here
either; they are made on first use and kept); per invocation, in every sharing Region,
ssm:ListDocuments and ssm:DescribeDocumentPermission for each selected document, and
ssm:ModifyDocumentPermission only where the account lacks the share."""

import common
import onboarding

CONFIG, SESSION = common.start()
DOCUMENTS = common.Documents(SESSION)


def handler(event, context):
    shares, errors = onboarding.share_documents(DOCUMENTS, CONFIG, event["account_id"], event["action"])
    return {"shares": shares, "errors": errors}
