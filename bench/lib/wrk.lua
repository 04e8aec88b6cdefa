-- Drives POST load for bench/lib/load.ts: each request carries the next body of a file (one JSON body per
-- line), answers without the expected text are counted, and the summary is printed as one JSON line.
-- Arguments (after --): <bodies file> <expected text or empty> <header lines joined by \n>

local bodies, requests, expected = {}, {}, nil
local nextIndex, unexpected = 0, 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(bodies, line) end
  end
  if args[2] ~= nil and #args[2] > 0 then expected = args[2] end
  local headers = { ["Content-Type"] = "application/json" }
  for line in string.gmatch(args[3] or "", "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  -- Requests are formatted once: formatting per request would make the generator the bottleneck.
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", nil, headers, body)
  end
  -- Threads start at different offsets so they do not send the same key at the same moment.
  nextIndex = (wrk.thread:get("offset") or 0) % #requests
end

function request()
  nextIndex = nextIndex % #requests + 1
  return requests[nextIndex]
end

function response(status, headers, body)
  if expected ~= nil and (body == nil or not string.find(body, expected, 1, true)) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, _)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d,"unexpected":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, wrong))
end
