import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowExecutionStatusName } from '@temporalio/client';
import { addDays, addMonths, isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, contractorProfile, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { eventually, startTestStack, type TestStack } from './support/stack';

// One test per HR event type (SPEC §2), against the real dev server, PostgreSQL and simulators.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());
const hire = (index: number, prefix: string, overrides: Partial<EmployeeProfile> = {}) => ({ ...employeeProfile(index, SAMPLE_HIRES[index]!, today(), prefix), ...overrides });
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function hired(profile: EmployeeProfile) {
  stack.hris.upsertEmployee(bambooRecord(profile));
  const event = hireEvent(profile);
  expect((await stack.postEvent(event)).status).toBe(202);
  await stack.resultOf(`onboarding-${profile.id}-${event.id}`);
  return stack.learnersFor(profile.id)[0]!;
}

const enrolled = (employeeId: string) =>
  Object.fromEntries(stack.learnersFor(employeeId)[0]!.enrollments.map((e) => [e.course_code, { status: e.status, due: e.due_date }]));

async function auditOf(employeeId: string, kind: string, action: string) {
  return (await stack.auditRows(employeeId)).filter((r) => r.kind === kind && r.action === action);
}

async function statusOf(workflowId: string): Promise<WorkflowExecutionStatusName> {
  return (await stack.client.workflow.getHandle(workflowId).describe()).status.name;
}

describe('role change', () => {
  it('a promotion assigns the new role from the effective date, drops what it no longer needs, keeps completed records and audits the gap', async () => {
    const tech = hire(2, 'P'); // Maintenance Technician at Baytown
    await hired(tech);
    await stack.complete(tech.id, 'LOTO-201');
    const effective = addDays(today(), 10);
    const promoted = { ...tech, jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor', department: 'OPS', managerId: 'E1012' };
    stack.hris.upsertEmployee(bambooRecord(promoted));
    const event = lifecycleEvent('role_change', promoted, { effectiveDate: effective });
    expect((await stack.postEvent(event)).status).toBe(202);
    // A move into a leadership role waits for one of the organisation's leadership approvers.
    const workflowId = `roleChange-${tech.id}-${event.id}`;
    expect((await stack.pendingOn(workflowId)).kind).toBe('leadership');
    expect(stack.learnersFor(tech.id)[0]!.role).toBe('technician');
    await stack.decideWhenPending(workflowId, 'approve', 'hr.director');
    const result = await stack.resultOf<{ outcome: string }>(workflowId);
    expect(result.outcome).toBe('applied');

    const learner = stack.learnersFor(tech.id)[0]!;
    expect(learner).toMatchObject({ role: 'supervisor', manager_id: 'E1012' });
    expect(learner.groups).toContain('people-leaders');
    expect(learner.groups).toContain('dept-operations');
    expect(learner.groups).not.toContain('loto-authorized');
    expect(learner.groups).not.toContain('dept-maintenance');
    const courses = enrolled(tech.id);
    expect(courses['PSM-301']).toEqual({ status: 'subscribed', due: addDays(effective, 30) });
    expect(courses['LDR-301']).toEqual({ status: 'subscribed', due: addDays(effective, 60) });
    expect(courses['LOTO-201']!.status).toBe('completed'); // a completed record is never removed
    expect(courses['CSE-201']).toBeUndefined(); // confined space: no longer required, not completed
    expect(courses['HOT-201']).toBeUndefined();

    const [gap] = await auditOf(tech.id, 'report', 'competency-gap');
    const gapCourses = (gap!.detail as { gap: { courseId: string; status: string }[] }).gap;
    expect(gapCourses).toContainEqual(expect.objectContaining({ courseId: 'PSM-301', status: 'not-enrolled' }));
    expect(gapCourses).toContainEqual(expect.objectContaining({ courseId: 'LDR-301', status: 'not-enrolled' }));
    expect(gapCourses.map((g) => g.courseId)).not.toContain('LOTO-201');
    const unenrolls = (await auditOf(tech.id, 'step', 'unenroll')).map((r) => (r.step as { courseId: string }).courseId).sort();
    expect(unenrolls).toEqual(['CSE-201', 'HOT-201']);
  });
});

describe('site transfer', () => {
  it('moves branch and groups, adds the new site induction and its HazCom, removes the old site-only courses unless completed, records the supervisor', async () => {
    const operator = hire(0, 'X'); // Chemical Process Operator I at Baytown (PSM)
    await hired(operator);
    await stack.complete(operator.id, 'IND-BAY');
    const moved = { ...operator, site: 'DAY', managerId: 'E1007' };
    stack.hris.upsertEmployee(bambooRecord(moved));
    const event = lifecycleEvent('transfer', moved);
    expect((await stack.postEvent(event)).status).toBe(202);
    await stack.resultOf(`transfer-${operator.id}-${event.id}`);

    const learner = stack.learnersFor(operator.id)[0]!;
    expect(learner.branches).toEqual(['BR-DAY']);
    expect(learner.groups).toContain('site-dayton');
    expect(learner.groups).not.toContain('site-baytown');
    expect(learner.groups).not.toContain('psm-covered-staff');
    expect(learner.manager_id).toBe('E1007');
    const courses = enrolled(operator.id);
    expect(courses['IND-DAY']).toEqual({ status: 'subscribed', due: today() });
    expect(courses['HAZ-DAY']).toEqual({ status: 'subscribed', due: today() });
    expect(courses['IND-BAY']!.status).toBe('completed');
    expect(courses['HAZ-BAY']).toBeUndefined();
    expect(courses['PSM-201']).toBeUndefined(); // Dayton is not a PSM-covered site
    expect(courses['HAZ-101']).toBeDefined(); // still required everywhere
    const [move] = await auditOf(operator.id, 'report', 'site-move');
    expect(move!.detail).toMatchObject({ fromBranch: 'BR-BAY', toBranch: 'BR-DAY', supervisor: 'E1007' });
  });
});

describe('termination', () => {
  it('deactivates (never deletes), archives records with retention dates, reports incomplete training and courses taught; a rehire reactivates the same account', async () => {
    const nurse = hire(7, 'T', { startDate: addDays(today(), -400) }); // Registered Nurse at the clinic
    const learner = await hired(nurse);
    await stack.complete(nurse.id, 'BBP-201');
    await stack.complete(nurse.id, 'HIPAA-101');
    await stack.courseStaff(nurse.id, 'BBP-201', 'instructor');
    stack.hris.upsertEmployee(bambooRecord(nurse, today()));
    const event = lifecycleEvent('termination', nurse, { termination: { date: today(), reasonCode: 'RESIGNATION' } });
    expect((await stack.postEvent(event)).status).toBe(202);
    await stack.resultOf(`offboarding-${nurse.id}-${event.id}`);

    const after = stack.learnersFor(nurse.id);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ user_id: learner.user_id, status: '0' });
    expect(after[0]!.enrollments).toHaveLength(learner.enrollments.length);

    const archive = await stack.pool.query(
      `SELECT course_id, status, to_char(retention_until, 'YYYY-MM-DD') AS until FROM training_archive WHERE employee_id = $1 ORDER BY course_id`,
      [nurse.id],
    );
    const until = Object.fromEntries(archive.rows.map((r) => [r.course_id, r.until]));
    expect(archive.rowCount).toBe(learner.enrollments.length);
    expect(until['BBP-201']).toBe(addMonths(today(), 36)); // 1910.1030: three years
    expect(until['HIPAA-101']).toBe(addMonths(today(), 72)); // 164.530: six years
    expect(until['HAZ-101']).toBe(addMonths(today(), 360));
    expect(until['WEL-100']).toBe(addMonths(today(), 60)); // the organisation's default

    const [closeOut] = await auditOf(nurse.id, 'report', 'close-out');
    const incomplete = (closeOut!.detail as { incompleteMandatory: { courseId: string }[] }).incompleteMandatory.map((c) => c.courseId);
    expect(incomplete).toContain('RESP-201');
    expect(incomplete).not.toContain('BBP-201');
    expect(incomplete).toHaveLength(learner.enrollments.length - 2);
    const [knowledge] = await auditOf(nurse.id, 'report', 'knowledge-retention');
    expect(knowledge!.detail).toEqual({ coursesLed: [{ courseId: 'BBP-201', title: 'Bloodborne pathogens', role: 'instructor' }] });

    // HR rehires her: Active again, a new hire date, the old termination date still on file.
    const rehired = { ...nurse, startDate: addDays(today(), 14) };
    stack.hris.upsertEmployee({ ...bambooRecord(rehired, today()), status: 'Active' });
    const rehire = hireEvent(rehired, `evt-rehire-${nurse.id}`);
    expect((await stack.postEvent(rehire)).status).toBe(202);
    await stack.resultOf(`onboarding-${nurse.id}-${rehire.id}`);
    expect(stack.learnersFor(nurse.id)).toEqual([expect.objectContaining({ user_id: learner.user_id, status: '1' })]);
    expect((await auditOf(nurse.id, 'step', 'activate_user'))).toHaveLength(1);
  });

  it('a future-dated termination waits on a durable timer and deactivates at that moment', async () => {
    const analyst = hire(10, 'U');
    await hired(analyst);
    const at = inSeconds(6);
    stack.hris.upsertEmployee(bambooRecord(analyst, at));
    const event = lifecycleEvent('termination', analyst, { termination: { date: at, reasonCode: 'END_OF_ASSIGNMENT' } });
    expect((await stack.postEvent(event)).status).toBe(202);
    const offboardingId = `offboarding-${analyst.id}-${event.id}`;
    await eventually(async () => (await auditOf(analyst.id, 'schedule', 'deactivation-scheduled')).length === 1, 'the deactivation to be scheduled');
    expect(stack.learnersFor(analyst.id)[0]!.status).toBe('1');
    expect(await statusOf(offboardingId)).toBe('RUNNING');
    await stack.resultOf(offboardingId);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(at));
    expect(stack.learnersFor(analyst.id)[0]!.status).toBe('0');
  });
});

describe('contractors', () => {
  async function started(profile: EmployeeProfile) {
    stack.hris.upsertEmployee(bambooRecord(profile));
    const event = lifecycleEvent('contractor_start', profile, { effectiveDate: profile.startDate });
    expect((await stack.postEvent(event)).status).toBe(202);
    await stack.resultOf(`onboarding-${profile.id}-${event.id}`);
    return stack.learnersFor(profile.id)[0]!;
  }

  it('orientation, site induction and covered tasks; the contract end deactivates the account right after it; the sponsor is reminded', async () => {
    const endsAt = inSeconds(8);
    const contractor = contractorProfile('C2001', 'BAY', 'CTR-MNT', today(), endsAt);
    const learner = await started(contractor);
    expect(learner.status).toBe('1');
    expect(learner.groups).toContain('contractors');
    expect(Object.keys(enrolled(contractor.id)).sort()).toEqual(['CON-100', 'CSE-201', 'EAP-101', 'HAZ-101', 'HAZ-BAY', 'HOT-201', 'IND-BAY', 'LOTO-201', 'PSM-201', 'PSM-CTR']);
    const timers = await eventually(async () => (await stack.lifecycle(contractor.id)).contract, 'the contract timers');
    expect(timers).toMatchObject({ endsAt, sponsorId: 'E1002' });
    // The end is within the 14-day reminder lead, so the sponsor is told at once.
    const reminder = await eventually(async () => (await stack.pool.query("SELECT * FROM notifications WHERE about_employee = $1 AND kind = 'contract-ending'", [contractor.id])).rows[0], 'the sponsor reminder');
    expect(reminder).toMatchObject({ recipient_id: 'E1002', kind: 'contract-ending' });

    await eventually(() => stack.learnersFor(contractor.id)[0]!.status === '0', 'the account to close at the contract end', 30_000);
    const closedAt = Date.now();
    expect(closedAt).toBeGreaterThanOrEqual(Date.parse(endsAt));
    expect(closedAt - Date.parse(endsAt)).toBeLessThan(5_000);
    // The account closes a moment before the workflow writes its audit rows.
    await stack.resultOf(`contractorExpiry-${contractor.id}-${endsAt}`);
    const [outcome] = await auditOf(contractor.id, 'outcome', 'contract_end');
    expect(outcome!.result).toBe('applied');
    expect((await auditOf(contractor.id, 'report', 'records-archived'))).toHaveLength(1);
    await eventually(async () => (await stack.lifecycle(contractor.id)).contract === null, 'the contract timers to be cleared');
  });

  it('an extension moves the timer: the account stays open past the old end', async () => {
    const oldEnd = inSeconds(8);
    const contractor = contractorProfile('C2002', 'DAY', 'CTR-PIPE', today(), oldEnd);
    await started(contractor);
    // Qualified for the DOT covered task the contract names, and for pipeline work in general.
    expect(enrolled(contractor.id)).toMatchObject({ 'OQ-0401': { status: 'subscribed' }, 'OQ-192': { status: 'subscribed' } });
    const newEnd = addDays(today(), 30);
    const extended = { ...contractor, contract: { ...contractor.contract!, endDate: newEnd } };
    stack.hris.upsertEmployee(bambooRecord(extended));
    expect((await stack.postEvent(lifecycleEvent('contract_extension', extended))).status).toBe(202);
    await eventually(async () => (await stack.lifecycle(contractor.id)).contract?.endsAt === newEnd, 'the timer to move');
    await new Promise((r) => setTimeout(r, Math.max(Date.parse(oldEnd) - Date.now(), 0) + 3000));
    expect(stack.learnersFor(contractor.id)[0]!.status).toBe('1');
    const [moved] = await auditOf(contractor.id, 'schedule', 'contract-extended');
    expect(moved!.detail).toEqual({ from: oldEnd, to: newEnd });
  });

  it('an early termination closes the account now and cancels the contract timer', async () => {
    const contractor = contractorProfile('C2003', 'BAY', 'CTR-MNT', today(), addDays(today(), 60));
    await started(contractor);
    stack.hris.upsertEmployee(bambooRecord(contractor, today()));
    const event = lifecycleEvent('termination', contractor, { termination: { date: today(), reasonCode: 'CONTRACT_TERMINATED' } });
    expect((await stack.postEvent(event)).status).toBe(202);
    await stack.resultOf(`offboarding-${contractor.id}-${event.id}`);
    expect(stack.learnersFor(contractor.id)[0]!.status).toBe('0');
    // Once the entity workflow has taken in the offboarding's result, no contract timer is back.
    const after = await eventually(async () => {
      const view = await stack.lifecycle(contractor.id);
      return view.recent.some((r) => r.eventId === event.id) ? view : undefined;
    }, 'the entity workflow to take in the offboarding');
    expect(after.contract).toBeNull();
    expect(await auditOf(contractor.id, 'schedule', 'contract-timer-cancelled')).toHaveLength(1);
  });
});

describe('access grant', () => {
  it('joining a privileged group mirrors it as an LMS group and enrolls the training tied to it; an unknown group goes to review', async () => {
    const operator = hire(3, 'A'); // Process Technician at Baytown
    await hired(operator);
    const grant = lifecycleEvent('access_grant', operator, { access: { group: 'DCS Engineering Workstation' } });
    expect((await stack.postEvent(grant)).status).toBe(202);
    await stack.resultOf(`accessGrant-${operator.id}-${grant.id}`);
    const learner = stack.learnersFor(operator.id)[0]!;
    expect(learner.groups).toContain('idp-dcs-engineering');
    expect(enrolled(operator.id)['MOC-201']).toEqual({ status: 'subscribed', due: today() });
    const grants = await stack.pool.query('SELECT group_name FROM access_grants WHERE employee_id = $1', [operator.id]);
    expect(grants.rows).toEqual([{ group_name: 'DCS Engineering Workstation' }]);

    const unknown = lifecycleEvent('access_grant', operator, { access: { group: 'Break Room Wi-Fi' } });
    expect((await stack.postEvent(unknown)).status).toBe(202);
    await stack.resultOf(`accessGrant-${operator.id}-${unknown.id}`);
    const [review] = (await auditOf(operator.id, 'review', 'access-granted'));
    expect(review!.result).toBe('needs-review');
    expect(stack.learnersFor(operator.id)[0]!.enrollments).toHaveLength(learner.enrollments.length);
  });
});

describe('supersession', () => {
  it('a termination while onboarding waits on the LMS cancels the onboarding, closes the account, and the audit says why', async () => {
    const person = hire(5, 'S');
    stack.hris.upsertEmployee(bambooRecord(person));
    stack.lms.injectFault({ status: 503, method: 'POST', pathPrefix: '/learn/v1/enrollments', probability: 1 });
    try {
      const event = hireEvent(person);
      expect((await stack.postEvent(event)).status).toBe(202);
      const onboardingId = `onboarding-${person.id}-${event.id}`;
      // The account and groups go in; the enrollments keep failing, so onboarding waits on retries.
      await eventually(() => stack.learnersFor(person.id)[0]?.groups.length === 4, 'the account and its groups');
      stack.hris.upsertEmployee(bambooRecord(person, today()));
      const termination = lifecycleEvent('termination', person, { termination: { date: today(), reasonCode: 'NO_SHOW' } });
      expect((await stack.postEvent(termination)).status).toBe(202);
      await stack.resultOf(`offboarding-${person.id}-${termination.id}`);

      expect(await statusOf(onboardingId)).toBe('CANCELLED');
      expect(stack.learnersFor(person.id)).toEqual([expect.objectContaining({ status: '0' })]);
      const superseded = (await stack.auditRows(person.id)).filter((r) => r.result === 'superseded');
      expect(superseded.map((r) => r.workflow_id).sort()).toEqual([`employee-${person.id}`, onboardingId].sort());
      const byEntity = superseded.find((r) => r.workflow_id === `employee-${person.id}`)!;
      expect(byEntity.detail).toMatchObject({ supersededBy: termination.id, workflowId: onboardingId });
    } finally {
      stack.lms.clearFaults();
    }
  });

  it('a second termination supersedes one still waiting for its date', async () => {
    const person = hire(4, 'R');
    await hired(person);
    const later = lifecycleEvent('termination', person, { termination: { date: addDays(today(), 30), reasonCode: 'RESIGNATION' } });
    expect((await stack.postEvent(later)).status).toBe(202);
    const waiting = `offboarding-${person.id}-${later.id}`;
    await eventually(async () => (await auditOf(person.id, 'schedule', 'deactivation-scheduled')).length === 1, 'the first termination to wait');
    stack.hris.upsertEmployee(bambooRecord(person, today()));
    const now = lifecycleEvent('termination', person, { termination: { date: today(), reasonCode: 'GROSS_MISCONDUCT' } });
    expect((await stack.postEvent(now)).status).toBe(202);
    await stack.resultOf(`offboarding-${person.id}-${now.id}`);
    expect(await statusOf(waiting)).toBe('CANCELLED');
    expect(stack.learnersFor(person.id)[0]!.status).toBe('0');
  });
});
