import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docebo } from '../activities/lms';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import { desiredLmsState, planChanges } from '../domain/plan';
import { stepKey } from '../domain/lms-state';
import { bambooRecord, contractorProfile, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { EmployeeIdKey, hrEventSignal } from '../workflows/definitions';
import { eventually, organisation, startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());

/** A deterministic shuffle (the order differs from the submission order of each person's events). */
function shuffle<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Story {
  final: EmployeeProfile & { terminationDate?: string };
  events: HrEvent[];
}

function stories(): Story[] {
  const out: Story[] = [];
  for (let i = 0; i < 24; i++) {
    const base = employeeProfile(i, SAMPLE_HIRES[i % SAMPLE_HIRES.length]!, addDays(today(), 3), 'M');
    const id = base.id;
    switch (i % 6) {
      case 0: // a hire
        out.push({ final: base, events: [hireEvent(base)] });
        break;
      case 1: {
        // a hire, then a promotion (not into leadership, which would wait for a person)
        const promoted = { ...base, jobCode: 'MNT-SR', jobTitle: 'Senior Maintenance Technician', department: 'MNT' };
        out.push({ final: promoted, events: [hireEvent(base), lifecycleEvent('role_change', promoted, { id: `evt-promo-${id}` })] });
        break;
      }
      case 2: {
        // a hire, then a transfer to the other plant
        const moved = { ...base, site: base.site === 'BAY' ? 'DAY' : 'BAY', managerId: 'E1007' };
        out.push({ final: moved, events: [hireEvent(base), lifecycleEvent('transfer', moved, { id: `evt-move-${id}` })] });
        break;
      }
      case 3: {
        // a hire, then a termination today
        const leaving = { ...base, startDate: addDays(today(), -90), terminationDate: today() };
        out.push({
          final: leaving,
          events: [hireEvent({ ...base, startDate: leaving.startDate }), lifecycleEvent('termination', leaving, { id: `evt-term-${id}`, termination: { date: today(), reasonCode: 'RESIGNATION' } })],
        });
        break;
      }
      case 4: {
        // a contractor for two months
        const contractor = contractorProfile(`M${3001 + i}`, i % 2 ? 'BAY' : 'DAY', i % 2 ? 'CTR-MNT' : 'CTR-PIPE', today(), addDays(today(), 60));
        out.push({ final: contractor, events: [lifecycleEvent('contractor_start', contractor, { id: `evt-ctr-${contractor.id}` })] });
        break;
      }
      default: {
        // a hire, a promotion, then a transfer
        const promoted = { ...base, jobCode: 'CHM-OP2', jobTitle: 'Chemical Process Operator II', department: 'OPS' };
        const moved = { ...promoted, site: 'DAY' };
        out.push({
          final: moved,
          events: [hireEvent(base), lifecycleEvent('role_change', promoted, { id: `evt-promo-${id}` }), lifecycleEvent('transfer', moved, { id: `evt-move-${id}` })],
        });
      }
    }
  }
  return out;
}

describe('many employees, events shuffled and submitted concurrently', () => {
  it('ends with every LMS account equal to the desired state of the final HR profile, and no account twice', async () => {
    const all = stories();
    // HR has already entered each person's final state; the events arrive in any order.
    for (const s of all) stack.hris.upsertEmployee(bambooRecord(s.final, s.final.terminationDate));
    const events = shuffle(all.flatMap((s) => s.events));
    expect(events.length).toBeGreaterThanOrEqual(40);
    const answers = await Promise.all(events.map((e) => stack.postEvent(e)));
    expect(answers.every((a) => a.status === 202)).toBe(true);

    // Every person's entity workflow has run every one of their events.
    for (const s of all) {
      const ids = new Set(s.events.map((e) => e.id));
      await eventually(async () => {
        const view = await stack.lifecycle(s.final.id);
        return !view.current && !view.pending.length && view.recent.filter((r) => ids.has(r.eventId!)).length === ids.size;
      }, `all events of ${s.final.id}`, 120_000);
    }

    const lms = docebo(stack.config.lms);
    const asOf = new Date().toISOString();
    const mismatches: string[] = [];
    for (const s of all) {
      const desired = desiredLmsState({ ...s.final, terminationDate: s.final.terminationDate ?? null, accessGroups: [] }, organisation, asOf);
      const gap = planChanges(desired, await lms.findLearner(s.final.id));
      if (gap.length) mismatches.push(`${s.final.id}: ${gap.map(stepKey).join(', ')}`);
    }
    expect(mismatches).toEqual([]);

    const ids = stack.lms.snapshot().users.map((u) => u.external_id);
    expect(new Set(ids).size).toBe(ids.length);
    // The people who left were never left with an open account.
    for (const s of all.filter((x) => x.final.terminationDate)) {
      expect(stack.learnersFor(s.final.id).every((u) => u.status === '0')).toBe(true);
    }
  }, 300_000);
});

describe('the entity workflow carries its state across continue-as-new', () => {
  it('starts a new run past its history limit and keeps pending events, seen event ids and contract timers', async () => {
    const contractor = contractorProfile('Z4001', 'BAY', 'CTR-MNT', today(), addDays(today(), 45));
    stack.hris.upsertEmployee(bambooRecord(contractor));
    const workflowId = `employee-${contractor.id}`;
    await stack.client.workflow.start('employeeLifecycle', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [{ employeeId: contractor.id, maxHistoryEvents: 30 }],
      typedSearchAttributes: [{ key: EmployeeIdKey, value: contractor.id }],
    });
    const start = lifecycleEvent('contractor_start', contractor, { id: 'evt-z-start' });
    const grants = ['DCS Engineering Workstation', 'EHR Clinical Access'].map((group, i) =>
      lifecycleEvent('access_grant', contractor, { id: `evt-z-grant-${i}`, access: { group } }),
    );
    for (const e of [start, ...grants]) expect((await stack.postEvent(e)).status).toBe(202);
    await stack.resultOf(`accessGrant-${contractor.id}-${grants[1]!.id}`);

    const runs = await eventually(async () => {
      const found = [];
      for await (const wf of stack.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) found.push(wf.status.name);
      return found.length > 1 ? found : undefined;
    }, 'a second run of the entity workflow');
    expect(runs).toContain('CONTINUED_AS_NEW');

    // The timers and the memory of seen events made it into the new run.
    const view = await eventually(async () => {
      const v = await stack.lifecycle(contractor.id);
      return v.contract ? v : undefined;
    }, 'the contract timers in the new run');
    expect(view.contract!.endsAt).toBe(addDays(today(), 45));
    await stack.client.workflow.getHandle(workflowId).signal(hrEventSignal, start);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await stack.lifecycle(contractor.id);
    expect(after.pending).toEqual([]);
    expect(after.current).toBeNull();
    expect((await stack.auditRows(contractor.id)).filter((r) => r.result === 'duplicate')).toEqual([]);
    expect(stack.learnersFor(contractor.id)[0]!.enrollments.map((e) => e.course_code)).toEqual(expect.arrayContaining(['MOC-201', 'HIPAA-101']));
  });
});
