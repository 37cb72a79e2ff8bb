-- Up Migration

-- Every AI mapper decision, LLM or deterministic: what was asked (redacted), how, what came back
-- and what was made of it. The cache key lets identical questions be answered without asking.
CREATE TABLE ai_decisions (
  id              bigserial PRIMARY KEY,
  created_at      timestamptz NOT NULL DEFAULT now(),
  kind            text NOT NULL,
  employee_id     text,
  workflow_id     text,
  cache_key       text NOT NULL,
  redacted_input  jsonb NOT NULL,
  prompt          jsonb,
  model           text,
  raw_answer      text,
  parsed          jsonb,
  confidence      double precision,
  mapper          text NOT NULL,
  fallback_reason text,
  latency_ms      integer NOT NULL,
  cached          boolean NOT NULL DEFAULT false
);
CREATE INDEX ai_decisions_cache ON ai_decisions (cache_key, id DESC) WHERE mapper = 'llm' AND NOT cached;
CREATE INDEX ai_decisions_employee ON ai_decisions (employee_id, id);

-- Down Migration
DROP TABLE ai_decisions;
