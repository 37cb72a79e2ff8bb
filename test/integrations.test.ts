import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBambooHr } from '../client/bamboohr-webhooks';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, SAMPLE_HIRES } from '../simulators/roster';
import { eventually, startTestStack, type TestStack } from './support/stack';

// BambooHR webhooks and Okta event hooks against the real stack: what each vendor sends, signed
// or authorised as it does, becomes the canonical events, and the LMS follows.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());
let serial = 0;
const person = (prefix: string, index = 0, overrides: Partial<EmployeeProfile> = {}) => ({ ...employeeProfile(serial++, SAMPLE_HIRES[index]!, today(), prefix), ...overrides });
const learner = (id: string) => stack.learnersFor(id)[0];
const deliveries = async (employeeId: string) => (await stack.auditRows(employeeId)).filter((r) => r.kind === 'delivery');
const deadLetters = async (endpoint: string) => (await stack.pool.query('SELECT status, reason, detail FROM dead_letters WHERE endpoint = $1 ORDER BY id', [endpoint])).rows;

async function postBamboo(body: unknown, opts: { key?: string; timestamp?: string; raw?: string } = {}) {
  const raw = opts.raw ?? JSON.stringify(body);
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${stack.bridge.url}/webhooks/bamboohr`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': signBambooHr(opts.key ?? stack.config.surfaces.bamboohrWebhookKey!, raw, timestamp) },
    body: raw,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('BambooHR webhooks', () => {
  it('HR edits records in the HRIS and the LMS follows: created + updated is one hire, a new location a transfer', async () => {
    stack.hris.setWebhook({ url: `${stack.bridge.url}/webhooks/bamboohr`, privateKey: stack.config.surfaces.bamboohrWebhookKey!, format: 'event' });
    try {
      const p = person('BH', 0);
      stack.hris.upsertEmployee(bambooRecord(p)); // employee.created
      stack.hris.upsertEmployee({ ...bambooRecord(p), division: 'Gulf Coast' }); // employee.updated, nothing the LMS cares about
      await stack.hris.idle();
      await eventually(() => learner(p.id)?.enrollments.length === 9, 'the hire to reach the LMS');
      expect((await deliveries(p.id)).map((d) => d.action)).toEqual(['hire']);
      expect(stack.hris.webhookDeliveries().filter((d) => d.employeeId === p.id).map((d) => [d.type, d.status])).toEqual([
        ['employee.created', 200],
        ['employee.updated', 200],
      ]);

      stack.hris.upsertEmployee(bambooRecord({ ...p, site: 'DAY', managerId: 'E1007' })); // moves to Dayton
      await stack.hris.idle();
      await eventually(() => learner(p.id)?.branches[0] === 'BR-DAY', 'the transfer to reach the LMS');
      expect((await deliveries(p.id)).map((d) => d.action)).toEqual(['hire', 'transfer']);
    } finally {
      stack.hris.setWebhook(undefined);
    }
  });

  it('a field-based payload with a new job becomes a role change', async () => {
    stack.hris.setWebhook({ url: `${stack.bridge.url}/webhooks/bamboohr`, privateKey: stack.config.surfaces.bamboohrWebhookKey!, format: 'field' });
    try {
      const p = person('BF', 2); // maintenance technician at Baytown
      stack.hris.upsertEmployee(bambooRecord(p));
      await stack.hris.idle();
      await eventually(() => learner(p.id)?.role === 'technician', 'the hire');
      stack.hris.upsertEmployee(bambooRecord({ ...p, jobCode: 'MNT-SR', jobTitle: 'Senior Maintenance Technician' }));
      await stack.hris.idle();
      await eventually(async () => (await deliveries(p.id)).some((d) => d.action === 'role_change'), 'the role change');
    } finally {
      stack.hris.setWebhook(undefined);
    }
  });

  it('a redelivered webhook starts nothing; a termination date in the HRIS closes the account', async () => {
    const p = person('BR', 10);
    stack.hris.upsertEmployee(bambooRecord(p));
    const created = { type: 'employee.created', timestamp: new Date().toISOString(), data: { companyId: 'gulfcoast', employeeId: p.id, changedFields: ['firstName'] } };
    const first = await postBamboo(created);
    expect(first.status).toBe(200);
    expect(first.body.events).toEqual([expect.objectContaining({ type: 'hire', employeeId: p.id })]);
    const again = await postBamboo(created);
    expect(again.status).toBe(200);
    expect(again.body.events).toEqual([]);
    await eventually(() => learner(p.id)?.status === '1', 'the hire');

    stack.hris.upsertEmployee(bambooRecord(p, today()));
    const terminated = await postBamboo({ employees: [{ id: p.id, action: 'Updated', changedFields: ['terminationDate'], fields: { terminationDate: { value: today() } } }] });
    expect(terminated.body.events).toEqual([expect.objectContaining({ type: 'termination' })]);
    await eventually(() => learner(p.id)?.status === '0', 'the termination');
    const kept = await stack.pool.query(`SELECT event_ids FROM raw_deliveries WHERE source = 'bamboohr' AND raw_body LIKE $1`, [`%${p.id}%`]);
    expect(kept.rows.flatMap((r) => r.event_ids).length).toBe(2);
  });

  it('two deliveries about one person while the workflow engine is unreachable: both refused, and their retries bring every change', async () => {
    const { createBridge } = await import('../client/bridge');
    const { Client, Connection } = await import('@temporalio/client');
    const { bambooHr } = await import('../activities/hris');
    const pino = (await import('pino')).default;
    // A bridge replica whose Temporal does not answer, on the same database and HRIS.
    const unreachable = Connection.lazy({ address: '127.0.0.1:1' });
    const key = stack.config.surfaces.bamboohrWebhookKey!;
    const offline = createBridge({ temporal: new Client({ connection: unreachable }), pool: stack.pool, taskQueue: stack.taskQueue, secrets: { webhook: stack.webhookSecret, bamboohr: key }, hris: bambooHr(stack.config.hris), logger: pino({ level: 'silent' }) });
    const signed = (body: string) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return { 'content-type': 'application/json', 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': signBambooHr(key, body, timestamp) };
    };
    const p = person('BL', 0);
    const created = JSON.stringify({ type: 'employee.created', timestamp: new Date().toISOString(), data: { companyId: 'gulfcoast', employeeId: p.id, changedFields: ['firstName'] } });
    const moved = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: 'gulfcoast', employeeId: p.id, changedFields: ['location'] } });
    try {
      stack.hris.upsertEmployee(bambooRecord(p));
      const first = offline.inject({ method: 'POST', url: '/webhooks/bamboohr', headers: signed(created), payload: created });
      // The hire is being handed over (its snapshot written) when HR moves the person to Dayton.
      await eventually(async () => (await stack.pool.query(`SELECT 1 FROM hr_snapshots WHERE source = 'bamboohr' AND employee_id = $1`, [p.id])).rowCount === 1, 'the first delivery to take its snapshot');
      stack.hris.upsertEmployee(bambooRecord({ ...p, site: 'DAY', managerId: 'E1007' }));
      const second = offline.inject({ method: 'POST', url: '/webhooks/bamboohr', headers: signed(moved), payload: moved });
      expect([(await first).statusCode, (await second).statusCode]).toEqual([503, 503]);
      // Neither refused change may have moved the snapshot on: the retries must still see a hire.
      expect((await stack.pool.query(`SELECT 1 FROM hr_snapshots WHERE source = 'bamboohr' AND employee_id = $1`, [p.id])).rowCount).toBe(0);
    } finally {
      await offline.close();
      await unreachable.close().catch(() => undefined);
    }

    // BambooHR retries both, now through a bridge whose Temporal answers.
    const retried = await postBamboo(undefined, { raw: created });
    const retriedMove = await postBamboo(undefined, { raw: moved });
    expect([retried.status, retriedMove.status]).toEqual([200, 200]);
    expect(retried.body.events).toEqual([expect.objectContaining({ type: 'hire', employeeId: p.id })]);
    expect(retriedMove.body.events).toEqual([]);
    await eventually(() => learner(p.id)?.branches[0] === 'BR-DAY', 'the hire, at Dayton, to reach the LMS');
    expect((await deliveries(p.id)).map((d) => d.action)).toEqual(['hire']);
  }, 60_000);

  it('refuses what is not BambooHR, keeping it: bad or stale signature 401, malformed 400; a record it cannot read is held for review', async () => {
    expect((await postBamboo({ type: 'employee.created', data: { employeeId: '1' } }, { key: 'wrong-key' })).status).toBe(401);
    expect((await postBamboo({ type: 'employee.created', data: { employeeId: '1' } }, { timestamp: String(Math.floor(Date.now() / 1000) - 900) })).status).toBe(401);
    const malformed = await postBamboo({ type: 'employee.promoted', data: {} });
    expect(malformed.status).toBe(400);
    expect(String(malformed.body.error)).toMatch(/neither an event-based/);
    expect((await postBamboo(undefined, { raw: '{"type":' })).status).toBe(400);

    const odd = person('BU', 1);
    stack.hris.upsertEmployee({ ...bambooRecord(odd), employmentHistoryStatus: 'Apprentice' });
    const held = await postBamboo({ type: 'employee.created', data: { employeeId: odd.id } });
    expect(held.status).toBe(200);
    expect(held.body.heldForReview).toEqual([{ employeeId: odd.id, problem: expect.stringMatching(/Apprentice/) }]);
    const letters = await deadLetters('/webhooks/bamboohr');
    expect(letters.map((l) => l.status)).toEqual(expect.arrayContaining([401, 401, 400, 400, 422]));
    expect(learner(odd.id)).toBeUndefined();
  });
});

async function postOkta(events: unknown[], auth = stack.config.surfaces.oktaHookSecret!) {
  const res = await fetch(`${stack.bridge.url}/webhooks/okta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ eventType: 'com.okta.event_hook', eventTypeVersion: '1.0', cloudEventsVersion: '0.1', source: 'https://gulfcoast.okta.example/api/v1/eventHooks/who', data: { events } }),
  });
  return { status: res.status, body: (await res.json()) as { accepted: number; duplicates: number; ignored: string[] } };
}

const oktaEvent = (eventType: string, login: string, publishedOffsetMs: number, extra: { group?: string; app?: string } = {}) => ({
  uuid: randomUUID(),
  published: new Date(Date.now() + publishedOffsetMs).toISOString(),
  eventType,
  displayMessage: eventType,
  actor: { id: '00u-admin', type: 'User', alternateId: 'admin@example.com', displayName: 'Okta Admin' },
  target: [
    { id: '00u-user', type: 'User', alternateId: login, displayName: 'Someone' },
    ...(extra.group ? [{ id: '00g-group', type: 'UserGroup', alternateId: 'unknown', displayName: extra.group }] : []),
    ...(extra.app ? [{ id: '0oa-app', type: 'AppInstance', alternateId: 'unknown', displayName: extra.app }] : []),
  ],
});

describe('Okta event hooks', () => {
  it('answers the one-time verification challenge, only with the right Authorization', async () => {
    const ok = await fetch(`${stack.bridge.url}/webhooks/okta`, { headers: { authorization: stack.config.surfaces.oktaHookSecret!, 'x-okta-verification-challenge': 'abc123' } });
    expect(await ok.json()).toEqual({ verification: 'abc123' });
    const wrong = await fetch(`${stack.bridge.url}/webhooks/okta`, { headers: { authorization: 'nope', 'x-okta-verification-challenge': 'abc123' } });
    expect(wrong.status).toBe(401);
  });

  it('a batch out of order: the user is created, then joins a privileged group; a redelivery starts nothing; a deactivation closes the account', async () => {
    const p = person('OK', 3); // process technician at Baytown, known to the HRIS
    stack.hris.upsertEmployee(bambooRecord(p));
    const create = oktaEvent('user.lifecycle.create', p.email, -2000);
    const join = oktaEvent('group.user_membership.add', p.email, -1000, { group: 'DCS Engineering Workstation' });
    const unrelated = oktaEvent('user.session.start', p.email, -500);
    const first = await postOkta([join, unrelated, create]); // Okta does not promise order
    expect(first).toEqual({ status: 200, body: { accepted: 2, duplicates: 0, ignored: ['event type user.session.start is not one hrsync acts on'] } });
    await eventually(() => learner(p.id)?.enrollments.some((e) => e.course_code === 'MOC-201'), 'the hire and the access grant');
    expect(learner(p.id)!.groups).toContain('idp-dcs-engineering');
    expect((await deliveries(p.id)).map((d) => d.action)).toEqual(['hire', 'access_grant']);

    const again = await postOkta([create, join]);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 });

    const leave = await postOkta([oktaEvent('user.lifecycle.deactivate', p.email, 0)]);
    expect(leave.body.accepted).toBe(1);
    await eventually(() => learner(p.id)?.status === '0', 'the deactivation to close the account');
  });

  it('a login the HRIS does not know is held for review; wrong Authorization is 401 and kept', async () => {
    const unknown = oktaEvent('user.lifecycle.create', `stranger.${randomUUID().slice(0, 8)}@example.com`, 0);
    expect((await postOkta([unknown])).body.accepted).toBe(1);
    const review = await eventually(async () => (await stack.pool.query(`SELECT result FROM audit_log WHERE event_id = $1`, [`okta-${unknown.uuid}`])).rows[0], 'the review');
    expect(review).toEqual({ result: 'needs-review' });

    expect((await postOkta([unknown], 'Bearer wrong')).status).toBe(401);
    expect((await deadLetters('/webhooks/okta')).some((l) => l.status === 401)).toBe(true);
  });
});
