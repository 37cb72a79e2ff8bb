-- Up Migration

-- Every vendor delivery the bridge accepted (BambooHR, Okta, SCIM, SFTP files), raw, with the
-- canonical events it produced: nothing that arrived is lost, accepted or not.
CREATE TABLE raw_deliveries (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL,
  endpoint    text NOT NULL,
  headers     jsonb NOT NULL,
  raw_body    text NOT NULL,
  event_ids   text[] NOT NULL DEFAULT '{}',
  note        text
);
CREATE INDEX raw_deliveries_source ON raw_deliveries (source, received_at);

-- The last HR profile seen per employee and source, so a change notification (which often says
-- only "employee 123 changed") can be turned into the events the difference means.
CREATE TABLE hr_snapshots (
  source      text NOT NULL,
  employee_id text NOT NULL,
  profile     jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, employee_id)
);

-- Down Migration
DROP TABLE hr_snapshots;
DROP TABLE raw_deliveries;
