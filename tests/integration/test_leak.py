# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The leak: rate accuracy, smoothness, priority order, no burst after idle,
one rate shared by several consumers."""

import collections
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402

LOG_FIELDS = {"ts", "queue", "seq", "id", "job_priority", "job_type",
              "job_publisher", "data", "enqueued_at", "waited_ms", "attempt",
              "status"}


def deadline_for(n, rate):
    return n / rate * 3 + 10


class LeakTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def prequeue(self, messages):
        cp = self.drip.enqueue(self.redis, messages, capacity=100000)
        answers = [json.loads(ln) for ln in cp.stdout.splitlines()]
        self.assertEqual(len(answers), len(messages))
        return [a["seq"] for a in answers]

    def consume_all(self, n, rate, log_name="processed.log", **kw):
        log = self.path(log_name)
        c = self.drip.consume(self.redis, log, leak_rate=rate, **kw)
        harness.wait_log_lines(log, n, deadline_for(n, rate), procs=[c])
        return c, log

    def _rate_case(self, rate, n):
        seqs = self.prequeue([message(i) for i in range(n)])
        c, log = self.consume_all(n, rate)
        time.sleep(min(0.5, 20 / rate))   # nothing more may come
        lines = harness.read_log(log)
        self.assertEqual(len(lines), n)
        self.assertEqual(sorted(ln["seq"] for ln in lines), sorted(seqs))
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertEqual(times, sorted(times), "log lines out of ts order")
        self.assertEqual(c.stop(), 0)
        # A runner descheduled past a slot leaves it empty (no catching up
        # with a burst) and counts it: the schedule holds the rate when the
        # slots it left empty are counted, the starts alone a little less.
        found = re.findall(r"missed_slots=(\d+)", c.stderr())
        missed = int(found[-1]) if found else 0
        self.assertLessEqual(missed, n // 20, "more than 5% of slots missed")
        slots = (n + missed - 1) / (times[-1] - times[0])
        self.assertLessEqual(abs(slots - rate), 0.02 * rate,
                             f"{n} starts and {missed} missed slots at "
                             f"{slots:.2f} slots/s, want {rate}/s +-2%")
        self.assertLessEqual(harness.achieved_rate(times), rate * 1.02)
        self.assertWindows(times, rate, (0.01, 0.1, 1.0),
                           what=f"{n} messages at {rate}/s")
        for ln in lines:
            self.assertTrue(LOG_FIELDS <= set(ln), ln)
            self.assertEqual(ln["status"], "processed")
            self.assertEqual(ln["attempt"], 1)
            self.assertEqual(ln["queue"], "test")
        st = self.drip.stats(self.redis)
        self.assertEqual((st["depth"], st["in_flight"], st["processed"]),
                         (0, 0, n))

    def test_rate_100(self):
        self._rate_case(100, 300)

    def test_rate_1000(self):
        self._rate_case(1000, 3000)

    def test_log_line_contents(self):
        data = "line\nbreak\t\"quoted\" back\\slash \u2603 \U0001F600 \x01"
        msgs = [dict(id=-(2 ** 63), job_priority=3, job_type=7,
                     job_publisher="p\u00e9", data=data),
                dict(id=2 ** 63 - 1, job_priority=3, job_type=0,
                     job_publisher="x" * 128, data="")]
        seqs = self.prequeue(msgs)
        before = time.time()
        self.consume_all(2, 20)
        lines = harness.read_log(self.path("processed.log"))
        self.assertEqual(len(lines), 2)
        for ln, m, seq in zip(lines, msgs, seqs):
            self.assertEqual(ln["seq"], seq)
            for k, v in m.items():
                self.assertEqual(ln[k], v, k)
            ts = harness.parse_ts(ln["ts"])
            enq = harness.parse_ts(ln["enqueued_at"])
            self.assertLessEqual(enq, ts)
            self.assertGreater(ts, before - 1)
            self.assertLess(abs(ln["waited_ms"] - (ts - enq) * 1000), 50,
                            ln)
        with open(self.path("processed.log"), "rb") as f:
            raw = f.read()
        self.assertEqual(raw.count(b"\n"), 2, "data's newline escaped")

    def test_priority_order(self):
        prios = [5, 0, 9, 0, 5]
        seqs = self.prequeue([message(i, priority=p)
                              for i, p in enumerate(prios)])
        self.consume_all(len(prios), 50)
        lines = harness.read_log(self.path("processed.log"))
        self.assertEqual([ln["job_priority"] for ln in lines],
                         [0, 0, 5, 5, 9])
        self.assertEqual([ln["id"] for ln in lines], [1, 3, 0, 4, 2])
        by_prio = collections.defaultdict(list)
        for ln in lines:
            by_prio[ln["job_priority"]].append(ln["seq"])
        for p, s in by_prio.items():
            self.assertEqual(s, sorted(s), f"priority {p} out of order")
        self.assertEqual(sorted(ln["seq"] for ln in lines), sorted(seqs))

    def test_priority_order_many(self):
        # 60 messages, priorities cycling over 0..9 in a scrambled order.
        order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5]
        msgs = [message(i, priority=order[i % 10]) for i in range(60)]
        self.prequeue(msgs)
        self.consume_all(60, 200)
        lines = harness.read_log(self.path("processed.log"))
        keys = [(ln["job_priority"], ln["seq"]) for ln in lines]
        self.assertEqual(keys, sorted(keys))

    def test_no_burst_after_idle(self):
        rate = 50
        n = 50
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        time.sleep(1.5)
        self.assertTrue(c.alive(), c.stderr())
        self.assertEqual(harness.count_lines(log), 0)
        t_enqueue = time.time()
        self.prequeue([message(i) for i in range(n)])
        harness.wait_log_lines(log, n, deadline_for(n, rate), procs=[c])
        lines = harness.read_log(log)
        times = [harness.parse_ts(ln["ts"]) for ln in lines][:n]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(times[0], t_enqueue - 0.05)
        self.assertWindows(times, rate, (0.01, 1 / rate, 0.1, 0.5, 1.0),
                           what=f"after idle (smallest gap "
                                f"{min(gaps) * 1000:.2f} ms)")
        span = times[-1] - times[0]
        self.assertGreaterEqual(span, (n - 1) / rate * 0.98,
                                f"{n} messages in {span:.3f}s after idle")

    def test_idle_then_burst_twice(self):
        # Idle, a burst, idle again, another burst: each burst leaks at
        # the rate, none at once.
        rate = 100
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        time.sleep(0.5)
        self.prequeue([message(i) for i in range(40)])
        harness.wait_log_lines(log, 40, deadline_for(40, rate), procs=[c])
        time.sleep(1.0)
        self.prequeue([message(i) for i in range(40, 80)])
        harness.wait_log_lines(log, 80, deadline_for(40, rate), procs=[c])
        times = [harness.parse_ts(ln["ts"]) for ln in harness.read_log(log)]
        self.assertWindows(times, rate, (0.01, 0.1, 0.3),
                           what="two bursts after idle")
        second = times[40:]
        self.assertGreaterEqual(second[-1] - second[0], 39 / rate * 0.98)

    def test_two_consumers_share_the_rate(self):
        rate = 200
        n = 600
        seqs = self.prequeue([message(i) for i in range(n)])
        log_a, log_b = self.path("a.log"), self.path("b.log")
        a = self.drip.consume(self.redis, log_a, leak_rate=rate)
        b = self.drip.consume(self.redis, log_b, leak_rate=rate)
        harness.wait_until(
            lambda: (harness.count_lines(log_a)
                     + harness.count_lines(log_b)) >= n,
            timeout=deadline_for(n, rate), interval=0.05,
            what=f"{n} lines in the two logs")
        time.sleep(0.3)
        la, lb = harness.read_log(log_a), harness.read_log(log_b)
        merged = la + lb
        got = collections.Counter(ln["seq"] for ln in merged)
        dups = [s for s, k in got.items() if k > 1]
        self.assertEqual(dups, [], "seqs in the logs more than once")
        self.assertEqual(sorted(got), sorted(seqs))
        times = sorted(harness.parse_ts(ln["ts"]) for ln in merged)
        self.assertRateTimes(times, rate, windows=(0.1, 1.0),
                             what=f"two consumers ({len(la)} + {len(lb)})")
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)


if __name__ == "__main__":
    harness.main()
