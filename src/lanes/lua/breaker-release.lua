-- A probe that sent nothing hands the probe on at once (Breaker.release).
-- KEYS: breaker. ARGV: none.
-- Returns 1.
if redis.call('HGET', KEYS[1], 'state') == 'half-open' then redis.call('HSET', KEYS[1], 'probe_at', 0) end
return 1
