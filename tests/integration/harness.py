# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""Test harness for drip's integration tests.

Standard library only. A test case derives from DripTestCase and gets:

  self.tmp              a private temporary directory (removed afterwards)
  self.start_redis()    a RedisServer on a free port
  self.drip             a Drip helper: .serve(), .consume(), .run(), .enqueue()

Every process started through these helpers is killed when the test ends
(addCleanup), pass or fail; when the test fails, the stderr of every process
is printed, which is usually where the cause is.
"""

from __future__ import annotations

import collections
import datetime
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def drip_bin() -> str:
    env = os.environ.get("DRIP_BIN")
    if env:
        return env
    candidate = os.path.join(REPO, "build", "drip")
    if os.path.exists(candidate):
        return candidate
    return "/work/main/build/drip"


DRIP_BIN = drip_bin()
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# The example message of PRODUCT.md.
EXAMPLE = {"id": 1, "job_priority": 1, "job_type": 2,
           "job_publisher": "mobile_app",
           "data": "this is my message from mobile app"}


def message(i: int = 1, priority: int = 1, **extra) -> dict:
    m = {"id": i, "job_priority": priority, "job_type": 2,
         "job_publisher": "tests", "data": f"message {i}"}
    m.update(extra)
    return m


# --------------------------------------------------------------------------
# small utilities


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when this test process dies, even
    by kill -9 or a ctest timeout, so that no process is left behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort, Linux only
        pass


SPAWN = {"preexec_fn": _die_with_parent} if sys.platform == "linux" else {}


_port_lock = threading.Lock()
_ports_given: set[int] = set()


def free_port() -> int:
    """A TCP port that was free a moment ago (never the same one twice in
    this process)."""
    with _port_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port
    raise RuntimeError("no free port")


def wait_until(predicate, timeout: float, interval: float = 0.02,
               what: str = "condition"):
    """Polls predicate() until it returns a truthy value; returns it.
    Raises AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - report the last one
            last_exc = exc
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.1f}s waiting "
                                 f"for {what}{extra}")
        time.sleep(interval)


_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_ts(text: str) -> float:
    """ISO 8601 UTC with microseconds ('2026-12-03T10:00:00.123456Z') to
    epoch seconds. Raises ValueError on any other shape."""
    if not isinstance(text, str) or not text.endswith("Z") or "." not in text:
        raise ValueError(f"not an ISO 8601 UTC timestamp with "
                         f"microseconds: {text!r}")
    frac = text[text.rindex(".") + 1:-1]
    if len(frac) != 6 or not frac.isdigit():
        raise ValueError(f"timestamp without 6 fraction digits: {text!r}")
    dt = datetime.datetime.strptime(text, _TS_FORMAT)
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def max_in_window(times, w: float) -> int:
    """The largest number of times in any half-open window [t, t + w).
    Computed in whole microseconds so that float rounding cannot put two
    starts exactly w apart into one window."""
    us = sorted(round(t * 1_000_000) for t in times)
    wu = round(w * 1_000_000)
    best = 0
    i = 0
    for j in range(len(us)):
        while us[j] - us[i] >= wu:
            i += 1
        best = max(best, j - i + 1)
    return best


def worst_window(times, w: float):
    """(count, first index, gaps in ms) of a fullest [t, t + w) window, for
    failure messages: where a burst was and what it looked like."""
    t = sorted(times)
    us = [round(x * 1_000_000) for x in t]
    wu = round(w * 1_000_000)
    best, at, i = 0, 0, 0
    for j in range(len(us)):
        while us[j] - us[i] >= wu:
            i += 1
        if j - i + 1 > best:
            best, at = j - i + 1, i
    lo = max(0, at - 3)
    hi = min(len(us), at + best + 1)
    gaps = [round((us[k + 1] - us[k]) / 1000, 2) for k in range(lo, hi - 1)]
    return best, at, gaps


def describe_window(times, w: float) -> str:
    count, at, gaps = worst_window(times, w)
    t = sorted(times)
    when = (t[at] - t[0]) if t else 0.0
    return (f"{count} starts in [{when:.3f}s, +{w}s) from the first start "
            f"(start #{at}); gaps in ms around it: {gaps}")


def window_bound(rate: float, w: float) -> int:
    """The most starts a window of w seconds may hold at `rate`:
    ceil(rate * w) + 1 (the +1 for a start on each edge and scheduling
    jitter)."""
    return math.ceil(rate * w - 1e-9) + 1


def achieved_rate(times) -> float:
    t = sorted(times)
    if len(t) < 2 or t[-1] == t[0]:
        return float("inf")
    return (len(t) - 1) / (t[-1] - t[0])


def read_log(path: str) -> list[dict]:
    """The processed log as a list of dicts. Asserts that the file ends with
    a newline and that every line is one JSON object."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        return []
    if not raw.endswith(b"\n"):
        raise AssertionError(f"{path}: last line does not end in a newline: "
                             f"{raw[-200:]!r}")
    out = []
    for n, line in enumerate(raw.split(b"\n")[:-1], start=1):
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AssertionError(f"{path}:{n}: not valid JSON ({exc}): "
                                 f"{line[:300]!r}") from None
        if not isinstance(obj, dict):
            raise AssertionError(f"{path}:{n}: not a JSON object: "
                                 f"{line[:300]!r}")
        out.append(obj)
    return out


def read_log_complete(path: str) -> list[dict]:
    """Like read_log, for the log of a consumer killed with kill -9 and not
    started again: a last line cut short is left out (only a restart on the
    same log removes it); every complete line must be one JSON object."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        raw = f.read()
    cut = raw.rfind(b"\n")
    out = []
    for n, line in enumerate(raw[:cut + 1].split(b"\n")[:-1], start=1):
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AssertionError(f"{path}:{n}: not valid JSON ({exc}): "
                                 f"{line[:300]!r}") from None
        if not isinstance(obj, dict):
            raise AssertionError(f"{path}:{n}: not a JSON object: "
                                 f"{line[:300]!r}")
        out.append(obj)
    return out


def count_lines(path: str) -> int:
    """Complete lines in a file (tolerant: for polling while it grows)."""
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def tail(path: str, limit: int = 6000) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return "(no file)"
    if len(data) > limit:
        data = b"...(cut)...\n" + data[-limit:]
    return data.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# a tiny RESP client


class RedisError(Exception):
    pass


def _resp_encode(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class _RespReader:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RedisError(f"unexpected RESP reply: {line!r}")


def redis_command(port: int, *args, host: str = "127.0.0.1",
                  timeout: float = 5.0, auth=None):
    """Sends one command on a fresh connection; returns the decoded reply.
    Error replies raise RedisError. auth, a (user, password) pair, sends
    AUTH first."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        reader = _RespReader(s)
        if auth is not None:
            s.sendall(_resp_encode(["AUTH", *auth]))
            ok = reader.read()
            if isinstance(ok, RedisError):
                raise ok
        s.sendall(_resp_encode(args))
        reply = reader.read()
    if isinstance(reply, RedisError):
        raise reply
    return reply


class RedisServer:
    """A private redis-server on a free port, without persistence unless
    asked for."""

    def __init__(self, workdir: str | None = None, port: int | None = None,
                 persistence: bool = False, name: str = "redis",
                 extra_args=()):
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix="drip-redis-")
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port or free_port()
        self.persistence = persistence
        # More redis-server arguments, after the ones above (a later
        # "--appendonly yes" wins over the default "--appendonly no").
        self.extra_args = [str(a) for a in extra_args]
        # (user, password) for cli(), once the default user is turned off.
        self.auth = None
        self.log_path = os.path.join(self.workdir, "redis.log")
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def _argv(self):
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--daemonize", "no", "--dir", self.workdir,
                "--protected-mode", "no"]
        if self.persistence:
            argv += ["--appendonly", "yes", "--appendfsync", "always",
                     "--save", ""]
        else:
            argv += ["--save", "", "--appendonly", "no"]
        return argv + self.extra_args

    def start(self, timeout: float = 10.0):
        assert self.proc is None or self.proc.poll() is not None
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self._argv(), stdout=logf,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, **SPAWN)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with "
                                   f"{self.proc.returncode}:\n"
                                   f"{tail(self.log_path)}")
            try:
                if self.cli("PING") == "PONG":
                    return
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} does not "
                                   f"answer PING:\n{tail(self.log_path)}")
            time.sleep(0.02)

    def cli(self, *args):
        return redis_command(self.port, *args, auth=self.auth)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def pause(self):
        """kill -STOP: Redis hangs, its connections stay open."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        """kill -CONT after pause()."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0):
        """A clean shutdown (SIGTERM)."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        """kill -9: the data of a server without persistence is gone."""
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def restart(self):
        """Kills (if running) and starts again on the same port."""
        self.kill()
        self.start()

    def keys(self, pattern: str = "*") -> list[str]:
        return sorted(self.cli("KEYS", pattern))


# --------------------------------------------------------------------------
# HTTP


def _split_url(url: str):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80


def _encode_body(body):
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _parse_json(data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


class HttpClient:
    """One HTTP/1.1 connection, kept alive between requests."""

    def __init__(self, url: str, timeout: float = 10.0):
        host, port = _split_url(url)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.last_raw = b""
        self.last_will_close = False

    def request(self, method: str, path: str, body=None, headers=None):
        data = _encode_body(body)
        hdrs = {}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        for k, v in (headers or {}).items():
            # A header given as None is left out.
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            if v is not None:
                hdrs[k] = v
        self.conn.request(method, path, body=data, headers=hdrs)
        resp = self.conn.getresponse()
        raw = resp.read()
        self.last_raw = raw
        self.last_will_close = resp.will_close
        resp_headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, resp_headers, _parse_json(raw)

    def post(self, path, body, headers=None):
        return self.request("POST", path, body, headers)

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)

    @property
    def sock(self):
        return self.conn.sock

    def close(self):
        self.conn.close()


def request(url: str, method: str, path: str, body=None, headers=None,
            timeout: float = 10.0):
    """One request on a fresh connection: (status, headers, parsed JSON or
    None). Header names in the answer are lower case."""
    c = HttpClient(url, timeout=timeout)
    try:
        return c.request(method, path, body, headers)
    finally:
        c.close()


def post(url: str, path: str, body, headers=None, timeout: float = 10.0):
    """POST a body (bytes as they are, anything else as JSON) with
    Content-Type application/json unless headers say otherwise (a header
    given as None is left out)."""
    return request(url, "POST", path, body, headers, timeout)


def get(url: str, path: str, headers=None, timeout: float = 10.0):
    return request(url, "GET", path, None, headers, timeout)


def get_raw(url: str, path: str, headers=None, timeout: float = 10.0):
    """(status, headers, body bytes)."""
    c = HttpClient(url, timeout=timeout)
    try:
        status, hdrs, _ = c.request("GET", path, None, headers)
        return status, hdrs, c.last_raw
    finally:
        c.close()


# --------------------------------------------------------------------------
# drip processes


def settings_to_flags(settings: dict) -> list[str]:
    """{'leak_rate': 5, 'json': True} -> ['--leak-rate', '5', '--json'].
    None values are left out."""
    out = []
    for key, value in settings.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        else:
            out += [flag, str(value)]
    return out


def clean_env(extra: dict | None = None) -> dict:
    """The test's environment without any DRIP_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_")}
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


class DripProcess:
    def __init__(self, argv, workdir: str, name: str, env=None):
        self.argv = argv
        self.name = name
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self.stdout_path = os.path.join(workdir, f"{name}.stdout")
        err = open(self.stderr_path, "ab")
        out = open(self.stdout_path, "ab")
        try:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL,
                                         cwd=workdir, env=clean_env(env),
                                         **SPAWN)
        finally:
            err.close()
            out.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait, return the exit status (SIGKILL after timeout,
        which then shows as a negative status)."""
        if self.alive():
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return self.proc.returncode

    def kill(self) -> int:
        """kill -9."""
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        return self.proc.returncode

    def wait(self, timeout=None) -> int:
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        return tail(self.stderr_path)


class Serve(DripProcess):
    def __init__(self, argv, workdir, name, port, env=None):
        super().__init__(argv, workdir, name, env)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def post(self, path, body, headers=None, timeout=10.0):
        return post(self.url, path, body, headers, timeout)

    def get(self, path, headers=None, timeout=10.0):
        return get(self.url, path, headers, timeout)

    def enqueue(self, msg, headers=None):
        return self.post("/enqueue", msg, headers)

    def stats(self, headers=None) -> dict:
        status, _, body = self.get("/stats", headers)
        if status != 200:
            raise AssertionError(f"GET /stats answered {status}: {body}")
        return body


class Consume(DripProcess):
    def __init__(self, argv, workdir, name, log_file, env=None):
        super().__init__(argv, workdir, name, env)
        self.log_file = log_file


class Drip:
    """Starts drip processes for one test; each is killed at its end."""

    def __init__(self, test: "unittest.TestCase", workdir: str):
        self.test = test
        self.workdir = workdir
        self.procs: list[DripProcess] = []
        self.runs: list[tuple[list, subprocess.CompletedProcess]] = []
        self._n = 0
        test.addCleanup(self.kill_all)

    def _name(self, kind: str) -> str:
        self._n += 1
        return f"{self._n:02d}-{kind}"

    def kill_all(self):
        for p in self.procs:
            if p.alive():
                p.proc.kill()
            try:
                p.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def serve(self, redis: RedisServer | str | None, wait: bool = True,
              ready: bool = True, env=None, **settings) -> Serve:
        """`drip serve` on a free port, waiting until GET /healthz answers
        and (with ready) GET /readyz says 200, i.e. it reached Redis.
        `redis` is a RedisServer, a URL, or None (then settings/env say)."""
        settings.setdefault("queue", "test")
        settings.setdefault("host", "127.0.0.1")
        if redis is not None:
            settings.setdefault("redis_url",
                                redis.url if isinstance(redis, RedisServer)
                                else redis)
        fixed_port = settings.get("port")
        last = None
        for _attempt in range(3):
            port = fixed_port or free_port()
            s = dict(settings, port=port)
            argv = [DRIP_BIN, "serve", *settings_to_flags(s)]
            p = Serve(argv, self.workdir, self._name("serve"), port, env)
            self.procs.append(p)
            if not wait:
                return p
            try:
                self._wait_healthy(p, "/healthz")
                if ready:
                    self._wait_healthy(p, "/readyz")
                return p
            except _PortTaken as exc:
                last = exc
                if fixed_port:
                    break
        raise AssertionError(f"drip serve did not start: {last}")

    def _wait_healthy(self, p: Serve, path: str, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            if not p.alive():
                err = p.stderr()
                if "in use" in err.lower():
                    raise _PortTaken(err)
                raise AssertionError(f"drip serve exited with "
                                     f"{p.proc.returncode}:\n{err}")
            try:
                status, _, _ = get(p.url, path, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"drip serve: no 200 on {path} "
                                     f"after {timeout}s:\n{p.stderr()}")
            time.sleep(0.02)

    def consume(self, redis: RedisServer | str | None, log_file: str,
                env=None, **settings) -> Consume:
        settings.setdefault("queue", "test")
        if redis is not None:
            settings.setdefault("redis_url",
                                redis.url if isinstance(redis, RedisServer)
                                else redis)
        settings["log_file"] = log_file
        argv = [DRIP_BIN, "consume", *settings_to_flags(settings)]
        p = Consume(argv, self.workdir, self._name("consume"), log_file, env)
        self.procs.append(p)
        return p

    def run(self, *args, input=None, env=None, timeout: float = 30.0,
            cwd=None) -> subprocess.CompletedProcess:
        """Runs `drip ARGS...` to completion (text mode); the environment is
        the test's without DRIP_* variables, plus env. Raises
        AssertionError if it runs longer than timeout."""
        argv = [DRIP_BIN, *[str(a) for a in args]]
        try:
            cp = subprocess.run(argv, input=input, capture_output=True,
                                text=True, env=clean_env(env),
                                cwd=cwd or self.workdir, timeout=timeout,
                                **SPAWN)
        except subprocess.TimeoutExpired as exc:
            self.runs.append((argv, None))
            raise AssertionError(f"{' '.join(argv)} still running after "
                                 f"{timeout}s (stderr: {exc.stderr!r})"
                                 ) from None
        self.runs.append((argv, cp))
        return cp

    def enqueue(self, redis: RedisServer, messages, queue: str = "test",
                check: bool = True, **settings) -> subprocess.CompletedProcess:
        """`drip enqueue` of a list of messages as JSON Lines on stdin."""
        lines = "".join(json.dumps(m) + "\n" for m in messages)
        settings.setdefault("redis_url", redis.url)
        settings["queue"] = queue
        cp = self.run("enqueue", *settings_to_flags(settings), input=lines,
                      timeout=60)
        if check and cp.returncode != 0:
            raise AssertionError(f"drip enqueue exited {cp.returncode}: "
                                 f"{cp.stderr[-3000:]}")
        return cp

    def stats(self, redis: RedisServer, queue: str = "test") -> dict:
        cp = self.run("stats", "--json", "--redis-url", redis.url,
                      "--queue", queue)
        if cp.returncode != 0:
            raise AssertionError(f"drip stats exited {cp.returncode}: "
                                 f"{cp.stderr}")
        return json.loads(cp.stdout)


class _PortTaken(Exception):
    pass


# --------------------------------------------------------------------------
# the base test case


class DripTestCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"drip-{self._testMethodName}-")
        self.addCleanup(self._remove_tmp)
        self.redis_servers: list[RedisServer] = []
        self.addCleanup(self._stop_redis)
        self.drip = Drip(self, self.tmp)
        # Cleanups run last-in first-out: this one, the first to run,
        # prints the processes' stderr when the test failed.
        self.addCleanup(self._report_on_failure)

    def start_redis(self, **kw) -> RedisServer:
        name = f"redis{len(self.redis_servers) + 1}"
        r = RedisServer(self.tmp, name=name, **kw)
        self.redis_servers.append(r)
        return r

    def path(self, name: str) -> str:
        return os.path.join(self.tmp, name)

    def _failed(self) -> bool:
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if not getattr(outcome, "success", True):
            return True
        result = getattr(outcome, "result", None)
        # Python 3.11+: errors are recorded in the result directly.
        for kind in ("errors", "failures"):
            for test, _ in getattr(result, kind, []) or []:
                if test is self:
                    return True
        return False

    def _report_on_failure(self):
        if not self._failed():
            return
        out = [f"\n===== {self.id()}: output of the processes ====="]
        for p in self.drip.procs:
            out.append(f"--- {p.name} (exit {p.proc.returncode}): "
                       f"{' '.join(p.argv)}\n{p.stderr()}")
        for argv, cp in self.drip.runs[-10:]:
            if cp is None:
                out.append(f"--- run {' '.join(argv)}: timed out")
            else:
                out.append(f"--- run {' '.join(argv)} -> {cp.returncode}\n"
                           f"stdout: {cp.stdout[-1500:]}\n"
                           f"stderr: {cp.stderr[-1500:]}")
        for r in self.redis_servers:
            out.append(f"--- {r.workdir}/redis.log\n{tail(r.log_path, 2000)}")
        sys.stderr.write("\n".join(out) + "\n")

    def _stop_redis(self):
        for r in self.redis_servers:
            r.kill()

    def _remove_tmp(self):
        if os.environ.get("DRIP_KEEP_TMP"):
            sys.stderr.write(f"kept {self.tmp}\n")
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    # assertion helpers

    def assertErrorBody(self, body, status=None):
        """{"detail": TEXT} of a non-422 error."""
        self.assertIsInstance(body, dict, f"error body is not a JSON object "
                                          f"(status {status})")
        self.assertIn("detail", body)
        self.assertIsInstance(body["detail"], str)
        self.assertTrue(body["detail"])

    def assertValidation(self, body, locs):
        """A 422 body naming (at least) every loc in locs."""
        self.assertIsInstance(body, dict, "422 body is not a JSON object")
        self.assertIn("detail", body)
        detail = body["detail"]
        self.assertIsInstance(detail, list)
        self.assertTrue(detail, "empty detail list")
        for item in detail:
            self.assertIsInstance(item, dict)
            self.assertIsInstance(item.get("loc"), list, item)
            self.assertIsInstance(item.get("msg"), str, item)
            self.assertIsInstance(item.get("type"), str, item)
            self.assertTrue(item["msg"] and item["type"], item)
        got = [item["loc"] for item in detail]
        for loc in locs:
            self.assertIn(list(loc), got, f"422 does not name {loc}: {body}")

    def prequeue(self, n, queue="test"):
        """n messages queued with `drip enqueue` into self.redis (a bucket
        of capacity 100000); returns their seqs."""
        cp = self.drip.enqueue(self.redis, [message(i) for i in range(n)],
                               queue=queue, capacity=100000)
        seqs = [json.loads(ln)["seq"] for ln in cp.stdout.splitlines()]
        self.assertEqual(len(seqs), n)
        return seqs

    def assertExactlyOnce(self, lines, seqs, what=""):
        """Every seq of `seqs` in the log lines once, and no other."""
        got = collections.Counter(ln["seq"] for ln in lines)
        dups = sorted(s for s, k in got.items() if k > 1)
        missing = sorted(set(seqs) - set(got))
        extra = sorted(set(got) - set(seqs))
        self.assertEqual((dups[:20], missing[:20], extra[:20]), ([], [], []),
                         f"{len(dups)} duplicated, {len(missing)} missing, "
                         f"{len(extra)} unknown seqs {what}")

    def assertRateTimes(self, times, rate, windows=(0.01, 0.1, 1.0),
                        tolerance=0.02, what="log"):
        """The rate rules of PRODUCT.md on a list of start times."""
        ach = achieved_rate(times)
        self.assertLessEqual(abs(ach - rate), tolerance * rate,
                             f"{what}: achieved rate {ach:.3f}/s over "
                             f"{len(times)} starts, want {rate}/s "
                             f"+-{tolerance * 100:.0f}%")
        for w in windows:
            m = max_in_window(times, w)
            self.assertLessEqual(m, window_bound(rate, w),
                                 f"{what}: {m} starts in a {w}s window at "
                                 f"{rate}/s (bound {window_bound(rate, w)})"
                                 f"; {describe_window(times, w)}")

    def assertWindows(self, times, rate, windows, what="log"):
        """Only the window bound (no rate accuracy)."""
        for w in windows:
            m = max_in_window(times, w)
            self.assertLessEqual(m, window_bound(rate, w),
                                 f"{what}: {m} starts in a {w}s window at "
                                 f"{rate}/s (bound {window_bound(rate, w)})"
                                 f"; {describe_window(times, w)}")


def wait_log_lines(path: str, n: int, timeout: float, procs=()):
    """Waits until the log has at least n complete lines. Fails early when
    one of procs has exited."""
    deadline = time.monotonic() + timeout
    while True:
        have = count_lines(path)
        if have >= n:
            return have
        for p in procs:
            if not p.alive():
                raise AssertionError(f"{p.name} exited with "
                                     f"{p.proc.returncode} with {have}/{n} "
                                     f"lines in {path}:\n{p.stderr()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {have}/{n} lines after "
                                 f"{timeout:.1f}s")
        time.sleep(0.05)


def main():
    unittest.main(verbosity=2)
