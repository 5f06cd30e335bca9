-- Takes a slot of a lane's unpaid index for an order (InvoiceStore.reserveUnpaid).
-- KEYS: a lane's unpaid index. ARGV: record id, the cap, now ms.
-- Returns 1: a slot for the order (one it holds already stands); 0: the lane already holds `cap`
-- unpaid invoices.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
