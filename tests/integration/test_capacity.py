# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The capacity holds exactly under concurrent producers, across processes."""

import collections
import concurrent.futures
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402

CAPACITY = 50
TOTAL = 200
THREADS = 32


class CapacityTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def _burst(self, urls, total=TOTAL, threads=THREADS):
        """`total` POST /enqueue from `threads` threads released at once,
        spread over the servers at urls. Returns the list of
        (status, body) answers."""
        barrier = threading.Barrier(threads)
        per_thread = [list(range(t, total, threads)) for t in range(threads)]

        def worker(t):
            client = harness.HttpClient(urls[t % len(urls)], timeout=30)
            try:
                barrier.wait(timeout=30)
                out = []
                for i in per_thread[t]:
                    status, headers, body = client.post("/enqueue",
                                                        message(i))
                    out.append((status, headers, body))
                return out
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(worker, range(threads)))
        return [r for rs in results for r in rs]

    def _check(self, answers, accepted_expected, stats):
        by_status = collections.Counter(s for s, _, _ in answers)
        self.assertEqual(by_status[202], accepted_expected, by_status)
        self.assertEqual(by_status[429], len(answers) - accepted_expected,
                         by_status)
        seqs = [b["seq"] for s, _, b in answers if s == 202]
        self.assertEqual(len(set(seqs)), len(seqs), "duplicate seq")
        depths = sorted(b["depth"] for s, _, b in answers if s == 202)
        self.assertEqual(depths, list(range(1, accepted_expected + 1)),
                         "every accepted message sees its own depth")
        for s, h, b in answers:
            if s == 429:
                self.assertEqual(b, {"detail": "bucket full",
                                     "capacity": CAPACITY})
                self.assertGreaterEqual(int(h.get("retry-after", "0")), 1)
        self.assertEqual(stats["depth"], CAPACITY)
        self.assertEqual(stats["accepted"], CAPACITY)
        self.assertEqual(stats["rejected"], TOTAL - CAPACITY)

    def test_concurrent_burst_one_server(self):
        s = self.drip.serve(self.redis, capacity=CAPACITY, leak_rate=1)
        answers = self._burst([s.url])
        self._check(answers, CAPACITY, s.stats())

    def test_concurrent_burst_two_servers(self):
        a = self.drip.serve(self.redis, capacity=CAPACITY, leak_rate=1)
        b = self.drip.serve(self.redis, capacity=CAPACITY, leak_rate=1)
        answers = self._burst([a.url, b.url])
        self._check(answers, CAPACITY, a.stats())
        self.assertEqual(b.stats(), a.stats())

    def test_concurrent_burst_with_room_for_all(self):
        # When a script call finds room for all of its requests, serve
        # works out each one's seq and depth from where the bucket stood:
        # what each producer was told must be what the bucket stored.
        s = self.drip.serve(self.redis, capacity=10 * TOTAL, leak_rate=1)
        answers = self._burst([s.url])
        self.assertEqual([st for st, _, _ in answers], [202] * TOTAL)
        told = {b["id"]: b["seq"] for _, _, b in answers}
        self.assertEqual(len(set(told.values())), TOTAL, "duplicate seq")
        # A fresh bucket that nothing leaks from: the message given seq S
        # is the S-th accepted, so S messages wait right after it.
        self.assertEqual(sorted(told.values()), list(range(1, TOTAL + 1)))
        for _, _, b in answers:
            self.assertEqual(b["depth"], b["seq"], b)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=2000)
        harness.wait_log_lines(log, TOTAL, 60, procs=[c])
        self.assertEqual(c.stop(), 0)
        stored = {ln["id"]: ln["seq"] for ln in harness.read_log(log)}
        self.assertEqual(stored, told)

    def test_http_and_cli_producers_share_capacity(self):
        s = self.drip.serve(self.redis, capacity=CAPACITY, leak_rate=1)
        lines = "".join(json.dumps(message(1000 + i)) + "\n"
                        for i in range(100))
        cli_result = {}

        def cli():
            cli_result["cp"] = self.drip.run(
                "enqueue", "--redis-url", self.redis.url, "--queue", "test",
                "--capacity", CAPACITY, input=lines, timeout=60)

        t = threading.Thread(target=cli)
        t.start()
        answers = self._burst([s.url], total=100, threads=16)
        t.join(90)
        cp = cli_result["cp"]
        http_ok = sum(1 for st, _, _ in answers if st == 202)
        cli_ok = len([ln for ln in cp.stdout.splitlines() if ln.strip()])
        self.assertEqual(http_ok + cli_ok, CAPACITY,
                         f"http {http_ok} + cli {cli_ok}")
        if cli_ok < 100:
            self.assertEqual(cp.returncode, 1,
                             "lines refused as full make the exit status 1")
        st = s.stats()
        self.assertEqual(st["depth"], CAPACITY)
        self.assertEqual(st["accepted"], CAPACITY)
        self.assertEqual(st["rejected"], 200 - CAPACITY)


if __name__ == "__main__":
    harness.main()
