-- Reads a record and, when it is a fresh queued order (no `submitting` marker, not parked), writes
-- the submit marker in the same step (InvoiceStore.markFresh): the common first attempt of a create
-- job in one round trip instead of a read and then apply.lua.
-- KEYS: record, the lane's listing index, the lane prefix's listing clock
-- ARGV: the marker (ms), updated_at, id
-- Returns {} when there is no record; else { 'marked' or 'as-is', the record as it was (HGETALL's
-- name, value list) }. 'as-is': nothing written, the caller decides on that copy (apply.lua).
-- The change is what apply.lua makes of a fields-only change that moves no index: the fields, the
-- version, and the record to the end of the listing index (every change moves it there).
local raw = redis.call('HGETALL', KEYS[1])
local f = {}
for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
if not f.status then return {} end
if f.status ~= 'queued' or f.reconcile or f.submitting then return { 'as-is', raw } end
local attempts = tonumber(f.submit_attempts or '0') + 1
redis.call('HSET', KEYS[1], 'version', tostring(tonumber(f.version) + 1), 'updated_at', ARGV[2], 'submitting', ARGV[1], 'submit_attempts', tostring(attempts))
local clock = KEYS[3]
-- include: listing-score.lua
redis.call('ZADD', KEYS[2], score, ARGV[3])
return { 'marked', raw }
