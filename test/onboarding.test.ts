import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { addDays, isoDateOf } from '../domain/dates';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { startTestStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

describe('a new hire reaches the LMS through the entity and onboarding workflows', () => {
  it('creates one learner with the branch, groups and enrollments the sample organisation requires', async () => {
    const [operator] = sampleRoster(isoDateOf(new Date()), 'H');
    const profile = { ...operator!, managerId: 'H0900' };
    stack.hris.upsertEmployee(bambooRecord(profile));
    const event = hireEvent(profile);

    const accepted = await stack.postEvent(event);
    expect(accepted.status).toBe(202);
    expect(accepted.body.workflowId).toBe(`employee-${profile.id}`);
    const result = await stack.resultOf<{ outcome: string }>(`onboarding-${profile.id}-${event.id}`);
    expect(result.outcome).toBe('applied');

    const [learner, ...others] = stack.learnersFor(profile.id);
    expect(others).toHaveLength(0);
    expect(learner).toMatchObject({ status: '1', username: profile.email, role: 'operator', manager_id: 'H0900', branches: ['BR-BAY'] });
    expect([...learner!.groups].sort()).toEqual(
      ['cohort-' + profile.startDate.slice(0, 7), 'dept-operations', 'employees', 'psm-covered-staff', 'site-baytown'].sort(),
    );
    // Chemical Process Operator I at Baytown (PSM-covered): everyone's safety courses and site
    // hazards due on the first day, PSM initial training before operating, the rest later.
    const due = Object.fromEntries(learner!.enrollments.map((e) => [e.course_code, e.due_date]));
    const start = profile.startDate;
    expect(due).toEqual({
      'EHS-101': start,
      'EAP-101': start,
      'IND-BAY': start,
      'HAZ-101': start,
      'HAZ-BAY': start,
      'PSM-201': start,
      'WEL-100': addDays(start, 7),
      'COC-100': addDays(start, 30),
      'SEC-100': addDays(start, 30),
    });

    const audit = await stack.auditRows(profile.id);
    expect(audit.filter((r) => r.kind === 'delivery').map((r) => r.result)).toEqual(['accepted']);
    expect(audit.filter((r) => r.kind === 'step' && r.action === 'enroll')).toHaveLength(9);
    expect(audit.find((r) => r.kind === 'outcome')).toMatchObject({ action: 'hire', result: 'applied' });
  });

  it('a clinic nurse gets the clinic branch and the bloodborne-pathogens and HIPAA courses', async () => {
    const nurse = sampleRoster(isoDateOf(new Date()), 'N').find((p) => p.jobCode === 'RN')!;
    stack.hris.upsertEmployee(bambooRecord(nurse));
    const event = hireEvent(nurse);
    expect((await stack.postEvent(event)).status).toBe(202);
    await stack.resultOf(`onboarding-${nurse.id}-${event.id}`);
    const [learner] = stack.learnersFor(nurse.id);
    expect(learner!.branches).toEqual(['BR-CLN']);
    const courses = learner!.enrollments.map((e) => e.course_code).sort();
    expect(courses).toEqual(['BBP-201', 'COC-100', 'EAP-101', 'EHS-101', 'HAZ-101', 'HAZ-CLN', 'HIPAA-101', 'IND-CLN', 'RESP-201', 'SEC-100', 'WEL-100']);
    expect(learner!.enrollments.find((e) => e.course_code === 'BBP-201')!.due_date).toBe(nurse.startDate);
  });
});

describe('what hrsync cannot map goes to review, with the raw value', () => {
  it('an HRIS employment status it has never seen stops the onboarding before the LMS is touched', async () => {
    const [person] = sampleRoster(isoDateOf(new Date()), 'Q');
    stack.hris.upsertEmployee({ ...bambooRecord(person!), employmentHistoryStatus: 'Apprentice' });
    const event = hireEvent(person!);
    expect((await stack.postEvent(event)).status).toBe(202);
    const failure = await stack.resultOf(`onboarding-${person!.id}-${event.id}`).then(
      () => null,
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(/employment status "Apprentice"/);
    expect(stack.learnersFor(person!.id)).toHaveLength(0);
    const review = (await stack.auditRows(person!.id)).find((r) => r.kind === 'review');
    expect(review).toMatchObject({ action: 'hris-profile', result: 'needs-review' });
    expect(JSON.stringify(review!.detail)).toContain('Apprentice');
  });

  it('a site the organisation does not know: the rest is applied and the site is flagged for review', async () => {
    const [person] = sampleRoster(isoDateOf(new Date()), 'W');
    const profile = { ...person!, site: 'Lake Charles Terminal' };
    stack.hris.upsertEmployee(bambooRecord(profile));
    const event = hireEvent(profile);
    expect((await stack.postEvent(event)).status).toBe(202);
    const result = await stack.resultOf<{ outcome: string; unresolved: string[] }>(`onboarding-${profile.id}-${event.id}`);
    expect(result.unresolved).toEqual(['site "Lake Charles Terminal" is not in the organisation']);
    const [learner] = stack.learnersFor(profile.id);
    expect(learner!.branches).toEqual([]);
    expect(learner!.enrollments.map((e) => e.course_code)).toContain('EHS-101');
    const audit = await stack.auditRows(profile.id);
    expect(audit.filter((r) => r.result === 'needs-review')).toHaveLength(1);
  });
});
