# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""rediss://: serve, consume, enqueue and stats over TLS to Redis, with the
server's certificate checked against --redis-ca-file; without it, the
system's store does not know a self-signed certificate and nothing
connects."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402


class RedisTlsTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.cert, key = self.path("redis.crt"), self.path("redis.key")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", self.cert, "-days", "2", "-subj",
             "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True)
        self.tls_port = harness.free_port()
        # The plain port stays for the harness's own checks.
        self.redis = self.start_redis(extra_args=[
            "--tls-port", self.tls_port, "--tls-cert-file", self.cert,
            "--tls-key-file", key, "--tls-ca-cert-file", self.cert,
            "--tls-auth-clients", "no"])
        self.url = f"rediss://localhost:{self.tls_port}"

    def test_everything_over_tls_with_the_ca_file(self):
        s = self.drip.serve(self.url, redis_ca_file=self.cert)
        status, _, body = s.post("/enqueue", message(1))
        self.assertEqual(status, 202, body)
        cp = self.drip.run("enqueue", "--redis-url", self.url,
                           "--redis-ca-file", self.cert, "--queue", "test",
                           input=json.dumps(message(2)) + "\n")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        log = self.path("processed.log")
        c = self.drip.consume(self.url, log, redis_ca_file=self.cert,
                              leak_rate=20)
        harness.wait_log_lines(log, 2, 10, procs=[c])
        self.assertEqual(c.stop(), 0)
        cp = self.drip.run("stats", "--json", "--redis-url", self.url,
                           "--redis-ca-file", self.cert, "--queue", "test")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(json.loads(cp.stdout)["processed"], 2)
        # The messages really went through the TLS port's server.
        self.assertEqual(self.redis.cli("HGET", "drip:{test}", "processed"),
                         "2")

    def test_an_unknown_certificate_is_refused(self):
        s = self.drip.serve(self.url, ready=False)
        status, _, body = s.get("/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("redis unavailable", body["detail"])
        status, _, body = s.post("/enqueue", message(1))
        self.assertEqual(status, 503, body)
        cp = self.drip.run("stats", "--redis-url", self.url, timeout=10)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertEqual(self.redis.cli("EXISTS", "drip:{test}"), 0)

    def test_a_missing_ca_file_exits_2(self):
        cp = self.drip.run("stats", "--redis-url", self.url,
                           "--redis-ca-file", self.path("missing.crt"))
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("DRIP_REDIS_CA_FILE", cp.stderr)


if __name__ == "__main__":
    harness.main()
