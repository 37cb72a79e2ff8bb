-- Up Migration

-- Users an identity provider (Okta, Entra) pushed to /scim/v2, as the SCIM resources it sent.
-- A DELETE only marks the row deleted (the person is deactivated and the id answers 404 from
-- then on); the userName is then free for a new resource.
CREATE TABLE scim_users (
  id            uuid PRIMARY KEY,
  user_name     text NOT NULL,
  external_id   text,
  -- The HR employee id the resource maps to: the enterprise employeeNumber, else externalId.
  employee_id   text,
  active        boolean NOT NULL DEFAULT true,
  -- The resource without id, meta and groups (those are the server's), passwords never kept.
  resource      jsonb NOT NULL,
  created       timestamptz NOT NULL DEFAULT now(),
  last_modified timestamptz NOT NULL DEFAULT now(),
  version       integer NOT NULL DEFAULT 1,
  deleted_at    timestamptz
);
-- userName is unique, compared without regard to case (RFC 7643 §4.1: caseExact false).
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (lower(user_name)) WHERE deleted_at IS NULL;
CREATE INDEX scim_users_external_id ON scim_users (external_id);
CREATE INDEX scim_users_employee ON scim_users (employee_id);
CREATE INDEX scim_users_listing ON scim_users (created, id) WHERE deleted_at IS NULL;

CREATE TABLE scim_groups (
  id            uuid PRIMARY KEY,
  display_name  text NOT NULL,
  external_id   text,
  -- The resource without id, meta and members (members are rows of scim_group_members).
  resource      jsonb NOT NULL,
  created       timestamptz NOT NULL DEFAULT now(),
  last_modified timestamptz NOT NULL DEFAULT now(),
  version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (lower(display_name));
CREATE INDEX scim_groups_external_id ON scim_groups (external_id);

CREATE TABLE scim_group_members (
  group_id uuid NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);

-- Down Migration
DROP TABLE scim_group_members;
DROP TABLE scim_groups;
DROP TABLE scim_users;
