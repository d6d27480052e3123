# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The HTTP API of `drip serve`, as PRODUCT.md states it."""

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import EXAMPLE, message  # noqa: E402

FIELDS = ("id", "job_priority", "job_type", "job_publisher", "data")
STATS_FIELDS = {"queue", "capacity", "leak_rate", "depth", "in_flight",
                "accepted", "rejected", "processed", "dead"}


class HttpApiTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def serve(self, **settings):
        settings.setdefault("capacity", 1000)
        return self.drip.serve(self.redis, **settings)

    # ---------------------------------------------------------------- 202

    def test_202_body_shape(self):
        s = self.serve(capacity=7)
        status, headers, body = s.enqueue(EXAMPLE)
        self.assertEqual(status, 202, body)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"), headers)
        self.assertEqual(set(body), {"status", "seq", "id", "depth",
                                     "capacity"}, body)
        self.assertEqual(body["status"], "queued")
        self.assertEqual(body["id"], 1)
        self.assertEqual(body["depth"], 1)
        self.assertEqual(body["capacity"], 7)
        self.assertIsInstance(body["seq"], int)
        self.assertNotIsInstance(body["seq"], bool)

    def test_seq_increasing_and_depth(self):
        s = self.serve()
        seqs = []
        for i in range(1, 11):
            status, _, body = s.enqueue(message(i))
            self.assertEqual(status, 202, body)
            self.assertEqual(body["id"], i)
            self.assertEqual(body["depth"], i)
            seqs.append(body["seq"])
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), len(seqs), seqs)

    def test_unknown_fields_ignored(self):
        s = self.serve()
        m = dict(EXAMPLE, extra="x", nested={"a": [1, 2]}, seq=999999)
        status, _, body = s.enqueue(m)
        self.assertEqual(status, 202, body)
        self.assertEqual(body["status"], "queued")

    def test_boundary_values_accepted(self):
        s = self.serve()
        good = [
            dict(EXAMPLE, job_priority=0),
            dict(EXAMPLE, job_priority=9),
            dict(EXAMPLE, job_type=0),
            dict(EXAMPLE, id=-(2 ** 63)),
            dict(EXAMPLE, id=2 ** 63 - 1),
            dict(EXAMPLE, job_publisher="p"),
            dict(EXAMPLE, job_publisher="x" * 128),
            # 128 code points, 256 bytes in UTF-8.
            dict(EXAMPLE, job_publisher="\u00e9" * 128),
            dict(EXAMPLE, data=""),
            dict(EXAMPLE, data="line\nbreak \"quoted\" \u2603 \U0001F600"),
        ]
        for m in good:
            with self.subTest(m=m):
                status, _, body = s.enqueue(m)
                self.assertEqual(status, 202, body)
                self.assertEqual(body["id"], m["id"])

    # ---------------------------------------------------------------- 422

    def test_422_malformed_json(self):
        s = self.serve()
        for raw in (b'{"id": 1,', b"not json", b"", b'{"id": 1}}'):
            with self.subTest(raw=raw):
                status, _, body = s.post("/enqueue", raw)
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body"]])

    def test_422_not_an_object(self):
        s = self.serve()
        for raw in (b"[1, 2]", b'"text"', b"42", b"null", b"true",
                    b"[" + json.dumps(EXAMPLE).encode() + b"]"):
            with self.subTest(raw=raw):
                status, _, body = s.post("/enqueue", raw)
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body"]])

    def test_422_every_missing_field_named(self):
        s = self.serve()
        status, _, body = s.enqueue({})
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body", f] for f in FIELDS])
        m = dict(EXAMPLE)
        del m["job_type"]
        del m["data"]
        status, _, body = s.enqueue(m)
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body", "job_type"], ["body", "data"]])
        locs = [d["loc"] for d in body["detail"]]
        self.assertNotIn(["body", "id"], locs, body)
        for f in FIELDS:
            with self.subTest(missing=f):
                m = dict(EXAMPLE)
                del m[f]
                status, _, body = s.enqueue(m)
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body", f]])
        self.assertEqual(s.stats()["depth"], 0)

    def test_422_wrong_types(self):
        s = self.serve()
        cases = []
        for f in ("id", "job_priority", "job_type"):
            for bad in ("1", 1.5, True, False, None, [1], {"a": 1}):
                cases.append((f, bad))
        for f in ("job_publisher", "data"):
            for bad in (5, True, None, ["x"], {"a": "b"}):
                cases.append((f, bad))
        for f, bad in cases:
            with self.subTest(field=f, value=bad):
                status, _, body = s.enqueue(dict(EXAMPLE, **{f: bad}))
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body", f]])
        self.assertEqual(s.stats()["depth"], 0)

    def test_422_out_of_range(self):
        s = self.serve()
        cases = [
            ("job_priority", 10), ("job_priority", -1),
            ("job_priority", 1000),
            ("job_type", -1),
            ("job_publisher", ""), ("job_publisher", "x" * 129),
            ("job_publisher", "\u00e9" * 129),
        ]
        for f, bad in cases:
            label = str(bad)
            if len(label) > 20:
                label = f"{label[:5]}...({len(label)} chars)"
            with self.subTest(field=f, value=label):
                status, _, body = s.enqueue(dict(EXAMPLE, **{f: bad}))
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body", f]])
        self.assertEqual(s.stats()["depth"], 0)

    def test_422_id_beyond_64_bits(self):
        # Well-formed JSON whose id does not fit a signed 64-bit integer:
        # an out-of-range value of the field id, not malformed JSON.
        s = self.serve()
        for bad in (2 ** 63, -(2 ** 63) - 1, 2 ** 64):
            with self.subTest(id=bad):
                status, _, body = s.enqueue(dict(EXAMPLE, id=bad))
                self.assertEqual(status, 422, body)
                self.assertValidation(body, [["body", "id"]])
        self.assertEqual(s.stats()["depth"], 0)

    def test_422_names_every_bad_field(self):
        s = self.serve()
        m = {"id": "1", "job_priority": 10, "job_type": 1.5,
             "job_publisher": "", "data": 7}
        status, _, body = s.enqueue(m)
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body", f] for f in FIELDS])

    def test_422_lone_surrogate(self):
        s = self.serve()
        raw = (b'{"id": 1, "job_priority": 1, "job_type": 2, '
               b'"job_publisher": "p", "data": "bad \\ud800 here"}')
        status, _, body = s.post("/enqueue", raw)
        self.assertEqual(status, 422, body)
        self.assertIsInstance(body, dict)
        self.assertIsInstance(body.get("detail"), list, body)

    # ---------------------------------------------------------------- 415/413

    def test_415_content_type(self):
        s = self.serve()
        for ct in ("text/plain", "application/x-www-form-urlencoded",
                   None):
            with self.subTest(content_type=ct):
                status, _, body = s.post("/enqueue", EXAMPLE,
                                         {"Content-Type": ct})
                self.assertEqual(status, 415, body)
                self.assertErrorBody(body, status)
        status, _, body = s.post("/enqueue", EXAMPLE, {
            "Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(status, 202, body)
        self.assertEqual(s.stats()["depth"], 1)

    def test_413_body_over_limit(self):
        s = self.serve(max_body_bytes=1024)
        big = dict(EXAMPLE, data="x" * 2000)
        status, _, body = s.enqueue(big)
        self.assertEqual(status, 413, body)
        self.assertErrorBody(body, status)
        small = dict(EXAMPLE, data="x" * 800)
        status, _, body = s.enqueue(small)
        self.assertEqual(status, 202, body)
        self.assertEqual(s.stats()["depth"], 1)

    # ---------------------------------------------------------------- 404/405

    def test_404_and_405_json(self):
        s = self.serve()
        status, headers, body = s.get("/no/such/path")
        self.assertEqual(status, 404, body)
        self.assertErrorBody(body, status)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"), headers)
        status, _, body = s.post("/nothing-here", EXAMPLE)
        self.assertEqual(status, 404, body)
        self.assertErrorBody(body, status)
        status, headers, body = s.get("/enqueue")
        self.assertEqual(status, 405, body)
        self.assertErrorBody(body, status)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"), headers)
        status, _, body = s.post("/stats", {})
        self.assertEqual(status, 405, body)
        self.assertErrorBody(body, status)

    # ---------------------------------------------------------------- 401

    def test_401_api_token(self):
        s = self.serve(api_token="s3cret-token")
        for hdrs in ({}, {"Authorization": "Bearer wrong"},
                     {"Authorization": "s3cret-token"},
                     {"Authorization": "Bearer s3cret-tokenX"},
                     {"Authorization": "Basic s3cret-token"}):
            with self.subTest(headers=hdrs):
                status, _, body = s.enqueue(EXAMPLE, hdrs)
                self.assertEqual(status, 401, body)
                self.assertErrorBody(body, status)
        ok = {"Authorization": "Bearer s3cret-token"}
        status, _, body = s.enqueue(EXAMPLE, ok)
        self.assertEqual(status, 202, body)
        status, _, body = s.get("/stats")
        self.assertEqual(status, 401, body)
        self.assertErrorBody(body, status)
        status, _, body = s.get("/stats", ok)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["depth"], 1)
        self.assertEqual(body["accepted"], 1)
        status, _, body = s.get("/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        status, _, body = s.get("/readyz")
        self.assertEqual((status, body), (200, {"status": "ready"}))

    # ---------------------------------------------------------------- 429

    def _fill_and_reject(self, capacity, leak_rate):
        s = self.serve(capacity=capacity, leak_rate=leak_rate)
        for i in range(capacity):
            status, _, body = s.enqueue(message(i))
            self.assertEqual(status, 202, body)
        status, headers, body = s.enqueue(message(capacity))
        self.assertEqual(status, 429, body)
        self.assertEqual(body, {"detail": "bucket full",
                                "capacity": capacity})
        self.assertIn("retry-after", headers)
        retry = headers["retry-after"]
        self.assertRegex(retry, r"^[0-9]+$")
        depth = s.stats()["depth"]
        want = max(1, math.ceil((depth - capacity + 1) / leak_rate))
        self.assertEqual(int(retry), want,
                         f"Retry-After at depth {depth}, capacity "
                         f"{capacity}, rate {leak_rate}")
        return s

    def test_429_bucket_full_retry_after(self):
        s = self._fill_and_reject(3, 0.5)
        st = s.stats()
        self.assertEqual(st["depth"], 3)
        self.assertEqual(st["accepted"], 3)
        self.assertEqual(st["rejected"], 1)
        # Still full, still refused, counted again.
        status, headers, _ = s.enqueue(EXAMPLE)
        self.assertEqual(status, 429)
        self.assertEqual(headers.get("retry-after"), "2")
        self.assertEqual(s.stats()["rejected"], 2)

    def test_429_retry_after_other_rates(self):
        self._fill_and_reject(2, 0.25)   # ceil(1 / 0.25) = 4

    def test_429_retry_after_at_least_one(self):
        self._fill_and_reject(2, 50)     # ceil(1 / 50) = 1

    # ---------------------------------------------------------------- stats

    def test_stats_fields_and_counters(self):
        s = self.serve(capacity=2, leak_rate=4.5, queue="stats-q")
        st = s.stats()
        self.assertEqual(set(st), STATS_FIELDS, st)
        self.assertEqual(st["queue"], "stats-q")
        self.assertEqual(st["capacity"], 2)
        self.assertEqual(st["leak_rate"], 4.5)
        for k in ("depth", "in_flight", "accepted", "rejected",
                  "processed", "dead"):
            self.assertEqual(st[k], 0, k)
        self.assertEqual(s.enqueue(message(1))[0], 202)
        self.assertEqual(s.enqueue(message(2))[0], 202)
        self.assertEqual(s.enqueue(message(3))[0], 429)
        self.assertEqual(s.enqueue({"bad": 1})[0], 422)
        st = s.stats()
        self.assertEqual(st["depth"], 2)
        self.assertEqual(st["accepted"], 2)
        self.assertEqual(st["rejected"], 1, "a 422 is not a rejection")
        self.assertEqual(st["in_flight"], 0)
        self.assertEqual(st["processed"], 0)
        self.assertEqual(st["dead"], 0)
        keys = self.redis.keys()
        self.assertTrue(keys)
        for k in keys:
            self.assertTrue(k.startswith("drip:{stats-q}"), keys)

    # ---------------------------------------------------------------- health

    def test_healthz_readyz(self):
        s = self.serve()
        status, headers, body = s.get("/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"), headers)
        status, _, body = s.get("/readyz")
        self.assertEqual((status, body), (200, {"status": "ready"}))

    def test_readyz_follows_redis(self):
        s = self.serve()
        self.assertEqual(s.get("/readyz")[0], 200)
        self.redis.kill()
        t0 = time.monotonic()
        harness.wait_until(lambda: s.get("/readyz", timeout=3)[0] == 503,
                           timeout=5, what="/readyz 503")
        noticed = time.monotonic() - t0
        self.assertLessEqual(noticed, 1.5,
                             f"/readyz noticed the outage after "
                             f"{noticed:.2f}s")
        status, _, body = s.get("/readyz")
        self.assertEqual(status, 503)
        self.assertErrorBody(body, status)
        self.assertEqual(s.get("/healthz")[:1], (200,))
        self.redis.start()
        t0 = time.monotonic()
        harness.wait_until(lambda: s.get("/readyz", timeout=3)[0] == 200,
                           timeout=10, what="/readyz 200 again")
        back = time.monotonic() - t0
        self.assertLessEqual(back, 3.0, f"/readyz back after {back:.2f}s")
        status, _, body = s.enqueue(EXAMPLE)
        self.assertEqual(status, 202, body)

    def test_503_while_redis_down(self):
        s = self.serve()
        self.assertEqual(s.enqueue(EXAMPLE)[0], 202)
        self.redis.kill()
        for attempt in range(3):
            with self.subTest(attempt=attempt):
                t0 = time.monotonic()
                status, _, body = s.post("/enqueue", message(attempt),
                                         timeout=10)
                took = time.monotonic() - t0
                self.assertEqual(status, 503, body)
                self.assertErrorBody(body, status)
                self.assertLessEqual(took, 1.5, f"503 after {took:.2f}s")
        t0 = time.monotonic()
        status, _, body = s.get("/stats", timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(status, 503, body)
        self.assertLessEqual(took, 1.5, f"GET /stats 503 after {took:.2f}s")
        self.redis.start()
        harness.wait_until(lambda: s.get("/readyz", timeout=3)[0] == 200,
                           timeout=10, what="/readyz 200 again")
        status, _, body = s.enqueue(EXAMPLE)
        self.assertEqual(status, 202, body)

    # ---------------------------------------------------------------- idempotency

    def test_idempotency_key(self):
        s = self.serve()
        key = {"Idempotency-Key": "order-42"}
        first = s.enqueue(message(42), key)
        self.assertEqual(first[0], 202, first[2])
        second = s.enqueue(message(42), key)
        self.assertEqual(second[0], 202, second[2])
        self.assertEqual(second[2], first[2])
        st = s.stats()
        self.assertEqual(st["depth"], 1)
        self.assertEqual(st["accepted"], 1)
        other = s.enqueue(message(43), {"Idempotency-Key": "order-43"})
        self.assertEqual(other[0], 202)
        self.assertGreater(other[2]["seq"], first[2]["seq"])
        plain = s.enqueue(message(42))
        self.assertEqual(plain[0], 202)
        st = s.stats()
        self.assertEqual(st["depth"], 3)
        self.assertEqual(st["accepted"], 3)

    def test_idempotency_key_across_servers(self):
        a = self.serve()
        b = self.serve()
        key = {"Idempotency-Key": "shared-key"}
        first = a.enqueue(message(1), key)
        second = b.enqueue(message(1), key)
        self.assertEqual(first[0], 202)
        self.assertEqual(second[0], 202)
        self.assertEqual(second[2]["seq"], first[2]["seq"])
        self.assertEqual(a.stats()["depth"], 1)

    # ---------------------------------------------------------------- batch

    def test_batch_of_three(self):
        s = self.serve(capacity=10)
        status, _, body = s.post("/enqueue/batch",
                                 [message(1), message(2), message(3)])
        self.assertEqual(status, 202, body)
        self.assertEqual(set(body), {"status", "seqs", "depth", "capacity"},
                         body)
        self.assertEqual(body["status"], "queued")
        self.assertEqual(len(body["seqs"]), 3)
        self.assertEqual(body["seqs"], sorted(set(body["seqs"])))
        self.assertEqual(body["depth"], 3)
        self.assertEqual(body["capacity"], 10)
        st = s.stats()
        self.assertEqual((st["depth"], st["accepted"]), (3, 3))
        status, _, one = s.enqueue(message(4))
        self.assertGreater(one["seq"], body["seqs"][-1])

    def test_batch_bad_element(self):
        s = self.serve(capacity=10)
        batch = [message(1), message(2, priority=10), message(3)]
        status, _, body = s.post("/enqueue/batch", batch)
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body", 1, "job_priority"]])
        m = message(3)
        del m["data"]
        status, _, body = s.post("/enqueue/batch",
                                 [message(1), message(2), m])
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body", 2, "data"]])
        status, _, body = s.post("/enqueue/batch", {"not": "an array"})
        self.assertEqual(status, 422, body)
        self.assertValidation(body, [["body"]])
        st = s.stats()
        self.assertEqual((st["depth"], st["accepted"]), (0, 0))

    def test_batch_that_does_not_fit(self):
        s = self.serve(capacity=5, leak_rate=1)
        status, _, body = s.post("/enqueue/batch",
                                 [message(i) for i in range(3)])
        self.assertEqual(status, 202, body)
        status, headers, body = s.post("/enqueue/batch",
                                       [message(i) for i in range(3)])
        self.assertEqual(status, 429, body)
        self.assertEqual(body, {"detail": "bucket full", "capacity": 5})
        self.assertGreaterEqual(int(headers.get("retry-after", "0")), 1)
        st = s.stats()
        self.assertEqual(st["depth"], 3, "a refused batch queues nothing")
        self.assertEqual(st["accepted"], 3)
        self.assertEqual(st["rejected"], 3, "a refused batch of N adds N")
        status, _, body = s.post("/enqueue/batch",
                                 [message(i) for i in range(2)])
        self.assertEqual(status, 202, body)
        self.assertEqual(body["depth"], 5)

    # ---------------------------------------------------------------- keep-alive

    def test_keep_alive_100_requests(self):
        s = self.serve()
        c = harness.HttpClient(s.url)
        self.addCleanup(c.close)
        sock = None
        seqs = []
        for i in range(100):
            if i % 10 == 9:
                status, _, body = c.get("/stats")
                self.assertEqual(status, 200, body)
            else:
                status, _, body = c.post("/enqueue", message(i))
                self.assertEqual(status, 202, body)
                seqs.append(body["seq"])
            self.assertFalse(c.last_will_close,
                             f"server closed the connection after "
                             f"request {i}")
            if sock is None:
                sock = c.sock
            self.assertIs(c.sock, sock, f"new connection at request {i}")
        self.assertEqual(len(set(seqs)), 90)
        self.assertEqual(s.stats()["depth"], 90)


if __name__ == "__main__":
    harness.main()
