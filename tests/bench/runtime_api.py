"""A minimal, faithful local AWS Lambda Runtime API endpoint, for benchmark B1 (cold starts).

Owns the runtime side of the protocol a function's runtime speaks to Lambda, and nothing else:

    GET  /2018-06-01/runtime/invocation/next                 the next event (long poll)
    POST /2018-06-01/runtime/invocation/{request id}/response the invocation's result
    POST /2018-06-01/runtime/invocation/{request id}/error    the invocation's error
    POST /2018-06-01/runtime/init/error                       an initialization error

`next` answers with the event as its body and the headers Lambda sends (and the Rust
`lambda_runtime` crate reads): Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
Lambda-Runtime-Invoked-Function-Arn and Lambda-Runtime-Trace-Id. Once the queued events are
handed out, `next` blocks until the server stops, as Lambda holds a poll while it has nothing to
deliver (a real environment is frozen there). The POSTs answer 202 Accepted, an unknown request
id 400 (`InvalidRequestID`), as Lambda does.

Every request is recorded with `time.monotonic_ns()` at its arrival (after its body is read for
POSTs), so a driver in the same process can measure exec -> first `next` (init) and
`next` -> `response` (the invocation) on one clock. Python 3.11 standard library only.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


@dataclass
class Record:
    """One request the runtime made."""

    kind: str  # "next", "response", "error" or "init_error"
    at_ns: int  # time.monotonic_ns() at its arrival
    request_id: str | None = None
    body: bytes = b""
    error_type: str | None = None


@dataclass
class Invocation:
    """An event waiting to be handed out by `next`."""

    event: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class RuntimeApi:
    """A Runtime API endpoint on 127.0.0.1 (a free port unless one is given), serving `events`
    one per `next`, in order. Usable as a context manager."""

    def __init__(self, events, function_name="function", timeout_s=60, port=0, on_next=None):
        self.function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.timeout_s = timeout_s
        self.on_next = on_next  # called (in the server's thread) when a `next` arrives
        self.records: list[Record] = []
        self.ended = threading.Event()  # set by the first response, error or init error
        self._pending = [Invocation(event if isinstance(event, bytes) else json.dumps(event).encode()) for event in events]
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """`host:port`, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def first(self, kind) -> Record | None:
        """The first request of `kind`, if any."""
        with self._lock:
            return next((record for record in self.records if record.kind == kind), None)

    # What the handler calls.

    def _record(self, record: Record):
        with self._lock:
            self.records.append(record)
        if record.kind != "next":
            self.ended.set()

    def _take(self) -> Invocation | None:
        with self._lock:
            if not self._pending:
                return None
            invocation = self._pending.pop(0)
            self._known.add(invocation.request_id)
            return invocation

    def _known_id(self, request_id) -> bool:
        with self._lock:
            return request_id in self._known


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a held `next` must not keep `stop` waiting

    def handle_error(self, request, client_address):
        pass  # a runtime killed mid-request is the normal end of a cold start here


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def _handler_for(api: RuntimeApi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the runtimes expect

        def log_message(self, *args):  # quiet: the driver reports
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):
            now = time.monotonic_ns()
            if self.path != f"{PREFIX}/invocation/next":
                return self._answer(404, b'{"errorType":"NotFound"}')
            invocation = api._take()
            api._record(Record("next", now, invocation.request_id if invocation else None))
            if api.on_next is not None:
                api.on_next(now)
            if invocation is None:
                api._stopping.wait()  # nothing to deliver: hold the poll, as Lambda does
                self.close_connection = True
                return self._answer(410, b'{"errorType":"Runtime.Stopped"}')
            deadline_ms = int(time.time() * 1000) + api.timeout_s * 1000
            return self._answer(
                200,
                invocation.event,
                [
                    ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                    ("Lambda-Runtime-Invoked-Function-Arn", api.function_arn),
                    ("Lambda-Runtime-Trace-Id", _trace_id()),
                ],
            )

        def do_POST(self):
            body = self._body()
            now = time.monotonic_ns()
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            if self.path == f"{PREFIX}/init/error":
                api._record(Record("init_error", now, None, body, error_type))
                return self._answer(202, b'{"status":"OK"}')
            parts = self.path[len(PREFIX) :].split("/") if self.path.startswith(PREFIX) else []
            # ["", "invocation", id, "response" | "error"]
            if len(parts) == 4 and parts[1] == "invocation" and parts[3] in ("response", "error"):
                request_id = parts[2]
                if not api._known_id(request_id):
                    return self._answer(400, b'{"errorType":"InvalidRequestID"}')
                api._record(Record(parts[3], now, request_id, body, error_type))
                return self._answer(202, b'{"status":"OK"}')
            return self._answer(404, b'{"errorType":"NotFound"}')

    return Handler


if __name__ == "__main__":
    # By hand: serve one event from a file (or `{}`) and print what the runtime sends back.
    import argparse

    parser = argparse.ArgumentParser(description="Serve one event over the Lambda Runtime API.")
    parser.add_argument("event", nargs="?", help="a JSON file (default: {})")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    event = open(args.event, "rb").read() if args.event else b"{}"
    with RuntimeApi([event], port=args.port) as api:
        print(f"AWS_LAMBDA_RUNTIME_API={api.address}", flush=True)
        api.ended.wait()
        for record in api.records:
            print(record.kind, record.request_id or "", record.error_type or "", record.body.decode(errors="replace"))
