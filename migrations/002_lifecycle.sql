-- Up Migration

-- Training records archived when someone leaves, each kept until its retention date.
CREATE TABLE training_archive (
  employee_id     text NOT NULL,
  course_id       text NOT NULL,
  separated_on    date NOT NULL,
  status          text NOT NULL,
  completed_at    text,
  due_date        date,
  retention_until date NOT NULL,
  workflow_id     text NOT NULL,
  archived_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (employee_id, course_id, separated_on)
);

-- Identity-provider groups a person was granted (access_grant events): they carry training.
CREATE TABLE access_grants (
  employee_id text NOT NULL,
  group_name  text NOT NULL,
  event_id    text NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (employee_id, group_name)
);

-- Messages to people (a contract-end reminder to the sponsor), written once and sent by a mailer.
CREATE TABLE notifications (
  id              bigserial PRIMARY KEY,
  recipient_id    text,
  about_employee  text NOT NULL,
  kind            text NOT NULL,
  subject         text NOT NULL,
  detail          jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  idempotency_key text UNIQUE NOT NULL
);

-- Down Migration
DROP TABLE notifications;
DROP TABLE access_grants;
DROP TABLE training_archive;
