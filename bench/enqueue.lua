-- wrk script for bench/enqueue: POST PRODUCT.md's example message to /enqueue.
--
-- Environment (all optional):
--   DRIP_BENCH_DATA_BYTES=N    make the message's "data" N bytes (ASCII) instead of the example text
--   DRIP_BENCH_BATCH=N         POST a JSON array of N messages to /enqueue/batch instead
--
-- At the end it prints one machine-readable line:
--   RESULT requests=.. secs=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=.. non2xx=..
--          connect_err=.. read_err=.. write_err=.. timeout=.. body_bytes=.. batch=..

local data = "this is my message from mobile app"
local data_bytes = tonumber(os.getenv("DRIP_BENCH_DATA_BYTES") or "")
if data_bytes and data_bytes >= 0 then
  data = string.rep("x", data_bytes)
end

local function message(id)
  return '{"id": ' .. id .. ', "job_priority": 1, "job_type": 2, "job_publisher": "mobile_app", "data": "'
    .. data .. '"}'
end

local batch = tonumber(os.getenv("DRIP_BENCH_BATCH") or "") or 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if batch > 0 then
  local parts = {}
  for i = 1, batch do parts[i] = message(i) end
  wrk.body = "[" .. table.concat(parts, ", ") .. "]"
  wrk.path = "/enqueue/batch"
else
  wrk.body = message(1)
end

-- No response() function on purpose: defining one makes wrk hand every response to Lua,
-- which costs wrk speed. (Stopping a thread early is no way to bound a run either: wrk
-- still divides by the whole -d duration.) bench/enqueue bounds memory by the duration.

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d secs=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
    "non2xx=%d connect_err=%d read_err=%d write_err=%d timeout=%d body_bytes=%d batch=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout, #wrk.body, batch))
end
