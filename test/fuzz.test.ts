import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { signBambooHr } from '../client/bamboohr-webhooks';
import { signEvent } from '../client/signing';
import { signDoceboWebhook } from '../simulators/lms';
import { isoDateOf } from '../domain/dates';
import { hireEvent, sampleRoster } from '../simulators/roster';
import { startTestStack, type TestStack } from './support/stack';

// Thousands of malformed deliveries at every endpoint of the bridge: each is answered with a
// 4xx that names the problem (never a 5xx, never a crash), kept in the dead-letter table, and
// starts nothing.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const RUNS = Number(process.env.HRSYNC_FUZZ_RUNS ?? 500);

/** Whatever a broken or hostile client might send as a body. */
const anyBody = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', '[]', 'null', '{"id":', '\u0000', '{"data":{"events":[{}]}}', '{"schemas":[]}', '{"Operations":null}'),
);

/** Values each field of an event must refuse. */
const INVALID: Record<string, unknown[]> = {
  id: ['', 42, null, [], {}],
  type: ['promotion', 7, null, ''],
  occurredAt: ['not a date', '2026-13-45T99:00:00Z', 0, null],
  effectiveDate: ['tomorrow', '2026-02-30x', 20261122, null],
  employee: [null, [], 'E1001', 5],
  'employee.email': ['not-an-email', '', 3, null],
  'employee.startDate': ['soon', 1, null],
  'employee.employmentType': ['robot', '', null],
  'employee.id': ['', 1001, null],
};

/** A valid event with one field broken in a way the schema must refuse. */
const brokenEvent = fc.constantFrom(...Object.keys(INVALID)).chain((path) =>
  fc.constantFrom(...INVALID[path]!).map((value) => {
    const event = JSON.parse(JSON.stringify(hireEvent(sampleRoster(isoDateOf(new Date()), 'FZ')[0]!))) as Record<string, Record<string, unknown>>;
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail) event[head]![tail] = value;
    else (event as Record<string, unknown>)[head] = value;
    return JSON.stringify(event);
  }),
);

/** A completion message with one field broken, about LMS users that do not exist (so none can start anything). */
const brokenCompletion = fc
  .record({
    user_id: fc.constantFrom<unknown>(0, -1, 'nope', '999999999', null, [], '../etc'),
    course_code: fc.constantFrom<unknown>('LOTO-201', '', 42, null, undefined),
    completion_date: fc.constantFrom<unknown>('2026-11-20 10:00:00', 'yesterday', '', 0, null),
    score: fc.constantFrom<unknown>(95, 'abc', -5, 500, null, undefined),
  })
  .map((payload) => JSON.stringify({ event: 'course.enrollment.completed', message_id: 'wh-fuzz', payload }));

const headerValue = fc.oneof(fc.string(), fc.constant(''), fc.constantFrom('sha256=', 'Bearer ', 'Bearer x', '0', '9999999999', 'sha256=' + '0'.repeat(64)));

async function send(method: string, path: string, body: string | undefined, headers: Record<string, string>) {
  const res = await fetch(`${stack.bridge.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  return { status: res.status, text };
}

async function startedCount() {
  const [events, identities, completions] = await Promise.all([
    stack.pool.query('SELECT count(*)::int AS n FROM hr_events'),
    stack.pool.query('SELECT count(*)::int AS n FROM identity_events'),
    stack.pool.query('SELECT count(*)::int AS n FROM completions'),
  ]);
  return events.rows[0].n + identities.rows[0].n + completions.rows[0].n;
}

interface Target {
  name: string;
  request: fc.Arbitrary<{ method: string; path: string; body: string; headers: Record<string, string> }>;
}

const targets = (): Target[] => {
  const scim = stack.config.surfaces.scimToken!;
  const okta = stack.config.surfaces.oktaHookSecret!;
  const bamboo = stack.config.surfaces.bamboohrWebhookKey!;
  const lms = stack.config.surfaces.lmsWebhookSecret!;
  const now = () => String(Math.floor(Date.now() / 1000));
  return [
    { name: 'POST /events, unsigned or badly signed', request: fc.record({ method: fc.constant('POST'), path: fc.constant('/events'), body: anyBody, headers: fc.record({ 'x-hrsync-timestamp': headerValue, 'x-hrsync-signature': headerValue }) }) },
    {
      name: 'POST /events, correctly signed but invalid',
      request: fc.oneof(anyBody, brokenEvent).map((body) => ({ method: 'POST', path: '/events', body, headers: signEvent(stack.webhookSecret, body) })),
    },
    {
      name: 'POST /webhooks/bamboohr, correctly signed but not BambooHR',
      request: anyBody.map((body) => {
        const timestamp = now();
        return { method: 'POST', path: '/webhooks/bamboohr', body, headers: { 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': signBambooHr(bamboo, body, timestamp) } };
      }),
    },
    { name: 'POST /webhooks/bamboohr, bad signatures', request: fc.record({ method: fc.constant('POST'), path: fc.constant('/webhooks/bamboohr'), body: anyBody, headers: fc.record({ 'x-bamboohr-timestamp': headerValue, 'x-bamboohr-signature': headerValue }) }) },
    { name: 'POST /webhooks/okta, authorised but malformed', request: anyBody.map((body) => ({ method: 'POST', path: '/webhooks/okta', body, headers: { authorization: okta } })) },
    { name: 'GET and POST /webhooks/okta, not authorised', request: fc.record({ method: fc.constantFrom('GET', 'POST'), path: fc.constant('/webhooks/okta'), body: anyBody, headers: fc.record({ authorization: headerValue, 'x-okta-verification-challenge': headerValue }) }) },
    {
      name: 'SCIM Users and Groups, authorised but malformed',
      request: fc.record({
        method: fc.constantFrom('POST', 'PUT', 'PATCH', 'GET', 'DELETE'),
        path: fc.constantFrom('/scim/v2/Users', '/scim/v2/Users/not-a-user', '/scim/v2/Groups', '/scim/v2/Groups/nope', '/scim/v2/Users?filter=userName%20eq', '/scim/v2/Users?filter=%22%22%20or', '/scim/v2/Users?startIndex=-1&count=abc'),
        body: anyBody,
        headers: fc.constant({ authorization: `Bearer ${scim}`, 'content-type': 'application/scim+json' }),
      }),
    },
    { name: 'POST /webhooks/lms, correctly signed but not a completion', request: fc.oneof(anyBody, brokenCompletion).map((body) => ({ method: 'POST', path: '/webhooks/lms', body, headers: { 'x-docebo-signature': signDoceboWebhook(lms, body) } })) },
    { name: 'POST /webhooks/lms, bad signatures', request: fc.record({ method: fc.constant('POST'), path: fc.constant('/webhooks/lms'), body: anyBody, headers: fc.record({ 'x-docebo-signature': headerValue }) }) },
    { name: 'SCIM, not authorised', request: fc.record({ method: fc.constantFrom('GET', 'POST', 'PATCH'), path: fc.constant('/scim/v2/Users'), body: anyBody, headers: fc.record({ authorization: headerValue }) }) },
  ];
};

describe('fuzzing every endpoint with malformed deliveries', () => {
  it('answers every one with a 4xx (or 2xx for a harmless read), never a 5xx, keeps it, and starts nothing', async () => {
    const before = await startedCount();
    const lettersBefore = (await stack.pool.query('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n;
    let sent = 0;
    let rejected = 0;
    for (const target of targets()) {
      await fc.assert(
        fc.asyncProperty(target.request, async ({ method, path, body, headers }) => {
          const { status, text } = await send(method, path, body, headers);
          sent++;
          if (status >= 400) rejected++;
          expect(status, `${target.name}: ${method} ${path} ${JSON.stringify(body).slice(0, 120)} → ${status} ${text.slice(0, 200)}`).toBeLessThan(500);
          // A refusal names its problem.
          if (status >= 400) expect(text.length).toBeGreaterThan(10);
        }),
        { numRuns: RUNS },
      );
    }
    expect(sent).toBeGreaterThanOrEqual(RUNS * 10);
    expect(await startedCount()).toBe(before);
    const letters = (await stack.pool.query('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n - lettersBefore;
    // Every POST/PUT/PATCH that was refused is kept (reads and deletes of nothing have no body to keep).
    expect(letters).toBeGreaterThan(rejected / 2);
    const health = await fetch(`${stack.bridge.url}/healthz`);
    expect(health.status).toBe(200);
  }, 600_000);
});
