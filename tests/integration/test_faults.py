# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""Faults around drip: a Redis that hangs or goes away, a Redis set up to
lose data, slow and too many clients, hostile JSON, a Redis ACL user,
concurrent retries with one Idempotency-Key, SIGTERM under load."""

import collections
import concurrent.futures
import http.client
import json
import os
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402

DURABILITY_WARNING = "redis may lose accepted messages"


def raw_exchange(port, data: bytes, timeout: float = 5.0):
    """Sends raw bytes on a fresh connection and reads one answer.
    Returns (status, headers, body bytes), or None when the server closed
    the connection (or reset it) without answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                headers = _headers(head)
                n = int(headers.get("content-length", "-1"))
                if n >= 0 and len(body) >= n:
                    break
        if not buf:
            return None
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"an answer cut short: {buf[:300]!r}")
        headers = _headers(head)
        n = int(headers.get("content-length", "-1"))
        if n >= 0 and len(body) < n:
            raise AssertionError(f"a body cut short: {len(body)} of {n} "
                                 f"bytes: {buf[:300]!r}")
        status = int(head.split(b"\r\n", 1)[0].split()[1])
        return status, headers, body
    finally:
        s.close()


def _headers(head: bytes) -> dict:
    out = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        out[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return out


def post_request(body: bytes, extra_headers: bytes = b"") -> bytes:
    return (b"POST /enqueue HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + extra_headers
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            + body)


def note(text):
    if os.environ.get("DRIP_TEST_VERBOSE"):
        sys.stderr.write(f"  [{text}]\n")


def timed(fn, *args, **kw):
    t = time.monotonic()
    out = fn(*args, **kw)
    return out, time.monotonic() - t


class FaultsTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def assertJsonError(self, status, body, statuses, what):
        self.assertIn(status, statuses, f"{what}: answered {status} {body}")
        self.assertIsInstance(body, dict, f"{what}: {status} without a "
                                          f"JSON object body")
        self.assertIn("detail", body, f"{what}: {body}")

    # ------------------------------------------------------------------
    # Redis hangs: kill -STOP

    def test_redis_hangs(self):
        s = self.drip.serve(self.redis)
        status, _, body = s.enqueue(message(0))
        self.assertEqual(status, 202, body)
        self.addCleanup(self.redis.resume)
        self.redis.pause()
        t_stop = time.monotonic()
        (status, _, body), took = timed(s.enqueue, message(1))
        self.assertJsonError(status, body, (503,), "POST while Redis hangs")
        note(f"first POST after kill -STOP: {status} in {took:.3f}s")
        self.assertLessEqual(took, 1.5, f"the 503 took {took:.2f}s")

        def readyz_503():
            st, _, b = s.get("/readyz", timeout=5)
            return st == 503 and isinstance(b, dict)
        harness.wait_until(readyz_503, timeout=3, interval=0.05,
                           what="GET /readyz 503 while Redis hangs")
        took = time.monotonic() - t_stop
        note(f"/readyz 503 {took:.3f}s after kill -STOP")
        self.assertLessEqual(took, 1.5, f"/readyz turned 503 after "
                                        f"{took:.2f}s")
        # Still hanging: every POST is answered quickly, never hung.
        for i in range(3):
            (status, _, body), took = timed(s.enqueue, message(2 + i))
            self.assertJsonError(status, body, (503,), "POST, Redis hangs")
            self.assertLessEqual(took, 1.5, f"a 503 took {took:.2f}s")
        self.assertTrue(s.alive(), s.stderr())

        self.redis.resume()
        t_cont = time.monotonic()
        harness.wait_until(lambda: s.enqueue(message(9))[0] == 202,
                           timeout=5, interval=0.05,
                           what="a 202 after kill -CONT")
        took_post = time.monotonic() - t_cont
        harness.wait_until(lambda: s.get("/readyz")[0] == 200, timeout=5,
                           interval=0.05, what="/readyz 200 after kill -CONT")
        took_ready = time.monotonic() - t_cont
        note(f"after kill -CONT: 202 in {took_post:.3f}s, ready in "
             f"{took_ready:.3f}s")
        self.assertLessEqual(took_post, 2.0, f"202 again after "
                                             f"{took_post:.2f}s")
        self.assertLessEqual(took_ready, 2.0, f"ready again after "
                                              f"{took_ready:.2f}s")

    # ------------------------------------------------------------------
    # Redis goes away and comes back

    def test_redis_outage_one_warning_and_resume(self):
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=100)
        self.drip.enqueue(self.redis, [message(i) for i in range(5)])
        harness.wait_log_lines(log, 5, 10, procs=[c])
        self.redis.kill()
        time.sleep(2.5)   # several reconnection attempts
        self.assertTrue(c.alive(), c.stderr())
        self.redis.start()
        # Without persistence the bucket is gone: new messages, new ids.
        self.drip.enqueue(self.redis, [message(100 + i) for i in range(20)])
        harness.wait_log_lines(log, 25, 15, procs=[c])
        ids = [ln["id"] for ln in harness.read_log(log)]
        self.assertEqual(sorted(ids[5:]), list(range(100, 120)))
        time.sleep(0.3)
        with open(c.stderr_path, encoding="utf-8", errors="replace") as f:
            lost = [ln for ln in f if "connection lost" in ln]
        self.assertEqual(len(lost), 1, "one warning per outage, not one "
                                       "per attempt:\n" + "".join(lost[:20]))
        self.assertEqual(c.stop(), 0)

    # ------------------------------------------------------------------
    # durability warning

    def test_durability_warning(self):
        # The harness's default Redis runs with --appendonly no.
        self.assertEqual(self.redis.cli("CONFIG", "GET", "appendonly"),
                         ["appendonly", "no"])
        s = self.drip.serve(self.redis)
        c = self.drip.consume(self.redis, self.path("a.log"))
        for p in (s, c):
            harness.wait_until(lambda p=p: DURABILITY_WARNING in p.stderr(),
                               timeout=5, what=f"the warning from {p.name}")

        safe = self.start_redis(persistence=True)
        self.assertEqual(safe.cli("CONFIG", "GET", "appendfsync"),
                         ["appendfsync", "always"])
        s2 = self.drip.serve(safe, capacity=78)
        c2 = self.drip.consume(safe, self.path("b.log"), leak_rate=8)
        # Each process checks Redis's settings right after writing its own
        # setting into the bucket: once both show, the check is near.
        harness.wait_until(
            lambda: (lambda st: (st["capacity"], st["leak_rate"]) == (78, 8))
            (self.drip.stats(safe)), timeout=10, interval=0.1,
            what="serve's capacity and consume's rate in the bucket")
        time.sleep(1.0)
        for p in (s2, c2):
            self.assertTrue(p.alive(), p.stderr())
            self.assertNotIn(DURABILITY_WARNING, p.stderr(), p.name)

        # An AOF fsynced once a second can lose the last second.
        everysec = self.start_redis(extra_args=["--appendonly", "yes",
                                                "--appendfsync", "everysec"])
        s3 = self.drip.serve(everysec)
        harness.wait_until(lambda: DURABILITY_WARNING in s3.stderr(),
                           timeout=5, what="the warning at appendfsync "
                                           "everysec")

    # ------------------------------------------------------------------
    # slow and too many clients

    def test_slow_clients_do_not_block_others(self):
        s = self.drip.serve(self.redis)
        line = b"POST /enqueue HTTP/1.1\r\n"
        socks = []
        self.addCleanup(lambda: [x.close() for x in socks])
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", s.port),
                                                  timeout=5))
        stop = threading.Event()

        def dribble():
            for k in range(len(line)):
                for x in socks:
                    try:
                        x.send(line[k:k + 1])
                    except OSError:
                        pass
                if stop.wait(1.0):
                    return
        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        took = []
        t_end = time.monotonic() + 5
        i = 0
        while time.monotonic() < t_end:
            (status, _, body), dt = timed(s.post, "/enqueue", message(i),
                                          timeout=5)
            self.assertEqual(status, 202, body)
            took.append(dt)
            i += 1
            time.sleep(0.3)
        stop.set()
        t.join(5)
        self.assertGreaterEqual(len(took), 5)
        note(f"POST beside 300 slow clients: {len(took)} requests, slowest "
             f"{max(took):.3f}s")
        self.assertLessEqual(max(took), 1.0,
                             f"POST /enqueue beside 300 slow clients: "
                             f"{[round(x, 3) for x in took]}")
        self.assertTrue(s.alive(), s.stderr())

    # ------------------------------------------------------------------
    # How requests arrive: serve parses what it has before reading more

    def _answers(self, sock, count, timeout=5.0):
        """Reads `count` answers from one connection: [(status, body)]."""
        sock.settimeout(timeout)
        buf, out = b"", []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                n = int(_headers(head).get("content-length", "0"))
                if len(rest) >= n:
                    status = int(head.split(b"\r\n", 1)[0].split()[1])
                    out.append((status, rest[:n]))
                    buf = rest[n:]
                    continue
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        return out

    def test_pipelined_requests_answered_in_order(self):
        s = self.drip.serve(self.redis)
        one = lambda i: post_request(json.dumps(message(i)).encode()).replace(
            b"Connection: close\r\n", b"")
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        self.addCleanup(sock.close)
        # Five requests in one write, then five more split mid-request.
        data = b"".join(one(i) for i in range(5))
        sock.sendall(data)
        more = b"".join(one(i) for i in range(5, 10))
        sock.sendall(more[:len(more) // 2 + 3])
        time.sleep(0.05)
        sock.sendall(more[len(more) // 2 + 3:])
        answers = self._answers(sock, 10)
        self.assertEqual([a[0] for a in answers], [202] * 10, answers)
        seqs = [json.loads(a[1])["seq"] for a in answers]
        self.assertEqual(seqs, sorted(seqs), "answers out of request order")
        self.assertEqual(len(set(seqs)), 10)
        self.assertEqual(s.stats()["depth"], 10)

    def test_request_dribbled_byte_by_byte(self):
        s = self.drip.serve(self.redis)
        data = post_request(json.dumps(message(1)).encode())
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        self.addCleanup(sock.close)
        for k in range(len(data)):
            sock.send(data[k:k + 1])
            if k % 16 == 0:
                time.sleep(0.002)
        answers = self._answers(sock, 1)
        self.assertEqual(answers[0][0], 202, answers)
        self.assertEqual(s.stats()["depth"], 1)

    def test_expect_100_continue(self):
        s = self.drip.serve(self.redis)
        body = json.dumps(message(1, data="x" * 2000)).encode()
        head, _, _ = post_request(body, b"Expect: 100-continue\r\n"
                                  ).partition(b"\r\n\r\n")
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(head + b"\r\n\r\n")
        first = self._answers(sock, 1)
        self.assertEqual(first[0][0], 100, first)
        sock.sendall(body)
        answers = self._answers(sock, 1)
        self.assertEqual(answers[0][0], 202, answers)
        self.assertEqual(s.stats()["depth"], 1)

    def test_request_cut_short_is_not_queued(self):
        s = self.drip.serve(self.redis)
        data = post_request(json.dumps(message(1)).encode())
        for cut in (10, len(data) - 5):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            sock.sendall(data[:cut])
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(5)
            self.assertEqual(sock.recv(65536), b"",
                             f"an answer to a request cut at byte {cut}")
            sock.close()
        self.assertEqual(s.stats()["depth"], 0)
        status, _, body = s.enqueue(message(2))
        self.assertEqual(status, 202, body)
        self.assertTrue(s.alive(), s.stderr())

    def _closed_after(self, sock, limit):
        """Seconds until serve closes `sock` (recv gives b""), or fails
        when an answer comes or nothing happens within `limit`."""
        sock.settimeout(limit)
        t0 = time.monotonic()
        try:
            data = sock.recv(65536)
        except socket.timeout:
            self.fail(f"connection still open after {limit} s")
        self.assertEqual(data, b"", "an answer where none was due")
        return time.monotonic() - t0

    def test_request_timeout_closes_a_stalled_request(self):
        # --request-timeout bounds the time a client has to send a whole
        # request once it has begun: a client that stalls half way is
        # closed without an answer, and nothing it sent is queued.
        s = self.drip.serve(self.redis, request_timeout=1, idle_timeout=30)
        data = post_request(json.dumps(message(1)).encode())
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(data[:len(data) - 5])
        took = self._closed_after(sock, 10)
        note(f"stalled request closed after {took:.3f}s")
        # The deadline counts from the first byte; the sweep that enforces
        # it runs every 100 ms, and a loaded machine may add some.
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)
        self.assertEqual(s.stats()["depth"], 0)

    def test_idle_timeout_closes_an_idle_connection(self):
        s = self.drip.serve(self.redis, request_timeout=30, idle_timeout=1)
        one = post_request(json.dumps(message(1)).encode()).replace(
            b"Connection: close\r\n", b"")
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        self.addCleanup(sock.close)
        # Requests closer together than the idle timeout keep the
        # connection open: each resets the deadline.
        for _ in range(4):
            sock.sendall(one)
            self.assertEqual([a[0] for a in self._answers(sock, 1)], [202])
            time.sleep(0.6)
        took = self._closed_after(sock, 10)
        note(f"idle connection closed {took + 0.6:.3f}s after its answer")
        self.assertGreaterEqual(took + 0.6, 0.9)
        self.assertLess(took, 5)
        self.assertEqual(s.stats()["depth"], 4)

    def test_max_connections(self):
        s = self.drip.serve(self.redis, max_connections=50)
        socks = [socket.create_connection(("127.0.0.1", s.port), timeout=5)
                 for _ in range(60)]
        self.addCleanup(lambda: [x.close() for x in socks])
        closed = set()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            open_ = [x for x in socks if x not in closed]
            readable, _, _ = select.select(open_, [], [], 0.2)
            for x in readable:
                try:
                    if x.recv(4096) == b"":
                        closed.add(x)
                except OSError:
                    closed.add(x)
        held = len(socks) - len(closed)
        note(f"--max-connections 50: {len(closed)} of 60 closed, {held} held")
        self.assertGreaterEqual(len(closed), 10,
                                f"only {len(closed)} of 60 closed at "
                                f"--max-connections 50")
        self.assertLessEqual(held, 50)
        for x in socks:
            x.close()
        harness.wait_until(lambda: s.post("/enqueue", message(0),
                                          timeout=2)[0] == 202,
                           timeout=3, interval=0.05,
                           what="a 202 once the connections are closed")
        for i in range(10):
            status, _, body = s.post("/enqueue", message(i + 1),
                                     timeout=2)
            self.assertEqual(status, 202, body)

    def test_huge_headers(self):
        s = self.drip.serve(self.redis)
        body = json.dumps(message(1)).encode()
        cases = {
            "one 20 KiB header": b"X-Big: " + b"a" * 20480 + b"\r\n",
            "200 headers of 100 bytes": b"".join(
                b"X-H%d: %s\r\n" % (k, b"b" * 100) for k in range(200)),
        }
        for what, extra in cases.items():
            got = raw_exchange(s.port, post_request(body, extra))
            note(f"{what}: {'closed' if got is None else got[0]}")
            if got is not None:
                status, headers, raw = got
                self.assertJsonError(status, harness._parse_json(raw),
                                     (431,), what)
            status, _, b = s.enqueue(message(2))
            self.assertEqual(status, 202, f"after {what}: {b}")
        # Just under the limit is fine.
        got = raw_exchange(s.port, post_request(
            body, b"X-Big: " + b"c" * 8000 + b"\r\n"))
        self.assertIsNotNone(got)
        self.assertEqual(got[0], 202, got)

    # ------------------------------------------------------------------
    # hostile JSON

    def test_hostile_json(self):
        s = self.drip.serve(self.redis, max_body_bytes=1048576)

        def field_body(data_json: bytes) -> bytes:
            return (b'{"id": 7, "job_priority": 1, "job_type": 2, '
                    b'"job_publisher": "hostile", "data": ' + data_json
                    + b"}")

        refused = {
            "100000 [": b"[" * 100000,
            "100000 [ closed": b"[" * 100000 + b"]" * 100000,
            "60 KiB of {": b"{" * (60 * 1024),
            "deep unclosed unknown field": (b'{"x": ' + b"[" * 100000
                                            + b', "id": 1}'),
            "invalid UTF-8 in data": field_body(b'"ab\xff\xfe cd"'),
            "overlong UTF-8 in data": field_body(b'"\xc0\xaf"'),
            "UTF-8 encoded surrogate": field_body(b'"\xed\xa0\x80"'),
            "truncated UTF-8 in data": field_body(b'"abc\xe2\x82"'),
            "lone surrogate escape": field_body(b'"\\ud800"'),
            "lone low surrogate escape": field_body(b'"x\\udc00y"'),
            "raw 0x01 in a string": field_body(b'"a\x01b"'),
            "raw newline in a string": field_body(b'"a\nb"'),
            "bad escape": field_body(b'"\\x41"'),
            "NUL byte outside strings": field_body(b'"a"') + b"\x00",
        }
        for what, body in refused.items():
            status, _, answer = s.post("/enqueue", body)
            note(f"{what}: {status} {str(answer)[:100]}")
            self.assertJsonError(status, answer, (413, 422), what)
            status, _, _ = s.get("/healthz")
            self.assertEqual(status, 200, f"serve after {what}")

        nasty = ("q\"uo\"te b\\ack\\slash \\\" new\nline cr\r tab\t "
                 "\u2028 \u2029 \x7f \x1f \u00e9 \U0001F600 </script> \\u0000")
        accepted = {
            "escaped NUL": (field_body(b'"\\u0000"'), "\x00"),
            "NUL between": (field_body(b'"a\\u0000b"'), "a\x00b"),
            "nasty raw": (field_body(json.dumps(nasty, ensure_ascii=False)
                                     .encode()), nasty),
            "nasty escaped": (field_body(json.dumps(nasty).encode()), nasty),
            "surrogate pair escape": (field_body(b'"\\ud83d\\ude00"'),
                                      "\U0001F600"),
            "all control escapes": (
                field_body(json.dumps("".join(map(chr, range(32)))).encode()),
                "".join(map(chr, range(32)))),
        }
        seqs = {}
        for what, (body, data) in accepted.items():
            status, _, answer = s.post("/enqueue", body)
            self.assertEqual(status, 202, f"{what}: {answer}")
            seqs[answer["seq"]] = (what, data)
        # Deep nesting in an unknown field of a good message: ignored (202)
        # or refused as too deep (422), but answered.
        deep = (b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b", "
                + field_body(b'"deep"')[1:])
        status, _, answer = s.post("/enqueue", deep)
        note(f"deep unknown field in a good message: {status}")
        if status == 202:
            seqs[answer["seq"]] = ("deep unknown field", "deep")
        else:
            self.assertJsonError(status, answer, (422,), "deep unknown field")
        self.assertTrue(s.alive(), s.stderr())

        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=50)
        harness.wait_log_lines(log, len(seqs), 15, procs=[c])
        time.sleep(0.2)
        lines = harness.read_log(log)   # every line through json.loads
        self.assertEqual(sorted(ln["seq"] for ln in lines), sorted(seqs))
        for ln in lines:
            what, data = seqs[ln["seq"]]
            self.assertEqual(ln["data"], data, what)
            self.assertEqual(ln["job_publisher"], "hostile")
        with open(log, "rb") as f:
            raw = f.read()
        self.assertEqual(raw.count(b"\n"), len(seqs))
        self.assertNotIn(b"\x00", raw, "a raw NUL in the log")
        self.assertEqual(c.stop(), 0)

    # ------------------------------------------------------------------
    # a Redis ACL user

    def test_acl_user(self):
        r = self.redis
        self.assertEqual(r.cli("ACL", "SETUSER", "dripuser", "on",
                               ">s3cret", "~*", "&*", "+@all"), "OK")
        self.assertEqual(r.cli("ACL", "SETUSER", "default", "off"), "OK")
        r.auth = ("dripuser", "s3cret")
        self.assertEqual(r.cli("PING"), "PONG")
        with self.assertRaises(harness.RedisError):
            harness.redis_command(r.port, "SET", "k", "v")

        good = f"redis://dripuser:s3cret@127.0.0.1:{r.port}/0"
        s = self.drip.serve(good)
        status, _, body = s.enqueue(message(1))
        self.assertEqual(status, 202, body)
        cp = self.drip.run("stats", "--json", "--redis-url", good,
                           "--queue", "test")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(json.loads(cp.stdout)["depth"], 1)
        self.assertNotIn("s3cret", s.stderr() + cp.stderr + cp.stdout)

        bad = f"redis://dripuser:s3cret-wrong@127.0.0.1:{r.port}/0"
        b = self.drip.serve(bad, ready=False)
        time.sleep(1.0)
        status, _, body = b.get("/readyz")
        self.assertJsonError(status, body, (503,), "/readyz, wrong password")
        status, _, body = b.enqueue(message(2))
        self.assertJsonError(status, body, (503,), "POST, wrong password")
        words = ("wrongpass", "auth", "password", "denied")
        harness.wait_until(lambda: any(w in b.stderr().lower()
                                       for w in words),
                           timeout=5, what="the failure on serve's stderr")
        self.assertNotIn("s3cret", b.stderr())
        self.assertTrue(b.alive(), "serve gives up on a wrong password?")

    # ------------------------------------------------------------------
    # Idempotency-Key under concurrency

    def test_idempotency_key_concurrent(self):
        s = self.drip.serve(self.redis)
        threads = 20
        for round_ in range(3):
            depth = s.stats()["depth"]
            key = f"same-key-{round_}"
            barrier = threading.Barrier(threads)

            def worker(_):
                client = harness.HttpClient(s.url, timeout=10)
                try:
                    client.conn.connect()
                    barrier.wait(timeout=10)
                    return client.post("/enqueue", message(round_),
                                       headers={"Idempotency-Key": key})
                finally:
                    client.close()
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                answers = list(pool.map(worker, range(threads)))
            statuses = collections.Counter(a[0] for a in answers)
            self.assertEqual(statuses, {202: threads}, answers)
            bodies = {json.dumps(a[2], sort_keys=True) for a in answers}
            self.assertEqual(len(bodies), 1, f"different answers: {bodies}")
            st = s.stats()
            self.assertEqual(st["depth"], depth + 1, st)
        self.assertEqual(s.stats()["accepted"], 3)

    # ------------------------------------------------------------------
    # SIGTERM under load

    def test_sigterm_with_requests_in_flight(self):
        s = self.drip.serve(self.redis, capacity=1000000)
        threads = 50
        barrier = threading.Barrier(threads + 1)
        lock = threading.Lock()
        answered = collections.Counter()
        broken = []       # answers cut short or not JSON
        unanswered = []   # connection closed before any answer

        def worker(t):
            client = harness.HttpClient(s.url, timeout=10)
            barrier.wait(timeout=10)
            i = 0
            try:
                while True:
                    try:
                        status, _, body = client.post(
                            "/enqueue", message(t * 100000 + i))
                    except (http.client.RemoteDisconnected,
                            ConnectionError) as exc:
                        with lock:
                            unanswered.append(repr(exc))
                        return
                    except (http.client.HTTPException, OSError) as exc:
                        with lock:
                            broken.append(repr(exc))
                        return
                    with lock:
                        answered[status] += 1
                        if (not isinstance(body, dict)
                                or (status == 202
                                    and body.get("status") != "queued")):
                            broken.append(f"{status} {client.last_raw!r}")
                    if client.last_will_close:
                        return
                    i += 1
            finally:
                client.close()

        pool = [threading.Thread(target=worker, args=(t,), daemon=True)
                for t in range(threads)]
        for th in pool:
            th.start()
        barrier.wait(timeout=10)
        harness.wait_until(lambda: sum(answered.values()) >= 300, timeout=10,
                           what="load")
        t = time.monotonic()
        s.signal(signal.SIGTERM)
        try:
            rc = s.wait(5)
        except Exception:  # noqa: BLE001
            rc = None
        took = time.monotonic() - t
        for th in pool:
            th.join(10)
        n202 = answered[202]
        depth = self.drip.stats(self.redis)["depth"]
        note(f"SIGTERM: exit {rc} after {took:.3f}s; {n202} answered 202, "
             f"{len(unanswered)} unanswered, {len(broken)} broken, depth "
             f"{depth}")
        self.assertEqual(rc, 0, f"serve's exit status after SIGTERM "
                                f"({took:.2f}s)")
        self.assertLessEqual(took, 2.0, "serve took too long to stop")
        self.assertEqual(broken[:10], [], f"{len(broken)} answers cut short")
        self.assertEqual(set(answered), {202}, answered)
        # Every 202 is queued, and every request serve took in was
        # answered: those that got no answer were never queued.
        self.assertEqual(depth, n202, f"{len(unanswered)} requests got no "
                                      f"answer: {unanswered[:3]}")


if __name__ == "__main__":
    harness.main()
