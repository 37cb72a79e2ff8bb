import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { Lms } from '../activities/lms';
import { lmsAdapter, lmsRoster } from '../activities/lms-vendors';
import { resultWhenStarted } from '../client/results';
import { signEvent } from '../client/signing';
import { isoDateOf } from '../domain/dates';
import { loadOrganisation } from '../domain/load-organisation';
import { ActualLmsState, type LearnerAccount } from '../domain/lms-state';
import { desiredLmsState, planChanges } from '../domain/plan';
import { ABSORB_STATUS, startAbsorbSimulator } from '../simulators/absorb';
import type { Fault } from '../simulators/lms';
import { startLmsSimulator } from '../simulators/lms';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { loadConfig, type HrsyncConfig } from '../stack/config';
import { startLocalStack } from '../stack/local';
import pg from 'pg';
import { eventually } from './support/stack';

// One contract for the LMS port, run against every adapter with its simulator. A new vendor is an
// adapter (activities/), a simulator (simulators/) and an entry in VENDORS; the suite is the same.

const org = loadOrganisation();

interface Harness {
  config: HrsyncConfig['lms'];
  /** Where the simulator answers, its test controls included. */
  simUrl: string;
  lms: Lms;
  /** How many accounts the LMS holds with this HRIS employee id. */
  accounts(employeeId: string): number;
  /** Completes a course in the LMS, as the learner finishing it would. */
  complete(employeeId: string, courseCode: string, completedAt: string, score: number): Promise<void>;
  /** Accounts made by another tool (for paging). */
  importLearners(employeeIds: string[]): void;
  injectFault(fault: Fault): void;
  /** Makes the adapter's token stop working, as the vendor would. */
  revokeToken(): Promise<void>;
  /** Calls the API answered 401, so far. */
  unauthorized(): number;
  /** Makes the person a course's instructor; undefined where the vendor has no such notion. */
  makeInstructor?: (employeeId: string, courseCode: string) => Promise<void>;
  /** An LMS user id that does not exist. */
  unknownUserId: string;
  /** Listing page size of the adapter. */
  pageSize: number;
  close(): Promise<void>;
}

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
};

type Simulator = {
  url: string;
  injectFault(fault: Fault): void;
  importLearners(learners: { externalId: string; username: string }[]): void;
  stats: { byStatus: Record<string, number> };
  close(): Promise<void>;
};

/** What every vendor's simulator offers alike. */
const shared = (sim: Simulator) => ({
  simUrl: sim.url,
  complete: (externalId: string, courseCode: string, completedAt: string, score: number) => post(`${sim.url}/sim/completions`, { externalId, courseCode, completedAt, score }),
  importLearners: (ids: string[]) => sim.importLearners(ids.map((externalId) => ({ externalId, username: `${externalId.toLowerCase()}@example.com` }))),
  injectFault: (fault: Fault) => sim.injectFault(fault),
  unauthorized: () => sim.stats.byStatus[401] ?? 0,
  close: sim.close,
});

const VENDORS: { vendor: HrsyncConfig['lms']['vendor']; start(): Promise<Harness> }[] = [
  {
    vendor: 'docebo',
    async start() {
      const clientSecret = randomBytes(8).toString('hex');
      const sim = await startLmsSimulator({ courses: org.courses, branches: org.branches, clientSecret });
      const config = loadConfig({ LMS_BASE_URL: sim.url, LMS_CLIENT_SECRET: clientSecret }, {}).lms;
      return {
        ...shared(sim),
        config,
        lms: lmsAdapter(config),
        accounts: (id) => sim.snapshot().users.filter((u) => u.external_id === id).length,
        // Docebo answers 401 to a token it revoked or let lapse.
        revokeToken: async () => sim.injectFault({ status: 401, count: 1 }),
        makeInstructor: (externalId, courseCode) => post(`${sim.url}/sim/course-staff`, { externalId, courseCode, role: 'instructor' }),
        unknownUserId: '999999',
        pageSize: 200,
      };
    },
  },
  {
    vendor: 'absorb',
    async start() {
      const password = randomBytes(8).toString('hex');
      const privateKey = randomUUID();
      const sim = await startAbsorbSimulator({ courses: org.courses, branches: org.branches, password, privateKey });
      const config = loadConfig({ LMS_VENDOR: 'absorb', LMS_BASE_URL: sim.url, LMS_USERNAME: sim.username, LMS_PASSWORD: password, LMS_API_KEY: privateKey }, {}).lms;
      return {
        ...shared(sim),
        config,
        lms: lmsAdapter(config),
        accounts: (id) => sim.snapshot().users.filter((u) => u.externalId === id).length,
        // Another client logging in as the same admin invalidates the adapter's token.
        revokeToken: () => post(`${sim.url}/authenticate`, { username: sim.username, password, privateKey }, { 'x-api-key': privateKey }),
        unknownUserId: randomUUID(),
        pageSize: 1000,
      };
    },
  },
];

const account = (id: string): LearnerAccount => ({
  externalId: id,
  username: `${id.toLowerCase()}@example.com`,
  firstName: 'Siobhan',
  lastName: "O'Neill",
  email: `${id.toLowerCase()}@example.com`,
  role: 'operator',
  managerId: 'M0001',
});

/** The Temporal failure a call ended in. */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe.each(VENDORS)('the LMS port, $vendor adapter against its simulator', ({ start }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => h?.close());

  /** A learner with an account in BR-BAY. */
  async function hired(id: string) {
    const created = await h.lms.createLearner(account(id), 'BR-BAY');
    expect(created.outcome).toBe('applied');
    return created;
  }

  it("refuses a malformed fault or rate limit at its test controls, naming the field", async () => {
    const control = async (path: string, body: unknown) => {
      const res = await fetch(`${h.simUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await control('/sim/faults', { status: 'busy' })).toMatchObject({ status: 400, body: { field: 'status' } });
    expect(await control('/sim/faults', { status: 503, probability: 2 })).toMatchObject({ status: 400, body: { field: 'probability' } });
    expect((await control('/sim/faults', { status: 503, pathprefix: '/users' })).status).toBe(400);
    expect(await control('/sim/rate-limit', { perSecond: 'fast' })).toMatchObject({ status: 400, body: { field: 'perSecond' } });
    expect(await control('/sim/rate-limit', { perSecond: 0 })).toMatchObject({ status: 200, body: { perSecond: 0 } });
    expect(await h.lms.findLearner('NOBODY-2')).toBeNull(); // nothing was injected
  });

  it('does not find a person the LMS does not know', async () => {
    expect(await h.lms.findLearner('NOBODY-1')).toBeNull();
    expect(await h.lms.employeeIdOf(h.unknownUserId)).toBeNull();
  });

  it('creates a learner once: a second create is already-done and leaves one account', async () => {
    const first = await h.lms.createLearner(account('C1'), 'BR-BAY');
    const second = await h.lms.createLearner(account('C1'), 'BR-BAY');
    expect(first).toMatchObject({ outcome: 'applied' });
    expect(second).toEqual({ outcome: 'already-done', lmsUserId: first.lmsUserId });
    expect(h.accounts('C1')).toBe(1);
    expect(await h.lms.employeeIdOf(first.lmsUserId!)).toBe('C1');
    // A fresh adapter (another worker) finds the same account rather than making a second.
    expect(await lmsAdapter(h.config).createLearner(account('C1'), null)).toEqual({ outcome: 'already-done', lmsUserId: first.lmsUserId });
    expect(h.accounts('C1')).toBe(1);
  });

  it('compares employee ids exactly: x1 and X1 are two people', async () => {
    const upper = await h.lms.createLearner(account('X1'), 'BR-BAY');
    const lower = await h.lms.createLearner({ ...account('x1'), username: 'x1.lower@example.com' }, 'BR-CLN');
    expect(lower.outcome).toBe('applied');
    expect(lower.lmsUserId).not.toBe(upper.lmsUserId);
    expect(await lmsAdapter(h.config).findLearner('X1')).toMatchObject({ userId: upper.lmsUserId, branch: 'BR-BAY' });
    expect(await lmsAdapter(h.config).findLearner('x1')).toMatchObject({ userId: lower.lmsUserId, branch: 'BR-CLN' });
  });

  it("answers the learner's account, branch, groups and enrollments in hrsync's shape", async () => {
    const { lmsUserId } = await hired('F1');
    await h.lms.addLearnerToGroup('F1', 'employees');
    await h.lms.addLearnerToGroup('F1', 'site-baytown');
    await h.lms.enrollLearner('F1', 'EHS-101', '2026-12-01');
    await h.lms.enrollLearner('F1', 'HAZ-101', '2026-12-08');
    const state = await h.lms.findLearner('F1');
    expect(ActualLmsState.parse(state)).toEqual({
      userId: lmsUserId,
      active: true,
      account: account('F1'),
      branch: 'BR-BAY',
      groups: ['employees', 'site-baytown'],
      enrollments: [
        { courseId: 'EHS-101', status: 'enrolled', dueDate: '2026-12-01', completedAt: null },
        { courseId: 'HAZ-101', status: 'enrolled', dueDate: '2026-12-08', completedAt: null },
      ],
    });
    // No branch: the account still exists, in no branch of ours.
    await h.lms.createLearner(account('F2'), null);
    expect((await h.lms.findLearner('F2'))?.branch).toBeNull();
  });

  it('updates the account and keeps everything else', async () => {
    await hired('U1');
    await h.lms.addLearnerToGroup('U1', 'employees');
    const changes = { email: 'u1.new@example.com', lastName: 'Okafor', role: 'supervisor', managerId: null };
    expect((await h.lms.updateLearner('U1', changes)).outcome).toBe('applied');
    const state = await h.lms.findLearner('U1');
    expect(state?.account).toEqual({ ...account('U1'), ...changes });
    expect(state).toMatchObject({ active: true, branch: 'BR-BAY', groups: ['employees'] });
    expect(['applied', 'already-done']).toContain((await h.lms.updateLearner('U1', changes)).outcome);
    expect((await h.lms.findLearner('U1'))?.account).toEqual({ ...account('U1'), ...changes });
  });

  it('moves the learner to another branch; an unknown branch is a catalog mismatch', async () => {
    await hired('B1');
    await h.lms.moveLearnerToBranch('B1', 'BR-BAY', 'BR-CLN');
    expect((await h.lms.findLearner('B1'))?.branch).toBe('BR-CLN');
    expect(['applied', 'already-done']).toContain((await h.lms.moveLearnerToBranch('B1', 'BR-BAY', 'BR-CLN')).outcome);
    expect((await h.lms.findLearner('B1'))?.branch).toBe('BR-CLN');
    const failure = await failureOf(h.lms.moveLearnerToBranch('B1', 'BR-CLN', 'BR-NOWHERE'));
    expect(failure).toMatchObject({ type: 'LmsCatalogMismatch', nonRetryable: true });
  });

  it('adds to and removes from groups idempotently', async () => {
    await hired('G1');
    await h.lms.addLearnerToGroup('G1', 'dept-operations');
    expect(['applied', 'already-done']).toContain((await h.lms.addLearnerToGroup('G1', 'dept-operations')).outcome);
    expect((await h.lms.findLearner('G1'))?.groups).toEqual(['dept-operations']);
    await h.lms.removeLearnerFromGroup('G1', 'dept-operations');
    expect(['applied', 'already-done']).toContain((await h.lms.removeLearnerFromGroup('G1', 'dept-operations')).outcome);
    expect((await h.lms.findLearner('G1'))?.groups).toEqual([]);
    expect(await h.lms.removeLearnerFromGroup('G1', 'a-group-nobody-made')).toEqual({ outcome: 'already-done' });
  });

  it('enrolls once and unenrolls once; an unknown course is a catalog mismatch', async () => {
    await hired('E1');
    expect(await h.lms.enrollLearner('E1', 'EHS-101', '2026-12-01')).toEqual({ outcome: 'applied' });
    expect(await h.lms.enrollLearner('E1', 'EHS-101', '2026-12-01')).toEqual({ outcome: 'already-done' });
    expect((await h.lms.findLearner('E1'))?.enrollments.map((e) => e.courseId)).toEqual(['EHS-101']);
    expect(await h.lms.unenrollLearner('E1', 'EHS-101')).toEqual({ outcome: 'applied' });
    expect(await h.lms.unenrollLearner('E1', 'EHS-101')).toEqual({ outcome: 'already-done' });
    expect((await h.lms.findLearner('E1'))?.enrollments).toEqual([]);
    for (const call of [h.lms.enrollLearner('E1', 'NOPE-999', '2026-12-01'), h.lms.unenrollLearner('E1', 'NOPE-999')]) {
      expect(await failureOf(call)).toMatchObject({ type: 'LmsCatalogMismatch', nonRetryable: true });
    }
    // Steps for someone without an account fail the same way (a plan out of step with the LMS).
    expect(await failureOf(h.lms.enrollLearner('NOBODY-2', 'EHS-101', '2026-12-01'))).toMatchObject({ type: 'LmsCatalogMismatch' });
  });

  it('re-enrolls a completed course with a new due date, once', async () => {
    await hired('R1');
    await h.lms.enrollLearner('R1', 'FRK-201', '2026-01-15');
    await h.complete('R1', 'FRK-201', '2026-01-10T09:30:00.000Z', 92);
    expect((await h.lms.findLearner('R1'))?.enrollments).toEqual([{ courseId: 'FRK-201', status: 'completed', dueDate: '2026-01-15', completedAt: expect.stringMatching(/^2026-01-10T09:30:00/) }]);
    expect(await h.lms.reenrollLearner('R1', 'FRK-201', '2029-01-10')).toEqual({ outcome: 'applied' });
    expect(await h.lms.reenrollLearner('R1', 'FRK-201', '2029-01-10')).toEqual({ outcome: 'already-done' });
    expect((await h.lms.findLearner('R1'))?.enrollments).toEqual([{ courseId: 'FRK-201', status: 'enrolled', dueDate: '2029-01-10', completedAt: null }]);
  });

  it('deactivates and reactivates the account', async () => {
    await hired('A1');
    await h.lms.setLearnerActive('A1', false);
    expect((await h.lms.findLearner('A1'))?.active).toBe(false);
    expect((await h.lms.listAccounts()).find((a) => a.externalId === 'A1')).toEqual({ externalId: 'A1', active: false });
    expect(['applied', 'already-done']).toContain((await h.lms.setLearnerActive('A1', false)).outcome);
    await h.lms.setLearnerActive('A1', true);
    expect((await h.lms.findLearner('A1'))?.active).toBe(true);
    // Deactivation changed nothing else (a replacing update must not drop the external id or branch).
    expect(await h.lms.findLearner('A1')).toMatchObject({ account: account('A1'), branch: 'BR-BAY' });
  });

  it('lists completions since a watermark: older ones stay out, newer ones come, the watermark moves on', async () => {
    await hired('W1');
    await hired('W2');
    for (const code of ['EHS-101', 'HAZ-101', 'EAP-101']) await h.lms.enrollLearner('W1', code, '2026-12-01');
    await h.complete('W1', 'EHS-101', '2026-03-01T08:00:00.000Z', 81);
    await new Promise((r) => setTimeout(r, 10));
    await h.complete('W1', 'HAZ-101', '2026-03-02T08:00:00.000Z', 95);
    const first = await h.lms.completionsSince(null);
    const keys = (cs: { employeeId: string; courseId: string }[]) => cs.map((c) => `${c.employeeId}:${c.courseId}`);
    expect(keys(first.completions)).toEqual(expect.arrayContaining(['W1:EHS-101', 'W1:HAZ-101']));
    expect(first.completions.find((c) => c.courseId === 'HAZ-101' && c.employeeId === 'W1')).toEqual({ employeeId: 'W1', courseId: 'HAZ-101', completedAt: '2026-03-02T08:00:00.000Z', score: 95 });
    expect(first.watermark).not.toBeNull();

    await new Promise((r) => setTimeout(r, 10));
    await h.complete('W1', 'EAP-101', '2026-03-05T08:00:00.000Z', 100);
    await h.complete('W2', 'EHS-101', '2026-03-06T08:00:00.000Z', 77);
    const second = await h.lms.completionsSince(first.watermark);
    expect(keys(second.completions)).toEqual(expect.arrayContaining(['W1:EAP-101', 'W2:EHS-101']));
    // The oldest is behind the watermark; only one at the watermark's instant may come again.
    expect(keys(second.completions)).not.toContain('W1:EHS-101');
    expect(Date.parse(second.watermark!)).toBeGreaterThan(Date.parse(first.watermark!));
    // Nothing new: at most what stood at the watermark's instant comes again, and the watermark stays.
    const third = await h.lms.completionsSince(second.watermark);
    expect(keys(second.completions)).toEqual(expect.arrayContaining(keys(third.completions)));
    expect(keys(third.completions)).not.toContain('W1:HAZ-101');
    expect(third.watermark).toBe(second.watermark);
  });

  it('lists the courses a person leads, in the same shape (none where the vendor has no instructors)', async () => {
    await hired('L1');
    if (h.makeInstructor) await h.makeInstructor('L1', 'PSM-201');
    const led = await h.lms.coursesLedBy('L1');
    expect(led).toEqual(h.makeInstructor ? [{ courseId: 'PSM-201', title: expect.any(String), role: 'instructor' }] : []);
    expect(await h.lms.coursesLedBy('NOBODY-3')).toEqual([]);
  });

  it('turns a 429 into a retryable failure that waits for Retry-After; the retry goes through', async () => {
    await hired('T1');
    h.injectFault({ status: 429, count: 1, retryAfterSeconds: 3 });
    const failure = await failureOf(h.lms.findLearner('T1'));
    expect(failure).toMatchObject({ type: 'VendorRateLimited', nonRetryable: false, nextRetryDelay: 3000 });
    expect((await h.lms.findLearner('T1'))?.account.externalId).toBe('T1');
  });

  it('survives a token the LMS stopped accepting by getting a new one', async () => {
    await hired('K1');
    const refused = h.unauthorized();
    await h.revokeToken();
    expect((await h.lms.findLearner('K1'))?.account.externalId).toBe('K1');
    expect(h.unauthorized()).toBeGreaterThan(refused);
    await h.lms.enrollLearner('K1', 'EHS-101', '2026-12-01');
  });

  it('reads the roster for the compliance report: active learners with branch, role and enrollments', async () => {
    await hired('P1');
    await h.lms.enrollLearner('P1', 'HAZ-101', '2026-11-30');
    await hired('P2');
    await h.lms.setLearnerActive('P2', false);
    const reader = lmsRoster(h.config, { concurrency: 4 });
    const roster = await reader.listLearners();
    expect(roster.find((l) => l.employeeId === 'P1')).toMatchObject({
      name: "Siobhan O'Neill",
      active: true,
      branch: 'BR-BAY',
      role: 'operator',
      enrollments: [{ courseId: 'HAZ-101', status: 'enrolled', dueDate: '2026-11-30', completedAt: null }],
    });
    expect(roster.find((l) => l.employeeId === 'P2')).toBeUndefined();
    expect(reader.requests).toBeGreaterThan(0);
  });

  // Last: it adds many accounts.
  it('lists every account across more than one page', async () => {
    const ids = Array.from({ length: h.pageSize + 150 }, (_, i) => `BULK${String(i).padStart(5, '0')}`);
    h.importLearners(ids);
    const accounts = await h.lms.listAccounts();
    const listed = new Set(accounts.map((a) => a.externalId));
    expect(ids.filter((id) => !listed.has(id))).toEqual([]);
    expect(accounts.find((a) => a.externalId === 'BULK00000')).toEqual({ externalId: 'BULK00000', active: true });
    expect(listed.has('C1')).toBe(true);
  });
});

describe('choosing the LMS vendor', () => {
  it('reads LMS_VENDOR (default docebo) and names the allowed values when it is wrong', () => {
    expect(loadConfig({}, {}).lms.vendor).toBe('docebo');
    expect(loadConfig({ LMS_VENDOR: 'Absorb', LMS_USERNAME: 'api-admin', LMS_PASSWORD: 'pw', LMS_API_KEY: 'key' }, {}).lms).toMatchObject({
      vendor: 'absorb',
      username: 'api-admin',
      password: 'pw',
      apiKey: 'key',
    });
    expect(() => loadConfig({ LMS_VENDOR: 'moodle' }, {})).toThrow('LMS_VENDOR must be one of docebo, absorb; got "moodle"');
    expect(() => lmsAdapter(loadConfig({ LMS_VENDOR: 'absorb', LMS_USERNAME: 'api-admin' }, {}).lms)).toThrow('LMS_VENDOR=absorb needs LMS_PASSWORD, LMS_API_KEY');
  });

  it('LMS_VENDOR=absorb: the embedded stack runs the Absorb-style simulator; a hire reaches it and a completion comes back through the poller, end to end', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      LMS_VENDOR: 'absorb',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('databaseUrl'),
      HRSYNC_TASK_QUEUE: `test-absorb-${randomUUID()}`,
      HRSYNC_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      HRSYNC_HOME: mkdtempSync(join(tmpdir(), 'hrsync-absorb-')),
      LOG_LEVEL: 'warn',
    });
    for (const key of ['HRIS_BASE_URL', 'LMS_BASE_URL', 'LMS_USERNAME', 'LMS_PASSWORD', 'LMS_API_KEY']) delete process.env[key];
    const stack = await startLocalStack({ ephemeral: true, workflowBundlePath: inject('workflowBundlePath') });
    try {
      expect(stack.config.lms.vendor).toBe('absorb');
      expect(stack.lmsSimulator).toBeUndefined();
      const sim = stack.absorbSimulator!;
      expect(sim).toBeDefined();

      const today = isoDateOf(new Date());
      const [person] = sampleRoster(today, `AB${randomBytes(3).toString('hex')}-`);
      stack.hrisSimulator!.upsertEmployee(bambooRecord(person!));
      const event = hireEvent(person!);
      const body = JSON.stringify(event);
      const res = await fetch(`${stack.config.bridgeUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(stack.config.webhookSecret!, body) }, body });
      expect(res.status).toBe(202);
      expect(await resultWhenStarted<{ outcome: string }>(stack.temporal, `onboarding-${person!.id}-${event.id}`)).toMatchObject({ outcome: 'applied' });

      const users = sim.snapshot().users.filter((u) => u.externalId === person!.id);
      expect(users).toHaveLength(1);
      expect(users[0]).toMatchObject({ activeStatus: 0, department: 'BR-BAY', username: person!.email });
      expect(users[0]!.enrollments.length).toBeGreaterThan(0);
      expect(users[0]!.enrollments.every((e) => e.status === ABSORB_STATUS.NotStarted)).toBe(true);
      // What the Absorb-style LMS now holds is exactly what the organisation's rules ask for.
      const actual = await lmsAdapter(stack.config.lms).findLearner(person!.id);
      expect(planChanges(desiredLmsState(person!, org, today), actual)).toEqual([]);

      // No webhooks here: a completion comes back through the poller, as a training record and a skill in the HRIS.
      const since = new Date(Date.now() - 1000).toISOString();
      const completed = await fetch(`${sim.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: person!.id, courseCode: 'LOTO-201', score: 91 }) });
      expect(completed.status).toBe(200);
      const polled = await stack.temporal.workflow.execute('completionPoll', { workflowId: `poll-absorb-${randomUUID()}`, taskQueue: stack.config.taskQueue, args: [{ since }] });
      expect(polled).toMatchObject({ found: 1, accepted: 1 });
      const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
      try {
        const record = await eventually(async () => (await pool.query(`SELECT * FROM training_records WHERE employee_id = $1`, [person!.id])).rows[0], 'the training record');
        expect(record).toMatchObject({ course_id: 'LOTO-201', source: 'lms-poll', score: '91' });
      } finally {
        await pool.end();
      }
      await eventually(() => stack.hrisSimulator!.tableRows(person!.id, 'customSkills').some((r) => r.customSkillId === 'loto'), 'the skill in the HRIS');
    } finally {
      await stack.stop();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
