-- Applies a change to a record by compare-and-set on its version, with its history entry, its
-- outbox entry and its index and expiry changes, in one step (InvoiceStore.apply).
-- KEYS: record, outbox, idx:queued, idx:reconcile, idx:open, the lane's poll index, the lane's unpaid
-- index, the lane's listing index, the status index of the record's status before and after the
-- change (the same key when the status stays; see `listingKeys`), the lane prefix's listing clock
-- ARGV: expected version, history entry ('' none), outbox entry ('' none), id, now ms, record
-- retention ms ('0': kept for ever), the index and expiry changes (`upkeep`: '' none), when the
-- first poll is due ('' none; `Change.firstPoll`), then the fields as name, value pairs ('' removes
-- the field)
-- Returns 'ok'; 'missing' when there is no record; 'stale' when its version is not the expected one.
-- The version check makes the caller's copy the record as it is here, so the caller works out
-- which indexes the change moves the record in or out of, and whether its expiry starts, restarts
-- or ends (`upkeep`); a change that moves nothing (the submit marker, a last_error note) touches
-- no index and no expiry.
-- Which statuses are terminal is decided in `upkeep` from state.ts's TERMINAL, so the script and
-- the transition table cannot drift.
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return 'missing' end
if v ~= ARGV[1] then return 'stale' end
local set, del = { 'version', tostring(tonumber(v) + 1) }, {}
for i = 9, #ARGV, 2 do
  if ARGV[i + 1] == '' then del[#del + 1] = ARGV[i] else set[#set + 1] = ARGV[i]; set[#set + 1] = ARGV[i + 1] end
end
if ARGV[2] ~= '' then
  local h = redis.call('HGET', KEYS[1], 'history')
  set[#set + 1] = 'history'
  set[#set + 1] = h and (h .. '\n' .. ARGV[2]) or ARGV[2]
end
redis.call('HSET', KEYS[1], unpack(set))
if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
-- The first poll of an invoice this change opens, in the same step (an earlier schedule stands).
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[6], 'LT', ARGV[8], ARGV[4]) end
-- Listing (GET /v1/invoices): every change moves the record to the end of its lane's listing
-- index; a change of status moves it from one status index to the other, scored by when it
-- entered the new status, so paging one status meets each of its invoices once.
local clock = KEYS[11]
-- include: listing-score.lua
redis.call('ZADD', KEYS[8], score, ARGV[4])
if KEYS[9] ~= KEYS[10] then
  redis.call('ZREM', KEYS[9], ARGV[4])
  redis.call('ZADD', KEYS[10], score, ARGV[4])
end
local ops = ARGV[7]
if ops == '' then return 'ok' end
-- The queued index holds what may still need its create job: not parked, not at the provider.
local q = string.sub(ops, 1, 1)
if q == '+' then redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[4]) elseif q == '-' then redis.call('ZREM', KEYS[3], ARGV[4]) end
-- Open (at the provider, not terminal) invoices are indexed so a sweeper can check each is followed.
local o = string.sub(ops, 2, 2)
if o == '+' then redis.call('ZADD', KEYS[5], 'NX', ARGV[5], ARGV[4]) elseif o == '-' then redis.call('ZREM', KEYS[5], ARGV[4]) end
local r = string.sub(ops, 3, 3)
if r == '+' then redis.call('ZADD', KEYS[4], 'NX', ARGV[5], ARGV[4]) elseif r == '-' then redis.call('ZREM', KEYS[4], ARGV[4]) end
-- Retention: a finished record nobody has to act on expires a window after its last change (the
-- indexes above no longer name it); open and parked ones are kept, also when parked again later.
local e = string.sub(ops, 4, 4)
if e == 'e' then
  if ARGV[6] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
elseif e == 'p' then
  redis.call('PERSIST', KEYS[1])
end
-- A finished invoice no longer waits for its first poll.
if string.sub(ops, 5, 5) == '-' then redis.call('ZREM', KEYS[6], ARGV[4]) end
-- Paid into, or finished: no longer one of the account's unpaid invoices (a capped lane's slot frees).
if string.sub(ops, 6, 6) == '-' then redis.call('ZREM', KEYS[7], ARGV[4]) end
return 'ok'
