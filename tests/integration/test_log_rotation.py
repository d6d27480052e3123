# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
"""The processed log's rotation: by size (--log-max-bytes, --log-keep),
on SIGHUP after logrotate renamed the file, and exactly-once across
rotations when the consumer is killed -9."""

import os
import random
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

# A consumer hands its records to the log about every 10 ms (kHandOffEvery
# in src/consume/consumer.cc), one append per hand-off: every record of one
# append started within this long of the append's first record (10 ms, the
# slot that tipped it over and scheduling slack).
APPEND_SPAN = 0.025


def rotated_index(log, name):
    """n for PATH.n (n >= 1), 0 for PATH itself, None for anything else."""
    base = os.path.basename(log)
    if name == base:
        return 0
    m = re.fullmatch(re.escape(base) + r"\.([0-9]+)", name)
    return int(m.group(1)) if m else None


def log_files(log):
    """{n: path} of PATH (n = 0) and every PATH.n beside it. Asserts that
    nothing else named after the log (a temporary file, PATH.1.gz, ...)
    lies beside it."""
    base = os.path.basename(log)
    out = {}
    for name in os.listdir(os.path.dirname(log)):
        if not name.startswith(base):
            continue
        n = rotated_index(log, name)
        if n is None:
            raise AssertionError(f"unexpected file beside the log: {name}")
        out[n] = os.path.join(os.path.dirname(log), name)
    return out


def read_all(log, complete=False):
    """[(n, path, size, lines)] for every log file, oldest (highest n)
    first, so that the records come in the order they were written. Each
    line (read_log: newline-ended, one JSON object) gets "_size", its
    bytes in the file with the newline. With complete, for the files of a
    consumer killed -9: a last line cut short is left out."""
    out = []
    for n, path in sorted(log_files(log).items(), reverse=True):
        lines = (harness.read_log_complete if complete
                 else harness.read_log)(path)
        with open(path, "rb") as f:
            raw = f.read()
        sizes = [len(b) + 1 for b in raw.split(b"\n")[:-1]]
        assert len(sizes) == len(lines), path
        for ln, size in zip(lines, sizes):
            ln["_size"] = size
        out.append((n, path, len(raw), lines))
    return out


def line_size(ln):
    return ln["_size"]


def missed_slots(consumer):
    """missed_slots=N of the line a stopped consumer writes last."""
    found = re.findall(r"missed_slots=([0-9]+)", consumer.stderr())
    return int(found[-1]) if found else None


def late_records(lines):
    """The seqs recorded after a higher one."""
    late, top = [], None
    for ln in lines:
        if top is not None and ln["seq"] < top:
            late.append(ln["seq"])
        else:
            top = ln["seq"]
    return late


class LogRotationTest(harness.DripTestCase):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()

    def wait_processed(self, n, timeout, procs=(), what=""):
        """Until Redis counts n messages processed (its counter moves only
        after a record is in the log) and none is waiting or held."""
        def done():
            for p in procs:
                if not p.alive():
                    raise AssertionError(f"{p.name} exited with "
                                         f"{p.proc.returncode}:\n"
                                         f"{p.stderr()}")
            st = self.drip.stats(self.redis)
            return (st["processed"], st["depth"], st["in_flight"]) == (n, 0, 0)
        try:
            harness.wait_until(done, timeout, interval=0.1,
                               what=f"{n} messages processed {what}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; stats: "
                                 f"{self.drip.stats(self.redis)}") from None

    def describe(self, files):
        return "; ".join(
            f"{os.path.basename(p)}: {size} B, {len(lines)} lines, seqs "
            f"{lines[0]['seq'] if lines else '-'}..."
            f"{lines[-1]['seq'] if lines else '-'}"
            for _, p, size, lines in files)

    def assertRotatedAtSize(self, files, max_bytes):
        """Each file holds at most max_bytes, and no rotation came early:
        a file was closed only when the append that opened the next one
        would have taken it past max_bytes."""
        for (n_old, p_old, size_old, old), (n_new, p_new, _, new) in zip(
                files, files[1:]):
            if not new:
                continue
            # The first append to the newer file: at most its records that
            # started within APPEND_SPAN of its first one.
            t0 = harness.parse_ts(new[0]["ts"])
            append = sum(line_size(ln) for ln in new
                         if harness.parse_ts(ln["ts"]) - t0 <= APPEND_SPAN)
            self.assertGreater(
                size_old + append, max_bytes,
                f"{os.path.basename(p_old)} ({size_old} B) was rotated "
                f"although the next append (<= {append} B) fitted in "
                f"{max_bytes} B; {self.describe(files)}")

    # ----------------------------------------------------------------------

    def test_rotation_by_size(self):
        n, rate, max_bytes = 2000, 2000, 20000
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate,
                              log_max_bytes=max_bytes, log_keep=1000)
        self.wait_processed(n, n / rate * 3 + 10, procs=[c])
        self.assertEqual(c.stop(), 0, c.stderr())
        files = read_all(log)   # read_log: newline-ended, each line JSON
        what = self.describe(files)
        # The files are PATH, PATH.1 .. PATH.k without a gap, and several:
        # about 540 KB of records in 20 KB files.
        self.assertEqual(sorted(f[0] for f in files),
                         list(range(len(files))), what)
        self.assertGreaterEqual(len(files), 20, what)
        lines = [ln for f in files for ln in f[3]]
        self.assertExactlyOnce(lines, seqs, what)
        for ln in lines:
            self.assertEqual(ln["status"], "processed", ln)
        # An append carries the records of about 10 ms: at 2000/s some 21
        # records, ~6 KB, well under max_bytes (asserted below, loosely,
        # from the records' start times: at most ~14 KB start within
        # APPEND_SPAN), so "larger only when one append alone was
        # larger" never applies here: no file may exceed max_bytes at all.
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        biggest = 0
        i = 0
        for j in range(len(lines)):
            while times[j] - times[i] > APPEND_SPAN:
                i += 1
            biggest = max(biggest,
                          sum(line_size(ln) for ln in lines[i:j + 1]))
        self.assertLess(biggest, max_bytes,
                        f"{biggest} B of records in {APPEND_SPAN}s")
        for _, p, size, file_lines in files:
            self.assertLessEqual(size, max_bytes,
                                 f"{os.path.basename(p)}; {what}")
            self.assertTrue(file_lines, f"{os.path.basename(p)} is empty")
            self.assertEqual(size, sum(line_size(ln) for ln in file_lines),
                             f"{os.path.basename(p)}: bytes other than the "
                             f"records")
        self.assertRotatedAtSize(files, max_bytes)
        # Written in order: the oldest file first, each file in start order.
        self.assertEqual(times, sorted(times),
                         f"records out of start order across the files; "
                         f"{what}")
        for older, newer in zip(files, files[1:]):
            self.assertLessEqual(older[3][-1]["ts"], newer[3][0]["ts"])
        # All of one priority: started in seq order, unless a missed slot
        # sent a message back to the bucket to be taken again a little
        # later. Each record after a higher seq needs a missed slot.
        missed = missed_slots(c)
        self.assertIsNotNone(missed, c.stderr())
        self.assertLessEqual(len(late_records(lines)), missed,
                             f"records out of seq order: "
                             f"{late_records(lines)[:20]}; {what}")
        if missed == 0:
            for older, newer in zip(files, files[1:]):
                self.assertLess(older[3][-1]["seq"], newer[3][0]["seq"],
                                what)

    def test_keep_limit(self):
        # At 1000/s an append is ~10 records, ~2.7 KB: two fit in a file.
        n, rate, max_bytes, keep = 800, 1000, 6000, 2
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        c = self.drip.consume(self.redis, log, leak_rate=rate,
                              log_max_bytes=max_bytes, log_keep=keep)
        self.wait_processed(n, n / rate * 3 + 10, procs=[c])
        self.assertEqual(c.stop(), 0, c.stderr())
        files = read_all(log)
        what = self.describe(files)
        # ~215 KB in 6 KB files: some 40 rotations, of which only the
        # newest two files are kept.
        self.assertEqual(sorted(f[0] for f in files), [0, 1, 2], what)
        for _, p, size, _ in files:
            self.assertLessEqual(size, max_bytes,
                                 f"{os.path.basename(p)}; {what}")
        self.assertRotatedAtSize(files, max_bytes)
        lines = [ln for f in files for ln in f[3]]
        self.assertExactlyOnce(lines, set(ln["seq"] for ln in lines), what)
        self.assertTrue(set(ln["seq"] for ln in lines) <= set(seqs))
        # The kept files are the newest ones, in order: with no missed
        # slot, they hold the last seqs and end with the very last one.
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertEqual(times, sorted(times), what)
        self.assertLess(len(lines), n // 5, what)
        for _, p, size, file_lines in files[:-1]:
            self.assertGreater(len(file_lines), 1, f"{os.path.basename(p)}"
                                                   f"; {what}")
        missed = missed_slots(c)
        self.assertIsNotNone(missed, c.stderr())
        self.assertLessEqual(len(late_records(lines)), missed, what)
        if missed == 0:
            self.assertEqual(lines[-1]["seq"], max(seqs), what)
            self.assertEqual([ln["seq"] for ln in lines],
                             sorted(seqs)[-len(lines):], what)

    def test_kill_9_across_rotations(self):
        # Small files, so that rotations come every ~35 ms (each file holds
        # 3 or 4 appends of ~10 records) and a kill may land during one or
        # just after one (recovery then needs PATH.1). Not smaller: see
        # test_kill_9_unsettled_in_three_files.
        n, rate, max_bytes = 2500, 1000, 10000
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        seed = int(os.environ.get("DRIP_TEST_SEED", time.time_ns() % 10**6))
        rng = random.Random(seed)
        kills = []

        def start():
            return self.drip.consume(self.redis, log, leak_rate=rate,
                                     log_max_bytes=max_bytes, log_keep=1000)

        c = start()
        for _ in range(5):
            time.sleep(rng.uniform(0.2, 0.4))
            self.assertTrue(c.alive(), f"consumer died by itself "
                                       f"(seed {seed}):\n{c.stderr()}")
            c.kill()
            kills.append(len(log_files(log)))
            c = start()
        self.wait_processed(n, n / rate * 3 + 15, procs=[c],
                            what=f"(seed {seed})")
        # Let a duplicate, if any, show up.
        time.sleep(0.3)
        self.assertEqual(c.stop(), 0, c.stderr())
        files = read_all(log)
        what = f"seed {seed}, files at the kills {kills}"
        self.assertGreater(len(files), 40, f"{what}: too few rotations")
        lines = [ln for f in files for ln in f[3]]
        self.assertExactlyOnce(lines, seqs, what)
        for ln in lines:
            self.assertEqual(ln["status"], "processed", ln)
        for _, p, size, _ in files:
            self.assertLessEqual(size, max_bytes,
                                 f"{os.path.basename(p)} ({what})")
        # Each consumer wrote its records in start order, and rotated
        # in order: over all the files, start times never go backwards.
        times = [harness.parse_ts(ln["ts"]) for ln in lines]
        self.assertEqual(times, sorted(times),
                         f"records out of start order ({what}); "
                         f"{self.describe(files)[:3000]}")

    def recovered(self, consumer):
        """(held, processed) of the consumer's "recovered" line: the
        messages it held at its start and how many of them it found
        recorded in the log."""
        found = re.findall(r"recovered held=([0-9]+) processed=([0-9]+)",
                           consumer.stderr())
        self.assertTrue(found, consumer.stderr())
        return int(found[-1][0]), int(found[-1][1])

    def crash_while_unsettled(self, n, start, during=None):
        """A consumer (start(log)) on n fresh messages, killed -9 while it
        holds records it could not settle: Redis hangs (SIGSTOP), the
        consumer goes on starting the messages it has taken (~40) and
        writing their records; the settlement of the first records is
        sent (Redis runs it when it resumes), the later ones wait for its
        answer. `during(consumer, log)`, called 20 ms into the hang, may
        rotate the log. Then kill -9, Redis resumes, and a new consumer
        on the same log processes the rest. Returns (seqs, at_kill: {n:
        complete records in PATH.n at the kill}, held, found (of the
        recovery line), every record of the files, oldest first)."""
        self.redis.cli("FLUSHALL")
        seqs = self.prequeue(n)
        self._crashes = getattr(self, "_crashes", 0) + 1
        log = self.path(f"processed-{self._crashes}.log")
        c = start(log)
        if during is None:
            harness.wait_until(lambda: len(log_files(log)) > 5, 10,
                               what="some rotations")
        else:
            harness.wait_log_lines(log, 30, 10, procs=[c])
        self.redis.pause()
        try:
            if during is not None:
                time.sleep(0.02)
                during(c, log)
            time.sleep(0.3)
            c.kill()
        finally:
            self.redis.resume()
        at_kill = {i: len(lines)
                   for i, _, _, lines in read_all(log, complete=True)}
        c = start(log)
        self.wait_processed(n, n / 1000 * 3 + 10, procs=[c])
        time.sleep(0.3)    # a duplicate, if any, shows up
        self.assertEqual(c.stop(), 0, c.stderr())
        held, found = self.recovered(c)
        lines = [ln for f in read_all(log) for ln in f[3]]
        return seqs, at_kill, held, found, lines

    def test_kill_9_after_sighup_reads_path_1(self):
        # The records not settled when the consumer died lie in PATH.1
        # and PATH: the restart must find them in both.
        n, rate = 600, 1000

        def start(log):
            return self.drip.consume(self.redis, log, leak_rate=rate)

        def logrotate(c, log):
            os.rename(log, log + ".1")
            c.signal(signal.SIGHUP)

        tried = []
        for _ in range(3):
            seqs, at_kill, held, found, lines = self.crash_while_unsettled(
                n, start, during=logrotate)
            what = (f"held {held}, found {found} recorded; records at the "
                    f"kill: {at_kill}")
            self.assertEqual(sorted(at_kill), [0, 1], what)
            self.assertExactlyOnce(lines, seqs, f"({what})")
            # More found than PATH held: some came from PATH.1.
            if found > at_kill[0]:
                return
            tried.append(what)
        self.skipTest(f"timing: no unsettled record was in PATH.1: {tried}")

    # Recovery must read back as many rotated files as the unsettled
    # records span, not only PATH.1.
    def test_kill_9_unsettled_in_three_files(self):
        # 4000 B files hold one append (~10 records, ~2.7 KB) each: the
        # ~30 records not settled at the kill spread over 3 files.
        n, rate, max_bytes = 600, 1000, 4000

        def start(log):
            return self.drip.consume(self.redis, log, leak_rate=rate,
                                     log_max_bytes=max_bytes, log_keep=1000)

        tried = []
        for _ in range(3):
            seqs, at_kill, held, found, lines = self.crash_while_unsettled(
                n, start)
            what = (f"held {held}, found {found} recorded; records in "
                    f"PATH, PATH.1, PATH.2 at the kill: "
                    f"{[at_kill.get(i) for i in range(3)]}")
            self.assertExactlyOnce(lines, seqs, f"({what})")
            # More found than PATH and PATH.1 held: some came from PATH.2.
            if found > at_kill[0] + at_kill.get(1, 0):
                return
            tried.append(what)
        self.skipTest(f"timing: no unsettled record was in PATH.2: {tried}")

    def test_sighup_reopens_after_rename(self):
        n, rate = 600, 200
        seqs = self.prequeue(n)
        log = self.path("processed.log")
        old = log + ".1"
        # No --log-max-bytes: never rotates by itself.
        c = self.drip.consume(self.redis, log, leak_rate=rate)
        harness.wait_log_lines(log, 150, 150 / rate * 3 + 10, procs=[c])
        self.assertEqual(sorted(log_files(log)), [0],
                         f"rotated by itself at "
                         f"{os.path.getsize(log)} B")
        # logrotate: rename, then SIGHUP.
        os.rename(log, old)
        renamed_at = os.path.getsize(old)
        time.sleep(0.3)
        # Until the signal, the consumer writes on to the renamed file
        # (logrotate's "create" mode counts on it) and creates no new one.
        self.assertGreater(os.path.getsize(old), renamed_at)
        self.assertFalse(os.path.exists(log))
        c.signal(signal.SIGHUP)
        t_hup = time.monotonic()
        harness.wait_until(lambda: harness.count_lines(log) >= 1, 3,
                           what="a new log after SIGHUP")
        appeared = time.monotonic() - t_hup
        # One thread writes the log: once PATH has a record, the renamed
        # file has had its last one.
        final_old = os.path.getsize(old)
        self.assertTrue(c.alive(), c.stderr())
        harness.wait_log_lines(log, 100, 100 / rate * 3 + 10, procs=[c])
        self.assertEqual(os.path.getsize(old), final_old,
                         "the renamed file still grows after the new one "
                         "got records")
        self.assertLessEqual(appeared, 1.0,
                             f"new log after {appeared:.2f}s")
        # A SIGHUP with nothing renamed: the consumer goes on with PATH.
        before = harness.count_lines(log)
        c.signal(signal.SIGHUP)
        harness.wait_log_lines(log, before + 50, 50 / rate * 3 + 10,
                               procs=[c])
        self.assertTrue(c.alive(), c.stderr())
        self.wait_processed(n, n / rate * 3 + 10, procs=[c])
        time.sleep(0.2)
        self.assertEqual(os.path.getsize(old), final_old)
        self.assertEqual(c.stop(), 0, c.stderr())
        # No rotation of its own: only PATH and the file renamed by hand.
        self.assertEqual(sorted(log_files(log)), [0, 1])
        a, b = harness.read_log(old), harness.read_log(log)
        self.assertGreater(len(a), 150)
        self.assertGreater(len(b), 150)
        self.assertExactlyOnce(a + b, seqs)
        self.assertLessEqual(a[-1]["ts"], b[0]["ts"])
        self.assertEqual(harness.count_lines(log) + harness.count_lines(old),
                         n)


if __name__ == "__main__":
    harness.main()
