-- Up Migration

-- Completions reported by the LMS (webhook or poller), one row per completion however often it
-- arrives: the intake's deduplication, with the workflow that handles it.
CREATE TABLE completions (
  completion_key text PRIMARY KEY,
  employee_id    text NOT NULL,
  course_id      text NOT NULL,
  completed_at   timestamptz NOT NULL,
  score          numeric,
  source         text NOT NULL,
  workflow_id    text NOT NULL,
  deliveries     integer NOT NULL DEFAULT 1,
  received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX completions_employee ON completions (employee_id, completed_at);

-- The training record (SPEC §10): who, what, when, how well, valid until, kept until, and the
-- regulation it answers; written once per completion by the workflow that handled it.
CREATE TABLE training_records (
  completion_key   text PRIMARY KEY,
  employee_id      text NOT NULL,
  course_id        text NOT NULL,
  course_title     text,
  completed_at     timestamptz NOT NULL,
  score            numeric,
  expires_at       timestamptz,
  regulation       text,
  requirement      text,
  retention_years  integer NOT NULL,
  source           text NOT NULL,
  workflow_id      text NOT NULL,
  run_id           text NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_records_employee ON training_records (employee_id, course_id, completed_at);

-- How far the completion poller has read each LMS's change feed.
CREATE TABLE lms_watermarks (
  source       text PRIMARY KEY,
  watermark    text,
  polled_at    timestamptz NOT NULL DEFAULT now(),
  last_count   integer NOT NULL DEFAULT 0
);

-- Down Migration
DROP TABLE lms_watermarks;
DROP TABLE training_records;
DROP TABLE completions;
