-- May an order be sent now (Breaker.gate)? Closed: pass. Open past its `until`: this one is the
-- probe (half-open). Half-open with a probe out longer than the stale time: this one replaces it.
-- KEYS: breaker. ARGV: now, probe stale ms, wait while a probe is out.
-- Returns {'pass', failures counted}, {'probe', 0} or {'wait', ms}.
local s = redis.call('HMGET', KEYS[1], 'state', 'until', 'probe_at', 'failures')
local state = s[1] or 'closed'
local now = tonumber(ARGV[1])
if state == 'closed' then return {'pass', tonumber(s[4]) or 0} end
if state == 'open' then
  local u = tonumber(s[2]) or 0
  if now < u then return {'wait', u - now} end
  redis.call('HSET', KEYS[1], 'state', 'half-open', 'probe_at', ARGV[1])
  return {'probe', 0}
end
if now - (tonumber(s[3]) or 0) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'probe_at', ARGV[1])
  return {'probe', 0}
end
return {'wait', tonumber(ARGV[3])}
