import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { postgresAuditStore } from '../activities/audit';
import { bambooHr } from '../activities/hris';
import { createBridge } from '../client/bridge';
import { signEvent } from '../client/signing';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';
import { serve, type RunningServer } from '../stack/http';
import { temporalLogFunction } from '../stack/logger';
import { endpointLabel, startWorkerMetricsServer, type MetricsServer } from '../stack/metrics';
import { eventually, startTestStack, type TestStack } from './support/stack';

// Prometheus metrics against the real stack: the bridge's GET /metrics and the worker's metrics
// server (started here on a free port against the test stack's Temporal client), each scraped over
// HTTP and compared before and after what the test did.

let stack: TestStack;
let workerMetrics: MetricsServer;
beforeAll(async () => {
  stack = await startTestStack();
  workerMetrics = await startWorkerMetricsServer({ port: 0, temporal: stack.client, approvalsCacheMs: 0 });
});
afterAll(async () => {
  await workerMetrics?.close();
  await stack?.stop();
});

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = parseExposition(text);
  /** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  return { text, samples, value };
}
type Scrape = Awaited<ReturnType<typeof scrape>>;
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

const bridgeMetricsUrl = () => `${stack.bridge.url}/metrics`;
let serial = 0;
function person(overrides: Partial<EmployeeProfile> = {}): EmployeeProfile {
  const p = { ...employeeProfile(serial++, SAMPLE_HIRES[0]!, isoDateOf(new Date()), 'MTX'), ...overrides };
  stack.hris.upsertEmployee(bambooRecord(p));
  return p;
}

describe('the bridge: GET /metrics', () => {
  it('documents every hrsync metric and includes the Node process metrics', async () => {
    const { text } = await scrape(bridgeMetricsUrl());
    for (const name of ['hrsync_events_received_total', 'hrsync_events_rejected_total', 'hrsync_events_duplicate_total', 'hrsync_vendor_requests_total']) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} counter$`, 'm'));
    }
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
  });

  it('a hire, its redelivery and a bad signature move the counters by exactly that', async () => {
    const p = person();
    const event = hireEvent(p);
    const before = await scrape(bridgeMetricsUrl());
    expect((await stack.postEvent(event)).status).toBe(202);
    expect((await stack.postEvent(event)).status).toBe(200);
    expect((await stack.postEvent(event, { secret: 'not-the-secret' })).status).toBe(401);
    const after = await scrape(bridgeMetricsUrl());

    expect(delta(before, after, 'hrsync_events_received_total')).toBe(2);
    expect(delta(before, after, 'hrsync_events_received_total', { source: 'api' })).toBe(2);
    expect(delta(before, after, 'hrsync_events_duplicate_total')).toBe(1);
    expect(delta(before, after, 'hrsync_events_duplicate_total', { source: 'api' })).toBe(1);
    expect(delta(before, after, 'hrsync_events_rejected_total')).toBe(1);
    expect(delta(before, after, 'hrsync_events_rejected_total', { source: 'api', endpoint: '/events', status: '401', reason: 'signature' })).toBe(1);
    await stack.resultOf(`onboarding-${p.id}-${event.id}`);
  });

  it('labels rejections with a short reason and a route, never the message or an id', async () => {
    const before = await scrape(bridgeMetricsUrl());
    const notJson = 'Jane Doe <jane.doe@example.com> is not JSON';
    expect((await stack.postEvent(notJson)).status).toBe(400);
    expect((await stack.postEvent(JSON.stringify({ id: 'evt-metrics-invalid' }))).status).toBe(400);
    const userId = '2819c223-7f76-453a-919d-413861904646';
    const scim = await fetch(`${stack.bridge.url}/scim/v2/Users/${userId}`, { headers: { authorization: 'Bearer wrong' } });
    expect(scim.status).toBe(401);
    const after = await scrape(bridgeMetricsUrl());

    expect(delta(before, after, 'hrsync_events_rejected_total', { endpoint: '/events', status: '400', reason: 'not-json' })).toBe(1);
    expect(delta(before, after, 'hrsync_events_rejected_total', { endpoint: '/events', status: '400', reason: 'invalid' })).toBe(1);
    expect(delta(before, after, 'hrsync_events_rejected_total', { source: 'scim', endpoint: 'GET /scim/v2/Users/:id', status: '401', reason: 'signature' })).toBe(1);
    expect(after.text).not.toContain('Jane');
    expect(after.text).not.toContain(userId);
    expect(endpointLabel('PATCH /scim/v2/Groups/abc')).toBe('PATCH /scim/v2/Groups/:id');
    expect(endpointLabel('POST /scim/v2/Bulk/whatever/else')).toBe('scim-other');
  });

  it('a surface without its secret is "not-configured", and the log line names neither the person nor the body', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const bridge: RunningServer = await serve(
      createBridge({ temporal: stack.client, pool: stack.pool, taskQueue: stack.taskQueue, secrets: { webhook: stack.webhookSecret }, hris: bambooHr(stack.config.hris), logger: pino({ level: 'info' }, sink) }),
    );
    try {
      const before = await scrape(bridgeMetricsUrl());
      const bamboo = await fetch(`${bridge.url}/webhooks/bamboohr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"employees":[]}' });
      expect(bamboo.status).toBe(503);
      const raw = '{"firstName": "Jane", "email": "jane.doe@example.com" broken';
      const bad = await fetch(`${bridge.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(stack.webhookSecret, raw) }, body: raw });
      expect(bad.status).toBe(400);
      const after = await scrape(bridgeMetricsUrl());
      expect(delta(before, after, 'hrsync_events_rejected_total', { source: 'bamboohr', endpoint: '/webhooks/bamboohr', status: '503', reason: 'not-configured' })).toBe(1);
      expect(delta(before, after, 'hrsync_events_rejected_total', { endpoint: '/events', reason: 'not-json' })).toBe(1);

      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.filter((l) => l.msg === 'delivery rejected').map((l) => l.reason)).toEqual(['not-configured', 'not-json']);
      for (const line of lines) {
        expect(line).not.toContain('Jane');
        expect(line).not.toContain('example.com');
      }
    } finally {
      await bridge.close();
    }
  });
});

describe('the worker: its metrics server', () => {
  it('counts the hire outcome once, the time from HR event to LMS action, and LMS calls including 429s', async () => {
    const metricsUrl = workerMetrics.url;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(metricsUrl);
    stack.lms.injectFault({ status: 429, count: 2, retryAfterSeconds: 1 });
    const p = person();
    const event = hireEvent(p);
    expect((await stack.postEvent(event)).status).toBe(202);
    const result = await stack.resultOf<{ outcome: string }>(`onboarding-${p.id}-${event.id}`);
    expect(result.outcome).toBe('applied');
    const after = await scrape(metricsUrl);

    expect(delta(before, after, 'hrsync_workflows_completed_total', { workflow: 'hire', outcome: 'applied' })).toBe(1);
    expect(delta(before, after, 'hrsync_workflows_completed_total')).toBe(1);
    expect(delta(before, after, 'hrsync_event_to_lms_seconds_count', { workflow: 'hire' })).toBe(1);
    const seconds = delta(before, after, 'hrsync_event_to_lms_seconds_sum', { workflow: 'hire' });
    expect(seconds).toBeGreaterThan(1); // the two 429s alone hold it up a second or more
    expect(seconds).toBeLessThan(120);
    expect(delta(before, after, 'hrsync_event_to_lms_seconds_bucket', { workflow: 'hire', le: '300' })).toBe(1);
    expect(delta(before, after, 'hrsync_event_to_lms_seconds_bucket', { workflow: 'hire', le: '0.1' })).toBe(0);
    expect(delta(before, after, 'hrsync_vendor_requests_total', { system: 'LMS', status: '429' })).toBe(2);
    expect(delta(before, after, 'hrsync_vendor_requests_total', { system: 'LMS', status: '2xx' })).toBeGreaterThan(3);
    expect(delta(before, after, 'hrsync_vendor_requests_total', { system: 'HRIS', status: '2xx' })).toBeGreaterThan(0);
    expect(after.text).toMatch(/^# HELP hrsync_event_to_lms_seconds \S/m);
    expect(after.text).toMatch(/^# TYPE hrsync_event_to_lms_seconds histogram$/m);
    expect(after.text).toMatch(/^process_resident_memory_bytes /m);

    // The audit insert is idempotent, and so is the count: the same outcome row again counts nothing.
    const row = (await stack.pool.query(`SELECT * FROM audit_log WHERE employee_id = $1 AND kind = 'outcome'`, [p.id])).rows[0];
    const written = await postgresAuditStore(stack.pool).record([
      { employeeId: p.id, eventId: row.event_id, workflowId: row.workflow_id, kind: 'outcome', action: row.action, result: row.result, idempotencyKey: row.idempotency_key },
    ]);
    expect(written).toBe(0);
    const again = await scrape(metricsUrl);
    expect(delta(after, again, 'hrsync_workflows_completed_total')).toBe(0);
    expect(delta(after, again, 'hrsync_event_to_lms_seconds_count')).toBe(0);
  });

  it('approvals_pending counts a workflow waiting for an approval until it is decided', async () => {
    const pending = async () => (await scrape(workerMetrics.url)).value('hrsync_approvals_pending');
    // Earlier test files may have left workflows waiting on the shared dev server: count from here.
    const baseline = await pending();
    const p = person({ jobCode: 'LEGACY-7', jobTitle: 'Operator', department: 'OPS', site: 'BAY' });
    const event = hireEvent(p);
    expect((await stack.postEvent(event)).status).toBe(202);
    const workflowId = `onboarding-${p.id}-${event.id}`;
    expect((await stack.pendingOn(workflowId)).kind).toBe('ai-mapping');
    await eventually(async () => (await pending()) === baseline + 1, 'approvals_pending to count the waiting workflow', 30_000);

    await stack.decideWhenPending(workflowId, 'approve', 'ld.chen');
    expect((await stack.resultOf<{ outcome: string }>(workflowId)).outcome).toBe('applied');
    await eventually(async () => (await pending()) === baseline, 'approvals_pending to drop back', 30_000);
  });
});

describe('the Temporal SDK logs', () => {
  it('become pino JSON lines, with e-mail addresses in failure messages masked', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const log = temporalLogFunction(pino({ level: 'info' }, sink));
    const error = new Error('LMS POST /manage/v1/user answered 400: {"message":"jane.doe@example.com exists"}');
    log({ level: 'WARN', message: 'Activity failed', timestampNanos: 0n, meta: { workflowId: 'onboarding-E1-evt', activityType: 'applyPlan', error } });
    log({ level: 'DEBUG', message: 'dropped below the pino level', timestampNanos: 0n });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 40, component: 'temporal-sdk', msg: 'Activity failed', workflowId: 'onboarding-E1-evt', activityType: 'applyPlan', error: { name: 'Error' } });
    expect(line.error.message).toContain('[email]');
    expect(lines[0]).not.toContain('example.com');
  });
});
