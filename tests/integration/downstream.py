# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""A downstream for `drip consume --deliver-url`: a real HTTP/1.1 server
(kept-alive connections, one thread per connection) whose answer to each
delivery is chosen by the message's `data`:

  "ok" (or anything else)  200 {"ok": true}
  "status:N"               always status N
  "fail:K:N"               status N for the first K attempts, then 200
  "slow:S"                 sleeps S seconds, then 200
  "drop:K"                 closes the connection without an answer for the
                           first K attempts, then 200
  "pause:S"                429 with Retry-After: S on the first attempt,
                           then 200

and, for the whole server, `fail_every=N` answers 500 to every Nth request
whatever the message says. Every request is recorded (arrival time on the
wall clock, seq, attempt, Idempotency-Key, the status answered), so tests
can count requests per second as the downstream saw them.

Standard library only; used by test_delivery.py and bench/deliver.
"""

from __future__ import annotations

import collections
import http.server
import json
import ssl
import threading
import time


class Downstream:
    def __init__(self, fail_every: int = 0, certfile: str | None = None,
                 keyfile: str | None = None):
        self.fail_every = fail_every
        self.requests = []  # dicts, in arrival order
        self.lock = threading.Lock()
        self.attempts = collections.Counter()  # seq -> requests seen
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                arrived = time.time()
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                outer._answer(self, arrived, body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A consumer killed or timed out mid-request is what the
                # tests do on purpose; its broken pipe is not news.
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.server.socket = context.wrap_socket(self.server.socket,
                                                     server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if certfile else "http"
        host = "localhost" if certfile else "127.0.0.1"
        self.url = f"{scheme}://{host}:{self.port}/deliver"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler, arrived, body):
        seq = body.get("seq")
        data = str(body.get("data", ""))
        with self.lock:
            self.attempts[seq] += 1
            nth = self.attempts[seq]
            index = len(self.requests) + 1
        status, headers, drop, delay = 200, {}, False, 0.0
        parts = data.split(":")
        if parts[0] == "status" and len(parts) == 2:
            status = int(parts[1])
        elif parts[0] == "fail" and len(parts) == 3:
            if nth <= int(parts[1]):
                status = int(parts[2])
        elif parts[0] == "slow" and len(parts) == 2:
            delay = float(parts[1])
        elif parts[0] == "drop" and len(parts) == 2:
            drop = nth <= int(parts[1])
        elif parts[0] == "pause" and len(parts) == 2:
            if nth == 1:
                status, headers = 429, {"Retry-After": parts[1]}
        if self.fail_every and index % self.fail_every == 0:
            status = 500
        record = {"t": arrived, "seq": seq, "attempt": body.get("attempt"),
                  "key": handler.headers.get("Idempotency-Key"),
                  "status": None if drop else status, "body": body}
        with self.lock:
            self.requests.append(record)
        if delay:
            time.sleep(delay)
        if drop:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        reply = json.dumps({"ok": 200 <= status < 300, "seq": seq}).encode()
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def times(self) -> list[float]:
        return [r["t"] for r in self.snapshot()]
