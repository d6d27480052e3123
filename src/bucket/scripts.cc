// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/scripts.h"

namespace drip::bucket {
namespace {

// Lua's tostring() prints numbers with 14 significant digits, too few for
// microseconds since the epoch; every number sent back to Redis or to the
// caller goes through string.format first.

constexpr std::string_view kAdmit = R"lua(
local base = KEYS[1]
local idem = ARGV[1]
local id = ARGV[2]
local n = tonumber(ARGV[4])
local conf = redis.call('HMGET', base, 'capacity', 'leak_rate')
local capacity = tonumber(conf[1]) or tonumber(ARGV[3])
local rate = conf[2] or '0'
local depth = 0
for p = 0, 9 do depth = depth + redis.call('LLEN', base .. ':p' .. p) end
if idem ~= '' then
  local first = redis.call('GET', base .. ':idem:' .. idem)
  if first then
    local seq, count, d, c, first_id = string.match(first,
        '^(%d+) (%d+) (%d+) (%d+) (%S+)$')
    return {2, tonumber(d), tonumber(c), seq, rate, tonumber(count), first_id}
  end
end
if depth + n > capacity then
  redis.call('HINCRBY', base, 'rejected', n)
  return {0, depth, capacity, '0', rate}
end
local t = redis.call('TIME')
local prefix_time = '\t' .. t[1] .. string.format('%06d', tonumber(t[2]))
    .. '\t1\t'
local last = redis.call('HINCRBY', base, 'seq', n)
local first = last - n + 1
local lists = {}
for i = 1, n do
  local p = ARGV[3 + 2 * i]
  local list = lists[p]
  if not list then list = {}; lists[p] = list end
  list[#list + 1] = string.format('%d', first + i - 1) .. prefix_time
      .. ARGV[4 + 2 * i]
end
for p, list in pairs(lists) do
  for i = 1, #list, 1000 do
    redis.call('RPUSH', base .. ':p' .. p,
               unpack(list, i, math.min(i + 999, #list)))
  end
end
redis.call('HINCRBY', base, 'accepted', n)
local first_text = string.format('%d', first)
if idem ~= '' then
  redis.call('SET', base .. ':idem:' .. idem,
             first_text .. ' ' .. n .. ' ' .. (depth + n) .. ' '
             .. capacity .. ' ' .. id, 'EX', 86400)
end
return {1, depth + n, capacity, first_text, rate}
)lua";

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
-- Messages whose holder let its lease run out come first: they are the
-- oldest work in the bucket.
local expired = redis.call('ZRANGEBYSCORE', lease, '-inf',
                           math.floor(now / 1000), 'LIMIT', 0, k)
for _, seq in ipairs(expired) do
  local message = redis.call('HGET', held, seq)
  if message then
    redis.call('HSET', owner, seq, consumer)
    redis.call('ZADD', lease, deadline, seq)
    out[#out + 1] = message
  else
    redis.call('ZREM', lease, seq)
  end
end
for p = 0, 9 do
  local want = k - (#out - 5)
  if want <= 0 then break end
  local popped = redis.call('LPOP', base .. ':p' .. p, want)
  if popped then
    for _, message in ipairs(popped) do
      local seq = string.match(message, '^(%d+)')
      redis.call('HSET', held, seq, message)
      redis.call('HSET', owner, seq, consumer)
      redis.call('ZADD', lease, deadline, seq)
      out[#out + 1] = message
    end
  end
end
local taken = #out - 5
if taken == 0 then return {1, now_text} end
redis.call('HSET', base, 'anchor_us', string.format('%d', anchor),
           'slot_n', string.format('%d', slot_n + taken),
           'interval_us', string.format('%.17g', interval))
return out
)lua";

constexpr std::string_view kAck = R"lua(
local base = KEYS[1]
local done = 0
for i = 1, #ARGV do
  done = done + redis.call('HDEL', base .. ':held', ARGV[i])
  redis.call('HDEL', base .. ':owner', ARGV[i])
  redis.call('ZREM', base .. ':lease', ARGV[i])
end
if done > 0 then redis.call('HINCRBY', base, 'processed', done) end
return done
)lua";

constexpr std::string_view kRelease = R"lua(
local base = KEYS[1]
local count = 0
for i = #ARGV, 1, -1 do
  local seq = ARGV[i]
  local message = redis.call('HGET', base .. ':held', seq)
  if message then
    local p = string.match(message, '^%d+\t%d+\t%d+\t%-?%d+\t(%d)')
    redis.call('LPUSH', base .. ':p' .. p, message)
    redis.call('HDEL', base .. ':held', seq)
    redis.call('HDEL', base .. ':owner', seq)
    redis.call('ZREM', base .. ':lease', seq)
    count = count + 1
  end
end
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
local h = redis.call('HMGET', base, 'capacity', 'leak_rate', 'accepted',
                     'rejected', 'processed')
local depth = 0
for p = 0, 9 do depth = depth + redis.call('LLEN', base .. ':p' .. p) end
return {h[1], h[2], depth, redis.call('ZCARD', base .. ':lease'),
        tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or 0,
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
