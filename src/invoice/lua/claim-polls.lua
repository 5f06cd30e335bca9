-- Claims the first polls due in a lane's poll index (poll-index.ts `claimDue`).
-- KEYS: a lane's poll index. ARGV: now ms, how many, lease ms.
-- Returns the due record ids, each moved a lease ahead: should the claimer die before their poll
-- jobs are added, another one claims them again when the lease runs out.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local lease = tonumber(ARGV[1]) + tonumber(ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], lease, id) end
return ids
