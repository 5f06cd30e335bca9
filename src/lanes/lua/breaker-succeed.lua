-- The provider answered (Breaker.success): the failure count resets; the probe's answer closes it.
-- KEYS: breaker. ARGV: was this the probe (1/0).
-- Returns the state it left ('closed', 'half-open'), or 'ignored'.
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then redis.call('HDEL', KEYS[1], 'failures') return state end
if state == 'half-open' and ARGV[1] == '1' then redis.call('DEL', KEYS[1]) return state end
return 'ignored'
