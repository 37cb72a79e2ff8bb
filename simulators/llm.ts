import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createApp, serve, type RunningServer } from './http';

// An OpenAI-compatible LLM: POST /v1/chat/completions (with structured output) and GET /v1/models,
// Bearer auth, OpenAI's error bodies. It answers deterministically from hrsync's own task messages
// (the user message is JSON with a "task" of "map-job" or "normalise-skills"), so the same prompt
// always gets the same answer. Rough edges of the real API kept: the answer is a JSON *string* in
// `choices[0].message.content`, `model` is echoed back, a strict json_schema that does not close
// every object (`additionalProperties: false`, every property required) is refused with 400,
// `json_object` needs the word "JSON" somewhere in the messages, errors come as
// `{ error: { message, type, param, code } }`, a 429 carries `retry-after`. Failure modes (a 500 or
// 429, a request that hangs, prose instead of JSON, JSON off the schema, names off the catalog) and
// scripted answers are set over /sim, and every request is recorded with its key redacted.

export const LLM_SIMULATOR_MODEL = 'hrsync-sim-1';

export const LLM_MODES = ['ok', 'fail', 'timeout', 'garbage', 'off-schema', 'off-catalog'] as const;
export type LlmMode = (typeof LLM_MODES)[number];

export interface LlmSimulatorOptions {
  port?: number;
  /** The only key accepted; unset: any non-empty Bearer key. */
  apiKey?: string;
}

export interface LlmModeOptions {
  /** For `fail`: the status to answer with (default 500); 429 also sends `retry-after`. */
  status?: number;
  /** For `fail` with 429: the `retry-after` header in seconds (default 1). */
  retryAfterSeconds?: number;
}

export interface LlmModeState extends Required<LlmModeOptions> {
  mode: LlmMode;
  /** How many more requests get the mode before it returns to `ok`; null: until changed. */
  remaining: number | null;
}

export interface RecordedLlmRequest {
  at: string;
  method: string;
  path: string;
  /** The request headers, `authorization` (and `api-key`) redacted. */
  headers: Record<string, unknown>;
  /** The parsed JSON body; null when there was none or it could not be parsed. */
  body: unknown;
}

export interface ScriptedAnswer {
  titleContains: string;
  answer: Record<string, unknown>;
}

export interface LlmSimulator extends RunningServer {
  apiKey: string | undefined;
  /** Every /v1 request so far, oldest first (`GET /sim/requests`). */
  requests(): RecordedLlmRequest[];
  clearRequests(): void;
  /** The next `count` completion requests (all of them, without a count) get this mode. */
  setMode(mode: LlmMode, count?: number, options?: LlmModeOptions): void;
  mode(): LlmModeState;
  /** A map-job request whose input.jobTitle contains this text (case-insensitive) gets exactly this answer. */
  scriptAnswer(titleContains: string, answer: Record<string, unknown>): void;
  clearAnswers(): void;
}

// --- OpenAI-style errors -----------------------------------------------------------------------

class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const invalid = (message: string, param: string | null, code: string | null = null) =>
  new OpenAiError(400, message, 'invalid_request_error', param, code);

function sendError(reply: FastifyReply, err: OpenAiError) {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  return reply.code(err.status).send(err.body());
}

// --- Request validation --------------------------------------------------------------------------

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];

interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  responseFormat: { type: 'text' | 'json_object' | 'json_schema'; name?: string; schema?: unknown; strict?: boolean } | null;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v);

function messageText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        const p = part as { type?: unknown; text?: unknown };
        if (p?.type !== 'text' || typeof p.text !== 'string') {
          throw invalid(`Invalid '${param}[${i}]': the simulator only reads text content parts ({ type: 'text', text }).`, `${param}[${i}]`, 'invalid_value');
        }
        return p.text;
      })
      .join('');
  }
  if (content === null || content === undefined) return '';
  throw invalid(`Invalid type for '${param}': expected one of a string or array of objects, but got ${typeName(content)} instead.`, param, 'invalid_type');
}

function validateChatRequest(body: unknown): ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('The request body must be a JSON object with "model" and "messages".', null);
  }
  const b = body as Record<string, unknown>;
  if (b.model === undefined || b.model === null || b.model === '') throw invalid("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (typeof b.model !== 'string') throw invalid(`Invalid type for 'model': expected a string, but got ${typeName(b.model)} instead.`, 'model', 'invalid_type');
  if (b.messages === undefined) throw invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(b.messages)) throw invalid(`Invalid type for 'messages': expected an array, but got ${typeName(b.messages)} instead.`, 'messages', 'invalid_type');
  if (b.messages.length === 0) {
    throw invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  const messages = b.messages.map((m: unknown, i: number) => {
    const param = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid(`Invalid type for '${param}': expected an object, but got ${typeName(m)} instead.`, param, 'invalid_type');
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (role === undefined) throw invalid(`Missing required parameter: '${param}.role'.`, `${param}.role`, 'missing_required_parameter');
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      throw invalid(`Invalid value: '${String(role)}'. Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`, `${param}.role`, 'invalid_value');
    }
    if (content === undefined && role !== 'assistant') throw invalid(`Missing required parameter: '${param}.content'.`, `${param}.content`, 'missing_required_parameter');
    return { role, content: messageText(content, `${param}.content`) };
  });
  if (b.temperature !== undefined && b.temperature !== null) {
    if (typeof b.temperature !== 'number' || !Number.isFinite(b.temperature)) {
      throw invalid(`Invalid type for 'temperature': expected a decimal, but got ${typeName(b.temperature)} instead.`, 'temperature', 'invalid_type');
    }
    if (b.temperature > 2) throw invalid(`Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${b.temperature} instead.`, 'temperature', 'decimal_above_max_value');
    if (b.temperature < 0) throw invalid(`Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got ${b.temperature} instead.`, 'temperature', 'decimal_below_min_value');
  }
  if (b.stream === true) throw invalid('The simulator does not stream; leave "stream" unset or false.', 'stream', 'unsupported_value');
  if (b.n !== undefined && b.n !== null && b.n !== 1) throw invalid('The simulator answers one choice; "n" must be 1.', 'n', 'unsupported_value');
  return { model: b.model, messages, responseFormat: validateResponseFormat(b.response_format, messages) };
}

function validateResponseFormat(value: unknown, messages: ChatRequest['messages']): ChatRequest['responseFormat'] {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`Invalid type for 'response_format': expected an object, but got ${typeName(value)} instead.`, 'response_format', 'invalid_type');
  }
  const rf = value as { type?: unknown; json_schema?: unknown };
  if (rf.type === undefined) throw invalid("Missing required parameter: 'response_format.type'.", 'response_format.type', 'missing_required_parameter');
  if (rf.type === 'text') return { type: 'text' };
  if (rf.type === 'json_object') {
    if (!messages.some((m) => /json/i.test(m.content))) {
      throw invalid("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages', null);
    }
    return { type: 'json_object' };
  }
  if (rf.type !== 'json_schema') {
    throw invalid(`Invalid value: '${String(rf.type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`, 'response_format.type', 'invalid_value');
  }
  if (typeof rf.json_schema !== 'object' || rf.json_schema === null) {
    throw invalid("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema', 'missing_required_parameter');
  }
  const js = rf.json_schema as { name?: unknown; schema?: unknown; strict?: unknown };
  if (js.name === undefined) throw invalid("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'missing_required_parameter');
  if (typeof js.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(js.name)) {
    throw invalid(
      `Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
      'response_format.json_schema.name',
      'invalid_value',
    );
  }
  if (js.schema !== undefined && (typeof js.schema !== 'object' || js.schema === null || Array.isArray(js.schema))) {
    throw invalid(`Invalid type for 'response_format.json_schema.schema': expected an object, but got ${typeName(js.schema)} instead.`, 'response_format.json_schema.schema', 'invalid_type');
  }
  if (js.strict === true) {
    const problem = strictSchemaProblem(js.schema ?? {}, []);
    if (problem) throw invalid(`Invalid schema for response_format '${js.name}': ${problem}`, 'response_format', 'invalid_json_schema');
  }
  return { type: 'json_schema', name: js.name, schema: js.schema, strict: js.strict === true };
}

/** What OpenAI's strict mode refuses: an object that is not closed, or a property that is not required. */
function strictSchemaProblem(schema: unknown, context: string[]): string | null {
  if (typeof schema !== 'object' || schema === null) return null;
  const s = schema as Record<string, unknown>;
  const where = `In context=(${context.map((c) => `'${c}'`).join(', ')})`;
  const isObject = s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object')) || typeof s.properties === 'object';
  if (isObject) {
    if (s.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const keys = Object.keys((s.properties as Record<string, unknown>) ?? {});
    const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
    const missing = keys.filter((k) => !required.includes(k));
    if (missing.length) return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    for (const k of keys) {
      const problem = strictSchemaProblem((s.properties as Record<string, unknown>)[k], [...context, 'properties', k]);
      if (problem) return problem;
    }
  }
  if (s.items !== undefined) {
    const problem = strictSchemaProblem(s.items, [...context, 'items']);
    if (problem) return problem;
  }
  for (const key of ['anyOf', 'allOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) {
      for (const [i, sub] of list.entries()) {
        const problem = strictSchemaProblem(sub, [...context, key, String(i)]);
        if (problem) return problem;
      }
    }
  }
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = s[key];
    if (typeof defs === 'object' && defs !== null) {
      for (const [name, sub] of Object.entries(defs)) {
        const problem = strictSchemaProblem(sub, [...context, key, name]);
        if (problem) return problem;
      }
    }
  }
  return null;
}

// --- The tasks it understands --------------------------------------------------------------------

const MapJobTask = z.object({
  task: z.literal('map-job'),
  // Only these five attributes are read; anything else in `input` is stripped unread.
  input: z.object({
    jobTitle: z.string().trim().min(1),
    jobCode: z.string().nullish(),
    department: z.string().nullish(),
    site: z.string().nullish(),
    employmentType: z.string().nullish(),
  }),
  catalog: z.object({
    jobCodes: z.array(
      z.object({
        code: z.string(),
        title: z.string(),
        role: z.string(),
        groups: z.array(z.string()).default([]),
        curricula: z.array(z.string()).default([]),
      }),
    ),
    roles: z.array(z.union([z.string(), z.object({ id: z.string() })])).default([]),
    groups: z.array(z.string()).default([]),
    curricula: z.array(z.union([z.string(), z.object({ id: z.string() })])).default([]),
    sites: z.array(z.object({ code: z.string(), name: z.string().default(''), kind: z.string().default('') })).default([]),
    departments: z.array(z.object({ code: z.string(), name: z.string().default('') })).default([]),
  }),
});
type MapJobTask = z.infer<typeof MapJobTask>;

const NormaliseSkillsTask = z.object({
  task: z.literal('normalise-skills'),
  labels: z.array(z.string()),
  taxonomy: z.array(z.object({ id: z.string(), label: z.string(), aliases: z.array(z.string()).default([]) })),
});
type NormaliseSkillsTask = z.infer<typeof NormaliseSkillsTask>;

type Task = MapJobTask | NormaliseSkillsTask;

const UNSUPPORTED =
  'The simulator answers hrsync task messages only: the last user message must be JSON with a "task" of "map-job" or "normalise-skills".';

function readTask(messages: ChatRequest['messages']): Task {
  const index = messages.map((m) => m.role).lastIndexOf('user');
  if (index < 0) throw invalid(`${UNSUPPORTED} There is no user message.`, 'messages', 'unsupported_task');
  const param = `messages[${index}].content`;
  let json: unknown;
  try {
    json = JSON.parse(messages[index]!.content);
  } catch {
    throw invalid(`${UNSUPPORTED} The last user message is not JSON.`, param, 'unsupported_task');
  }
  const task = (json as { task?: unknown } | null)?.task;
  const schema = task === 'map-job' ? MapJobTask : task === 'normalise-skills' ? NormaliseSkillsTask : null;
  if (!schema) throw invalid(`${UNSUPPORTED} Got task ${JSON.stringify(task ?? null)}.`, param, 'unsupported_task');
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    throw invalid(`Invalid '${param}': the ${String(task)} task's ${field} ${issue.message.replace(/^Invalid input: /, '')}.`, param, 'invalid_value');
  }
  return parsed.data;
}

// --- Deterministic answers -----------------------------------------------------------------------

const ABBREVIATIONS: Record<string, string> = {
  sr: 'senior',
  snr: 'senior',
  jr: 'junior',
  tech: 'technician',
  techn: 'technician',
  op: 'operator',
  opr: 'operator',
  oper: 'operator',
  maint: 'maintenance',
  mnt: 'maintenance',
  supv: 'supervisor',
  sup: 'supervisor',
  supvr: 'supervisor',
  mgr: 'manager',
  asst: 'assistant',
  ast: 'assistant',
  proc: 'process',
  chem: 'chemical',
  prod: 'production',
  spec: 'specialist',
  admin: 'administrative',
};
const STOP_WORDS = new Set(['a', 'an', 'and', 'the', 'of', 'for', 'in', 'at', 'to']);

/** Lower-case words, abbreviations expanded, stop words dropped, each once, in order. */
function words(text: string, expand = true): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().split(/[^a-z0-9]+/)) {
    if (!raw || STOP_WORDS.has(raw)) continue;
    const word = expand ? (ABBREVIATIONS[raw] ?? raw) : raw;
    if (!out.includes(word)) out.push(word);
  }
  return out;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const quoteList = (list: string[]) => list.map((w) => `"${w}"`).join(', ');

/** Words a kind of site makes more likely in a job title; only ever breaks a tie. */
const SITE_KIND_WORDS: Record<string, string[]> = {
  chemical: ['chemical', 'process', 'operator'],
  manufacturing: ['production', 'forklift', 'maintenance'],
  healthcare: ['nurse', 'medical', 'clinical', 'registered'],
  office: ['hr', 'financial', 'administrative', 'analyst', 'generalist'],
  warehouse: ['forklift', 'operator'],
};

function mapJob(task: MapJobTask): Record<string, unknown> {
  const { input, catalog } = task;
  const titleWords = words(input.jobTitle);
  const roleIds = catalog.roles.map((r) => (typeof r === 'string' ? r : r.id));
  const defaultRole = roleIds.includes('learner') ? 'learner' : (roleIds[0] ?? 'learner');

  const lower = (s: string | null | undefined) => (s ?? '').trim().toLowerCase();
  const department = catalog.departments.find((d) => lower(d.code) === lower(input.department) || lower(d.name) === lower(input.department));
  const departmentWords = input.department ? words(department ? `${department.name} ${department.code}` : input.department) : [];
  const site = catalog.sites.find((s) => lower(s.code) === lower(input.site) || lower(s.name) === lower(input.site));
  const siteWords = site ? (SITE_KIND_WORDS[site.kind] ?? [site.kind]) : [];

  const measure = (index: number) => {
    const jobWords = words(catalog.jobCodes[index]!.title);
    const shared = titleWords.filter((w) => jobWords.includes(w));
    const distinct = new Set([...titleWords, ...jobWords]).size;
    // Department and site only break a tie between equally good titles; they never raise the score.
    const hintWords = jobWords.filter((w) => departmentWords.includes(w) || siteWords.includes(w));
    const hint = jobWords.filter((w) => departmentWords.includes(w)).length * 2 + jobWords.filter((w) => siteWords.includes(w)).length;
    return { index, shared, distinct, score: shared.length / distinct, hint, hintWords };
  };
  const candidates = catalog.jobCodes.map((_, i) => measure(i)).filter((c) => c.shared.length > 0);
  const chosen = candidates.reduce<(typeof candidates)[number] | null>(
    (best, c) => (!best || c.score > best.score || (c.score === best.score && c.hint > best.hint) ? c : best),
    null,
  );

  if (!chosen) {
    return {
      jobCode: null,
      role: defaultRole,
      groups: [],
      curricula: [],
      confidence: 0.35,
      rationale: `No catalog job title shares a word with the title "${input.jobTitle}", so no job code is proposed and the default role "${defaultRole}" is given; a person should decide.`,
    };
  }
  const job = catalog.jobCodes[chosen.index]!;
  const tied = candidates.filter((c) => c !== chosen && c.score === chosen.score);
  const read = titleWords.join(' ') !== words(input.jobTitle, false).join(' ') ? ` (read as "${titleWords.join(' ')}")` : '';
  let rationale =
    `The title "${input.jobTitle}"${read} shares the words ${quoteList(chosen.shared)} with the catalog job "${job.title}" (${job.code}): ` +
    `${chosen.shared.length} of ${chosen.distinct} distinct words.`;
  if (tied.length) {
    const others = tied.map((t) => catalog.jobCodes[t.index]!.code).join(', ');
    rationale += tied.every((t) => t.hint < chosen.hint)
      ? ` It ties with ${others} on the title; the department and site (${quoteList(chosen.hintWords)}) tip it.`
      : ` It ties with ${others} on the title; the first in the catalog is taken, so this is a guess.`;
  }
  return {
    jobCode: job.code,
    role: job.role,
    groups: job.groups,
    curricula: job.curricula,
    confidence: round2(chosen.score),
    rationale,
  };
}

function normaliseSkills(task: NormaliseSkillsTask) {
  const phrase = (s: string) => words(s, false).join(' ');
  return {
    skills: task.labels.map((label) => {
      const l = phrase(label);
      let best: { skillId: string; confidence: number } | null = null;
      for (const entry of task.taxonomy) {
        for (const name of [entry.label, ...entry.aliases, entry.id.replace(/[-_.]/g, ' ')]) {
          const n = phrase(name);
          if (!n || !l) continue;
          let confidence = 0;
          if (n === l) confidence = 0.95;
          else if (` ${l} `.includes(` ${n} `) || ` ${n} `.includes(` ${l} `)) confidence = 0.8;
          else {
            const lw = l.split(' ');
            const nw = n.split(' ');
            const shared = lw.filter((w) => nw.includes(w)).length;
            if (shared) confidence = round2(0.3 + (0.4 * shared) / new Set([...lw, ...nw]).size);
          }
          if (confidence > (best?.confidence ?? 0)) best = { skillId: entry.id, confidence };
        }
      }
      return best ? { label, ...best } : { label, skillId: null, confidence: 0.2 };
    }),
  };
}

// --- The failure modes' answers ------------------------------------------------------------------

const GARBAGE =
  "Sure! Based on the job title, I'd suggest the operator role with the usual safety groups. " +
  'Let me know if you would like me to format this as JSON.';

function offSchema(task: Task): unknown {
  if (task.task === 'map-job') return { job: task.input.jobTitle, role: 'operator', confidence: 'high' };
  return { skills: task.labels.map((label) => ({ name: label, match: 'probably' })) };
}

function offCatalog(task: Task): unknown {
  if (task.task === 'map-job') {
    return {
      jobCode: null,
      role: 'astronaut',
      groups: ['moon-base'],
      curricula: [],
      confidence: 0.97,
      rationale: `"${task.input.jobTitle}" is clearly suited to the lunar programme: the astronaut role and the moon-base group.`,
    };
  }
  return { skills: task.labels.map((label) => ({ label, skillId: 'underwater-basket-weaving', confidence: 0.97 })) };
}

// --- The server ----------------------------------------------------------------------------------

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startLlmSimulator(options: LlmSimulatorOptions = {}): Promise<LlmSimulator> {
  const apiKey = options.apiKey;
  const recorded: RecordedLlmRequest[] = [];
  const recordOf = new WeakMap<FastifyRequest, RecordedLlmRequest>();
  const scripted: ScriptedAnswer[] = [];
  const pending = new Set<() => void>();
  let state: LlmModeState = { mode: 'ok', remaining: null, status: 500, retryAfterSeconds: 1 };
  let completions = 0;

  const setMode = (mode: LlmMode, count?: number, modeOptions: LlmModeOptions = {}) => {
    state = {
      mode,
      remaining: mode === 'ok' || count === undefined ? null : count,
      status: modeOptions.status ?? 500,
      retryAfterSeconds: modeOptions.retryAfterSeconds ?? 1,
    };
  };
  /** The mode this request gets; a counted mode returns to `ok` once spent. */
  const takeMode = (): LlmModeState => {
    const current = { ...state };
    if (state.remaining !== null && --state.remaining <= 0) setMode('ok');
    return current;
  };

  const app = createApp();
  const isApi = (url: string) => url.startsWith('/v1/') || url === '/v1';

  app.addHook('onRequest', async (req) => {
    if (!isApi(req.url)) return;
    const headers: Record<string, unknown> = { ...req.headers };
    for (const name of ['authorization', 'api-key']) if (name in headers) headers[name] = '[redacted]';
    const record: RecordedLlmRequest = { at: new Date().toISOString(), method: req.method, path: req.url, headers, body: null };
    recorded.push(record);
    recordOf.set(req, record);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (isApi(req.url)) {
      reply.header('x-request-id', `req_${randomBytes(12).toString('hex')}`);
      reply.header('openai-version', '2020-10-01');
      reply.header('openai-processing-ms', '1');
    }
    return payload;
  });

  // Authorised after the body is read, so a refused request is still recorded with what it sent.
  app.addHook('preHandler', async (req, reply) => {
    if (!isApi(req.url)) return;
    const record = recordOf.get(req);
    if (record) record.body = req.body ?? null;
    const header = req.headers.authorization ?? '';
    const key = /^Bearer\s+(.*)$/i.exec(header)?.[1]?.trim() ?? '';
    if (!key) {
      return sendError(
        reply,
        new OpenAiError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          'invalid_request_error',
          null,
          null,
        ),
      );
    }
    if (apiKey !== undefined && key !== apiKey) {
      const shown = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 20))}${key.slice(-4)}` : '*'.repeat(key.length);
      return sendError(reply, new OpenAiError(401, `Incorrect API key provided: ${shown}.`, 'invalid_request_error', null, 'invalid_api_key'));
    }
  });

  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (!isApi(req.url)) return reply.code(status).send({ error: err.message });
    if (status === 400) {
      return sendError(
        reply,
        invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
          null,
        ),
      );
    }
    return sendError(reply, new OpenAiError(status, err.message, status === 500 ? 'server_error' : 'invalid_request_error'));
  });

  app.setNotFoundHandler((req, reply) => {
    if (!isApi(req.url)) return reply.code(404).send({ error: `no route ${req.method} ${req.url}` });
    return sendError(reply, new OpenAiError(404, `Invalid URL (${req.method} ${req.url.split('?')[0]})`, 'invalid_request_error'));
  });

  const model = { id: LLM_SIMULATOR_MODEL, object: 'model', created: 1_767_225_600, owned_by: 'hrsync' };
  app.get('/v1/models', async () => ({ object: 'list', data: [model] }));
  app.get('/v1/models/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (id !== model.id) {
      return sendError(reply, new OpenAiError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found'));
    }
    return model;
  });

  app.post('/v1/chat/completions', async (req, reply) => {
    let request: ChatRequest;
    let task: Task;
    try {
      request = validateChatRequest(req.body);
      task = readTask(request.messages);
    } catch (err) {
      if (err instanceof OpenAiError) return sendError(reply, err);
      throw err;
    }

    const mode = takeMode();
    if (mode.mode === 'fail') {
      const status = mode.status;
      if (status === 429) {
        return sendError(
          reply,
          new OpenAiError(
            429,
            `Rate limit reached for ${request.model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${mode.retryAfterSeconds}s.`,
            'requests',
            null,
            'rate_limit_exceeded',
            {
              'retry-after': String(mode.retryAfterSeconds),
              'x-ratelimit-limit-requests': '3',
              'x-ratelimit-remaining-requests': '0',
              'x-ratelimit-reset-requests': `${mode.retryAfterSeconds}s`,
            },
          ),
        );
      }
      const message =
        status === 503
          ? 'The engine is currently overloaded, please try again later'
          : 'The server had an error while processing your request. Sorry about that!';
      return sendError(reply, new OpenAiError(status, message, status >= 500 ? 'server_error' : 'invalid_request_error'));
    }
    if (mode.mode === 'timeout') {
      // Accepted and never answered: the socket stays open until the client gives up or close().
      reply.hijack();
      const socket = req.raw.socket;
      await new Promise<void>((resolve) => {
        const give = () => {
          pending.delete(give);
          socket.destroy();
          resolve();
        };
        pending.add(give);
        reply.raw.once('close', give);
      });
      return;
    }

    let answer: unknown;
    if (mode.mode === 'garbage') answer = GARBAGE;
    else if (mode.mode === 'off-schema') answer = offSchema(task);
    else if (mode.mode === 'off-catalog') answer = offCatalog(task);
    else if (task.task === 'map-job') {
      const title = task.input.jobTitle.toLowerCase();
      answer = scripted.find((s) => title.includes(s.titleContains.toLowerCase()))?.answer ?? mapJob(task);
    } else answer = normaliseSkills(task);

    const content = typeof answer === 'string' ? answer : JSON.stringify(answer);
    const promptTokens = tokens(request.messages.map((m) => m.content).join('\n'));
    const completionTokens = tokens(content);
    completions++;
    return {
      id: `chatcmpl-sim${String(completions).padStart(6, '0')}${randomBytes(6).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_hrsync_sim',
    };
  });

  // Inspection and test controls; not part of the vendor API.
  app.get('/sim/requests', async () => recorded);
  app.delete('/sim/requests', async () => {
    recorded.length = 0;
    return { requests: recorded };
  });
  app.get('/sim/mode', async () => state);
  app.post('/sim/mode', async (req, reply) => {
    const b = (req.body ?? {}) as { mode?: unknown; count?: unknown; status?: unknown; retryAfterSeconds?: unknown };
    if (typeof b.mode !== 'string' || !(LLM_MODES as readonly string[]).includes(b.mode)) {
      return reply.code(400).send({ error: `mode must be one of ${LLM_MODES.join(', ')}` });
    }
    if (b.count !== undefined && (typeof b.count !== 'number' || !Number.isInteger(b.count) || b.count < 1)) {
      return reply.code(400).send({ error: 'count must be a positive integer' });
    }
    if (b.status !== undefined && (typeof b.status !== 'number' || !Number.isInteger(b.status) || b.status < 400 || b.status > 599)) {
      return reply.code(400).send({ error: 'status must be an HTTP error status (400-599)' });
    }
    if (b.retryAfterSeconds !== undefined && (typeof b.retryAfterSeconds !== 'number' || b.retryAfterSeconds < 0)) {
      return reply.code(400).send({ error: 'retryAfterSeconds must be a number of seconds' });
    }
    setMode(b.mode as LlmMode, b.count as number | undefined, { status: b.status as number | undefined, retryAfterSeconds: b.retryAfterSeconds as number | undefined });
    return state;
  });
  app.get('/sim/answers', async () => scripted);
  app.post('/sim/answers', async (req, reply) => {
    const b = (req.body ?? {}) as { titleContains?: unknown; answer?: unknown };
    if (typeof b.titleContains !== 'string' || !b.titleContains) return reply.code(400).send({ error: 'titleContains must be a non-empty string' });
    if (typeof b.answer !== 'object' || b.answer === null || Array.isArray(b.answer)) return reply.code(400).send({ error: 'answer must be a JSON object' });
    scripted.push({ titleContains: b.titleContains, answer: b.answer as Record<string, unknown> });
    return scripted;
  });
  app.delete('/sim/answers', async () => {
    scripted.length = 0;
    return scripted;
  });

  const server = await serve(app, options.port ?? 0);
  return {
    ...server,
    apiKey,
    close: async () => {
      for (const give of [...pending]) give();
      await server.close();
    },
    requests: () => [...recorded],
    clearRequests: () => void (recorded.length = 0),
    setMode,
    mode: () => ({ ...state }),
    scriptAnswer: (titleContains, answer) => void scripted.push({ titleContains, answer }),
    clearAnswers: () => void (scripted.length = 0),
  };
}
