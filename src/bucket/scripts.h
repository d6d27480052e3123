// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The Lua scripts that make each bucket operation one atomic step inside
// Redis. A bucket's keys all share the hash tag of its base key
// "drip:{QUEUE}", so that a bucket lives in one Redis Cluster slot:
//
//   drip:{Q}          hash: capacity, leak_rate; seq (the last seq given,
//                     which is also the count accepted), depth (messages
//                     waiting in the lists, kept by every script that
//                     pushes or pops, so that admitting a message costs no
//                     LLEN per priority), rejected, processed; and the leak
//                     schedule (anchor_us, slot_n, interval_us)
//   drip:{Q}:p0..p9   lists: messages waiting, one list per job_priority
//   drip:{Q}:held     hash seq -> message: taken by a consumer, not yet
//                     recorded
//   drip:{Q}:owner    hash seq -> consumer id holding it
//   drip:{Q}:lease    sorted set seq by lease deadline (ms, Redis clock)
//   drip:{Q}:idem:K   string: the first answer to Idempotency-Key K
//   drip:{Q}:retry    sorted set: failed messages waiting out their
//                     backoff (stored form, attempt already counted up),
//                     by the time they may leak again (ms, Redis clock);
//                     they count in depth
//   drip:{Q}:dead     sorted set seq by dead-letter order (the hash's
//                     dead_n when it died): the dead-letter list
//   drip:{Q}:dead:msg hash seq -> "DEAD_AT_US\tLAST_ERROR_JSON\tSTORED"
//
// The base hash also counts failed (failed delivery attempts), dead_total
// (messages ever dead-lettered), and holds pause_until_us, the end of a
// pause a downstream asked for (Redis clock).
//
// A waiting message is stored as "SEQ\tENQUEUED_US\tATTEMPT\t" followed by
// the payload that bucket::AppendPayload writes.

#pragma once

#include "redis/connection.h"

namespace drip::bucket {

// KEYS[1] base. Admits several requests in one step, each as a whole or
// not at all, in order. ARGV: the capacity to use when none is stored, the
// number of requests R, their messages M in all, and how many have an
// idempotency key; then R headers, one per request: "K", its idempotency
// key and the id of its first message when it has a key (nothing when
// not), then its message count; then M pairs of (priority, payload), the
// requests' messages in order. Returns one flat array: leak_rate,
// capacity, then
//   0, depth, seq when no request has a key and all of them fit: depth and
//      seq are the bucket's before this step, and the messages took the
//      seqs after seq in order;
//   1, then per request in order 1, depth, first_seq when queued; 0, depth,
//      0 when the bucket had no room; 2, depth, first_seq, count, id for a
//      repeated key (the first answer's figures).
const redis::Script& AdmitScript();

// KEYS[1] base. ARGV: consumer id, max messages, lookahead (us), lease (ms),
// the leak rate to use when none is stored.
// Returns {0, now_us, next_slot_us} when the next slot is further away than
// the lookahead, {1, now_us} when the bucket is empty, or
// {2, now_us, anchor_us, first_slot_n, interval_us, message...}: message i
// (from 0) starts at anchor_us + floor((first_slot_n + i) * interval_us),
// or {3, now_us, pause_until_us} while the bucket is paused. Retries whose
// time has come are moved to the front of their lists first.
const redis::Script& TakeScript();

// KEYS[1] base. ARGV: A, then A seqs to acknowledge (recorded: forgotten
// and counted processed); R, then R pairs (seq, due_ms) to retry (attempt
// counted up, back in the bucket from due_ms on); D, then D pairs (seq,
// last_error as a JSON string literal) to dead-letter. Seqs no longer held
// are skipped. Returns {acked, retried, dead}.
const redis::Script& SettleScript();

// KEYS[1] base. ARGV: a pause in microseconds. Pauses the leak until now
// plus the pause, unless a longer pause is on. Returns its end (us).
const redis::Script& PauseScript();

// KEYS[1] base. ARGV: cursor ("" for the newest), limit. Returns
// {order, entry, ...}, newest first, with orders below the cursor.
const redis::Script& DeadPageScript();

// KEYS[1] base. ARGV: the capacity to use when none is stored, then "all",
// or "some" followed by seqs. Puts dead messages back at the end of their
// lists as attempt 1, while there is room. Returns {requeued, still_dead}.
const redis::Script& RequeueScript();

// KEYS[1] base. ARGV: seq..., in the order they were taken. Puts held
// messages back at the front of their lists, in order. Returns the count.
const redis::Script& ReleaseScript();

// KEYS[1] base. ARGV: consumer id. Returns the held messages of that
// consumer, oldest seq first.
const redis::Script& HeldScript();

// KEYS[1] base. Returns {capacity, leak_rate, depth, in_flight, accepted,
// rejected, processed, dead}; capacity and leak_rate may be nil (false)
// when no process has configured the bucket yet.
const redis::Script& StatsScript();

}  // namespace drip::bucket
