-- Not a script of its own: included by accept.lua and apply.lua, after they set the local `clock`
-- to the lane prefix's listing clock key. Leaves the score in the local `score`.
--
-- The listing indexes' score (ms, with microseconds): Redis's own clock, and strictly after the last
-- score given under this lane prefix (its clock key), so an entry written after a listing page was
-- read always sorts after that page, whatever the writers' clocks say and however close they are.
-- Scripts run one at a time, so the order of scores is the order of the writes.
local t = redis.call('TIME')
local score = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local last = tonumber(redis.call('GET', clock) or '0')
if score <= last then score = last + 0.001 end
redis.call('SET', clock, score)
