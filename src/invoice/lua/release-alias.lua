-- Gives a reservation back (InvoiceStore.releaseAlias): only a reservation for this order, never a record.
-- KEYS: the reserved record key. ARGV: the order's foreign_id.
-- Returns 1.
if redis.call('HEXISTS', KEYS[1], 'status') == 0 and redis.call('HGET', KEYS[1], 'alias_of') == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1
