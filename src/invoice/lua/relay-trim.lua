-- Removes the published entries from the head of the outbox only while they are still there, and
-- renews the lock if it is still ours (OutboxRelay). A plain "LTRIM n" is not safe to run twice or
-- late: a trim resent after its reply was lost (clients resend unanswered commands on reconnect) or
-- one run after the lock expired and another relay already published and trimmed would drop
-- entries that nobody published.
-- KEYS: outbox, lock. ARGV: owner, lock ms, the published entries in order.
-- Returns { entries removed, 1 if the lock is still ours else 0, entries left in the outbox } (none
-- left: the pass ends without another read).
local n = #ARGV - 2
local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
local same = 0
for i = 1, n do
  if head[i] ~= ARGV[i + 2] then break end
  same = i
end
if same > 0 then redis.call('LTRIM', KEYS[1], same, -1) end
local ours = 0
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  ours = 1
end
return { same, ours, redis.call('LLEN', KEYS[1]) }
