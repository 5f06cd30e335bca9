#!/usr/bin/env python3
"""Receives the invoice worker's result webhooks with Python's standard library only.

Every delivery is a POST signed per Standard Webhooks: `webhook-signature` holds
`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">` under the endpoint's
`whsec_` secret (one signature per live secret during a rotation, space-separated). This checks
the signature on the raw bytes, refuses stale timestamps, drops a delivery it already accepted
(same `webhook-id`, which is the result's `event_id`), and prints one JSON line per request.

    WEBHOOK_SECRETS="whsec_..." python3 receiver.py 8000

Replace `handle()` with what your order system does (store the result, then answer 2xx).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
MAX_BODY = 5 * 1024 * 1024


def secret_key(secret):
    """A `whsec_` secret is base64 after its prefix; the HMAC key is the decoded bytes."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret)


# Every secret you accept: during a rotation give the new and the old one.
KEYS = [secret_key(s) for s in os.environ.get("WEBHOOK_SECRETS", "").split()]


class Refused(Exception):
    pass


def verify(headers, body):
    """The result in the body, once its signature and timestamp check out; raises Refused."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise Refused("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise Refused("timestamp too far from now")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in KEYS]
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except ValueError:
            continue
        # Constant-time comparison: the time taken says nothing of how much matched.
        if any(hmac.compare_digest(given, e) for e in expected):
            return json.loads(body)
    raise Refused("no v1 signature matches")


accepted_ids = set()
lock = threading.Lock()


def emit(line):
    with lock:
        print(json.dumps(line), flush=True)


def handle(result):
    """Your order system's work; here: say what was accepted."""
    emit({"accepted": result["event_id"], "event": result.get("event", "transition"),
          "foreign_id": result["foreign_id"], "status": result["status"]})


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.send_response(413)
            self.end_headers()
            return
        body = self.rfile.read(length)  # the raw bytes: verify before any parsing
        try:
            result = verify(self.headers, body)
        except (Refused, ValueError) as err:
            emit({"refused": str(err)})
            self.send_response(401)
            self.end_headers()
            return
        with lock:
            duplicate = result["event_id"] in accepted_ids
            accepted_ids.add(result["event_id"])
        if duplicate:
            emit({"duplicate": result["event_id"]})
        else:
            handle(result)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass  # one JSON line per request on stdout is enough


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    emit({"listening": server.server_address[1]})
    server.serve_forever()


if __name__ == "__main__":
    main()
