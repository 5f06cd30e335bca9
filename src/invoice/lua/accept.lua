-- Records an accepted order as `queued`, unless its record key is taken (InvoiceStore.accept).
-- KEYS: record, idx:queued, the lane's listing index, the lane's `queued` status index (listing),
-- the lane prefix's listing clock.
-- ARGV: hash, history entry, now ms, id, then the fields as name, value pairs. Fields travel as
-- plain arguments, not a JSON object: no decoding (and its garbage) in Redis.
-- Returns 'accepted'; 'existing' when the record holds the same hash; 'conflict' when another.
local h = redis.call('HGET', KEYS[1], 'hash')
if h then
  if h == ARGV[1] then return 'existing' end
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'history', ARGV[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local clock = KEYS[5]
-- include: listing-score.lua
redis.call('ZADD', KEYS[3], score, ARGV[4])
redis.call('ZADD', KEYS[4], score, ARGV[4])
return 'accepted'
