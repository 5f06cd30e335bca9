-- Extends the relay's lock if it is still ours (OutboxRelay).
-- KEYS: lock. ARGV: owner, lock ms.
-- Returns 1, else 0 (it expired and maybe another relay took it).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0
