"""The Python side's runtime for benchmark B1: what a Python Lambda runtime does, in the standard
library. Imports the handler module (its module-level code is the function's init, as in
Lambda), then loops: poll `/runtime/invocation/next`, call the handler, post its result to
`/invocation/{id}/response` or its exception to `/invocation/{id}/error`. An exception while
importing is posted to `/runtime/init/error` and the process exits, as Lambda's runtime does.

Usage: python bootstrap.py MODULE.FUNCTION   (or the `_HANDLER` environment variable), with
AWS_LAMBDA_RUNTIME_API set to the endpoint's host:port.
"""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

RUNTIME = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


class Context:
    """The part of Lambda's context object the handlers can use."""

    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")

    def get_remaining_time_in_millis(self):
        return max(0, self.deadline_ms - int(time.time() * 1000))


def post(path, body, error_type=None):
    request = urllib.request.Request(f"{RUNTIME}{path}", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if error_type:
        request.add_header("Lambda-Runtime-Function-Error-Type", error_type)
    with urllib.request.urlopen(request) as answer:
        answer.read()


def error_body(error):
    return json.dumps(
        {
            "errorType": getattr(error, "error_type", type(error).__name__),
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error),
        }
    ).encode()


def main():
    spec = sys.argv[1] if len(sys.argv) > 1 else os.environ["_HANDLER"]
    module_name, _, function_name = spec.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 - every init failure is reported
        post("/init/error", error_body(error), "Runtime.InitError")
        sys.exit(1)
    while True:
        with urllib.request.urlopen(f"{RUNTIME}/invocation/next") as answer:
            headers = answer.headers
            event = json.loads(answer.read() or b"null")
        context = Context(headers)
        try:
            result = handler(event, context)
        except Exception as error:  # noqa: BLE001 - every invocation failure is reported
            post(f"/invocation/{context.aws_request_id}/error", error_body(error), "Unhandled")
            continue
        post(f"/invocation/{context.aws_request_id}/response", json.dumps(result).encode())


if __name__ == "__main__":
    main()
