import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import OpenAI, { APIConnectionTimeoutError, APIError, AuthenticationError, RateLimitError } from 'openai';
import { JobMappingAnswer, catalogProblems, jobMappingJsonSchema, jobMappingMessages, type MappingInput } from '../domain/ai';
import { SkillNormalisationAnswer, skillNormalisationJsonSchema, skillNormalisationMessages } from '../domain/skills';
import { loadOrganisation } from '../domain/load-organisation';
import type { Organisation } from '../domain/organisation';
import { LLM_SIMULATOR_MODEL, startLlmSimulator, type LlmSimulator } from '../simulators/llm';

// The OpenAI-compatible LLM simulator, driven by the real `openai` client with the prompts hrsync
// builds: deterministic answers from the catalog, scripted answers, every failure mode, recording.

const KEY = 'sk-test-llm-simulator-key';
const MODEL = 'gpt-4o-mini';

let sim: LlmSimulator;
let client: OpenAI;
let org: Organisation;

const control = (path: string, method: string, body?: unknown) =>
  fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function mapJob(input: MappingInput, options: { client?: OpenAI } = {}) {
  return (options.client ?? client).chat.completions.create({
    model: MODEL,
    temperature: 0,
    messages: jobMappingMessages(input, org),
    response_format: { type: 'json_schema', json_schema: { name: 'job_mapping', schema: jobMappingJsonSchema(org), strict: true } },
  });
}

async function mapJobAnswer(input: MappingInput) {
  const completion = await mapJob(input);
  return JobMappingAnswer.parse(JSON.parse(completion.choices[0]!.message.content!));
}

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the request to fail');
};

const rawCompletion = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) =>
  fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  org = loadOrganisation();
  sim = await startLlmSimulator({ port: 0, apiKey: KEY });
  client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await sim?.close();
});

describe('LLM simulator: the OpenAI API surface', () => {
  it('lists its model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([LLM_SIMULATOR_MODEL]);
  });

  it('answers a chat completion in the OpenAI shape', async () => {
    const completion = await mapJob({ jobTitle: 'Registered Nurse', site: 'CLN', employmentType: 'employee' });
    expect(completion).toMatchObject({ object: 'chat.completion', model: MODEL, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(typeof completion.created).toBe('number');
    expect(typeof completion.choices[0]!.message.content).toBe('string');
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('refuses a request without a key with 401 and an OpenAI error body', async () => {
    const res = await rawCompletion({ model: MODEL, messages: jobMappingMessages({ jobTitle: 'Registered Nurse' }, org) }, {});
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; type: string; code: unknown } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/API key/);
    expect(body.error).toHaveProperty('code');
  });

  it('refuses the wrong key as AuthenticationError', async () => {
    const wrong = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-wrong-key-0000', maxRetries: 0 });
    const err = await rejection(mapJob({ jobTitle: 'Registered Nurse' }, { client: wrong }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as APIError).status).toBe(401);
    expect((err as APIError).code).toBe('invalid_api_key');
  });

  it('takes any non-empty key when none is configured', async () => {
    const open = await startLlmSimulator();
    try {
      const anyKey = new OpenAI({ baseURL: `${open.url}/v1`, apiKey: 'whatever', maxRetries: 0 });
      const completion = await mapJob({ jobTitle: 'Registered Nurse' }, { client: anyKey });
      expect(JSON.parse(completion.choices[0]!.message.content!).jobCode).toBe('RN');
      const res = await fetch(`${open.url}/v1/models`, { headers: { authorization: 'Bearer ' } });
      expect(res.status).toBe(401);
    } finally {
      await open.close();
    }
  });

  it('a body without messages is 400 naming messages', async () => {
    const res = await rawCompletion({ model: MODEL });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; type: string; param: string; code: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' });
    expect(body.error.message).toContain('messages');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no model', { messages: [{ role: 'user', content: '{}' }] }, 'model'],
    ['empty messages', { model: MODEL, messages: [] }, 'messages'],
    ['an unknown role', { model: MODEL, messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role'],
    ['a temperature above 2', { model: MODEL, temperature: 5, messages: [{ role: 'user', content: '{}' }] }, 'temperature'],
    ['a json_schema without a name', { model: MODEL, messages: [{ role: 'user', content: '{}' }], response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name'],
  ])('a body with %s is 400 naming the field', async (_what, body, param) => {
    const res = await rawCompletion(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe(param);
  });

  it('a strict schema that leaves an object open is refused, as OpenAI does', async () => {
    const err = await rejection(
      client.chat.completions.create({
        model: MODEL,
        messages: jobMappingMessages({ jobTitle: 'Registered Nurse' }, org),
        response_format: { type: 'json_schema', json_schema: { name: 'job_mapping', strict: true, schema: { type: 'object', properties: { role: { type: 'string' } } } } },
      }),
    );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(400);
    expect((err as APIError).message).toMatch(/additionalProperties/);
  });

  it('a message that is not an hrsync task is 400', async () => {
    const err = await rejection(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Write me a poem about payroll.' }] }));
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(400);
    expect((err as APIError).message).toMatch(/map-job/);
  });
});

describe('LLM simulator: job mapping', () => {
  it('names only catalog entries and parses as a JobMappingAnswer', async () => {
    for (const jobTitle of ['Sr. Process Tech', 'Registered Nurse', 'Maint Tech', 'Forklift Op', 'Prod Supv', 'Astrophysicist']) {
      const answer = await mapJobAnswer({ jobTitle, site: 'BAY', department: 'Operations', employmentType: 'employee' });
      expect(catalogProblems(answer, org), jobTitle).toEqual([]);
    }
  });

  it('maps "Sr. Process Tech" to PRC-TEC with its role and curricula, and says why', async () => {
    const answer = await mapJobAnswer({ jobTitle: 'Sr. Process Tech', jobCode: null, department: 'Operations', site: 'BAY', employmentType: 'employee' });
    expect(answer).toMatchObject({ jobCode: 'PRC-TEC', role: 'technician', groups: [], curricula: ['psm-operations'] });
    expect(answer.confidence).toBeGreaterThan(0);
    expect(answer.confidence).toBeLessThan(1);
    expect(answer.rationale).toMatch(/process/);
    expect(answer.rationale).toMatch(/technician/);
  });

  it('maps "Registered Nurse" to RN with full confidence', async () => {
    const answer = await mapJobAnswer({ jobTitle: 'Registered Nurse', site: 'CLN' });
    expect(answer).toMatchObject({ jobCode: 'RN', role: 'clinician', curricula: ['clinical-safety'], confidence: 1 });
  });

  it('expands abbreviations and takes the catalog groups of the job', async () => {
    expect(await mapJobAnswer({ jobTitle: 'Maint Tech' })).toMatchObject({ jobCode: 'MNT-TEC', groups: ['loto-authorized'] });
    expect(await mapJobAnswer({ jobTitle: 'Prod Supv' })).toMatchObject({ jobCode: 'PRD-SUP', role: 'supervisor', groups: ['people-leaders'] });
  });

  it('a title that matches nothing gets no job code, the learner role and 0.35', async () => {
    expect(await mapJobAnswer({ jobTitle: 'Astrophysicist' })).toMatchObject({ jobCode: null, role: 'learner', groups: [], curricula: [], confidence: 0.35 });
  });

  it('answers the same request the same way', async () => {
    const input = { jobTitle: 'Chemical Process Operator II', site: 'BAY' };
    const [a, b] = await Promise.all([mapJob(input), mapJob(input)]);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(JSON.parse(a.choices[0]!.message.content!).jobCode).toBe('CHM-OP2');
  });

  it('reads none of the input beyond the five job attributes', async () => {
    const leaky = { jobTitle: 'Registered Nurse', firstName: 'Forklift', email: 'forklift.operator@example.com' } as MappingInput;
    const completion = await mapJob(leaky);
    const content = completion.choices[0]!.message.content!;
    expect(JSON.parse(content).jobCode).toBe('RN');
    expect(content).not.toMatch(/forklift/i);
  });
});

describe('LLM simulator: scripted answers', () => {
  const scripted: JobMappingAnswer = { jobCode: 'MED-AST', role: 'clinician', groups: [], curricula: ['clinical-safety'], confidence: 0.41, rationale: 'Scripted by the test.' };

  it('a scripted answer wins for titles containing its text, case-insensitively, until cleared', async () => {
    expect((await control('/sim/answers', 'POST', { titleContains: 'NURSE', answer: scripted })).status).toBe(200);
    sim.scriptAnswer('nurse', { ...scripted, rationale: 'second script, never used' });
    expect(await mapJobAnswer({ jobTitle: 'Registered Nurse' })).toEqual(scripted);
    expect((await mapJobAnswer({ jobTitle: 'Process Technician' })).jobCode).toBe('PRC-TEC');
    expect((await control('/sim/answers', 'DELETE')).status).toBe(200);
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });

  it('clearAnswers() clears them too', async () => {
    sim.scriptAnswer('process', scripted);
    expect((await mapJobAnswer({ jobTitle: 'Process Technician' })).jobCode).toBe('MED-AST');
    sim.clearAnswers();
    expect((await mapJobAnswer({ jobTitle: 'Process Technician' })).jobCode).toBe('PRC-TEC');
  });
});

describe('LLM simulator: failure modes', () => {
  it('fail: 500 as an APIError, for the given count, then ok again', async () => {
    expect((await control('/sim/mode', 'POST', { mode: 'fail', count: 2 })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const err = await rejection(mapJob({ jobTitle: 'Registered Nurse' }));
      expect(err).toBeInstanceOf(APIError);
      expect((err as APIError).status).toBe(500);
      expect((err as APIError).type).toBe('server_error');
    }
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });

  it('fail with status 429: a RateLimitError with retry-after', async () => {
    await control('/sim/mode', 'POST', { mode: 'fail', status: 429, retryAfterSeconds: 7, count: 1 });
    const err = await rejection(mapJob({ jobTitle: 'Registered Nurse' }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as APIError).status).toBe(429);
    expect((err as APIError).headers?.get('retry-after')).toBe('7');
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });

  it('a mode without a count stays until changed', async () => {
    sim.setMode('fail');
    for (let i = 0; i < 3; i++) expect(await rejection(mapJob({ jobTitle: 'Registered Nurse' }))).toBeInstanceOf(APIError);
    await control('/sim/mode', 'POST', { mode: 'ok' });
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });

  it('an unknown mode is refused', async () => {
    expect((await control('/sim/mode', 'POST', { mode: 'sometimes' })).status).toBe(400);
  });

  it('timeout: the request hangs until the client gives up', async () => {
    sim.setMode('timeout', 1);
    const impatient = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 1000 });
    const started = Date.now();
    const err = await rejection(mapJob({ jobTitle: 'Registered Nurse' }, { client: impatient }));
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });

  it('timeout: close() ends a request still hanging', async () => {
    const hanging = await startLlmSimulator();
    hanging.setMode('timeout');
    const request = fetch(`${hanging.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({ model: MODEL, messages: jobMappingMessages({ jobTitle: 'Registered Nurse' }, org) }),
    }).then(
      () => 'answered',
      () => 'connection closed',
    );
    for (let i = 0; i < 50 && hanging.requests().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hanging.requests()).toHaveLength(1);
    const started = Date.now();
    await hanging.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await request).toBe('connection closed');
  });

  it('garbage: 200 with content that is not JSON', async () => {
    sim.setMode('garbage', 1);
    const completion = await mapJob({ jobTitle: 'Registered Nurse' });
    const content = completion.choices[0]!.message.content!;
    expect(() => JSON.parse(content)).toThrow();
  });

  it('off-schema: 200 with JSON that is not a JobMappingAnswer', async () => {
    await control('/sim/mode', 'POST', { mode: 'off-schema', count: 1 });
    const completion = await mapJob({ jobTitle: 'Registered Nurse' });
    const parsed = JobMappingAnswer.safeParse(JSON.parse(completion.choices[0]!.message.content!));
    expect(parsed.success).toBe(false);
  });

  it('off-catalog: 200 with a well-formed answer naming things the catalog does not have', async () => {
    await control('/sim/mode', 'POST', { mode: 'off-catalog', count: 1 });
    const completion = await mapJob({ jobTitle: 'Registered Nurse' });
    const answer = JobMappingAnswer.parse(JSON.parse(completion.choices[0]!.message.content!));
    const problems = catalogProblems(answer, org);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('astronaut'), expect.stringContaining('moon-base')]));
    expect((await mapJobAnswer({ jobTitle: 'Registered Nurse' })).jobCode).toBe('RN');
  });
});

describe('LLM simulator: recording', () => {
  it('records every request with the authorization header redacted, and clears', async () => {
    expect((await control('/sim/requests', 'DELETE')).status).toBe(200);
    const messages = jobMappingMessages({ jobTitle: 'Sr. Process Tech', site: 'BAY' }, org);
    await client.chat.completions.create({ model: MODEL, messages });
    await rawCompletion({ model: MODEL }, {});

    const res = await control('/sim/requests', 'GET');
    const recorded = (await res.json()) as { at: string; headers: Record<string, unknown>; body: { model?: string; messages?: unknown } }[];
    expect(recorded).toHaveLength(2);
    expect(recorded[0]!.body).toMatchObject({ model: MODEL, messages });
    expect(Date.parse(recorded[0]!.at)).not.toBeNaN();
    expect(recorded[0]!.headers.authorization).toBeDefined();
    expect(JSON.stringify(recorded)).not.toContain(KEY);
    expect(recorded[1]!.body).toEqual({ model: MODEL });
    expect(sim.requests()).toEqual(recorded);

    sim.clearRequests();
    expect(sim.requests()).toEqual([]);
    expect(await (await control('/sim/requests', 'GET')).json()).toEqual([]);
  });
});

describe('LLM simulator: skill normalisation', () => {
  it('normalises "Python 3" and "python programming" to the same taxonomy id, and nothing to null', async () => {
    const withSkills: Organisation = {
      ...org,
      skills: [
        { id: 'sql', label: 'SQL', aliases: ['structured query language'], courses: [] },
        { id: 'python', label: 'Python', aliases: ['python programming', 'python 3'], courses: [] },
        { id: 'loto', label: 'Lockout/Tagout', aliases: ['LOTO'], courses: [] },
      ],
    };
    const labels = ['Python 3', 'python programming', 'Underwater basket weaving', 'Python scripting'];
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: skillNormalisationMessages(labels, withSkills),
      response_format: { type: 'json_schema', json_schema: { name: 'skills', schema: skillNormalisationJsonSchema(withSkills), strict: true } },
    });
    const { skills } = SkillNormalisationAnswer.parse(JSON.parse(completion.choices[0]!.message.content!));
    expect(skills.map((s) => s.label)).toEqual(labels);
    expect(skills[0]!.skillId).toBe('python');
    expect(skills[1]!.skillId).toBe('python');
    expect(skills[2]).toEqual({ label: 'Underwater basket weaving', skillId: null, confidence: 0.2 });
    expect(skills[3]!.skillId).toBe('python');
    for (const s of skills) expect(s.confidence).toBeGreaterThanOrEqual(0);
  });
});
