-- wrk script of scripts/bench: single-event POST /publish, one event per request, ~330
-- bytes as agg-load sends them; every 5th request re-sends the previous event (same key,
-- same bytes: a plain duplicate, 20% as in agg-load's runs). Keys are unique per run:
-- pass a run id after `--` (wrk ... -s wrk-report.lua URL -- RUN_ID). A second argument
-- changes the request (scripts/bench-tls): `unique` sends every event once, no duplicates;
-- `new-connection` sends GET /health with `Connection: close`, so every request pays a new
-- connection (and, over TLS, a full handshake).
-- At the end it prints one JSON object on stdout, the form the other tools print, so
-- scripts/bench needs no parsing of wrk's text.

local run_id = "wrk"
local n = 0
local note = string.rep("x", 160)
local dup_every = 5
local new_connection = false

function init(args)
  run_id = (args[1] or "wrk") .. "-" .. tostring(math.random(1, 1000000000))
  if args[2] == "unique" then dup_every = 0 end
  new_connection = args[2] == "new-connection"
end

local function body(i)
  return '{"topic":"order.paid","event_id":"' .. run_id .. "-" .. i ..
    '","timestamp":"2026-11-24T10:15:00.123Z","source":"wrk","payload":{"seq":' .. i ..
    ',"amount":42.5,"note":"' .. note .. '"}}'
end

function request()
  if new_connection then
    return wrk.format("GET", "/health", { ["Connection"] = "close" })
  end
  n = n + 1
  local i = n
  if dup_every > 0 and n % dup_every == 0 then i = n - 1 end
  return wrk.format("POST", "/publish", { ["Content-Type"] = "application/json" }, body(i))
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"tool":"wrk","requests":%d,"elapsed_s":%.6f,"requests_per_s":%.1f,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f},' ..
    '"non_2xx":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
