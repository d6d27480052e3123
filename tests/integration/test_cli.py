# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The command line: help, version, settings and their precedence, exit
statuses, `drip enqueue` and `drip stats`."""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import EXAMPLE, message  # noqa: E402

STATS_FIELDS = {"queue", "capacity", "leak_rate", "depth", "in_flight",
                "accepted", "rejected", "processed", "dead"}


class CliTest(harness.DripTestCase):
    def redis(self):
        if not hasattr(self, "_redis"):
            self._redis = self.start_redis()
        return self._redis

    def assertUsageError(self, cp, *names):
        """Exit status 2 and a stderr message naming the setting (any of
        names)."""
        self.assertEqual(cp.returncode, 2,
                         f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
        self.assertTrue(cp.stderr.strip(), "no message on stderr")
        self.assertTrue(any(n in cp.stderr for n in names),
                        f"stderr does not name {names}: {cp.stderr!r}")

    # ---------------------------------------------------------------- help

    def test_version(self):
        cp = self.drip.run("--version")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout + cp.stderr, r"\d+\.\d+\.\d+")

    def test_help(self):
        cp = self.drip.run("--help")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        for cmd in ("serve", "consume", "enqueue", "stats"):
            self.assertIn(cmd, cp.stdout)
        cp = self.drip.run("serve", "--help")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("--capacity", cp.stdout)
        self.assertIn("--port", cp.stdout)
        for cmd in ("consume", "enqueue", "stats"):
            with self.subTest(cmd=cmd):
                cp = self.drip.run(cmd, "--help")
                self.assertEqual(cp.returncode, 0, cp.stderr)
                self.assertIn("--redis-url", cp.stdout)
        cp = self.drip.run("consume", "--help")
        self.assertIn("--leak-rate", cp.stdout)
        self.assertIn("--log-file", cp.stdout)

    def test_bad_usage_exits_2(self):
        for args in (("no-such-command",), ("serve", "--no-such-flag"),
                     ()):
            with self.subTest(args=args):
                cp = self.drip.run(*args, timeout=10)
                self.assertEqual(cp.returncode, 2,
                                 f"{cp.stdout}\n{cp.stderr}")

    # ---------------------------------------------------------------- settings

    def test_invalid_flags_exit_2(self):
        r = self.redis()
        cases = [
            (("serve", "--capacity", "-5"), ("DRIP_CAPACITY", "--capacity")),
            (("serve", "--capacity", "0"), ("DRIP_CAPACITY", "--capacity")),
            (("serve", "--leak-rate", "0"),
             ("DRIP_LEAK_RATE", "--leak-rate")),
            (("serve", "--leak-rate", "-1"),
             ("DRIP_LEAK_RATE", "--leak-rate")),
            (("serve", "--leak-rate", "fast"),
             ("DRIP_LEAK_RATE", "--leak-rate")),
            (("serve", "--port", "70000"), ("DRIP_PORT", "--port")),
            (("serve", "--port", "-1"), ("DRIP_PORT", "--port")),
            (("serve", "--redis-url", "http://x"),
             ("DRIP_REDIS_URL", "--redis-url")),
            (("serve", "--redis-url", "not a url"),
             ("DRIP_REDIS_URL", "--redis-url")),
            (("serve", "--max-body-bytes", "abc"),
             ("DRIP_MAX_BODY_BYTES", "--max-body-bytes")),
            (("consume", "--leak-rate", "0"),
             ("DRIP_LEAK_RATE", "--leak-rate")),
            (("consume", "--max-attempts", "-3"),
             ("DRIP_MAX_ATTEMPTS", "--max-attempts")),
            (("enqueue", "--capacity", "-5", json_arg()),
             ("DRIP_CAPACITY", "--capacity")),
            (("stats", "--redis-url", "http://x"),
             ("DRIP_REDIS_URL", "--redis-url")),
        ]
        for args, names in cases:
            with self.subTest(args=args):
                full = list(args)
                if "--redis-url" not in full:
                    full[1:1] = ["--redis-url", r.url]
                if full[0] == "serve" and "--port" not in full:
                    full += ["--port", str(harness.free_port())]
                if full[0] == "consume":
                    full += ["--log-file", self.path("never.log")]
                cp = self.drip.run(*full, timeout=10)
                self.assertUsageError(cp, *names)
        self.assertFalse(os.path.exists(self.path("never.log")))

    def test_invalid_env_var_exit_2(self):
        r = self.redis()
        port = harness.free_port()
        cp = self.drip.run("serve", "--redis-url", r.url, "--port", port,
                           env={"DRIP_CAPACITY": "abc"}, timeout=10)
        self.assertUsageError(cp, "DRIP_CAPACITY")
        cp = self.drip.run("stats", "--redis-url", r.url,
                           env={"DRIP_LEAK_RATE": "0"}, timeout=10)
        self.assertUsageError(cp, "DRIP_LEAK_RATE")

    def test_invalid_env_file_value_exit_2(self):
        r = self.redis()
        env_file = self.path("bad.env")
        with open(env_file, "w") as f:
            f.write("DRIP_CAPACITY=-1\n")
        cp = self.drip.run("stats", "--redis-url", r.url, "--env-file",
                           env_file, timeout=10)
        self.assertUsageError(cp, "DRIP_CAPACITY")

    def test_env_file_sets_queue(self):
        r = self.redis()
        env_file = self.path("custom.env")
        with open(env_file, "w") as f:
            f.write("# a comment\nDRIP_QUEUE=from-env-file\n"
                    f"DRIP_REDIS_URL={r.url}\n")
        cp = self.drip.run("enqueue", "--env-file", env_file,
                           json.dumps(EXAMPLE))
        self.assertEqual(cp.returncode, 0, cp.stderr)
        keys = r.keys()
        self.assertTrue(keys)
        for k in keys:
            self.assertTrue(k.startswith("drip:{from-env-file}"), keys)
        cp = self.drip.run("stats", "--json", "--env-file", env_file)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        st = json.loads(cp.stdout)
        self.assertEqual(st["queue"], "from-env-file")
        self.assertEqual(st["depth"], 1)

    def test_precedence_flag_env_dotenv_default(self):
        r = self.redis()
        # .env in the working directory is read without --env-file.
        with open(self.path(".env"), "w") as f:
            f.write(f"DRIP_QUEUE=dotenv\nDRIP_REDIS_URL={r.url}\n")

        def queue_of(*args, env=None):
            cp = self.drip.run("stats", "--json", *args, env=env)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            return json.loads(cp.stdout)["queue"]

        self.assertEqual(queue_of(), "dotenv")
        self.assertEqual(queue_of(env={"DRIP_QUEUE": "envvar"}), "envvar")
        self.assertEqual(queue_of("--queue", "flag",
                                  env={"DRIP_QUEUE": "envvar"}), "flag")
        os.remove(self.path(".env"))
        cp = self.drip.run("stats", "--json", "--redis-url", r.url)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(json.loads(cp.stdout)["queue"], "default")

    def test_missing_env_file_exit_2(self):
        cp = self.drip.run("stats", "--env-file", self.path("missing.env"),
                           timeout=10)
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertTrue(cp.stderr.strip())

    # ---------------------------------------------------------------- enqueue

    def test_enqueue_one_argument(self):
        r = self.redis()
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           json.dumps(EXAMPLE))
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lines = cp.stdout.splitlines()
        self.assertEqual(len(lines), 1, cp.stdout)
        body = json.loads(lines[0])
        self.assertEqual(set(body), {"status", "seq", "id", "depth",
                                     "capacity"}, body)
        self.assertEqual(body["status"], "queued")
        self.assertEqual(body["id"], 1)
        self.assertEqual(body["depth"], 1)
        self.assertIsInstance(body["seq"], int)
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           json.dumps(message(2)))
        self.assertEqual(cp.returncode, 0, cp.stderr)
        second = json.loads(cp.stdout)
        self.assertGreater(second["seq"], body["seq"])
        self.assertEqual(second["depth"], 2)

    def test_enqueue_invalid_argument(self):
        r = self.redis()
        for arg in ('{"id": 1', json.dumps(dict(EXAMPLE, job_priority=10))):
            with self.subTest(arg=arg):
                cp = self.drip.run("enqueue", "--redis-url", r.url, arg)
                self.assertNotEqual(cp.returncode, 0, cp.stdout)
                self.assertTrue(cp.stderr.strip())
        st = self.drip.stats(r, queue="default")
        self.assertEqual(st["depth"], 0)

    def test_enqueue_json_lines_with_invalid_line(self):
        r = self.redis()
        lines = [json.dumps(message(1)),
                 json.dumps(message(2)),
                 '{"id": 3, "job_priority": "high"}',
                 json.dumps(message(4)),
                 "not json at all",
                 json.dumps(message(6))]
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           input="\n".join(lines) + "\n")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertTrue(re.search(r"(?i)line\D{0,3}3\b", cp.stderr),
                        f"stderr does not name line 3: {cp.stderr!r}")
        self.assertTrue(re.search(r"(?i)line\D{0,3}5\b", cp.stderr),
                        f"stderr does not name line 5: {cp.stderr!r}")
        out = [json.loads(ln) for ln in cp.stdout.splitlines()]
        self.assertEqual([o["id"] for o in out], [1, 2, 4, 6])
        for o in out:
            self.assertEqual(o["status"], "queued")
        st = self.drip.stats(r, queue="q")
        self.assertEqual((st["depth"], st["accepted"]), (4, 4))

    def test_enqueue_json_lines_bucket_full(self):
        r = self.redis()
        lines = [json.dumps(message(i)) for i in range(1, 5)]
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           "--capacity", "3", input="\n".join(lines) + "\n")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertTrue(re.search(r"(?i)line\D{0,3}4\b", cp.stderr),
                        f"stderr does not name line 4: {cp.stderr!r}")
        self.assertEqual(len(cp.stdout.splitlines()), 3, cp.stdout)
        st = self.drip.stats(r, queue="q")
        self.assertEqual((st["depth"], st["rejected"]), (3, 1))

    def test_enqueue_json_lines_all_good(self):
        r = self.redis()
        msgs = [message(i) for i in range(20)]
        cp = self.drip.enqueue(r, msgs, queue="q")
        self.assertEqual(cp.returncode, 0)
        seqs = [json.loads(ln)["seq"] for ln in cp.stdout.splitlines()]
        self.assertEqual(len(seqs), 20)
        self.assertEqual(seqs, sorted(set(seqs)))

    def test_enqueue_shares_capacity_with_serve(self):
        r = self.redis()
        s = self.drip.serve(r, queue="q", capacity=2)
        self.assertEqual(s.enqueue(message(1))[0], 202)
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           input=json.dumps(message(2)) + "\n"
                           + json.dumps(message(3)) + "\n")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertEqual(len(cp.stdout.splitlines()), 1)
        self.assertEqual(json.loads(cp.stdout)["capacity"], 2)
        st = s.stats()
        self.assertEqual((st["depth"], st["accepted"], st["rejected"]),
                         (2, 2, 1))

    # ---------------------------------------------------------------- stats

    def test_stats_json(self):
        r = self.redis()
        self.drip.enqueue(r, [message(1), message(2)], queue="q",
                          capacity=10, leak_rate=2.5)
        cp = self.drip.run("stats", "--json", "--redis-url", r.url,
                           "--queue", "q", "--capacity", "10",
                           "--leak-rate", "2.5")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        st = json.loads(cp.stdout)
        self.assertEqual(set(st), STATS_FIELDS, st)
        self.assertEqual(st["queue"], "q")
        self.assertEqual(st["capacity"], 10)
        self.assertEqual(st["leak_rate"], 2.5)
        self.assertEqual(st["depth"], 2)
        self.assertEqual(st["accepted"], 2)
        for k in ("in_flight", "rejected", "processed", "dead"):
            self.assertEqual(st[k], 0, k)
        cp = self.drip.run("stats", "--redis-url", r.url, "--queue", "q")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("q", cp.stdout)
        self.assertIn("2", cp.stdout)

    # ---------------------------------------------------------------- no redis

    def test_redis_unreachable_exits_1(self):
        port = harness.free_port()   # nothing listens there
        url = f"redis://127.0.0.1:{port}"
        for args, stdin in ((("enqueue", "--redis-url", url,
                              json.dumps(EXAMPLE)), None),
                            (("enqueue", "--redis-url", url),
                             json.dumps(EXAMPLE) + "\n"),
                            (("stats", "--json", "--redis-url", url), None)):
            with self.subTest(args=args[:1], stdin=stdin is not None):
                t0 = time.monotonic()
                cp = self.drip.run(*args, input=stdin, timeout=15)
                took = time.monotonic() - t0
                self.assertEqual(cp.returncode, 1, cp.stderr)
                self.assertTrue(cp.stderr.strip())
                self.assertLessEqual(took, 4.0, f"exit after {took:.2f}s")

    def test_redis_blackhole_exits_1(self):
        # A host that never answers (a listening socket that never accepts
        # and never replies): still no hang.
        import socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        self.addCleanup(srv.close)
        url = f"redis://127.0.0.1:{srv.getsockname()[1]}"
        t0 = time.monotonic()
        cp = self.drip.run("stats", "--redis-url", url, timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertLessEqual(took, 4.0, f"exit after {took:.2f}s")


def json_arg():
    return json.dumps(EXAMPLE)


if __name__ == "__main__":
    harness.main()
