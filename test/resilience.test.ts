import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isoDateOf } from '../domain/dates';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { killHard, spawnWorker, startTestStack, type TestStack } from './support/stack';

describe('the LMS pushes back', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.stop());
  afterEach(() => stack.lms.clearFaults());

  it('answering 429 with Retry-After and then 503 for a while: the hire still completes with exactly one learner', async () => {
    const profile = sampleRoster(isoDateOf(new Date()), 'F')[2]!;
    stack.hris.upsertEmployee(bambooRecord(profile));
    stack.lms.injectFault({ status: 429, count: 3, retryAfterSeconds: 1 });
    stack.lms.injectFault({ status: 503, count: 3 });
    const before = { ...stack.lms.stats.byStatus };
    const event = hireEvent(profile);
    expect((await stack.postEvent(event)).status).toBe(202);
    const result = await stack.resultOf<{ outcome: string }>(`onboarding-${profile.id}-${event.id}`);
    expect(result.outcome).toBe('applied');
    expect((stack.lms.stats.byStatus[429] ?? 0) - (before[429] ?? 0)).toBe(3);
    expect((stack.lms.stats.byStatus[503] ?? 0) - (before[503] ?? 0)).toBe(3);
    const learners = stack.learnersFor(profile.id);
    expect(learners).toHaveLength(1);
    expect(learners[0]!.enrollments).toHaveLength(12);
  });

  it('a tight rate limit across several concurrent hires: every hire completes, one learner each', async () => {
    stack.lms.setRateLimit(15);
    try {
      const people = sampleRoster(isoDateOf(new Date()), 'L').slice(0, 4);
      const events = people.map((p) => {
        stack.hris.upsertEmployee(bambooRecord(p));
        return hireEvent(p);
      });
      await Promise.all(events.map((e) => stack.postEvent(e)));
      const results = await Promise.all(events.map((e) => stack.resultOf<{ outcome: string }>(`onboarding-${e.employee.id}-${e.id}`, 180_000)));
      expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
      for (const p of people) expect(stack.learnersFor(p.id)).toHaveLength(1);
      expect(stack.lms.stats.byStatus[429] ?? 0).toBeGreaterThan(0);
    } finally {
      stack.lms.setRateLimit(0);
    }
  }, 240_000);
});

describe('the worker dies mid-onboarding', () => {
  let stack: TestStack;
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, lms: { latencyMs: 800 } });
  });
  afterAll(async () => {
    await killHard(worker);
    await stack?.stop();
  });

  const startWorker = () => spawnWorker(stack);

  it('SIGKILL after the account exists but before all enrollments, then a restart: completes with no duplicate effects', async () => {
    const profile = sampleRoster(isoDateOf(new Date()), 'K')[1]!; // a process supervisor: 18 LMS changes
    stack.hris.upsertEmployee(bambooRecord(profile));
    worker = startWorker();
    const event = hireEvent(profile);
    expect((await stack.postEvent(event)).status).toBe(202);

    // Once the account exists the group and enrollment calls are in flight (each takes 800 ms
    // at the LMS): kill the worker without warning right then.
    const deadline = Date.now() + 60_000;
    while (!stack.learnersFor(profile.id).length) {
      if (Date.now() > deadline) throw new Error('the onboarding never got going');
      await new Promise((r) => setTimeout(r, 10));
    }
    await killHard(worker);
    expect(stack.learnersFor(profile.id)[0]!.enrollments.length).toBeLessThan(11);

    worker = startWorker();
    const result = await stack.resultOf<{ outcome: string }>(`onboarding-${profile.id}-${event.id}`, 150_000);
    expect(result.outcome).toBe('applied');

    const learners = stack.learnersFor(profile.id);
    expect(learners).toHaveLength(1);
    expect(learners[0]!.enrollments).toHaveLength(11);
    expect(learners[0]!.groups).toHaveLength(6);
    const audit = await stack.auditRows(profile.id);
    const stepRows = audit.filter((r) => r.kind === 'step');
    const keys = stepRows.map((r) => `${r.action}:${JSON.stringify(r.step)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(stepRows).toHaveLength(18);
    expect(audit.filter((r) => r.kind === 'outcome')).toHaveLength(1);
    expect(stack.lms.stats.usersCreated).toBe(1);
  }, 240_000);
});
