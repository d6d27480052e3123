# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""Several processes on one bucket: four serves hold one capacity, a live
rate change through `drip configure`, several consumers sharing one rate
(joining, killed), and no burst after a long idle spell."""

import collections
import concurrent.futures
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402


def deadline_for(n, rate):
    return n / rate * 3 + 10


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def gap_summary(times, rate) -> str:
    """The gaps between consecutive starts, in whole intervals: a '2' is a
    slot lost to a stall (README, Known limits) or a late start, a '0' an
    on-time start right after a late one."""
    t = sorted(times)
    hist = collections.Counter(min(round((b - a) * rate), 4)
                               for a, b in zip(t, t[1:]))
    return ("gaps in intervals " + ", ".join(
        f"{'4+' if k == 4 else k}: {hist[k]}" for k in sorted(hist)))


def note(text):
    if os.environ.get("DRIP_TEST_VERBOSE"):
        sys.stderr.write(f"  [{text}]\n")


class ScaleTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def configure(self, *args, queue="test"):
        return self.drip.run("configure", "--redis-url", self.redis.url,
                             "--queue", queue, *args)

    def wait_total_lines(self, logs, n, timeout, procs=()):
        def done():
            for p in procs:
                if not p.alive():
                    raise AssertionError(f"{p.name} exited with "
                                         f"{p.proc.returncode}:\n"
                                         f"{p.stderr()}")
            return sum(harness.count_lines(lg) for lg in logs) >= n
        harness.wait_until(done, timeout=timeout, interval=0.05,
                           what=f"{n} lines in {len(logs)} logs")

    # ------------------------------------------------------------------
    # four serves, one capacity

    def test_four_servers_one_capacity(self):
        capacity, total, threads = 100, 400, 64
        servers = [self.drip.serve(self.redis, capacity=capacity)
                   for _ in range(4)]
        urls = [s.url for s in servers]
        barrier = threading.Barrier(threads)
        per_thread = [list(range(t, total, threads)) for t in range(threads)]

        def worker(t):
            client = harness.HttpClient(urls[t % len(urls)], timeout=30)
            try:
                barrier.wait(timeout=30)
                return [client.post("/enqueue", message(i))
                        for i in per_thread[t]]
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            answers = [a for rs in pool.map(worker, range(threads))
                       for a in rs]
        self.assertEqual(len(answers), total)
        by_status = collections.Counter(s for s, _, _ in answers)
        self.assertEqual(by_status, {202: capacity, 429: total - capacity})
        seqs = [b["seq"] for s, _, b in answers if s == 202]
        self.assertEqual(len(set(seqs)), capacity, "duplicate seq")
        for s, h, b in answers:
            if s == 429:
                self.assertEqual(b, {"detail": "bucket full",
                                     "capacity": capacity})
        stats = [s.stats() for s in servers]
        for st in stats:
            self.assertEqual((st["depth"], st["accepted"], st["rejected"],
                              st["capacity"]),
                             (capacity, capacity, total - capacity,
                              capacity), st)
        self.assertEqual(stats[1:], stats[:1] * 3,
                         "the four servers report one bucket")

    # ------------------------------------------------------------------
    # drip configure

    def test_rate_change_on_live_bucket(self):
        n, r1, r2 = 600, 100, 200
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=r1)
        pid = c.pid
        harness.wait_log_lines(log, 1, 10, procs=[c])
        time.sleep(1.5)
        self.assertTrue(c.alive(), c.stderr())
        t0 = time.time()
        cp = self.configure("--leak-rate", r2)
        t1 = time.time()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout.strip(),
                         rf"^queue test: capacity \d+, leak_rate {r2}/s$")
        harness.wait_log_lines(log, n, deadline_for(n, r2) + 5, procs=[c])
        time.sleep(0.2)
        self.assertTrue(c.alive(), "the consumer stopped")
        self.assertEqual(c.pid, pid)
        os.kill(pid, 0)  # the same process, still there
        lines = harness.read_log(log)
        self.assertEqual(sorted(ln["seq"] for ln in lines), sorted(seqs))
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertEqual(times, sorted(times))
        # The consumer takes up to 50 ms of slots ahead and changes rate on
        # its next slot: leave out the starts from a little before the
        # command to a little after it.
        before = [t for t in times if t < t0 - 0.05]
        after = [t for t in times if t > t1 + 0.15]
        around = len(times) - len(before) - len(after)
        note(f"configure took {t1 - t0:.3f}s; {len(before)} starts before, "
             f"{around} around, {len(after)} after")
        self.assertGreaterEqual(len(before), 100, f"{len(before)} before")
        self.assertGreaterEqual(len(after), 300, f"{len(after)} after")
        self.assertLessEqual(around, (t1 - t0 + 0.2) * r2 + 5,
                             "starts around the change")
        for seg, rate, what in ((before, r1, "before"), (after, r2, "after")):
            gaps = [b - a for a, b in zip(seg, seg[1:])]
            self.assertAlmostEqual(median(gaps), 1 / rate, delta=0.1 / rate,
                                   msg=f"median gap {what} the change")
            ach = harness.achieved_rate(seg)
            note(f"{what} the change: {ach:.2f}/s over {len(seg)} starts; "
                 f"{gap_summary(seg, rate)}")
            self.assertLessEqual(abs(ach - rate), 0.03 * rate,
                                 f"{what} the change: {ach:.2f}/s over "
                                 f"{len(seg)} starts, want {rate}/s +-3%; "
                                 f"{gap_summary(seg, rate)}")
        # Across the change, nothing beyond the higher rate's bound.
        self.assertWindows(times, r2, (0.01, 0.1, 1.0),
                           what="across the rate change")
        st = self.drip.stats(self.redis)
        self.assertEqual(st["leak_rate"], r2, st)
        self.assertEqual(c.stop(), 0)

    def test_configure_usage_and_capacity(self):
        cp = self.configure()
        self.assertEqual(cp.returncode, 2,
                         f"configure with neither setting: {cp.stderr}")
        self.assertTrue(cp.stderr.strip(), "no message on stderr")
        s = self.drip.serve(self.redis, capacity=1000)
        self.assertEqual(s.stats()["capacity"], 1000)
        cp = self.configure("--capacity", 5)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout.strip(),
                         r"^queue test: capacity 5, leak_rate [0-9.]+/s$")
        answers = [s.enqueue(message(i)) for i in range(6)]
        self.assertEqual([a[0] for a in answers], [202] * 5 + [429],
                         answers)
        self.assertEqual(answers[0][2]["capacity"], 5, answers[0])
        self.assertEqual(answers[5][2], {"detail": "bucket full",
                                         "capacity": 5})
        st = s.stats()
        self.assertEqual((st["capacity"], st["depth"]), (5, 5), st)
        self.assertTrue(s.alive(), "serve restarted or stopped")

    # ------------------------------------------------------------------
    # several consumers, one rate

    def test_four_consumers_share_the_rate(self):
        n, rate = 1600, 400
        seqs = self.prequeue(n)
        logs = [self.path(f"c{k}.log") for k in range(4)]
        procs = [self.drip.consume(self.redis, lg, leak_rate=rate)
                 for lg in logs]
        self.wait_total_lines(logs, n, deadline_for(n, rate), procs)
        time.sleep(0.3)  # a duplicate, if any, shows up
        per_log = [harness.read_log(lg) for lg in logs]
        merged = [ln for lines in per_log for ln in lines]
        got = collections.Counter(ln["seq"] for ln in merged)
        dups = sorted(s for s, k in got.items() if k > 1)
        self.assertEqual(dups[:20], [], f"{len(dups)} seqs recorded twice")
        self.assertEqual(sorted(got), sorted(seqs))
        times = sorted(harness.parse_ts(ln["ts"]) for ln in merged)
        counts = [len(lines) for lines in per_log]
        note(f"four consumers {counts}: {harness.achieved_rate(times):.2f}/s;"
             f" {gap_summary(times, rate)}")
        self.assertRateTimes(times, rate, windows=(0.1, 1.0),
                             tolerance=0.02,
                             what=f"four consumers {counts} "
                                  f"({gap_summary(times, rate)})")
        for p in procs:
            self.assertEqual(p.stop(), 0)

    def test_consumer_joins_and_one_is_killed(self):
        n, rate, visibility = 1000, 200, 2
        seqs = self.prequeue(n)
        logs = [self.path(f"c{k}.log") for k in range(3)]
        a = self.drip.consume(self.redis, logs[0], leak_rate=rate,
                              visibility_timeout=visibility)
        b = self.drip.consume(self.redis, logs[1], leak_rate=rate,
                              visibility_timeout=visibility)
        harness.wait_until(lambda: harness.count_lines(logs[0])
                           + harness.count_lines(logs[1]) > 0, 10,
                           what="the first start")
        time.sleep(1.0)
        c = self.drip.consume(self.redis, logs[2], leak_rate=rate,
                              visibility_timeout=visibility)
        time.sleep(1.0)
        self.assertTrue(b.alive(), b.stderr())
        b_lines_at_kill = harness.count_lines(logs[1])
        self.assertGreater(b_lines_at_kill, 0, "b did not take part")
        b.kill()
        held = self.drip.stats(self.redis)["in_flight"]

        def all_seen():
            for p in (a, c):
                if not p.alive():
                    raise AssertionError(f"{p.name} exited:\n{p.stderr()}")
            seen = set()
            for lg in logs:
                seen.update(ln["seq"] for ln in harness.read_log_complete(lg))
            return seen >= set(seqs)
        harness.wait_until(all_seen, deadline_for(n, rate) + visibility,
                           interval=0.1, what="every seq in the logs")
        time.sleep(0.3)
        per_log = [harness.read_log(logs[0]),
                   harness.read_log_complete(logs[1]),
                   harness.read_log(logs[2])]
        self.assertGreater(len(per_log[2]), 0, "the joining consumer "
                                               "took no message")
        merged = [ln for lines in per_log for ln in lines]
        got = collections.Counter(ln["seq"] for ln in merged)
        self.assertEqual(sorted(got), sorted(seqs), "a seq lost or unknown")
        in_b = {ln["seq"] for ln in per_log[1]}
        dups = sorted(s for s, k in got.items() if k > 1)
        self.assertEqual([s for s in dups if got[s] > 2 or s not in in_b],
                         [], "duplicates other than the killed consumer's "
                             "takeover")
        self.assertLessEqual(len(dups), 20,
                             f"{len(dups)} duplicates; held at the kill: "
                             f"{held}")
        times = sorted(harness.parse_ts(ln["ts"]) for ln in merged)
        # The slots of the messages b held are lost (they are started again
        # at fresh slots after the takeover): at most 20 of n.
        what = (f"join and kill {[len(x) for x in per_log]}, {held} held "
                f"at the kill, {len(dups)} duplicates; "
                f"{gap_summary(times, rate)}")
        note(f"{what}: {harness.achieved_rate(times):.2f}/s")
        self.assertRateTimes(times, rate, windows=(0.1, 1.0),
                             tolerance=0.02 + 20 / n, what=what)
        st = self.drip.stats(self.redis)
        self.assertEqual((st["depth"], st["in_flight"]), (0, 0), st)
        self.assertEqual(a.stop(), 0)
        self.assertEqual(c.stop(), 0)

    # ------------------------------------------------------------------
    # no burst after idle

    def test_no_burst_after_long_idle(self):
        rate, n = 200, 400
        s = self.drip.serve(self.redis, capacity=1000,
                            max_body_bytes=1048576)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        time.sleep(3.0)
        self.assertTrue(c.alive(), c.stderr())
        self.assertEqual(harness.count_lines(log), 0)
        t_post = time.time()
        status, _, body = s.post("/enqueue/batch",
                                 [message(i) for i in range(n)])
        self.assertEqual(status, 202, body)
        self.assertEqual(len(body["seqs"]), n)
        harness.wait_log_lines(log, n, deadline_for(n, rate), procs=[c])
        lines = harness.read_log(log)
        self.assertEqual(sorted(ln["seq"] for ln in lines),
                         sorted(body["seqs"]))
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertGreaterEqual(times[0], t_post - 0.05)
        span = times[-1] - times[0]
        # Slots are exactly 1/R apart; the first start may be late by up to
        # an interval (a later wake-up loses the slot).
        self.assertGreaterEqual(span, (n - 2) / rate,
                                f"{n} starts in {span:.3f}s after 3s idle")
        gaps = [b - a for a, b in zip(times, times[1:])]
        note(f"after idle: first start {times[0] - t_post:.3f}s after the "
             f"POST, span {span:.3f}s, smallest gap "
             f"{min(gaps) * 1000:.2f} ms")
        self.assertWindows(times, rate, (0.01, 0.1),
                           what=f"after a 3s idle (smallest gap "
                                f"{min(gaps) * 1000:.2f} ms)")
        self.assertEqual(c.stop(), 0)


if __name__ == "__main__":
    harness.main()
