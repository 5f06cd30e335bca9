-- Removes a record id from an index unless its record exists (listing.ts, retention), in one step so a
-- new record written under the same id keeps its entry.
-- KEYS: the index, the record key. ARGV: the record id.
-- Returns 1.
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end return 1
