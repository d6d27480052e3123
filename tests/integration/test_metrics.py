# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""GET /metrics: Prometheus text format, the bucket's figures across serve
processes, the token, and this process's enqueue latency histogram."""

import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import EXAMPLE, message  # noqa: E402

QUEUE = "test"
HIST_KEY = "drip:{%s}:hist" % QUEUE
DEAD_KEY = "drip:{%s}:dead" % QUEUE

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text):
    labels = {}
    at = 0
    while at < len(text):
        m = LABEL.match(text, at)
        if not m:
            raise AssertionError(f"bad labels {text!r}")
        labels[m.group(1)] = m.group(2)
        at = m.end()
    return labels


def parse_metrics(text):
    """The exposition format 0.0.4 as a dict: family name -> {"type",
    "help", "samples": [(name, labels, value)]}. Asserts that every sample
    comes after its family's HELP and TYPE lines, and that each histogram
    has cumulative buckets ending in +Inf equal to its _count."""
    assert text.endswith("\n"), "the page does not end with a line break"
    families = {}
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert len(parts) >= 4 and parts[1] in ("HELP", "TYPE"), line
            family = families.setdefault(parts[2], {"samples": []})
            key = parts[1].lower()
            assert key not in family, f"second {parts[1]} line: {line}"
            if key == "type":
                assert parts[3] in TYPES, line
            family[key] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), parse_labels(m.group(2) or ""), \
            float(m.group(3))
        family = name
        if family not in families:
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert families.get(family, {}).get("type") == "histogram", line
        assert "help" in families[family] and "type" in families[family], \
            f"{line}: no HELP and TYPE before it"
        families[family]["samples"].append((name, labels, value))
    for name, family in families.items():
        if family["type"] == "histogram":
            check_histogram(name, family["samples"])
    return families


def check_histogram(name, samples):
    buckets = [(s[1]["le"], s[2]) for s in samples
               if s[0] == name + "_bucket"]
    counts = [s[2] for s in samples if s[0] == name + "_count"]
    sums = [s[2] for s in samples if s[0] == name + "_sum"]
    assert len(counts) == 1 and len(sums) == 1, name
    assert buckets and buckets[-1][0] == "+Inf", f"{name}: no +Inf last"
    bounds = [float(le) for le, _ in buckets]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), name
    values = [v for _, v in buckets]
    assert values == sorted(values), f"{name}: buckets not cumulative"
    assert values[-1] == counts[0], f"{name}: +Inf {values[-1]} != count"


def value(families, name, **labels):
    family = re.sub(r"_(bucket|sum|count)$", "", name)
    if name in families:
        family = name
    for sample, sample_labels, v in families[family]["samples"]:
        if sample == name and sample_labels == labels:
            return v
    raise KeyError(f"{name}{labels}")


class MetricsTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def serve(self, **settings):
        settings.setdefault("capacity", 1000)
        return self.drip.serve(self.redis, **settings)

    def scrape(self, server, headers=None):
        status, hdrs, body = harness.get_raw(server.url, "/metrics", headers)
        self.assertEqual(status, 200, body[:500])
        self.assertTrue(hdrs.get("content-type", "")
                        .startswith("text/plain; version=0.0.4"), hdrs)
        return parse_metrics(body.decode("utf-8"))

    def test_format_parses(self):
        s = self.serve()
        families = self.scrape(s)
        for name, kind in (("drip_accepted_total", "counter"),
                           ("drip_rejected_total", "counter"),
                           ("drip_deduplicated_total", "counter"),
                           ("drip_processed_total", "counter"),
                           ("drip_failed_total", "counter"),
                           ("drip_dead_total", "counter"),
                           ("drip_depth", "gauge"),
                           ("drip_in_flight", "gauge"),
                           ("drip_capacity", "gauge"),
                           ("drip_leak_rate", "gauge"),
                           ("drip_dead_letters", "gauge"),
                           ("drip_enqueue_duration_seconds", "histogram"),
                           ("drip_wait_seconds", "histogram"),
                           ("drip_leak_gap_seconds", "histogram")):
            with self.subTest(metric=name):
                self.assertEqual(families[name]["type"], kind)
        reasons = {s[1].get("reason")
                   for s in families["drip_rejected_total"]["samples"]}
        self.assertEqual(reasons, {"full", "invalid", "too_large"})

    def test_counters_agree_across_servers_and_stats(self):
        a = self.serve(capacity=5, max_body_bytes=1024)
        b = self.serve(capacity=5, max_body_bytes=1024)
        key = {"Idempotency-Key": "order-1"}
        self.assertEqual(a.enqueue(message(1), key)[0], 202)
        self.assertEqual(b.enqueue(message(1), key)[0], 202)  # duplicate
        self.assertEqual(b.enqueue(message(2))[0], 202)
        self.assertEqual(a.post("/enqueue", b"not json")[0], 422)
        self.assertEqual(b.post("/enqueue/batch", [message(3), {}])[0], 422)
        big = dict(EXAMPLE, data="x" * 2000)
        self.assertEqual(a.enqueue(big)[0], 413)
        self.assertEqual(b.post("/enqueue/batch", [big])[0], 413)
        for i in range(3):
            self.assertEqual(a.enqueue(message(10 + i))[0], 202)
        self.assertEqual(b.enqueue(message(20))[0], 429)
        self.assertEqual(a.post("/enqueue/batch",
                                [message(21), message(22)])[0], 429)

        want = {("drip_accepted_total", ()): 5,
                ("drip_rejected_total", ("full",)): 3,
                ("drip_rejected_total", ("invalid",)): 2,
                ("drip_rejected_total", ("too_large",)): 2,
                ("drip_deduplicated_total", ()): 1,
                ("drip_depth", ()): 5,
                ("drip_capacity", ()): 5}

        def figures(server):
            families = self.scrape(server)
            got = {}
            for (name, reason) in want:
                labels = {"reason": reason[0]} if reason else {}
                got[(name, reason)] = value(families, name, **labels)
            return got, families

        # The 422 and 413 counts are sent without waiting for Redis.
        harness.wait_until(lambda: figures(a)[0] == want, 5,
                           what=f"/metrics to reach {want}; last "
                                f"{figures(a)[0]}")
        got_a, fam_a = figures(a)
        got_b, fam_b = figures(b)
        self.assertEqual(got_b, got_a)

        stats = a.stats()
        for name, field in (("drip_accepted_total", "accepted"),
                            ("drip_processed_total", "processed"),
                            ("drip_depth", "depth"),
                            ("drip_in_flight", "in_flight"),
                            ("drip_capacity", "capacity"),
                            ("drip_leak_rate", "leak_rate"),
                            ("drip_dead_letters", "dead")):
            with self.subTest(metric=name):
                self.assertEqual(value(fam_a, name), stats[field])
                self.assertEqual(value(fam_b, name), stats[field])
        self.assertEqual(value(fam_a, "drip_rejected_total", reason="full"),
                         stats["rejected"])

    def test_token_required_when_set(self):
        s = self.serve(api_token="s3cret-token")
        status, _, body = s.get("/metrics")
        self.assertEqual(status, 401, body)
        self.assertErrorBody(body, status)
        status, _, body = s.get("/metrics",
                                {"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401, body)
        self.scrape(s, {"Authorization": "Bearer s3cret-token"})

    def test_other_methods_get_405(self):
        s = self.serve()
        status, headers, body = s.post("/metrics", {})
        self.assertEqual(status, 405, body)
        self.assertErrorBody(body, status)
        self.assertEqual(headers.get("allow"), "GET")

    def test_enqueue_duration_counts_this_process_requests(self):
        s = self.serve()
        before = self.scrape(s)
        count = value(before, "drip_enqueue_duration_seconds_count")
        self.assertEqual(s.enqueue(message(1))[0], 202)
        self.assertEqual(s.post("/enqueue/batch", [message(2)])[0], 202)
        self.assertEqual(s.post("/enqueue", b"{")[0], 422)
        after = self.scrape(s)
        self.assertEqual(value(after, "drip_enqueue_duration_seconds_count"),
                         count + 3)
        self.assertGreater(value(after, "drip_enqueue_duration_seconds_sum"),
                           value(before, "drip_enqueue_duration_seconds_sum"))

    def test_leak_histograms_come_from_the_bucket_hash(self):
        # The fields consumers add to (src/common/prometheus.h): per bucket
        # counts, not cumulative, the last index +Inf, and the sum in us.
        a = self.serve()
        b = self.serve()
        for field, n in (("wait:0", 2), ("wait:21", 1),
                         ("wait:sum_us", 3_600_005_000), ("gap:40", 3),
                         ("gap:sum_us", 300_000)):
            self.redis.cli("HINCRBY", HIST_KEY, field, n)
        for server in (a, b):
            families = self.scrape(server)
            self.assertEqual(value(families, "drip_wait_seconds_bucket",
                                   le="0.001"), 2)
            self.assertEqual(value(families, "drip_wait_seconds_bucket",
                                   le="3600"), 2)
            self.assertEqual(value(families, "drip_wait_seconds_bucket",
                                   le="+Inf"), 3)
            self.assertEqual(value(families, "drip_wait_seconds_count"), 3)
            self.assertTrue(math.isclose(
                value(families, "drip_wait_seconds_sum"), 3600.005))
            # gap bucket 40 is le 0.1: 1/R at 10 per second.
            self.assertEqual(value(families, "drip_leak_gap_seconds_bucket",
                                   le="0.08"), 0)
            self.assertEqual(value(families, "drip_leak_gap_seconds_bucket",
                                   le="0.1"), 3)
            self.assertEqual(value(families, "drip_leak_gap_seconds_count"),
                             3)

    def test_consumers_feed_the_wait_and_gap_histograms(self):
        s = self.serve()
        rate, n = 100, 60
        cp = self.drip.enqueue(self.redis, [harness.message(i)
                                            for i in range(n)],
                               capacity=1000)
        self.assertEqual(cp.returncode, 0)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        harness.wait_log_lines(log, n, 20, procs=[c])
        self.assertEqual(c.stop(), 0)
        lines = harness.read_log(log)
        families = self.scrape(s)
        self.assertEqual(value(families, "drip_wait_seconds_count"), n)
        # Every wait the log shows, summed, is the histogram's sum (the log
        # rounds each to 0.1 ms).
        waited = sum(ln["waited_ms"] for ln in lines) / 1000
        self.assertLess(abs(value(families, "drip_wait_seconds_sum")
                            - waited), n * 0.0001)
        # One consumer holds consecutive slots: a gap for every start but
        # the first (fewer only where a slot was missed), each near 1/R.
        gaps = value(families, "drip_leak_gap_seconds_count")
        self.assertLessEqual(gaps, n - 1)
        self.assertGreaterEqual(gaps, n - 5)
        # A start may come up to one interval after its slot, so a gap
        # lies between 0 and two intervals; their mean is the interval.
        self.assertEqual(value(families, "drip_leak_gap_seconds_bucket",
                               le="0.02"), gaps)
        mean = value(families, "drip_leak_gap_seconds_sum") / gaps
        self.assertLess(abs(mean - 1 / rate), 0.1 / rate)

    def test_dead_letters_of_another_type_read_zero(self):
        s = self.serve()
        self.redis.cli("RPUSH", DEAD_KEY, "an older dead-letter list")
        self.assertEqual(value(self.scrape(s), "drip_dead_letters"), 0)
        self.redis.cli("DEL", DEAD_KEY)
        self.redis.cli("ZADD", DEAD_KEY, 1, "7")
        self.assertEqual(value(self.scrape(s), "drip_dead_letters"), 1)

    def test_503_while_redis_down(self):
        s = self.serve()
        self.redis.kill()
        status, headers, body = harness.get(s.url, "/metrics")
        self.assertEqual(status, 503, body)
        self.assertErrorBody(body, status)


if __name__ == "__main__":
    harness.main()
