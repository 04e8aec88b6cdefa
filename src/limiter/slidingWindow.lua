-- One all-or-nothing batch check of the two-bucket sliding window, run atomically inside Redis.
-- It mirrors src/core/slidingWindow.ts (judgedAt, windowSequence, rollForward, decide) and the batch loop of
-- src/limiter/memory.ts step by step; test/limiter/redisParity.test.ts holds the two to the same answers.
--
-- KEYS[i]: the counter of request i, a hash {s = window sequence, c = current, p = previous}.
-- ARGV[1]: now (unix ms); then per request i: limit, duration (ms), cost.
-- Returns {passed, allowed_1, remaining_1, reset_1, allowed_2, ...} with 1/0 for booleans.

local function judgedAt(now, duration, storedSequence)
  if storedSequence == nil then return now end
  return math.max(now, storedSequence * duration)
end

local function windowSequence(now, duration)
  return math.floor(now / duration)
end

local function rollForward(stored, sequence)
  if stored.sequence == sequence then return { current = stored.current, previous = stored.previous } end
  if stored.sequence == sequence - 1 then return { current = 0, previous = stored.current } end
  return { current = 0, previous = 0 }
end

local function decide(now, limit, duration, cost, counts)
  local sequence = windowSequence(now, duration)
  local start = sequence * duration
  local reset = start + duration
  local elapsed = (now - start) / duration
  local effective = counts.current + math.floor(counts.previous * (1 - elapsed)) + cost
  if effective > limit then return false, 0, reset end
  return true, math.max(0, limit - effective), reset
end

-- Integers are written in full: the default number-to-string conversion would round large ones.
local function int(n)
  return string.format('%.0f', n)
end

local now = tonumber(ARGV[1])
local reply = { 1 }
local batch = {}
local seen = {}
local passed = true
for i = 1, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[3 * i - 1])
  local duration = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local stored = batch[key]
  if not stored then
    local fields = redis.call('HMGET', key, 's', 'c', 'p')
    if fields[1] then
      stored = { sequence = tonumber(fields[1]), current = tonumber(fields[2]), previous = tonumber(fields[3]) }
    end
  end
  local at = judgedAt(now, duration, stored and stored.sequence)
  local sequence = windowSequence(at, duration)
  local counts = { current = 0, previous = 0 }
  if stored then counts = rollForward(stored, sequence) end
  local allowed, remaining, reset = decide(at, limit, duration, cost, counts)
  local after = counts
  if allowed then after = { current = counts.current + cost, previous = counts.previous } end
  seen[i] = { key = key, sequence = sequence, after = after, duration = duration }
  batch[key] = { sequence = sequence, current = after.current, previous = after.previous }
  if not allowed then passed = false end
  reply[#reply + 1] = allowed and 1 or 0
  reply[#reply + 1] = remaining
  reply[#reply + 1] = reset
end
if passed then
  for i = 1, #KEYS do
    local s = seen[i]
    redis.call('HSET', s.key, 's', int(s.sequence), 'c', int(s.after.current), 'p', int(s.after.previous))
    -- Relative to the caller's clock: the counter matters until two windows after its own.
    redis.call('PEXPIRE', s.key, int((s.sequence + 2) * s.duration - now))
  end
else
  reply[1] = 0
end
return reply
