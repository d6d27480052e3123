# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""Crashes and clean stops: kill -9 loses and duplicates nothing; SIGTERM
exits 0 and leaves unstarted messages in the bucket."""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402


class CrashTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def test_kill_9_five_times(self):
        n, rate = 3000, 1000
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        seed = int(os.environ.get("DRIP_TEST_SEED", time.time_ns() % 10**6))
        rng = random.Random(seed)
        kills = []
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        for _ in range(5):
            time.sleep(rng.uniform(0.2, 0.5))
            self.assertTrue(c.alive(), f"consumer died by itself "
                                       f"(seed {seed}):\n{c.stderr()}")
            c.kill()
            kills.append(harness.count_lines(log))
            c = self.drip.consume(self.redis, log, leak_rate=rate)
        harness.wait_log_lines(log, n, n / rate * 3 + 10, procs=[c])
        # Let a duplicate, if any, show up.
        time.sleep(0.5)
        lines = harness.read_log(log)
        self.assertEqual(len(lines), n,
                         f"seed {seed}, lines at the kills: {kills}")
        self.assertExactlyOnce(lines, seqs)
        for ln in lines:
            self.assertEqual(ln["status"], "processed")
        self.assertEqual(c.stop(), 0)
        st = self.drip.stats(self.redis)
        self.assertEqual((st["depth"], st["in_flight"], st["processed"]),
                         (0, 0, n), st)
        # A restarted consumer does not catch up with a burst either.
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertWindows(times, rate, (0.1, 1.0),
                           what=f"across the restarts (seed {seed})")

    def test_redis_restart_with_persistence(self):
        # Redis with appendfsync always, killed -9 and started again while
        # the consumer runs: every message still processed exactly once.
        self.redis.kill()
        self.redis = self.start_redis(persistence=True)
        n, rate = 400, 200
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        # A message whose take was cut off by the outage may stay held
        # until its lease runs out (the visibility timeout): keep it short.
        visibility = 3
        c = self.drip.consume(self.redis, log, leak_rate=rate,
                              visibility_timeout=visibility)
        harness.wait_log_lines(log, 100, 100 / rate * 3 + 10, procs=[c])
        self.redis.kill()
        time.sleep(0.5)
        self.redis.start()
        try:
            harness.wait_log_lines(log, n, n / rate * 3 + 20 + visibility,
                                   procs=[c])
        except AssertionError as exc:
            self._diagnose_missing(log, seqs, c, exc)
        time.sleep(0.5)
        lines = harness.read_log(log)
        self.assertExactlyOnce(lines, seqs)
        self.assertEqual(c.stop(), 0)
        st = self.drip.stats(self.redis)
        self.assertEqual((st["depth"], st["in_flight"], st["processed"]),
                         (0, 0, n), st)
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertWindows(times, rate, (0.1, 1.0),
                           what="around the Redis outage")

    def _diagnose_missing(self, log, seqs, consumer, exc):
        """Fails with what is known about the messages that did not come:
        where Redis holds them, and whether they come after the visibility
        timeout (late) or not at all (lost)."""
        def missing():
            return sorted(set(seqs) - {ln["seq"]
                                       for ln in harness.read_log(log)})
        gone = missing()
        state = {}
        try:
            for key in self.redis.keys("drip:*"):
                kind = self.redis.cli("TYPE", key)
                if kind == "hash" and self.redis.cli("HLEN", key) < 50:
                    state[key] = self.redis.cli("HGETALL", key)
                elif kind == "zset":
                    state[key] = self.redis.cli("ZRANGE", key, 0, 20,
                                                "WITHSCORES")
                elif kind == "list":
                    state[key] = f"list of {self.redis.cli('LLEN', key)}"
                else:
                    state[key] = kind
        except (OSError, harness.RedisError) as e:
            state["error"] = repr(e)
        t0 = time.monotonic()
        late = None
        while time.monotonic() - t0 < 40:
            if not missing():
                late = time.monotonic() - t0
                break
            time.sleep(0.2)
        fate = (f"they came {late:.1f}s later (after a lease ran out?)"
                if late is not None else "still missing 40s later")
        self.fail(f"{exc}; missing seqs {gone[:20]}; {fate}; "
                  f"redis state: {state}; consumer alive: "
                  f"{consumer.alive()}")

    def test_sigterm_consume_returns_unstarted(self):
        n, rate = 300, 100
        seqs = self.prequeue(n)
        log_a = self.path("a.log")
        a = self.drip.consume(self.redis, log_a, leak_rate=rate)
        harness.wait_log_lines(log_a, 50, 50 / rate * 3 + 10, procs=[a])
        t0 = time.monotonic()
        rc = a.stop(timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, a.stderr())
        self.assertLess(took, 5, f"consume took {took:.1f}s to stop")
        done = harness.read_log(log_a)
        self.assertLess(len(done), n)
        st = self.drip.stats(self.redis)
        self.assertEqual(st["in_flight"], 0, st)
        self.assertEqual(st["depth"] + len(done), n, st)
        self.assertEqual(st["processed"], len(done), st)
        log_b = self.path("b.log")
        b = self.drip.consume(self.redis, log_b, leak_rate=rate)
        rest = n - len(done)
        harness.wait_log_lines(log_b, rest, rest / rate * 3 + 10, procs=[b])
        time.sleep(0.3)
        self.assertEqual(b.stop(), 0)
        self.assertExactlyOnce(done + harness.read_log(log_b), seqs)

    def test_sigint_consume_exits_0(self):
        self.prequeue(100)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=50)
        harness.wait_log_lines(log, 5, 10, procs=[c])
        c.signal(signal.SIGINT)
        self.assertEqual(c.wait(10), 0)
        done = len(harness.read_log(log))
        st = self.drip.stats(self.redis)
        self.assertEqual((st["depth"] + done, st["in_flight"]), (100, 0))

    def test_sigterm_serve_exits_0_quickly(self):
        s = self.drip.serve(self.redis)
        self.assertEqual(s.enqueue(message(1))[0], 202)
        t0 = time.monotonic()
        rc = s.stop(timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, s.stderr())
        self.assertLessEqual(took, 2.0, f"serve stopped after {took:.2f}s")

    def test_sigterm_serve_with_idle_keep_alive(self):
        # An open keep-alive connection does not hold the stop back.
        s = self.drip.serve(self.redis)
        c = harness.HttpClient(s.url)
        self.addCleanup(c.close)
        self.assertEqual(c.post("/enqueue", message(1))[0], 202)
        t0 = time.monotonic()
        rc = s.stop(timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, s.stderr())
        self.assertLessEqual(took, 2.0, f"serve stopped after {took:.2f}s")
        self.assertEqual(self.drip.stats(self.redis)["depth"], 1)


if __name__ == "__main__":
    harness.main()
