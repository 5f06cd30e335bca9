-- Releases the relay's lock if it is still ours (OutboxRelay).
-- KEYS: lock. ARGV: owner.
-- Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0
