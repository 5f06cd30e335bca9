-- A request the provider did not answer (Breaker.failure): counted while closed, and `failures` in
-- a row open the breaker; a failed probe opens it again for twice as long (up to the max).
-- KEYS: breaker. ARGV: now, failures to open, first open ms, max open ms, was this the probe (1/0).
-- Returns {'counted', failures, 0} or {'open', ms it stays open, 1 if this call opened it else 0}.
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
if state == 'closed' then
  local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if f < tonumber(ARGV[2]) then return {'counted', f, 0} end
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', now + tonumber(ARGV[3]), 'interval', ARGV[3], 'opened_at', ARGV[1])
  return {'open', tonumber(ARGV[3]), 1}
end
if state == 'half-open' and ARGV[5] == '1' then
  local iv = math.min((tonumber(redis.call('HGET', KEYS[1], 'interval')) or tonumber(ARGV[3])) * 2, tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', now + iv, 'interval', iv)
  return {'open', iv, 0}
end
local u = tonumber(redis.call('HGET', KEYS[1], 'until')) or now
return {'open', math.max(u - now, 100), 0}
