# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The pages of `drip serve`: the dashboard at /, the docs at /docs and the
OpenAPI document at /openapi.json, loaded in Debian's headless chromium
while messages flow.

chromium's --virtual-time-budget runs the page's timers in virtual time
(its fetches still go to the real server), so a few seconds of polling
take well under one real second; --dump-dom then prints the page's DOM as
the page's own JS left it, and --screenshot draws it.
"""

import html.parser
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import message  # noqa: E402

TOKEN = "dashboard-test-token"
QUEUE = "dash"
CAPACITY = 60
LEAK_RATE = 20
# Faster than the leak, so that the bucket fills and then refuses some.
PRODUCE_RATE = 30

FIGURES = ("queue", "capacity", "depth", "leak-rate", "in-flight",
           "accepted", "rejected", "processed", "dead")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


def chromium_binary():
    return shutil.which("chromium")


def screenshot_dir() -> str:
    """Where the screenshots are kept after the test: the build's ctest
    scratch directory, beside the drip binary under test."""
    build = os.path.dirname(os.path.abspath(harness.DRIP_BIN))
    path = os.environ.get("DRIP_SCREENSHOT_DIR",
                          os.path.join(build, "Testing", "Temporary"))
    os.makedirs(path, exist_ok=True)
    return path


class ElementsById(html.parser.HTMLParser):
    """The text and attributes of every element that has an id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.attrs: dict[str, dict] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        element_id = attrs.get("id")
        if element_id is not None:
            self.attrs[element_id] = attrs
            self.text.setdefault(element_id, "")
        if tag not in VOID:
            self._open.append((tag, element_id))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                return

    def handle_data(self, data):
        for _, element_id in self._open:
            if element_id is not None:
                self.text[element_id] += data


def parse_dom(dom: str) -> ElementsById:
    parser = ElementsById()
    parser.feed(dom)
    parser.close()
    return parser


def count_of(text: str) -> int:
    """A figure as the dashboard shows it ("1,234") as an integer."""
    return int(text.strip().replace(",", ""))


def routed_paths() -> set[str]:
    """The paths src/http/api.cc routes: every literal it compares with
    the request's path."""
    with open(os.path.join(harness.REPO, "src", "http", "api.cc")) as f:
        source = f.read()
    return set(re.findall(r'\bpath\s*==\s*"(/[^"]*)"', source))


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


class Producer(threading.Thread):
    """POSTs messages at about `rate` a second until stopped; a full
    bucket's 429s are expected and counted."""

    def __init__(self, url: str, rate: float, headers: dict):
        super().__init__(daemon=True)
        self.url = url
        self.interval = 1.0 / rate
        self.headers = headers
        self.stop_event = threading.Event()
        self.statuses: dict[int, int] = {}
        self.error: Exception | None = None

    def run(self):
        client = harness.HttpClient(self.url, timeout=10)
        i = 0
        try:
            next_at = time.monotonic()
            while not self.stop_event.is_set():
                i += 1
                status, _, _ = client.post("/enqueue", message(i),
                                           self.headers)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                next_at += self.interval
                self.stop_event.wait(max(0.0, next_at - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc
        finally:
            client.close()

    def stop(self):
        self.stop_event.set()
        self.join(15)
        if self.error is not None:
            raise AssertionError(f"producer failed: {self.error!r}")


class DashboardTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.chromium = chromium_binary()
        if self.chromium is None:
            # CI installs it (scripts/install-deps.sh): a missing browser
            # is a broken machine, not a reason to skip.
            self.fail("chromium is not on PATH: the page tests need "
                      "Debian's chromium (bash scripts/install-deps.sh, "
                      "or apt-get install chromium)")
        self.redis = self.start_redis()
        self.runs = 0

    def browse(self, url: str, *args, budget_ms: int = 3000) -> str:
        """Runs headless chromium on url; returns its stdout."""
        self.runs += 1
        home = self.path(f"chromium-{self.runs}")
        os.makedirs(home, exist_ok=True)
        argv = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--hide-scrollbars",
                f"--user-data-dir={os.path.join(home, 'profile')}",
                f"--virtual-time-budget={budget_ms}", *args, url]
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home,
                   XDG_CACHE_HOME=home)
        try:
            cp = subprocess.run(argv, capture_output=True, text=True,
                                env=env, timeout=60,
                                stdin=subprocess.DEVNULL, **harness.SPAWN)
        except subprocess.TimeoutExpired:
            self.fail(f"chromium still running after 60 s: {argv}")
        if cp.returncode != 0:
            self.fail(f"chromium exited {cp.returncode}: {argv}\n"
                      f"{cp.stderr[-3000:]}")
        return cp.stdout

    def dump(self, url: str) -> ElementsById:
        dom = self.browse(url, "--dump-dom")
        self.assertIn("</html>", dom, "chromium printed no DOM")
        return parse_dom(dom)

    def screenshot(self, url: str, name: str) -> str:
        path = os.path.join(screenshot_dir(), name)
        if os.path.exists(path):
            os.remove(path)
        self.browse(url, f"--screenshot={path}", "--window-size=1280,900")
        with open(path, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
        width, height = struct.unpack(">II", png[16:24])
        self.assertEqual((width, height), (1280, 900), path)
        # A blank or nearly blank page compresses to a few kilobytes.
        self.assertGreater(len(png), 20_000, f"{path}: suspiciously small")
        return path

    def serve(self, **settings):
        return self.drip.serve(self.redis, queue=QUEUE, capacity=CAPACITY,
                               leak_rate=LEAK_RATE, **settings)

    def assertBetween(self, value, low, high, what):
        self.assertTrue(low <= value <= high,
                        f"{what}: the page shows {value}, /stats said "
                        f"{low}..{high} around it")

    def test_dashboard_matches_stats_while_messages_flow(self):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        s = self.serve(api_token=TOKEN)
        self.drip.consume(self.redis, self.path("processed.log"),
                          queue=QUEUE, leak_rate=LEAK_RATE)
        # A burst bigger than the bucket: some are refused at once.
        for i in range(CAPACITY + 15):
            s.enqueue(message(i), headers=auth)
        producer = Producer(s.url, PRODUCE_RATE, auth)
        producer.start()
        self.addCleanup(producer.stop_event.set)
        harness.wait_until(
            lambda: (st := s.stats(auth))["processed"] >= 5 and
            st["rejected"] > 0 and st["leak_rate"] == LEAK_RATE,
            timeout=15, what="messages to flow")

        t0 = time.monotonic()
        before = s.stats(auth)
        page = self.dump(f"{s.url}/#token={TOKEN}")
        after = s.stats(auth)
        elapsed = time.monotonic() - t0

        shown = page.text
        self.assertEqual(page.attrs["status"].get("data-state"), "live",
                         f"status: {shown.get('status')!r}; banner: "
                         f"{shown.get('banner')!r}")
        self.assertIn("hidden", page.attrs["auth-prompt"])
        for figure in FIGURES:
            self.assertIn(figure, shown, f"no element with id={figure}")
        self.assertEqual(shown["queue"].strip(), QUEUE)
        self.assertEqual(before["queue"], QUEUE)
        self.assertEqual(count_of(shown["capacity"]), before["capacity"])
        self.assertEqual(float(shown["leak-rate"]), before["leak_rate"])
        for key, figure in (("accepted", "accepted"),
                            ("processed", "processed"),
                            ("rejected", "rejected"), ("dead", "dead")):
            self.assertBetween(count_of(shown[figure]), before[key],
                               after[key], figure)

        # Depth goes up with arrivals and down with leaks. Between the two
        # reads at most (accepted after - before) arrived, and at most the
        # leak rate's worth left over the elapsed time, plus the
        # consumer's 50 ms look-ahead, a slot on each edge, and a message
        # or two given back for a fresh slot.
        arrived = after["accepted"] - before["accepted"]
        leaked = math.ceil(LEAK_RATE * (elapsed + 0.1)) + 2
        low = max(before["depth"] - leaked, after["depth"] - arrived, 0)
        high = min(before["depth"] + arrived + 2, after["depth"] + leaked,
                   CAPACITY)
        self.assertBetween(count_of(shown["depth"]), low, high,
                           f"depth ({elapsed:.2f} s between the reads)")
        self.assertBetween(count_of(shown["in-flight"]), 0,
                           max(before["in_flight"], after["in_flight"]) +
                           leaked, "in-flight")
        # Either a mean wait from /metrics or an explicit "no data".
        self.assertTrue(shown["wait-now"].strip(), "empty wait figure")

        path = self.screenshot(f"{s.url}/#token={TOKEN}", "dashboard.png")
        producer.stop()
        self.assertGreater(producer.statuses.get(202, 0), 0,
                           producer.statuses)
        sys.stderr.write(f"dashboard screenshot: {path}\n")

    def test_dashboard_asks_for_a_missing_token(self):
        s = self.serve(api_token=TOKEN)
        page = self.dump(f"{s.url}/")
        self.assertEqual(page.attrs["status"].get("data-state"),
                         "unauthorized", page.text.get("status"))
        self.assertNotIn("hidden", page.attrs["auth-prompt"],
                         "the token prompt is not shown")
        self.assertIn("token", page.text["auth-prompt"].lower())

    def test_dashboard_shows_redis_unavailable(self):
        s = self.serve()
        self.redis.kill()
        harness.wait_until(lambda: s.get("/stats")[0] == 503, timeout=10,
                           what="GET /stats to answer 503")
        page = self.dump(f"{s.url}/")
        self.assertEqual(page.attrs["status"].get("data-state"),
                         "unavailable", page.text.get("status"))
        self.assertNotIn("hidden", page.attrs["banner"])
        self.assertIn("Redis", page.text["banner"])

    def test_pages_and_openapi_document(self):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        s = self.serve(api_token=TOKEN)

        # The pages hold no data: no token. The API, this document
        # included, takes the token.
        for path in ("/", "/docs"):
            status, headers, body = harness.get_raw(s.url, path)
            self.assertEqual(status, 200, path)
            self.assertTrue(headers["content-type"].startswith("text/html"),
                            headers)
            self.assertIn(b"<html", body)
            # Self-contained: nothing to fetch from another site.
            self.assertIsNone(re.search(rb"(src|href)=.(https?:)?//", body),
                              f"{path} loads from another site")
        for path in ("/openapi.json", "/stats"):
            status, _, body = s.get(path)
            self.assertEqual(status, 401, path)
            self.assertErrorBody(body, status)
        status, headers, _ = s.post("/", {})
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET")

        status, headers, raw = harness.get_raw(s.url, "/openapi.json", auth)
        self.assertEqual(status, 200)
        self.assertTrue(
            headers["content-type"].startswith("application/json"), headers)
        spec = json.loads(raw.decode("utf-8"))
        self.check_openapi(spec)

        page = self.dump(f"{s.url}/docs#token={TOKEN}")
        for path, item in spec["paths"].items():
            for method in item:
                self.assertIn(f"op-{method}-{path}", page.attrs,
                              f"/docs does not show {method} {path}")
        self.assertEqual(json.loads(page.text["try-body"]), harness.EXAMPLE)

        self.check_routes_documented(s, spec, auth)

    def check_openapi(self, spec):
        self.assertTrue(spec["openapi"].startswith("3.1"), spec["openapi"])
        for ref in refs(spec):
            node = spec
            for part in ref.removeprefix("#/").split("/"):
                self.assertIn(part, node, f"dangling $ref {ref}")
                node = node[part]
        components = spec["components"]
        self.assertEqual(components["securitySchemes"]["bearer"],
                         components["securitySchemes"]["bearer"] |
                         {"type": "http", "scheme": "bearer"})
        for path in ("/healthz", "/readyz", "/", "/docs"):
            self.assertEqual(spec["paths"][path]["get"]["security"], [],
                             f"{path} needs no token")

        m = components["schemas"]["Message"]
        self.assertEqual(set(m["required"]),
                         {"id", "job_priority", "job_type", "job_publisher",
                          "data"})
        p = m["properties"]
        self.assertEqual((p["id"]["type"], p["id"]["format"]),
                         ("integer", "int64"))
        self.assertEqual((p["job_priority"]["minimum"],
                          p["job_priority"]["maximum"]), (0, 9))
        self.assertEqual(p["job_type"]["minimum"], 0)
        self.assertEqual((p["job_publisher"]["minLength"],
                          p["job_publisher"]["maxLength"]), (1, 128))
        self.assertEqual(p["data"]["type"], "string")

        responses = components["responses"]
        full = responses["BucketFull"]
        self.assertIn("Retry-After", full["headers"])
        self.assertEqual(
            set(components["schemas"]["BucketFull"]["required"]),
            {"detail", "capacity"})
        item = components["schemas"]["ValidationError"]["properties"][
            "detail"]["items"]
        self.assertEqual(set(item["required"]), {"loc", "msg", "type"})
        for name in ("NotFound", "MethodNotAllowed", "Unauthorized",
                     "Unavailable", "TooLarge", "UnsupportedMediaType"):
            self.assertIn(name, responses)

        for path in ("/enqueue", "/enqueue/batch"):
            op = spec["paths"][path]["post"]
            self.assertIn({"$ref": "#/components/parameters/IdempotencyKey"},
                          op["parameters"])
            self.assertLessEqual({"202", "401", "413", "415", "422", "429",
                                  "503"}, set(op["responses"]), path)
        dead = spec["paths"]["/dead"]["get"]
        self.assertEqual({q["name"] for q in dead["parameters"]},
                         {"cursor", "limit"})
        self.assertIn("seqs", components["schemas"]["RequeueRequest"][
            "properties"])

    def check_routes_documented(self, s, spec, auth):
        routed = routed_paths()
        self.assertIn("/stats", routed, "could not read the routes")
        documented = set(spec["paths"])
        self.assertLessEqual(routed, documented,
                             "routed but not in /openapi.json")
        # And each one the server routes answers, with its documented
        # method, something else than 404.
        for path in sorted(routed):
            for method in spec["paths"][path]:
                body = {} if method == "post" else None
                try:
                    status, _, _ = harness.request(s.url, method.upper(),
                                                   path, body, auth)
                except OSError as exc:
                    self.fail(f"{method.upper()} {path}: no answer ({exc!r}"
                              f"); serve alive: {s.alive()}")
                self.assertNotEqual(status, 404, f"{method} {path}")


if __name__ == "__main__":
    harness.main()
