// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/scripts.h"

namespace drip::bucket {
namespace {

// Lua's tostring() prints numbers with 14 significant digits, too few for
// microseconds since the epoch; every number sent back to Redis or to the
// caller goes through string.format first.

// Each redis.call from Lua costs about a microsecond whatever the command,
// so the scripts make few of them: counts are kept in the base hash rather
// than summed over the lists, and writes for many messages go in one
// variadic call. unpack() is fed at most 1000 values at a time, well within
// Lua's stack limit.

constexpr std::string_view kAdmit = R"lua(
local base = KEYS[1]
local conf = redis.call('HMGET', base, 'capacity', 'leak_rate', 'depth', 'seq')
local capacity = tonumber(conf[1]) or tonumber(ARGV[1])
local rate = conf[2] or '0'
local depth = tonumber(conf[3]) or 0
local seq = tonumber(conf[4]) or 0
local t = redis.call('TIME')
local prefix_time = '\t' .. t[1] .. string.format('%06d', tonumber(t[2]))
    .. '\t1\t'
local out = {rate, capacity}
local lists = {}
local queued, rejected = 0, 0
local at = 3
for r = 1, tonumber(ARGV[2]) do
  local idem, id, n = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  local args = at + 3
  at = args + 2 * n
  local first_answer = idem ~= '' and
      redis.call('GET', base .. ':idem:' .. idem)
  if first_answer then
    local s, count, d, first_id = string.match(first_answer,
        '^(%d+) (%d+) (%d+) %d+ (%S+)$')
    out[#out + 1] = {2, tonumber(d), s, tonumber(count), first_id}
  elseif depth + n > capacity then
    rejected = rejected + n
    out[#out + 1] = {0, depth, '0'}
  else
    for i = 0, n - 1 do
      local p = ARGV[args + 2 * i]
      local list = lists[p]
      if not list then list = {}; lists[p] = list end
      list[#list + 1] = string.format('%d', seq + 1 + i) .. prefix_time
          .. ARGV[args + 2 * i + 1]
    end
    local first_text = string.format('%d', seq + 1)
    seq = seq + n
    depth = depth + n
    queued = queued + n
    if idem ~= '' then
      redis.call('SET', base .. ':idem:' .. idem,
                 first_text .. ' ' .. n .. ' ' .. depth .. ' ' .. capacity
                 .. ' ' .. id, 'EX', 86400)
    end
    out[#out + 1] = {1, depth, first_text}
  end
end
for p, list in pairs(lists) do
  for i = 1, #list, 1000 do
    redis.call('RPUSH', base .. ':p' .. p,
               unpack(list, i, math.min(i + 999, #list)))
  end
end
if queued > 0 then
  redis.call('HSET', base, 'seq', string.format('%d', seq),
             'depth', string.format('%d', depth))
end
if rejected > 0 then redis.call('HINCRBY', base, 'rejected', rejected) end
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
                     'interval_us')
local rate = tonumber(s[1]) or tonumber(ARGV[5])
if not rate or rate <= 0 then return {1, now_text} end
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
if next_slot > now + lookahead then
  return {0, now_text, string.format('%d', next_slot)}
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

constexpr std::string_view kAck = R"lua(
local base = KEYS[1]
local done = 0
for i = 1, #ARGV, 1000 do
  local j = math.min(i + 999, #ARGV)
  done = done + redis.call('HDEL', base .. ':held', unpack(ARGV, i, j))
  redis.call('HDEL', base .. ':owner', unpack(ARGV, i, j))
  redis.call('ZREM', base .. ':lease', unpack(ARGV, i, j))
end
if done > 0 then redis.call('HINCRBY', base, 'processed', done) end
return done
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
        redis.call('LLEN', base .. ':dead')}
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

const redis::Script& AckScript() {
    static const redis::Script script(kAck);
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
