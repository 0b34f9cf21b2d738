#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between mamori and an emulator: what a busy AWS and a poor network do.

It listens on loopback only, forwards every request to the emulator (`--upstream`), and, as its
JSON configuration says, answers some requests itself instead:

  throttle         {"rate": 10, "burst": 15}: a token bucket per (access key, service, region), as
                   AWS throttles; a request that finds the bucket empty is refused
  random_throttle  share of requests refused as throttled, whatever the rate
  server_error     share answered 500 InternalError / 503 ServiceUnavailable (alternately)
  reset_before     share whose connection is reset before the request reaches the emulator
  lost_answer      share forwarded to the emulator (the write happens) whose answer is lost: the
                   connection is reset instead of answered
  lose             {"kms:CreateKey": [1]}: lose the answer to exactly these occurrences (1-based) of
                   these operations, on top of the shares above
  latency_ms       added to every answer
  seed             makes every choice reproducible
  reads            the operations that are reads (`kms:DescribeKey`, named by the SigV4 service and the
                   action, as below), exported from mamori's read-only guard: every other operation of
                   a JSON or query protocol is a write; a REST protocol (S3, S3 Control, Route 53)
                   names no action, and there the safe methods (GET, HEAD) are the reads. The proxy
                   counts the writes the emulator answered (`write` in the statistics)
  kill_after_write k: once the emulator has answered the k-th write, SIGKILL the process armed with
                   `POST /_fault_proxy/arm {"pid": P}` before the answer is relayed (the write is
                   done, mamori never learns it), then reset the connection: a crash right after a
                   write. Needs `reads`. Writes are counted in the order their answers arrive.

A throttled request is answered in its protocol's own shape, as AWS answers it: JSON protocols
(`X-Amz-Target`) `400 {"__type": "ThrottlingException"}`; EC2 `503 RequestLimitExceeded` in EC2's
`<Response><Errors>` document; the other query protocols (IAM, STS, SNS, CloudWatch) `400 Throttling`
in an `<ErrorResponse>`; S3 `503 SlowDown`. The 5xx answers follow the same shapes.

Choices are deterministic: whether a request is hit depends only on the seed, the fault, the
operation, a digest of the request body and how many times that same request was seen before, never
on the order in which concurrent requests arrive. (The token bucket depends on time, as on AWS.)

`GET /_fault_proxy/stats` answers what the proxy did, as JSON: requests seen, forwarded, and each
fault injected, per operation (`killed`: the process killed after a write, by the write's
operation). The proxy serves at most `MAX_CONNECTIONS` connections at once and
stops when the process `--owner-pid` is gone.

Usage: python3 localstack/fault_proxy.py --upstream URL --config JSON [--owner-pid PID]
Prints `endpoint=http://127.0.0.1:PORT` and `pid=PID`, then serves until stopped.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

MAX_CONNECTIONS = 64
STATS_PATH = "/_fault_proxy/stats"
ARM_PATH = "/_fault_proxy/arm"
SAFE_METHODS = {"GET", "HEAD"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


class TokenBucket:
    """AWS's throttling model: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Faults:
    """The configuration and the state of the choices: occurrences seen, buckets, statistics."""

    def __init__(self, config: dict):
        self.config = config
        self.seed = str(config.get("seed", 0))
        self.lock = threading.Lock()
        self.seen: Counter = Counter()
        self.operations: Counter = Counter()
        self.buckets: dict = {}
        self.stats: dict = defaultdict(Counter)
        self.reads = set(config.get("reads", []))
        self.writes_answered = 0
        self.armed_pid: int | None = None
        if "kill_after_write" in config and not self.reads:
            raise SystemExit("fault_proxy.py: kill_after_write needs reads (which operations are not writes)")

    def record(self, what: str, operation: str) -> None:
        with self.lock:
            self.stats[what][operation] += 1

    def occurrence(self, operation: str, digest: str) -> tuple[int, int]:
        """How many times this exact request and this operation have been seen, this one included."""
        with self.lock:
            self.seen[(operation, digest)] += 1
            self.operations[operation] += 1
            return self.seen[(operation, digest)], self.operations[operation]

    def hit(self, fault: str, operation: str, digest: str, occurrence: int) -> bool:
        share = float(self.config.get(fault, 0))
        if share <= 0:
            return False
        draw = hashlib.sha256(f"{self.seed}|{fault}|{operation}|{digest}|{occurrence}".encode()).digest()
        return struct.unpack(">Q", draw[:8])[0] / 2**64 < share

    def throttled_by_bucket(self, key: tuple) -> bool:
        throttle = self.config.get("throttle")
        if not throttle:
            return False
        with self.lock:
            bucket = self.buckets.setdefault(key, TokenBucket(float(throttle["rate"]), float(throttle["burst"])))
            return not bucket.take()

    def targeted_loss(self, operation: str, nth: int) -> bool:
        return nth in self.config.get("lose", {}).get(operation, [])

    def is_write(self, operation: str, method: str, shape: str) -> bool:
        if not self.reads:
            return False
        if shape in ("s3", "rest-xml"):
            return method not in SAFE_METHODS
        return operation not in self.reads

    def write_answered(self, operation: str) -> bool:
        """Counts one write the emulator answered; True when it is the one to crash the client after."""
        with self.lock:
            self.writes_answered += 1
            self.stats["write"][operation] += 1
            crash = self.writes_answered == self.config.get("kill_after_write") and self.armed_pid is not None
            if crash:
                os.kill(self.armed_pid, signal.SIGKILL)
                self.stats["killed"][operation] += 1
            return crash


def protocol(headers, service: str) -> str:
    if headers.get("X-Amz-Target"):
        return "json"
    if service == "s3":
        return "s3"
    if service in ("route53",):
        return "rest-xml"
    if service == "ec2":
        return "ec2"
    return "query"


def operation_of(method: str, path: str, headers, body: bytes, service: str) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    action = (form.get("Action") or query.get("Action") or [None])[0]
    if action:
        return f"{service}:{action}"
    # REST protocols (S3, Route 53): the method, what the path names and its subresources.
    url = urllib.parse.urlsplit(path)
    depth = len([part for part in url.path.split("/") if part])
    subresources = "&".join(sorted(name for name in query if name not in ("x-id", "list-type", "prefix")))
    return f"{service}:{method} {['service', 'bucket', 'object'][min(depth, 2)]}" + (f"?{subresources}" if subresources else "")


def error_answer(shape: str, kind: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a throttling or server error in the protocol's own shape."""
    request_id = "fault-proxy-0000"
    if kind == "throttle":
        codes = {"json": (400, "ThrottlingException"), "ec2": (503, "RequestLimitExceeded"), "s3": (503, "SlowDown")}
        status, code = codes.get(shape, (400, "Throttling"))
        message = "Rate exceeded"
    else:
        status, code = (500, "InternalError") if kind == "server_error_500" else (503, "ServiceUnavailable")
        if shape == "json":
            code = "InternalFailure" if status == 500 else "ServiceUnavailableException"
        message = "injected by the fault proxy"
    if shape == "json":
        return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message}).encode()
    if shape == "ec2":
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    elif shape == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    else:
        sender = "Sender" if status < 500 else "Receiver"
        body = f"<ErrorResponse><Error><Type>{sender}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    return status, "text/xml", body.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    faults: Faults
    upstream: urllib.parse.SplitResult

    def log_message(self, *_args) -> None:  # quiet: the statistics say what happened
        pass

    def do_GET(self) -> None:
        if self.path == STATS_PATH:
            body = json.dumps({what: dict(counts) for what, counts in self.faults.stats.items()}, sort_keys=True).encode()
            self.answer(200, "application/json", body, [])
            return
        self.proxy()

    def do_POST(self) -> None:
        if self.path == ARM_PATH:
            length = int(self.headers.get("Content-Length") or 0)
            pid = int(json.loads(self.rfile.read(length))["pid"])
            with self.faults.lock:
                self.faults.armed_pid = pid
            self.answer(200, "application/json", b"{}", [])
            return
        self.proxy()

    do_PUT = do_DELETE = do_HEAD = do_PATCH = do_POST

    def proxy(self) -> None:
        try:
            self.forward()
        except (ConnectionError, OSError):
            self.close_connection = True

    def answer(self, status: int, content_type: str, body: bytes, headers: list) -> None:
        latency = float(self.faults.config.get("latency_ms", 0)) / 1000
        if latency:
            time.sleep(latency)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP | {"content-length", "server", "date"}:
                self.send_header(name, value)
        if not any(name.lower() == "content-type" for name, _ in headers):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self) -> None:
        """Closes the connection with a TCP reset: the client sees `connection reset`, no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        credential = CREDENTIAL.search(self.headers.get("Authorization", ""))
        access_key, region, service = credential.groups() if credential else ("anonymous", "none", "unknown")
        operation = operation_of(self.command, self.path, self.headers, body, service)
        digest = hashlib.sha256(self.command.encode() + self.path.encode() + body).hexdigest()
        occurrence, nth = self.faults.occurrence(operation, digest)
        self.faults.record("requests", operation)
        shape = protocol(self.headers, service)
        hit = lambda fault: self.faults.hit(fault, operation, digest, occurrence)  # noqa: E731
        if self.faults.throttled_by_bucket((access_key, service, region)) or hit("random_throttle"):
            self.faults.record("throttled", operation)
            self.answer(*error_answer(shape, "throttle"), [])
            return
        if hit("server_error"):
            kind = "server_error_500" if occurrence % 2 else "server_error_503"
            self.faults.record("server_error", operation)
            self.answer(*error_answer(shape, kind), [])
            return
        if hit("reset_before"):
            self.faults.record("reset_before", operation)
            self.reset()
            return
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            status, answer_headers = response.status, response.getheaders()
        finally:
            connection.close()
        self.faults.record("forwarded", operation)
        if self.faults.is_write(operation, self.command, shape) and self.faults.write_answered(operation):
            self.reset()
            return
        if hit("lost_answer") or self.faults.targeted_loss(operation, nth):
            self.faults.record("lost_answer", operation)
            self.reset()
            return
        self.answer(status, "application/octet-stream", answer, answer_headers)


class BoundedServer(http.server.ThreadingHTTPServer):
    """At most `MAX_CONNECTIONS` connections served at once; the others wait in the listen queue."""

    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address):
        self.slots.acquire()
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def watch_owner(owner: int) -> None:
    while True:
        time.sleep(1)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--config", default="{}", help="the faults, as JSON (see the module documentation)")
    parser.add_argument("--owner-pid", type=int)
    args = parser.parse_args()
    Handler.faults = Faults(json.loads(args.config))
    Handler.upstream = urllib.parse.urlsplit(args.upstream)
    server = BoundedServer(("127.0.0.1", 0), Handler)
    if args.owner_pid:
        threading.Thread(target=watch_owner, args=(args.owner_pid,), daemon=True).start()
    print(f"endpoint=http://127.0.0.1:{server.server_address[1]}", flush=True)
    print(f"pid={os.getpid()}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
