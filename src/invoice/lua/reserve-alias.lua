-- Reserves a provider-side foreign_id for an order (InvoiceStore.reserveAlias).
-- KEYS: the record key the reserved id would have. ARGV: hash marker, the order's foreign_id, now.
-- Returns 1 when reserved, 0 when the key is taken (a record, or another reservation).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'alias_of', ARGV[2], 'reserved_at', ARGV[3])
return 1
