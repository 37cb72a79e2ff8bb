-- Up Migration

-- `hrsync audit` finds the raw deliveries behind a person's events (event_ids && $1): without an
-- index that is a scan of every delivery ever kept.
CREATE INDEX raw_deliveries_event_ids ON raw_deliveries USING gin (event_ids);

-- Down Migration
DROP INDEX raw_deliveries_event_ids;
