-- Up Migration

-- Every HR event the bridge accepted, once per event id: the redelivery check and the raw input.
CREATE TABLE hr_events (
  event_id     text PRIMARY KEY,
  employee_id  text NOT NULL,
  type         text NOT NULL,
  source       text NOT NULL,
  workflow_id  text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz,
  deliveries   integer NOT NULL DEFAULT 1,
  payload      jsonb NOT NULL
);
CREATE INDEX hr_events_employee ON hr_events (employee_id, received_at);

-- The audit trail: one row per delivery, decision and plan step taken, skipped or failed.
CREATE TABLE audit_log (
  id              bigserial PRIMARY KEY,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  employee_id     text NOT NULL,
  event_id        text,
  workflow_id     text,
  run_id          text,
  kind            text NOT NULL,
  action          text NOT NULL,
  step            jsonb,
  result          text NOT NULL,
  detail          jsonb,
  idempotency_key text UNIQUE
);
CREATE INDEX audit_log_employee ON audit_log (employee_id, id);
CREATE INDEX audit_log_event ON audit_log (event_id);

-- Every delivery that was turned away, with the raw body, so nothing is lost.
CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL,
  endpoint    text NOT NULL,
  status      integer NOT NULL,
  reason      text NOT NULL,
  detail      jsonb,
  headers     jsonb NOT NULL,
  raw_body    text NOT NULL
);

-- Down Migration
DROP TABLE dead_letters;
DROP TABLE audit_log;
DROP TABLE hr_events;
