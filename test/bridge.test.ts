import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { isoDateOf } from '../domain/dates';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const person = (prefix: string, index = 0) => {
  const profile = sampleRoster(isoDateOf(new Date()), prefix)[index]!;
  stack.hris.upsertEmployee(bambooRecord(profile));
  return profile;
};

async function entityExists(employeeId: string): Promise<boolean> {
  try {
    await stack.client.workflow.getHandle(`employee-${employeeId}`).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function deadLetters(fragment: string) {
  const res = await stack.pool.query(`SELECT status, reason, detail, raw_body FROM dead_letters WHERE raw_body LIKE $1 ORDER BY id`, [`%${fragment}%`]);
  return res.rows as { status: number; reason: string; detail: Record<string, unknown>; raw_body: string }[];
}

describe('POST /events: redeliveries', () => {
  it('the same event three times in a row: one 202, two 200, one workflow run, one learner, three delivery audit rows', async () => {
    const profile = person('R');
    const event = hireEvent(profile);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await stack.postEvent(event));
    expect(answers.map((a) => a.status)).toEqual([202, 200, 200]);
    expect(answers[1]!.body.status).toBe('duplicate');
    await stack.resultOf(`onboarding-${profile.id}-${event.id}`);

    expect(stack.learnersFor(profile.id)).toHaveLength(1);
    const audit = await stack.auditRows(profile.id);
    expect(audit.filter((r) => r.kind === 'delivery').map((r) => r.result)).toEqual(['accepted', 'redelivery', 'redelivery']);
    expect(audit.filter((r) => r.kind === 'outcome')).toHaveLength(1);
    expect(audit.filter((r) => r.kind === 'step' && r.action === 'create_user')).toHaveLength(1);
    const runs = [];
    for await (const wf of stack.client.workflow.list({ query: `WorkflowType = "onboarding" AND EmployeeId = "${profile.id}"` })) runs.push(wf);
    expect(runs).toHaveLength(1);
  });

  it('the same event three times concurrently: exactly one is accepted and one learner is created', async () => {
    const profile = person('C');
    const event = hireEvent(profile);
    const answers = await Promise.all([stack.postEvent(event), stack.postEvent(event), stack.postEvent(event)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 202]);
    await stack.resultOf(`onboarding-${profile.id}-${event.id}`);
    // Let anything a duplicate might have started run its course before counting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(stack.learnersFor(profile.id)).toHaveLength(1);
    const audit = await stack.auditRows(profile.id);
    expect(audit.filter((r) => r.kind === 'delivery')).toHaveLength(3);
    expect(audit.filter((r) => r.kind === 'outcome')).toHaveLength(1);
    const stored = await stack.pool.query('SELECT deliveries FROM hr_events WHERE event_id = $1', [event.id]);
    expect(stored.rows[0].deliveries).toBe(3);
  });
});

describe('POST /events: rejected deliveries start nothing and are kept', () => {
  it('a wrong signature is 401, dead-lettered with its raw body, and starts nothing', async () => {
    const profile = person('S');
    const event = hireEvent(profile);
    const res = await stack.postEvent(event, { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/signature does not match/);
    expect(await entityExists(profile.id)).toBe(false);
    const [letter] = await deadLetters(event.id);
    expect(letter).toMatchObject({ status: 401, reason: 'signature does not match' });
    expect(JSON.parse(letter!.raw_body)).toEqual(event);
    expect((await stack.pool.query('SELECT 1 FROM hr_events WHERE event_id = $1', [event.id])).rowCount).toBe(0);
  });

  it('a stale timestamp is 401 even with a correct signature', async () => {
    const profile = person('T');
    const event = hireEvent(profile);
    const res = await stack.postEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/stale timestamp/);
    expect(await entityExists(profile.id)).toBe(false);
    expect(await deadLetters(event.id)).toHaveLength(1);
  });

  it('missing signature headers are 401', async () => {
    const res = await fetch(`${stack.bridge.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"evt-unsigned"}' });
    expect(res.status).toBe(401);
    expect(await deadLetters('evt-unsigned')).toHaveLength(1);
  });

  it('an invalid body is 400 naming the field, dead-lettered, and starts nothing', async () => {
    const profile = person('V');
    const event = hireEvent(profile);
    const bad = { ...event, employee: { ...event.employee, email: 'not-an-email' } };
    const res = await stack.postEvent(bad);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('employee.email');
    expect(res.body.error).toMatch(/^employee\.email /);
    expect(await entityExists(profile.id)).toBe(false);
    const [letter] = await deadLetters(event.id);
    expect(letter).toMatchObject({ status: 400 });
    expect(letter!.detail.field).toBe('employee.email');
    expect(JSON.parse(letter!.raw_body)).toEqual(bad);
  });

  it('an unknown event type and a missing effective date are named', async () => {
    const profile = person('U');
    const event = hireEvent(profile, 'evt-unknown-type');
    const wrongType = await stack.postEvent({ ...event, type: 'promotion' } as never);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.field).toBe('type');
    const { effectiveDate: _, ...noDate } = hireEvent(profile, 'evt-no-date');
    const missing = await stack.postEvent(noDate as never);
    expect(missing.status).toBe(400);
    expect(missing.body.field).toBe('effectiveDate');
  });

  it('a body that is not JSON is 400 and kept verbatim', async () => {
    const res = await stack.postEvent('{"id": "evt-broken", ');
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('(body)');
    const [letter] = await deadLetters('evt-broken');
    expect(letter!.raw_body).toBe('{"id": "evt-broken", ');
  });
});

describe('GET /healthz', () => {
  it('reports the database and Temporal', async () => {
    const res = await fetch(`${stack.bridge.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' });
  });
});

describe('POST /events: when the rejection itself cannot be kept', () => {
  it('a database that does not answer turns a 401 into a 503, so the sender retries and nothing is lost', async () => {
    const { createBridge } = await import('../client/bridge');
    const { createPool } = await import('../stack/database');
    const pino = (await import('pino')).default;
    const { bambooHr } = await import('../activities/hris');
    const broken = createPool('postgres://postgres@127.0.0.1:1/nowhere');
    const app = createBridge({ temporal: stack.client, pool: broken, taskQueue: stack.taskQueue, secrets: { webhook: stack.webhookSecret }, hris: bambooHr(stack.config.hris), logger: pino({ level: 'silent' }) });
    try {
      const res = await app.inject({ method: 'POST', url: '/events', headers: { 'content-type': 'application/json', 'x-hrsync-timestamp': '1', 'x-hrsync-signature': 'sha256=00' }, payload: '{}' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatch(/could not be kept, so retry later/);
    } finally {
      await app.close();
      await broken.end().catch(() => undefined);
    }
  });
});

describe('a vendor surface that fails midway', () => {
  it('a BambooHR webhook whose snapshot cannot be written (database gone) is answered 503, not a bare 500', async () => {
    const { createBridge } = await import('../client/bridge');
    const { signBambooHr } = await import('../client/bamboohr-webhooks');
    const { createPool } = await import('../stack/database');
    const pino = (await import('pino')).default;
    const { bambooHr } = await import('../activities/hris');
    const p = person('BH', 2);
    const broken = createPool('postgres://postgres@127.0.0.1:1/nowhere');
    const key = 'bamboo-key';
    const app = createBridge({ temporal: stack.client, pool: broken, taskQueue: stack.taskQueue, secrets: { webhook: stack.webhookSecret, bamboohr: key }, hris: bambooHr(stack.config.hris), logger: pino({ level: 'silent' }) });
    try {
      const body = JSON.stringify({ type: 'employee.updated', data: { employeeId: p.id } });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await app.inject({ method: 'POST', url: '/webhooks/bamboohr', headers: { 'content-type': 'application/json', 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': signBambooHr(key, body, timestamp) }, payload: body });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatch(/retry later/);
    } finally {
      await app.close();
      await broken.end().catch(() => undefined);
    }
  });
});
