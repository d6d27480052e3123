# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The command line: help, version, settings and their precedence, exit
statuses, `drip enqueue` and `drip stats`."""

import json
import os
import pty
import re
import select
import signal
import subprocess
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

    def start_drip(self, *args) -> harness.DripProcess:
        """`drip ARGS...` in the background, killed when the test ends."""
        argv = [harness.DRIP_BIN, *[str(a) for a in args]]
        name = f"{len(self.drip.procs) + 1:02d}-cli-{args[0]}"
        p = harness.DripProcess(argv, self.tmp, name)
        self.drip.procs.append(p)
        return p

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

    def test_stats_table_shows_the_figures(self):
        r = self.redis()
        self.drip.enqueue(r, [message(i) for i in range(1500)], queue="q",
                          capacity=2000)
        cp = self.drip.run("stats", "--redis-url", r.url, "--queue", "q",
                           "--capacity", "2000", "--leak-rate", "2.5")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        rows = {}
        for line in cp.stdout.splitlines():
            name, _, rest = line.partition(" ")
            rows[name] = rest.strip()
        self.assertEqual(rows["queue"], "q")
        self.assertEqual(rows["capacity"], "2,000")
        self.assertEqual(rows["leak_rate"], "2.5  msg/s")
        self.assertRegex(rows["depth"],
                         r"^1,500  \[#{15}-{5}\]  75\.0% of capacity$")
        self.assertEqual(rows["accepted"], "1,500")
        for k in ("in_flight", "rejected", "processed", "dead"):
            self.assertEqual(rows[k], "0", k)
        self.assertNotIn("\x1b", cp.stdout)

    def test_stats_watch_json_prints_a_line_a_second(self):
        r = self.redis()
        self.drip.enqueue(r, [message(1)], queue="q")
        p = self.start_drip("stats", "--watch", "--json", "--redis-url",
                            r.url, "--queue", "q")
        time.sleep(2.5)
        p.signal(signal.SIGINT)
        self.assertEqual(p.wait(10), 0, p.stderr())
        lines = read_lines(p.stdout_path)
        self.assertTrue(2 <= len(lines) <= 4, lines)
        for line in lines:
            st = json.loads(line)
            self.assertEqual(set(st), STATS_FIELDS, st)
            self.assertEqual((st["queue"], st["depth"]), ("q", 1))

    def test_stats_watch_rides_out_a_redis_outage(self):
        r = self.redis()
        p = self.start_drip("stats", "--watch", "--json", "--redis-url",
                            r.url, "--queue", "q")
        harness.wait_until(lambda: read_lines(p.stdout_path), 5,
                           what="a first line")
        r.kill()
        harness.wait_until(lambda: "stats failed" in p.stderr(), 5,
                           what="the outage on stderr")
        time.sleep(1.5)
        self.assertTrue(p.alive(), "--watch exited when Redis went away")
        seen = len(read_lines(p.stdout_path))
        r.start()
        harness.wait_until(lambda: len(read_lines(p.stdout_path)) > seen, 10,
                           what="a line after Redis came back")
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0, p.stderr())

    # ---------------------------------------------------------------- progress

    def test_enqueue_piped_shows_no_progress(self):
        r = self.redis()
        lines = [json.dumps(message(i)) for i in range(2000)]
        lines[700] = "not json"
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           "--capacity", "5000",
                           input="\n".join(lines) + "\n")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertNotIn("\r", cp.stderr)
        self.assertNotIn("\x1b", cp.stderr)
        self.assertEqual(len(cp.stderr.splitlines()), 1, cp.stderr)
        self.assertTrue(cp.stderr.startswith("drip: line 701: invalid "),
                        cp.stderr)
        self.assertEqual(len(cp.stdout.splitlines()), 1999)

    def test_enqueue_shows_progress_on_a_terminal(self):
        r = self.redis()
        path = self.path("lines.jsonl")
        with open(path, "w") as f:
            for i in range(3000):
                f.write(json.dumps(message(i)) + "\n")
            f.write("not json\n")
        with open(path, "rb") as stdin:
            stderr, status, stdout = run_with_terminal_stderr(
                [harness.DRIP_BIN, "enqueue", "--redis-url", r.url,
                 "--queue", "q", "--capacity", "5000"], stdin, self.tmp)
        self.assertEqual(status, 1, stderr)
        self.assertIn("\r", stderr)
        self.assertIn("\x1b[K", stderr)
        self.assertRegex(stderr, r"\d+%")
        self.assertIn("msg/s", stderr)
        # The error line starts on a line of its own: the progress line
        # was erased before it.
        self.assertRegex(stderr, r"(^|\n|\x1b\[K)drip: line 3001: invalid ")
        last = stderr.splitlines()[-1]
        self.assertRegex(last, r"^queued 3,000, failed 1, in [\d.]+ s, "
                               r"[\d,]+ msg/s$")
        self.assertEqual(len(stdout.splitlines()), 3000)
        self.assertNotIn("\r", stdout)

    # ---------------------------------------------------------------- pipeline

    def test_enqueue_pipelined_keeps_order_and_line_numbers(self):
        r = self.redis()
        capacity = 300
        lines, good_ids, bad_numbers = [], [], []
        for number in range(1, 1201):
            if number % 97 == 0:
                lines.append("")
            elif number % 7 == 0:
                lines.append('{"id": %d, "job_priority": 10}' % number)
                bad_numbers.append(number)
            else:
                lines.append(json.dumps(message(number)))
                good_ids.append(number)
        cp = self.drip.run("enqueue", "--redis-url", r.url, "--queue", "q",
                           "--capacity", capacity,
                           input="\n".join(lines) + "\n")
        self.assertEqual(cp.returncode, 1, cp.stderr[-2000:])

        out = [json.loads(ln) for ln in cp.stdout.splitlines()]
        self.assertEqual([o["id"] for o in out], good_ids[:capacity])
        self.assertEqual([o["depth"] for o in out],
                         list(range(1, capacity + 1)))
        seqs = [o["seq"] for o in out]
        self.assertEqual(seqs, sorted(set(seqs)))

        errors = [re.match(r"drip: line (\d+): (invalid message|bucket full)",
                           ln) for ln in cp.stderr.splitlines()]
        self.assertTrue(all(errors), cp.stderr[-2000:])
        numbers = [int(m.group(1)) for m in errors]
        self.assertEqual(numbers, sorted(numbers), "stderr out of order")
        self.assertEqual([int(m.group(1)) for m in errors
                          if m.group(2) == "invalid message"], bad_numbers)
        self.assertEqual([int(m.group(1)) for m in errors
                          if m.group(2) == "bucket full"],
                         good_ids[capacity:])
        st = self.drip.stats(r, queue="q")
        self.assertEqual((st["depth"], st["accepted"], st["rejected"]),
                         (capacity, capacity, len(good_ids) - capacity))

    # ---------------------------------------------------------------- no redis

    def test_enqueue_sigint_is_a_clean_stop(self):
        r = self.redis()
        argv = [harness.DRIP_BIN, "enqueue", "--redis-url", r.url,
                "--queue", "q"]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=harness.clean_env(), text=True)
        self.addCleanup(p.kill)
        for i in range(5):
            p.stdin.write(json.dumps(message(i)) + "\n")
        p.stdin.flush()
        answers = [p.stdout.readline() for _ in range(5)]
        self.assertTrue(all('"queued"' in a for a in answers), answers)
        # The producer is still connected: only the signal ends the run.
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("interrupted", err)
        self.assertEqual(out, "")
        self.assertEqual(self.drip.stats(r, queue="q")["accepted"], 5)

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


def read_lines(path):
    """The complete lines of a file that is still being written."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return text[:text.rfind("\n") + 1].splitlines()


def run_with_terminal_stderr(argv, stdin, workdir, timeout=60.0):
    """Runs argv with stderr on a pseudo-terminal (stdout to a file);
    returns (what the terminal received, exit status, stdout)."""
    master, slave = pty.openpty()
    stdout_path = os.path.join(workdir, "pty.stdout")
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=slave,
                                env=harness.clean_env(), cwd=workdir,
                                **harness.SPAWN)
    os.close(slave)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
    status = proc.wait(10)
    with open(stdout_path, encoding="utf-8") as f:
        stdout = f.read()
    # The terminal turns \n into \r\n; undo that, leaving bare \r alone.
    text = received.decode("utf-8", "replace").replace("\r\n", "\n")
    return text, status, stdout


if __name__ == "__main__":
    harness.main()
