-- Up Migration

-- Every batch file taken from the SFTP drop (a nightly HRIS worker export), as it arrived: its
-- bytes, checksum, what became of it and the counts of its report. A file whose sha256 was
-- already processed is recorded as a duplicate of that one and applies nothing.
CREATE TABLE batch_files (
  id              bigserial PRIMARY KEY,
  source          text NOT NULL,
  file_name       text NOT NULL,
  remote_path     text NOT NULL,
  size_bytes      bigint NOT NULL,
  sha256          text NOT NULL,
  modified_at     timestamptz,
  received_at     timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  status          text NOT NULL CHECK (status IN ('processing', 'processed', 'duplicate', 'failed')),
  reason          text,
  duplicate_of    bigint REFERENCES batch_files (id),
  rows_total      integer,
  rows_applied    integer,
  rows_unchanged  integer,
  rows_skipped    integer,
  missing_count   integer,
  event_count     integer,
  report          jsonb,
  content         bytea NOT NULL,
  raw_delivery_id bigint,
  dead_letter_id  bigint,
  moved_to        text
);
CREATE INDEX batch_files_sha256 ON batch_files (source, sha256);
-- A file's content is applied once: at most one processed record per checksum.
CREATE UNIQUE INDEX batch_files_processed_once ON batch_files (source, sha256) WHERE status = 'processed';
CREATE INDEX batch_files_received ON batch_files (source, received_at);

-- The rows of a batch file that were not applied, with the line, the field, the problem and the
-- raw line, for HR to correct at the source.
CREATE TABLE batch_row_errors (
  id            bigserial PRIMARY KEY,
  batch_file_id bigint NOT NULL REFERENCES batch_files (id) ON DELETE CASCADE,
  line          integer NOT NULL,
  employee_id   text,
  field         text NOT NULL,
  problem       text NOT NULL,
  value         text,
  issues        jsonb NOT NULL DEFAULT '[]',
  raw_line      text NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_row_errors_file ON batch_row_errors (batch_file_id, line);
CREATE INDEX batch_row_errors_employee ON batch_row_errors (employee_id);

-- One poller at a time per drop folder, across processes (a lease rather than an advisory lock,
-- so it holds no connection of the pool: embedded PGlite has only one).
CREATE TABLE batch_poll_leases (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Down Migration
DROP TABLE batch_poll_leases;
DROP TABLE batch_row_errors;
DROP TABLE batch_files;
