# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""`drip consume --deliver-url`: delivery to a real local HTTP server, the
retries inside the leak rate, dead letters and their requeue, a downstream
that pushes back with Retry-After, slow downstreams, TLS, and kill -9 in
the middle of a delivery."""

import collections
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import downstream  # noqa: E402
import harness  # noqa: E402
from harness import message  # noqa: E402


def msg(i, data):
    return message(i, data=data)


class DeliveryTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def downstream(self, **kw):
        d = downstream.Downstream(**kw).start()
        self.addCleanup(d.stop)
        return d

    def deliver(self, d, log="processed.log", **settings):
        settings.setdefault("leak_rate", 50)
        settings.setdefault("retry_backoff", 0.05)
        settings.setdefault("deliver_timeout", 2)
        return self.drip.consume(self.redis, self.path(log),
                                 deliver_url=d.url, **settings)

    def enqueue(self, datas, start=0):
        cp = self.drip.enqueue(self.redis,
                               [msg(start + i, d) for i, d in enumerate(datas)],
                               capacity=100000)
        return [json.loads(ln)["seq"] for ln in cp.stdout.splitlines()]

    def wait_for(self, predicate, timeout, what, procs=()):
        deadline = time.monotonic() + timeout
        while not predicate():
            for p in procs:
                self.assertTrue(p.alive(), f"{p.name} exited:\n{p.stderr()}")
            if time.monotonic() > deadline:
                self.fail(f"after {timeout}s: {what}")
            time.sleep(0.05)

    def by_seq(self, lines):
        out = collections.defaultdict(list)
        for ln in lines:
            out[ln["seq"]].append(ln)
        return out

    def test_delivers_each_message_with_its_idempotency_key(self):
        d = self.downstream()
        seqs = self.enqueue(["ok"] * 20)
        c = self.deliver(d)
        log = self.path("processed.log")
        harness.wait_log_lines(log, 20, 20, procs=[c])
        lines = harness.read_log(log)
        self.assertEqual(sorted(ln["seq"] for ln in lines), seqs)
        for ln in lines:
            self.assertEqual(ln["status"], "processed")
            self.assertEqual(ln["attempt"], 1)
            self.assertEqual(ln["response_status"], 200)
            self.assertEqual(json.loads(ln["response"])["seq"], ln["seq"])
        got = d.snapshot()
        self.assertEqual(len(got), 20)
        for r in got:
            self.assertEqual(r["key"], f"test:{r['seq']}")
            body = r["body"]
            self.assertEqual(body["data"], "ok")
            self.assertEqual(body["job_publisher"], "tests")
            self.assertEqual(body["attempt"], 1)
            self.assertEqual(body["queue"], "test")
        self.wait_for(lambda: self.drip.stats(self.redis)["processed"] == 20,
                      5, "stats processed = 20")
        self.assertEqual(c.stop(), 0)

    def test_failed_attempts_are_retried_until_delivered(self):
        d = self.downstream()
        datas = ["fail:2:500", "fail:1:503", "fail:3:429", "drop:1", "ok"]
        seqs = self.enqueue(datas)
        c = self.deliver(d, max_attempts=5)
        log = self.path("processed.log")
        # 2 + 1 + 3 + 1 failed attempts, then one success each.
        harness.wait_log_lines(log, 7 + 5, 20, procs=[c])
        lines = self.by_seq(harness.read_log(log))
        for seq, data in zip(seqs, datas):
            attempts = lines[seq]
            fails = int(data.split(":")[1]) if ":" in data else 0
            self.assertEqual([a["attempt"] for a in attempts],
                             list(range(1, fails + 2)), data)
            self.assertEqual([a["status"] for a in attempts],
                             ["failed"] * fails + ["processed"], data)
            self.assertEqual(attempts[-1]["response_status"], 200)
        drop = lines[seqs[3]][0]
        self.assertIsNone(drop["response_status"])
        self.assertIn("request", drop["response"])
        self.assertEqual(lines[seqs[0]][0]["response_status"], 500)
        stats = self.drip.stats(self.redis)
        self.assertEqual((stats["processed"], stats["depth"], stats["dead"]),
                         (5, 0, 0))

    def test_dead_letters_listed_and_requeued(self):
        d = self.downstream()
        serve = self.drip.serve(self.redis)
        datas = ["status:400", "status:500", "slow:3", "status:404"]
        seqs = self.enqueue(datas)
        c = self.deliver(d, max_attempts=2, deliver_timeout=0.3)
        log = self.path("processed.log")
        # 1 + 2 + 2 + 1 attempts.
        harness.wait_log_lines(log, 6, 20, procs=[c])
        lines = self.by_seq(harness.read_log(log))
        self.assertEqual([a["status"] for a in lines[seqs[0]]], ["dead"])
        self.assertEqual([a["status"] for a in lines[seqs[1]]],
                         ["failed", "dead"])
        self.assertEqual([a["status"] for a in lines[seqs[2]]],
                         ["failed", "dead"])
        self.assertIn("timeout", lines[seqs[2]][-1]["response"])

        status, _, body = serve.get("/dead")
        self.assertEqual(status, 200, body)
        dead = body["dead"]
        self.assertEqual(len(dead), 4)
        self.assertIsNone(body["next"])
        # Newest first: the order they died in, reversed.
        died = sorted(seqs, key=lambda s: lines[s][-1]["ts"], reverse=True)
        self.assertEqual([x["seq"] for x in dead], died)
        entry = {x["seq"]: x for x in dead}
        self.assertEqual(entry[seqs[0]]["attempts"], 1)
        self.assertTrue(entry[seqs[0]]["last_error"].startswith("HTTP 400"))
        self.assertEqual(entry[seqs[1]]["attempts"], 2)
        self.assertTrue(entry[seqs[1]]["last_error"].startswith("HTTP 500"))
        self.assertIn("timeout", entry[seqs[2]]["last_error"])
        self.assertEqual(entry[seqs[3]]["message"],
                         {k: v for k, v in msg(3, "status:404").items()})
        for x in dead:
            harness.parse_ts(x["dead_at"])
        self.assertEqual(self.drip.stats(self.redis)["dead"], 4)

        # Paging: two a page, then the rest.
        status, _, page1 = serve.get("/dead?limit=2")
        self.assertEqual([x["seq"] for x in page1["dead"]], died[:2])
        self.assertIsNotNone(page1["next"])
        status, _, page2 = serve.get(f"/dead?limit=2&cursor={page1['next']}")
        self.assertEqual([x["seq"] for x in page2["dead"]], died[2:])
        status, _, page3 = serve.get(f"/dead?limit=2&cursor={page2['next']}")
        self.assertEqual((page3["dead"], page3["next"]), ([], None))
        for bad in ("/dead?limit=0", "/dead?limit=x", "/dead?cursor=-1"):
            status, _, body = serve.get(bad)
            self.assertEqual(status, 422, bad)
            self.assertEqual(body["detail"][0]["loc"][0], "query")

        # Requeue one: it starts again at attempt 1 (and dies again).
        status, _, body = serve.post("/dead/requeue", {"seqs": [seqs[0]]})
        self.assertEqual((status, body["requeued"]), (200, 1), body)
        harness.wait_log_lines(log, 7, 10, procs=[c])
        again = self.by_seq(harness.read_log(log))[seqs[0]]
        self.assertEqual([(a["attempt"], a["status"]) for a in again],
                         [(1, "dead"), (1, "dead")])
        status, _, body = serve.post("/dead/requeue", {"seqs": "all"})
        self.assertEqual(status, 422, body)
        # Everything: no body at all.
        status, _, body = serve.post("/dead/requeue", None)
        self.assertEqual((status, body["requeued"]), (200, 4), body)
        self.assertEqual(serve.get("/dead/requeue")[0], 405)

    def test_retries_never_push_the_downstream_past_the_rate(self):
        # Every third request fails; retries take slots like any message.
        d = self.downstream(fail_every=3)
        rate = 50
        seqs = self.enqueue(["ok"] * 150)
        c = self.deliver(d, leak_rate=rate, max_attempts=10)
        self.wait_for(
            lambda: len({r["seq"] for r in d.snapshot()
                         if r["status"] == 200}) == len(seqs),
            30, "every message delivered", procs=[c])
        got = d.snapshot()
        self.assertGreater(len(got), 150 + 60)
        harness.wait_log_lines(self.path("processed.log"), len(got), 10,
                               procs=[c])
        lines = harness.read_log(self.path("processed.log"))
        # Attempts start at their slots: the strict bound holds.
        starts = {(ln["seq"], ln["attempt"]): harness.parse_ts(ln["ts"])
                  for ln in lines}
        self.assertWindows(list(starts.values()), rate, (0.01, 0.1, 1.0))
        # The downstream sees them later, each by its own delay (the
        # network, the server's threads); a window of W at the downstream
        # holds at most the starts of a window of W plus the spread of
        # those delays.
        delays = [r["t"] - starts[(r["seq"], r["attempt"])] for r in got]
        spread = max(delays) - min(delays)
        times = [r["t"] for r in got]
        for w in (0.1, 1.0):
            self.assertLessEqual(
                harness.max_in_window(times, w),
                harness.window_bound(rate, w + spread),
                f"downstream, {w}s window, delay spread {spread:.4f}s; "
                f"{harness.describe_window(times, w)}")
        # The bucket never idled, so the downstream saw the full rate.
        achieved = harness.achieved_rate(times)
        self.assertGreater(achieved, rate * 0.95)

    def test_retry_after_pauses_every_consumer(self):
        d = self.downstream()
        rate = 40
        datas = ["ok"] * 20 + ["pause:1"] + ["ok"] * 60
        self.enqueue(datas)
        c1 = self.deliver(d, log="a.log", leak_rate=rate)
        c2 = self.deliver(d, log="b.log", leak_rate=rate)
        self.wait_for(lambda: sum(r["status"] == 200
                                  for r in d.snapshot()) == len(datas),
                      30, "every message delivered", procs=[c1, c2])
        got = d.snapshot()
        t429 = next(r["t"] for r in got if r["status"] == 429)
        starts = {}
        for log in ("a.log", "b.log"):
            for ln in harness.read_log(self.path(log)):
                starts[(ln["seq"], ln["attempt"])] = harness.parse_ts(ln["ts"])
        delay = max(r["t"] - starts[(r["seq"], r["attempt"])] for r in got
                    if (r["seq"], r["attempt"]) in starts)
        # The other consumer learns of the pause at its next take: the
        # slots it already holds (the 50 ms lookahead) may still start,
        # and land up to the longest start-to-arrival delay later. Nothing
        # else may arrive during the pause.
        grace = 0.05 + delay + 0.01
        during = [round(r["t"] - t429, 3) for r in got
                  if t429 + grace < r["t"] < t429 + 0.99]
        self.assertEqual(during, [], f"requests during the pause (s after "
                                     f"the 429; grace {grace:.3f} s)")
        after = [r["t"] for r in got if r["t"] > t429 + grace]
        self.assertGreater(len(after), 50)
        self.assertWindows(after, rate, (0.1, 1.0),
                           what="downstream after the pause")

    def test_slow_downstream_does_not_lower_the_rate(self):
        d = self.downstream()
        rate = 40
        self.enqueue(["slow:0.25"] * 60)
        c = self.deliver(d, leak_rate=rate, deliver_concurrency=16)
        log = self.path("processed.log")
        harness.wait_log_lines(log, 60, 20, procs=[c])
        lines = harness.read_log(log)
        self.assertTrue(all(ln["status"] == "processed" for ln in lines))
        # Each answer takes 10 slots; 16 overlap, so the rate holds.
        starts = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertRateTimes(starts, rate, tolerance=0.05)

    def test_https_checks_the_certificate(self):
        cert, key = self.path("cert.pem"), self.path("key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj",
             "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True)
        d = self.downstream(certfile=cert, keyfile=key)
        self.assertTrue(d.url.startswith("https://localhost:"))
        seqs = self.enqueue(["ok"] * 3)
        trusted = self.deliver(d, log="trusted.log", deliver_ca_file=cert)
        harness.wait_log_lines(self.path("trusted.log"), 3, 20,
                               procs=[trusted])
        self.assertEqual(trusted.stop(), 0)
        lines = harness.read_log(self.path("trusted.log"))
        self.assertEqual(sorted(ln["seq"] for ln in lines), seqs)
        self.assertTrue(all(ln["response_status"] == 200 for ln in lines))

        # Without the CA file the system's store does not know the
        # certificate: every attempt fails, none reaches the server.
        before = len(d.snapshot())
        self.enqueue(["ok"])
        untrusted = self.deliver(d, log="untrusted.log", max_attempts=2)
        harness.wait_log_lines(self.path("untrusted.log"), 2, 20,
                               procs=[untrusted])
        lines = harness.read_log(self.path("untrusted.log"))
        self.assertEqual([ln["status"] for ln in lines], ["failed", "dead"])
        self.assertIn("handshake", lines[0]["response"])
        self.assertIsNone(lines[0]["response_status"])
        self.assertEqual(len(d.snapshot()), before)

    def test_kill_9_mid_delivery_delivers_at_least_once(self):
        d = self.downstream()
        seqs = self.enqueue(["slow:0.3"] * 40)
        log = self.path("processed.log")
        c = self.deliver(d, leak_rate=40)
        for _ in range(3):
            self.wait_for(lambda: len(d.snapshot()) > 5, 10,
                          "deliveries under way", procs=[c])
            time.sleep(0.2)
            c.kill()
            c = self.deliver(d, leak_rate=40)
        self.wait_for(
            lambda: {r["seq"] for r in d.snapshot()} >= set(seqs)
            and harness.count_lines(log) >= len(seqs),
            30, "every message delivered and logged", procs=[c])
        time.sleep(0.5)
        lines = harness.read_log(log)
        processed = collections.Counter(ln["seq"] for ln in lines
                                        if ln["status"] == "processed")
        self.assertEqual(sorted(processed), seqs)
        self.assertEqual([s for s, k in processed.items() if k > 1], [])
        # The repeats the downstream saw carry the same key.
        keys = collections.Counter(r["key"] for r in d.snapshot())
        self.assertEqual(set(keys), {f"test:{s}" for s in seqs})

    def test_bad_delivery_settings_exit_2(self):
        for flags, name in (
                (["--deliver-url", "ftp://x"], "DRIP_DELIVER_URL"),
                (["--deliver-url", "https://localhost:1/",
                  "--deliver-ca-file", self.path("missing.pem")],
                 "DRIP_DELIVER_CA_FILE"),
                (["--retry-backoff", "0"], "DRIP_RETRY_BACKOFF")):
            cp = self.drip.run("consume", "--redis-url", self.redis.url,
                               "--log-file", self.path("x.log"), *flags)
            self.assertEqual(cp.returncode, 2, cp.stderr)
            self.assertIn(name, cp.stderr)


if __name__ == "__main__":
    harness.main()
