import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateOf } from '../domain/dates';
import { bambooRecord, contractorProfile, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { freePort, startDevServer, type DevServer } from '../stack/temporal';
import { eventually, killHard, spawnWorker, startTestStack, type TestStack } from './support/stack';

// Timers are the point of Temporal here: a contract end or a termination date weeks away must
// fire even if every process in between dies. This suite has a dev server of its own, persisted
// to a file, so it can restart it.

let dir: string;
let port: number;
let server: DevServer | undefined;
let stack: TestStack;
let worker: ChildProcess | undefined;

const startServer = async () => {
  server = await startDevServer({ port, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log'), readyTimeoutMs: 120_000 });
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hrsync-timers-'));
  port = await freePort();
  await startServer();
  stack = await startTestStack({ worker: false, temporalAddress: server!.address });
  worker = spawnWorker(stack);
});

afterAll(async () => {
  await killHard(worker);
  await stack?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('durable timers', () => {
  it('a contract end and a termination date fire after a worker SIGKILL and a dev-server restart', async () => {
    const today = isoDateOf(new Date());
    const firesAt = new Date(Date.now() + 30_000).toISOString();
    const contractor = contractorProfile('D5001', 'BAY', 'CTR-MNT', today, firesAt);
    const leaver = employeeProfile(0, SAMPLE_HIRES[9]!, today, 'D');
    stack.hris.upsertEmployee(bambooRecord(contractor));
    stack.hris.upsertEmployee(bambooRecord(leaver, firesAt));

    const start = lifecycleEvent('contractor_start', contractor);
    const hire = hireEvent(leaver);
    for (const e of [start, hire]) expect((await stack.postEvent(e)).status).toBe(202);
    await stack.resultOf(`onboarding-${contractor.id}-${start.id}`);
    await stack.resultOf(`onboarding-${leaver.id}-${hire.id}`);
    const termination = lifecycleEvent('termination', leaver, { termination: { date: firesAt, reasonCode: 'RESIGNATION' } });
    expect((await stack.postEvent(termination)).status).toBe(202);
    await eventually(async () => (await stack.lifecycle(contractor.id)).contract !== null, 'the contract timer');
    await eventually(
      async () => (await stack.auditRows(leaver.id)).some((r) => r.action === 'deactivation-scheduled'),
      'the termination timer',
    );

    // Everything dies: the worker without warning, then the Temporal server.
    await killHard(worker);
    await server!.stop();
    expect(stack.learnersFor(contractor.id)[0]!.status).toBe('1');
    expect(stack.learnersFor(leaver.id)[0]!.status).toBe('1');
    await new Promise((r) => setTimeout(r, 2000));
    await startServer();
    worker = spawnWorker(stack);

    await eventually(() => stack.learnersFor(contractor.id)[0]!.status === '0', 'the contract end to close the account', 90_000);
    await eventually(() => stack.learnersFor(leaver.id)[0]!.status === '0', 'the termination to close the account', 90_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(firesAt));
    expect(stack.lms.stats.usersCreated).toBe(2);
    await stack.resultOf(`offboarding-${leaver.id}-${termination.id}`);
  }, 240_000);
});
