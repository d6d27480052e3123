// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/scripts.h"

namespace drip::bucket {
namespace {

// Lua's tostring() prints numbers with 14 significant digits, too few for
// microseconds since the epoch; every number turned into text (for Redis
// or for the caller) goes through string.format first. A number returned
// as a number becomes an integer reply, exact below 2^53: the admit script
// returns seqs and depths that way.

// Each redis.call from Lua costs about a microsecond whatever the command,
// so the scripts make few of them: counts are kept in the base hash rather
// than summed over the lists, and writes for many messages go in one
// variadic call. unpack() is fed at most 1000 values at a time, well within
// Lua's stack limit.

constexpr std::string_view kAdmit = R"lua(
-- Locals: a global (ARGV, string, redis) is a table lookup at every use,
-- and this loop runs once per message.
local ARGV, tonumber, format, call = ARGV, tonumber, string.format, redis.call
local base = KEYS[1]
local conf = call('HMGET', base, 'capacity', 'leak_rate', 'depth', 'seq')
local capacity = tonumber(conf[1]) or tonumber(ARGV[1])
local rate = conf[2] or '0'
local depth = tonumber(conf[3]) or 0
local seq = tonumber(conf[4]) or 0
local requests, total, keyed = tonumber(ARGV[2]), tonumber(ARGV[3]),
    tonumber(ARGV[4])
local t = call('TIME')
local prefix_time = '\t' .. t[1] .. format('%06d', tonumber(t[2])) .. '\t1\t'
local lists = {}
-- Messages as (priority, payload) pairs follow the requests' headers.
local pair = 5 + requests + 3 * keyed
local function push(n)
  for i = 0, n - 1 do
    local p = ARGV[pair]
    local list = lists[p]
    if not list then list = {}; lists[p] = list end
    list[#list + 1] = format('%d', seq + 1 + i) .. prefix_time
        .. ARGV[pair + 1]
    pair = pair + 2
  end
  seq = seq + n
  depth = depth + n
end
local out
if keyed == 0 and depth + total <= capacity then
  -- Nearly every call: no idempotency keys and room for everything, so
  -- no request needs an answer of its own; the caller works out each
  -- one's seqs and depth from where the bucket stood.
  out = {rate, capacity, 0, depth, seq}
  push(total)
else
  -- Flat: Redis turns every nested table of a reply into an array of its
  -- own, which cost a sixth of the script's time with a dozen requests a
  -- call.
  out = {rate, capacity, 1}
  local n_out = 3
  local rejected, deduplicated = 0, 0
  local at = 5
  for _ = 1, requests do
    local idem, id = nil, nil
    if ARGV[at] == 'K' then
      idem, id = ARGV[at + 1], ARGV[at + 2]
      at = at + 3
    end
    local n = tonumber(ARGV[at])
    at = at + 1
    local first_answer = idem and call('GET', base .. ':idem:' .. idem)
    if first_answer then
      local s, count, d, first_id = string.match(first_answer,
          '^(%d+) (%d+) (%d+) %d+ (%S+)$')
      out[n_out + 1], out[n_out + 2], out[n_out + 3] = 2, tonumber(d), s
      out[n_out + 4], out[n_out + 5] = tonumber(count), first_id
      n_out = n_out + 5
      deduplicated = deduplicated + 1
      pair = pair + 2 * n
    elseif depth + n > capacity then
      rejected = rejected + n
      out[n_out + 1], out[n_out + 2], out[n_out + 3] = 0, depth, 0
      n_out = n_out + 3
      pair = pair + 2 * n
    else
      local first = seq + 1
      push(n)
      if idem then
        call('SET', base .. ':idem:' .. idem,
             format('%d', first) .. ' ' .. n .. ' ' .. depth .. ' '
             .. capacity .. ' ' .. id, 'EX', 86400)
      end
      out[n_out + 1], out[n_out + 2], out[n_out + 3] = 1, depth, first
      n_out = n_out + 3
    end
  end
  if rejected > 0 then call('HINCRBY', base, 'rejected', rejected) end
  if deduplicated > 0 then
    call('HINCRBY', base, 'deduplicated', deduplicated)
  end
end
for p, list in pairs(lists) do
  for i = 1, #list, 1000 do
    call('RPUSH', base .. ':p' .. p,
         unpack(list, i, math.min(i + 999, #list)))
  end
end
if next(lists) then
  call('HSET', base, 'seq', format('%d', seq), 'depth', format('%d', depth))
end
return out
)lua";

// TODO: taking copies every message into the held hash and adds a lease
// entry for it: about 7 us of Redis time per message leaked, which makes
// Redis, not the consumer, the limit near 50,000/s on two cores. Holding a
// consumer's messages in one list per consumer, with one lease per
// consumer rather than per message, would make take and ack a few calls
// whatever the batch size.
constexpr std::string_view kTake = R"lua(
local base = KEYS[1]
local consumer = ARGV[1]
local max_messages = tonumber(ARGV[2])
local lookahead = tonumber(ARGV[3])
local lease_ms = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_text = t[1] .. string.format('%06d', tonumber(t[2]))
local s = redis.call('HMGET', base, 'leak_rate', 'anchor_us', 'slot_n',
                     'interval_us', 'pause_until_us')
local rate = tonumber(s[1]) or tonumber(ARGV[5])
if not rate or rate <= 0 then return {1, now_text} end
local pause_until = tonumber(s[5])
if pause_until and pause_until > now then
  -- The downstream asked for a pause. The schedule is left alone: the
  -- first take after the pause finds its next slot in the past and starts
  -- afresh from then, so the pause ends without a burst.
  return {3, now_text, string.format('%d', pause_until)}
end
local interval = 1000000 / rate
local anchor = tonumber(s[2])
local slot_n = tonumber(s[3]) or 0
local old_interval = tonumber(s[4])
if anchor and old_interval and old_interval ~= interval then
  -- The rate changed: the new spacing starts from the next free slot.
  anchor = anchor + math.floor(slot_n * old_interval)
  slot_n = 0
end
if not anchor then
  anchor = now
  slot_n = 0
end
local next_slot = anchor + math.floor(slot_n * interval)
if next_slot < now then
  -- Idle or behind: start from now, with no credit for the past.
  anchor = now
  slot_n = 0
  next_slot = now
end
-- Only when at least a quarter of the lookahead is free: a consumer that
-- asks just after another one took gets the slots in chunks rather than
-- one or two at a time, so that several consumers of a bucket take turns
-- instead of all waking for every other slot (on a busy machine, each
-- wake-up is a chance to be late). A lone consumer asks when half of its
-- lookahead is left, well before this. The answer names a time a quarter
-- of the lookahead before the next slot: the asker, which comes back half
-- a lookahead before that, is then first in line, ahead of the consumer
-- that took last, so that consumers take turns and none is starved.
if next_slot > now + lookahead * 0.75 then
  return {0, now_text,
          string.format('%d', next_slot - math.floor(lookahead / 4))}
end
local k = math.floor((now + lookahead - next_slot) / interval) + 1
if k > max_messages then k = max_messages end

local held, owner, lease = base .. ':held', base .. ':owner', base .. ':lease'
local deadline = string.format('%d', math.floor(now / 1000) + lease_ms)
local out = {2, now_text, string.format('%d', anchor),
             string.format('%d', slot_n), string.format('%.17g', interval)}
local held_args, owner_args, lease_args = {}, {}, {}
local function hold(seq, message)
  held_args[#held_args + 1] = seq
  held_args[#held_args + 1] = message
  owner_args[#owner_args + 1] = seq
  owner_args[#owner_args + 1] = consumer
  lease_args[#lease_args + 1] = deadline
  lease_args[#lease_args + 1] = seq
  out[#out + 1] = message
end
-- Messages whose holder let its lease run out come first: they are the
-- oldest work in the bucket.
-- Not this consumer's own: it still has them in hand (an ack that has
-- not got through yet), or finds them at its restart.
local expired = redis.call('ZRANGEBYSCORE', lease, '-inf',
                           math.floor(now / 1000), 'LIMIT', 0, k)
if #expired > 0 then
  local messages = redis.call('HMGET', held, unpack(expired))
  local owners = redis.call('HMGET', owner, unpack(expired))
  for i, seq in ipairs(expired) do
    if not messages[i] then
      redis.call('ZREM', lease, seq)
    elseif owners[i] ~= consumer then
      hold(seq, messages[i])
    end
  end
end
-- Retries whose backoff is over go to the front of their priority's
-- list: they are older than anything behind them, and each takes a slot
-- of its own like any message, so retries never exceed the rate.
local due = redis.call('ZRANGEBYSCORE', base .. ':retry', '-inf',
                       math.floor(now / 1000), 'LIMIT', 0, k)
if #due > 0 then
  redis.call('ZREM', base .. ':retry', unpack(due))
  for i = #due, 1, -1 do
    local p = string.match(due[i], '^%d+\t%d+\t%d+\t%-?%d+\t(%d)')
    redis.call('LPUSH', base .. ':p' .. p, due[i])
  end
end
local popped = 0
for p = 0, 9 do
  local want = k - (#out - 5)
  if want <= 0 then break end
  local messages = redis.call('LPOP', base .. ':p' .. p, want)
  if messages then
    for _, message in ipairs(messages) do
      hold(string.match(message, '^(%d+)'), message)
    end
    popped = popped + #messages
  end
end
local taken = #out - 5
if taken == 0 then return {1, now_text} end
redis.call('HSET', held, unpack(held_args))
redis.call('HSET', owner, unpack(owner_args))
redis.call('ZADD', lease, unpack(lease_args))
redis.call('HSET', base, 'anchor_us', string.format('%d', anchor),
           'slot_n', string.format('%d', slot_n + taken),
           'interval_us', string.format('%.17g', interval))
if popped > 0 then redis.call('HINCRBY', base, 'depth', -popped) end
return out
)lua";

// Acks, retries and dead letters in one step, so that one consumer's
// outcomes reach Redis in the order they were logged (recovery relies on
// it) at the price of one script call per batch.
constexpr std::string_view kSettle = R"lua(
local base = KEYS[1]
local held, owner, lease = base .. ':held', base .. ':owner', base .. ':lease'
local function forget(seq)
  redis.call('HDEL', held, seq)
  redis.call('HDEL', owner, seq)
  redis.call('ZREM', lease, seq)
end
local acks = tonumber(ARGV[1])
local done = 0
for i = 2, 1 + acks, 1000 do
  local j = math.min(i + 999, 1 + acks)
  done = done + redis.call('HDEL', held, unpack(ARGV, i, j))
  redis.call('HDEL', owner, unpack(ARGV, i, j))
  redis.call('ZREM', lease, unpack(ARGV, i, j))
end
if done > 0 then redis.call('HINCRBY', base, 'processed', done) end
local at = 2 + acks
local retried = 0
for _ = 1, tonumber(ARGV[at]) do
  local seq, due = ARGV[at + 1], ARGV[at + 2]
  at = at + 2
  local message = redis.call('HGET', held, seq)
  if message then
    local head, attempt, rest =
        string.match(message, '^(%d+\t%d+\t)(%d+)(\t.*)$')
    redis.call('ZADD', base .. ':retry', due,
               head .. string.format('%d', tonumber(attempt) + 1) .. rest)
    forget(seq)
    retried = retried + 1
  end
end
at = at + 1
-- A retry waits in the bucket: it counts toward the capacity.
if retried > 0 then redis.call('HINCRBY', base, 'depth', retried) end
local t = redis.call('TIME')
local now_text = t[1] .. string.format('%06d', tonumber(t[2]))
local died = 0
for _ = 1, tonumber(ARGV[at]) do
  local seq, last_error = ARGV[at + 1], ARGV[at + 2]
  at = at + 2
  local message = redis.call('HGET', held, seq)
  if message then
    local order = redis.call('HINCRBY', base, 'dead_n', 1)
    redis.call('ZADD', base .. ':dead', order, seq)
    redis.call('HSET', base .. ':dead:msg', seq,
               now_text .. '\t' .. last_error .. '\t' .. message)
    forget(seq)
    died = died + 1
  end
end
if died > 0 then redis.call('HINCRBY', base, 'dead_total', died) end
-- Every retry and every death ended a failed attempt.
if retried + died > 0 then
  redis.call('HINCRBY', base, 'failed', retried + died)
end
return {done, retried, died}
)lua";

constexpr std::string_view kPause = R"lua(
local base = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wanted = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', base, 'pause_until_us')) or 0
if wanted > current then
  redis.call('HSET', base, 'pause_until_us', string.format('%d', wanted))
  return string.format('%d', wanted)
end
return string.format('%d', current)
)lua";

constexpr std::string_view kDeadPage = R"lua(
local base = KEYS[1]
local newest = ARGV[1] == '' and '+inf' or '(' .. ARGV[1]
local page = redis.call('ZREVRANGEBYSCORE', base .. ':dead', newest, '-inf',
                        'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #page, 2 do
  local entry = redis.call('HGET', base .. ':dead:msg', page[i])
  if entry then
    out[#out + 1] = page[i + 1]
    out[#out + 1] = entry
  end
end
return out
)lua";

constexpr std::string_view kRequeue = R"lua(
local base = KEYS[1]
local h = redis.call('HMGET', base, 'capacity', 'depth')
local capacity = tonumber(h[1]) or tonumber(ARGV[1])
local depth = tonumber(h[2]) or 0
local dead, entries = base .. ':dead', base .. ':dead:msg'
local seqs
if ARGV[2] == 'all' then
  -- Oldest first, and no more than fit.
  local room = capacity - depth
  seqs = room > 0 and redis.call('ZRANGE', dead, 0, room - 1) or {}
else
  seqs = {}
  for i = 3, #ARGV do seqs[#seqs + 1] = ARGV[i] end
end
local requeued = 0
for _, seq in ipairs(seqs) do
  if depth >= capacity then break end
  local entry = redis.call('HGET', entries, seq)
  if entry then
    local head, rest = string.match(entry,
        '^%d+\t[^\t]*\t(%d+\t%d+\t)%d+(\t.*)$')
    local message = head .. '1' .. rest
    local p = string.match(message, '^%d+\t%d+\t%d+\t%-?%d+\t(%d)')
    redis.call('RPUSH', base .. ':p' .. p, message)
    redis.call('ZREM', dead, seq)
    redis.call('HDEL', entries, seq)
    depth = depth + 1
    requeued = requeued + 1
  end
end
if requeued > 0 then
  redis.call('HSET', base, 'depth', string.format('%d', depth))
end
return {requeued, redis.call('ZCARD', dead)}
)lua";

constexpr std::string_view kRelease = R"lua(
local base = KEYS[1]
local count = 0
local lists = {}
for i = #ARGV, 1, -1 do
  local message = redis.call('HGET', base .. ':held', ARGV[i])
  if message then
    local p = string.match(message, '^%d+\t%d+\t%d+\t%-?%d+\t(%d)')
    local list = lists[p]
    if not list then list = {}; lists[p] = list end
    list[#list + 1] = message
    count = count + 1
  end
end
if count == 0 then return 0 end
-- Walked backwards, so that LPUSH leaves them in their first order.
for p, list in pairs(lists) do
  for i = 1, #list, 1000 do
    redis.call('LPUSH', base .. ':p' .. p,
               unpack(list, i, math.min(i + 999, #list)))
  end
end
for i = 1, #ARGV, 1000 do
  local j = math.min(i + 999, #ARGV)
  redis.call('HDEL', base .. ':held', unpack(ARGV, i, j))
  redis.call('HDEL', base .. ':owner', unpack(ARGV, i, j))
  redis.call('ZREM', base .. ':lease', unpack(ARGV, i, j))
end
redis.call('HINCRBY', base, 'depth', count)
return count
)lua";

constexpr std::string_view kHeld = R"lua(
local base = KEYS[1]
local owners = redis.call('HGETALL', base .. ':owner')
local mine = {}
for i = 1, #owners, 2 do
  if owners[i + 1] == ARGV[1] then mine[#mine + 1] = tonumber(owners[i]) end
end
table.sort(mine)
local out = {}
for _, seq in ipairs(mine) do
  local message = redis.call('HGET', base .. ':held', string.format('%d', seq))
  if message then out[#out + 1] = message end
end
return out
)lua";

constexpr std::string_view kStats = R"lua(
local base = KEYS[1]
local h = redis.call('HMGET', base, 'capacity', 'leak_rate', 'depth', 'seq',
                     'rejected', 'processed')
return {h[1], h[2], tonumber(h[3]) or 0, redis.call('ZCARD', base .. ':lease'),
        tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or 0,
        redis.call('ZCARD', base .. ':dead')}
)lua";

}  // namespace

const redis::Script& AdmitScript() {
    static const redis::Script script(kAdmit);
    return script;
}

const redis::Script& TakeScript() {
    static const redis::Script script(kTake);
    return script;
}

const redis::Script& SettleScript() {
    static const redis::Script script(kSettle);
    return script;
}

const redis::Script& PauseScript() {
    static const redis::Script script(kPause);
    return script;
}

const redis::Script& DeadPageScript() {
    static const redis::Script script(kDeadPage);
    return script;
}

const redis::Script& RequeueScript() {
    static const redis::Script script(kRequeue);
    return script;
}

const redis::Script& ReleaseScript() {
    static const redis::Script script(kRelease);
    return script;
}

const redis::Script& HeldScript() {
    static const redis::Script script(kHeld);
    return script;
}

const redis::Script& StatsScript() {
    static const redis::Script script(kStats);
    return script;
}

}  // namespace drip::bucket
