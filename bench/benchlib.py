"""Shared helpers for bench/leak-accuracy and bench/enqueue (Python 3 stdlib only).

- Procs: starts child processes in their own process group and stops every one
  of them (SIGTERM, then SIGKILL) on exit, Ctrl-C, SIGTERM or an exception.
  Only processes started here are ever signalled, and only by their own id.
- Redis: a private redis-server on a free port (--save '' --appendonly no) and a
  tiny RESP client (PING, FLUSHALL, INFO, pipelined commands).
- bench_lock(): the machine-wide benchmark lock (/tmp/bench.lock, the same one
  the BullMQ anchor's bench.sh takes), so heavy steps never overlap another
  benchmark that plays by the same rule.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.environ.get("DRIP_BENCH_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
BASELINE_DIR = os.environ.get("DRIP_BENCH_BASELINE", os.path.join(SHARED, "baseline"))
BULLMQ_ANCHOR = os.environ.get("DRIP_BENCH_BULLMQ_ANCHOR", os.path.join(SHARED, "anchors", "bullmq"))
DEFAULT_DRIP = os.environ.get("DRIP_BIN", os.path.join(REPO, "build", "drip"))
# /usr/bin/python3 is Debian's, the one with python3-fastapi & co (run.sh uses it too).
BASELINE_PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")

# PRODUCT.md's example message.
MESSAGE = {"id": 1, "job_priority": 1, "job_type": 2,
           "job_publisher": "mobile_app", "data": "this is my message from mobile app"}


def log(*a):
    print(time.strftime("[%H:%M:%S]"), *a, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- processes
class Procs:
    """Every child we start, killed (by its own process group id) at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        atexit.register(self.stop_all)

    def start(self, argv, *, log_path=None, env=None, cwd=None, extra_env=None):
        e = dict(os.environ if env is None else env)
        if extra_env:
            e.update({k: str(v) for k, v in extra_env.items()})
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=e, cwd=cwd, start_new_session=True)
        finally:
            if log_path:
                out.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10.0, group=True):
        """Signal p (its whole process group when group=True: the children it forked
        itself, e.g. uvicorn's or nginx's workers), wait, SIGKILL if it hangs.
        sig=None: it was signalled already, only wait (then SIGKILL)."""
        if p is None:
            return None
        if p.poll() is None and sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if group:
                    os.killpg(p.pid, sig)
                else:
                    p.send_signal(sig)
        if p.poll() is None:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        # the group may still hold forked children whose leader is gone
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.procs)):
            with contextlib.suppress(Exception):
                self.stop(p, timeout=3.0)


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def install_signal_handlers():
    """SIGINT, SIGTERM and SIGHUP raise Interrupted (a KeyboardInterrupt), so `finally`
    blocks and atexit run and every child is stopped. SIGINT is set explicitly: a shell
    starts background jobs with it ignored."""
    state = {"hit": False}

    def handler(signum, _frame):
        if state["hit"]:  # a second Ctrl-C while we clean up: let the cleanup finish
            return
        state["hit"] = True
        raise Interrupted(signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


def exit_code(exc):
    return 128 + getattr(exc, "signum", signal.SIGINT)


def raise_nofile(want=65536):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (want, max(hard, soft)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
            return target
        except (ValueError, OSError):
            continue
    return soft


def proc_tree(pid):
    """pid and its descendants (by /proc/*/stat ppid)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        x = todo.pop()
        out.append(x)
        todo.extend(kids.get(x, []))
    return out


def vm_hwm_kib(pid, tree=True):
    """Peak RSS (VmHWM, KiB) of pid, summed over its descendants when tree=True."""
    total = 0
    for p in (proc_tree(pid) if tree else [pid]):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def wait_http(url, timeout=15.0, proc=None):
    import urllib.request
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                r.read()
                return True
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_port(port, timeout=15.0, proc=None):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


# ---------------------------------------------------------------- the lock
@contextlib.contextmanager
def bench_lock(path):
    """Hold the machine-wide benchmark lock (flock) while the block runs; path None: no lock."""
    if not path:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for the benchmark lock {path} (another benchmark is running)")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------- redis
def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RedisConn:
    """Minimal RESP2 client over a raw socket."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"bad RESP reply {line[:50]!r}")

    def cmd(self, *args):
        self.sock.sendall(_resp_encode(args))
        return self._reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(_resp_encode(c) for c in commands))
        return [self._reply() for _ in commands]

    def info(self, section="memory"):
        raw = self.cmd("INFO", section).decode()
        out = {}
        for line in raw.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def memory(self):
        """(used_memory, used_memory_dataset): the second leaves out client buffers and other overhead."""
        i = self.info("memory")
        return int(i["used_memory"]), int(i.get("used_memory_dataset", i["used_memory"]))


class Redis:
    """A private redis-server: --save '' --appendonly no, on a free port."""

    def __init__(self, procs: Procs, workdir, name="redis"):
        self.port = free_port()
        self.dir = os.path.join(workdir, f"{name}-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = procs.start(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--maxmemory-policy", "noeviction",
             "--logfile", os.path.join(self.dir, "redis.log")])
        self.procs = procs
        t_end = time.monotonic() + 10
        while True:
            try:
                c = RedisConn(self.port)
                if c.cmd("PING") == "PONG":
                    self.conn = c
                    break
            except OSError:
                pass
            if time.monotonic() > t_end or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on {self.port} did not start")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def flush(self):
        self.conn.cmd("FLUSHALL")

    def stop(self):
        self.conn.close()
        self.procs.stop(self.proc)


# ---------------------------------------------------------------- misc
def make_workdir(prefix, keep=False):
    d = tempfile.mkdtemp(prefix=prefix)
    if not keep:
        atexit.register(shutil.rmtree, d, True)
    return d


def copy_drip(src, workdir):
    """Run a private copy of the binary, so a rebuild of build/drip mid-run changes nothing."""
    if not os.path.exists(src):
        raise SystemExit(f"drip binary not found at {src} (build it, or pass --drip PATH)")
    dst = os.path.join(workdir, "drip")
    for _ in range(30):  # build/drip may be half-written while someone rebuilds it
        try:
            shutil.copy2(src, dst)
            subprocess.run([dst, "--version"], check=True, capture_output=True, timeout=10)
            return dst
        except (OSError, subprocess.SubprocessError):
            log(f"{src} not usable yet (being rebuilt?); retrying in 10 s")
            time.sleep(10)
    raise SystemExit(f"{src} stayed unusable")


def ensure_bullmq(dest):
    """A writable, npm-installed copy of the BullMQ anchor (the shared one is read-only)."""
    marker = os.path.join(dest, "node_modules", "bullmq", "package.json")
    if os.path.exists(marker) and os.path.exists(os.path.join(dest, "worker.js")):
        return dest
    if not os.path.isdir(BULLMQ_ANCHOR):
        raise SystemExit(f"BullMQ anchor not found at {BULLMQ_ANCHOR}")
    log(f"copying the BullMQ anchor to {dest} and running npm ci (once)")
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(BULLMQ_ANCHOR):
        s, d = os.path.join(BULLMQ_ANCHOR, name), os.path.join(dest, name)
        if os.path.isdir(s):
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copyfile(s, d)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=dest, capture_output=True, text=True)
    if r.returncode != 0:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=dest,
                           capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(marker):
        raise SystemExit(f"npm install failed in {dest}:\n{r.stdout}\n{r.stderr}")
    return dest


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return None


def seconds(v):
    """'10', '10s', '2.5' -> seconds (for --duration and the DURATION variable)."""
    v = str(v).strip()
    return float(v[:-1] if v.endswith("s") else v)


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, default=str)
        f.write("\n")


def render_table(header, rows, align=None):
    """Plain aligned text table (first column left, the rest right)."""
    cells = [[str(c) for c in header]] + [[("-" if c is None else str(c)) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header))]
    align = align or ("l" + "r" * (len(header) - 1))
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.ljust(w[i]) if align[i] == "l" else c.rjust(w[i]) for i, c in enumerate(r)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w[i] for i in range(len(header))))
    return "\n".join(out)
