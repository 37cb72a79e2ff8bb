import { createHash } from 'node:crypto';
import OpenAI, { APIConnectionTimeoutError, APIError } from 'openai';
import type pg from 'pg';
import {
  approvalReasons,
  catalogProblems,
  JobMappingAnswer,
  jobMappingJsonSchema,
  jobMappingMessages,
  PROMPT_VERSION,
  type MappingDecision,
  type MappingInput,
} from '../domain/ai';
import { describeInvalid } from '../domain/hr-event';
import { mapByJobCodeTable, mapJobDeterministically } from '../domain/job-matching';
import type { Organisation } from '../domain/organisation';
import { redactMappingInput, redactText, type KnownPerson } from '../domain/redaction';
import {
  normaliseSkillDeterministically,
  SKILLS_PROMPT_VERSION,
  SkillNormalisationAnswer,
  skillNormalisationJsonSchema,
  skillNormalisationMessages,
  type NormalisedSkill,
} from '../domain/skills';

// The AI mapper: an OpenAI-compatible model asked for structured output, checked against the
// catalog, cached, and recorded; the deterministic mapper whenever there is no model or the
// model's answer cannot be used. Nothing that identifies a person is ever sent.

export interface AiConfig {
  apiKey?: string;
  baseUrl?: string;
  model: string;
  timeoutMs: number;
}

export const DEFAULT_MODEL = 'gpt-4o-mini';

/** An OpenAI client when a key is configured, else null (the deterministic mapper answers). */
export function openAiClient(config: AiConfig): OpenAI | null {
  if (!config.apiKey) return null;
  return new OpenAI({ apiKey: config.apiKey, baseURL: config.baseUrl || undefined, timeout: config.timeoutMs, maxRetries: 0 });
}

export interface DecisionRecord {
  kind: 'job-mapping' | 'skill-normalisation';
  employeeId: string | null;
  workflowId: string | null;
  cacheKey: string;
  redactedInput: unknown;
  prompt: unknown;
  model: string | null;
  rawAnswer: string | null;
  parsed: unknown;
  confidence: number | null;
  mapper: 'llm' | 'deterministic';
  fallbackReason: string | null;
  latencyMs: number;
  cached: boolean;
}

export interface DecisionStore {
  /** The answer an earlier LLM call gave to the same question, if any. */
  cachedAnswer(cacheKey: string): Promise<{ rawAnswer: string; parsed: unknown; model: string } | null>;
  record(decision: DecisionRecord): Promise<number>;
}

export function postgresDecisionStore(pool: pg.Pool): DecisionStore {
  return {
    async cachedAnswer(cacheKey) {
      const res = await pool.query(
        `SELECT raw_answer, parsed, model FROM ai_decisions WHERE cache_key = $1 AND mapper = 'llm' AND NOT cached ORDER BY id DESC LIMIT 1`,
        [cacheKey],
      );
      const row = res.rows[0];
      return row ? { rawAnswer: row.raw_answer, parsed: row.parsed, model: row.model } : null;
    },
    async record(d) {
      const res = await pool.query(
        `INSERT INTO ai_decisions (kind, employee_id, workflow_id, cache_key, redacted_input, prompt, model, raw_answer, parsed, confidence, mapper, fallback_reason, latency_ms, cached)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
        [
          d.kind, d.employeeId, d.workflowId, d.cacheKey, JSON.stringify(d.redactedInput), d.prompt === null ? null : JSON.stringify(d.prompt), d.model,
          d.rawAnswer, d.parsed === null ? null : JSON.stringify(d.parsed), d.confidence, d.mapper, d.fallbackReason, d.latencyMs, d.cached,
        ],
      );
      return Number(res.rows[0].id);
    },
  };
}

const hash = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** Why an LLM call could not be used, in words an auditor can read. */
function failureReason(err: unknown, timeoutMs: number): string {
  if (err instanceof APIConnectionTimeoutError) return `the LLM did not answer within ${timeoutMs} ms`;
  if (err instanceof APIError) return `the LLM answered HTTP ${err.status ?? '?'}: ${err.message.slice(0, 200)}`;
  return `the LLM call failed: ${(err as Error).message.slice(0, 200)}`;
}

/** Parses an LLM reply against a schema, or says exactly why it cannot be used. */
function parseReply<T>(raw: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } }): { ok: true; value: T } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: `the LLM answer is not JSON: ${JSON.stringify(raw.slice(0, 80))}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `the LLM answer does not fit the schema: ${describeInvalid(parsed.error).message}` };
  return { ok: true, value: parsed.data };
}

/** One structured-output call for a job mapping; throws when the model cannot be reached. */
export async function mapJobWithLlm(input: MappingInput, org: Organisation, client: OpenAI, model: string) {
  const messages = jobMappingMessages(input, org);
  const started = Date.now();
  const completion = await client.chat.completions.create({
    model,
    messages,
    temperature: 0,
    response_format: { type: 'json_schema', json_schema: { name: 'job_mapping', schema: jobMappingJsonSchema(org) as unknown as Record<string, unknown>, strict: true } },
  });
  const raw = completion.choices[0]?.message?.content ?? '';
  return { messages, raw, latencyMs: Date.now() - started, reply: parseReply(raw, JobMappingAnswer) };
}

export interface DecisionContext {
  person?: KnownPerson;
  employeeId?: string | null;
  workflowId?: string | null;
}

export interface AiMapper {
  mapJob(input: MappingInput, org: Organisation, context?: DecisionContext): Promise<MappingDecision>;
  normaliseSkills(labels: string[], org: Organisation, context?: DecisionContext): Promise<{ decisionId: number; mapper: 'llm' | 'deterministic'; fallbackReason: string | null; skills: NormalisedSkill[] }>;
}

export function aiMapper(options: { client: OpenAI | null; model: string; timeoutMs: number; store: DecisionStore }): AiMapper {
  const { client, model, timeoutMs, store } = options;

  return {
    async mapJob(rawInput, org, context = {}) {
      const started = Date.now();
      const input = redactMappingInput(rawInput, context.person);
      const schema = jobMappingJsonSchema(org);
      const cacheKey = hash(PROMPT_VERSION, model, input, schema);
      const base = { kind: 'job-mapping' as const, employeeId: context.employeeId ?? null, workflowId: context.workflowId ?? null, cacheKey, redactedInput: input };
      const finish = async (answer: JobMappingAnswer, mapper: 'llm' | 'deterministic', extra: Partial<DecisionRecord>): Promise<MappingDecision> => {
        const reasons = approvalReasons(answer, org);
        const decisionId = await store.record({
          ...base,
          prompt: null,
          model: null,
          rawAnswer: null,
          fallbackReason: null,
          cached: false,
          ...extra,
          parsed: answer,
          confidence: answer.confidence,
          mapper,
          latencyMs: Date.now() - started,
        });
        return { ...answer, mapper, needsApproval: reasons.length > 0, approvalReasons: reasons, decisionId, cacheKey, cached: !!extra.cached, fallbackReason: extra.fallbackReason ?? null };
      };
      const deterministic = (fallbackReason: string | null, extra: Partial<DecisionRecord> = {}) =>
        finish(mapJobDeterministically(input, org), 'deterministic', { ...extra, fallbackReason });

      // The organisation's own job-code table is certain; no model is asked what it already says.
      const fromTable = mapByJobCodeTable(input.jobCode, org);
      if (fromTable) return finish(fromTable, 'deterministic', { fallbackReason: null });
      if (!client) return deterministic('no LLM is configured (OPENAI_API_KEY is unset)');

      const hit = await store.cachedAnswer(cacheKey);
      if (hit) {
        const answer = JobMappingAnswer.safeParse(hit.parsed);
        if (answer.success) return finish(answer.data, 'llm', { cached: true, model: hit.model, rawAnswer: hit.rawAnswer });
      }

      let attempt: Awaited<ReturnType<typeof mapJobWithLlm>>;
      try {
        attempt = await mapJobWithLlm(input, org, client, model);
      } catch (err) {
        return deterministic(failureReason(err, timeoutMs), { model, prompt: jobMappingMessages(input, org) });
      }
      const record = { model, prompt: attempt.messages, rawAnswer: attempt.raw };
      if (!attempt.reply.ok) return deterministic(attempt.reply.reason, record);
      const problems = catalogProblems(attempt.reply.value, org);
      if (problems.length) return deterministic(`the LLM answer names things outside the catalog: ${problems.join('; ')}`, record);
      return finish(attempt.reply.value, 'llm', record);
    },

    async normaliseSkills(rawLabels, org, context = {}) {
      const started = Date.now();
      const labels = rawLabels.map((l) => redactText(l, context.person));
      const cacheKey = hash(SKILLS_PROMPT_VERSION, model, labels, org.skills);
      const base = { kind: 'skill-normalisation' as const, employeeId: context.employeeId ?? null, workflowId: context.workflowId ?? null, cacheKey, redactedInput: labels };
      const finish = async (skills: NormalisedSkill[], mapper: 'llm' | 'deterministic', extra: Partial<DecisionRecord>) => {
        const decisionId = await store.record({ ...base, prompt: null, model: null, rawAnswer: null, fallbackReason: null, cached: false, ...extra, parsed: { skills }, confidence: null, mapper, latencyMs: Date.now() - started });
        return { decisionId, mapper, fallbackReason: extra.fallbackReason ?? null, skills };
      };
      const deterministic = (fallbackReason: string, extra: Partial<DecisionRecord> = {}) =>
        finish(labels.map((l) => normaliseSkillDeterministically(l, org)), 'deterministic', { ...extra, fallbackReason });
      if (!client) return deterministic('no LLM is configured (OPENAI_API_KEY is unset)');
      const hit = await store.cachedAnswer(cacheKey);
      const cachedSkills = hit && SkillNormalisationAnswer.safeParse(hit.parsed);
      if (cachedSkills?.success) return finish(cachedSkills.data.skills, 'llm', { cached: true, model: hit!.model, rawAnswer: hit!.rawAnswer });
      const messages = skillNormalisationMessages(labels, org);
      let raw: string;
      try {
        const completion = await client.chat.completions.create({
          model,
          messages,
          temperature: 0,
          response_format: { type: 'json_schema', json_schema: { name: 'skill_normalisation', schema: skillNormalisationJsonSchema(org) as unknown as Record<string, unknown>, strict: true } },
        });
        raw = completion.choices[0]?.message?.content ?? '';
      } catch (err) {
        return deterministic(failureReason(err, timeoutMs), { model, prompt: messages });
      }
      const reply = parseReply(raw, SkillNormalisationAnswer);
      const record = { model, prompt: messages, rawAnswer: raw };
      if (!reply.ok) return deterministic(reply.reason, record);
      const unknown = reply.value.skills.filter((s) => s.skillId !== null && !org.skills.some((x) => x.id === s.skillId));
      if (unknown.length || reply.value.skills.length !== labels.length) {
        return deterministic(`the LLM answer ${unknown.length ? `names skills outside the taxonomy: ${unknown.map((s) => s.skillId).join(', ')}` : 'does not answer every label'}`, record);
      }
      return finish(reply.value.skills, 'llm', record);
    },
  };
}

export function aiActivities(mapper: AiMapper, organisation: () => Organisation) {
  return {
    /** Maps a job the organisation's table does not know; the decision is recorded whatever answers. */
    async mapJobToCatalog(input: { mapping: MappingInput; person: KnownPerson; employeeId: string; workflowId: string }): Promise<MappingDecision> {
      return mapper.mapJob(input.mapping, organisation(), { person: input.person, employeeId: input.employeeId, workflowId: input.workflowId });
    },
  };
}
