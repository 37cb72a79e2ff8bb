-- Up Migration

-- Identity-provider events taken by the bridge, once per provider event id (Okta delivers at
-- least once): a redelivered uuid is answered as a duplicate and signals nothing.
CREATE TABLE identity_events (
  provider     text NOT NULL,
  uuid         text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  change       text NOT NULL,
  workflow_id  text NOT NULL,
  PRIMARY KEY (provider, uuid)
);

-- Down Migration
DROP TABLE identity_events;
