-- Up Migration

-- Each reconciliation run and its exception report: what drifted, what was handed to the
-- employee workflows to fix, and what needs a person.
CREATE TABLE reconciliation_runs (
  run_id      text PRIMARY KEY,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz,
  dry_run     boolean NOT NULL,
  checked     integer NOT NULL DEFAULT 0,
  drift       integer NOT NULL DEFAULT 0,
  needs_human integer NOT NULL DEFAULT 0,
  report      jsonb NOT NULL
);

-- Down Migration
DROP TABLE reconciliation_runs;
