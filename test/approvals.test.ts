import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { approvalSignal, decideUpdate } from '../workflows/definitions';
import { eventually, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';
import { sampleOrganisationFile } from './support/organisation-file';

// Human approval end to end: approve and reject, refusals that change nothing but are audited,
// escalation and auto-rejection on short timers, and the CLI. The organisation here is the
// sample with its leadership approvals on a clock of seconds.

const dir = mkdtempSync(join(tmpdir(), 'hrsync-approvals-'));
const organisationPath = sampleOrganisationFile(dir, (org) => {
  org.approvals.kinds.leadership = { approvers: ['hr.director', 'ops.vp'], remindAfter: '1s', escalateAfter: '2s', escalateTo: ['coo.office'], rejectAfter: '6s' };
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ organisationPath });
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());
let serial = 0;
function person(overrides: Partial<EmployeeProfile> = {}): EmployeeProfile {
  return { ...employeeProfile(serial++, SAMPLE_HIRES[0]!, today(), 'AP'), ...overrides };
}

/** A hire whose HRIS job code the organisation does not know and whose title is ambiguous: an AI mapping below the threshold. */
async function ambiguousHire() {
  const p = person({ jobCode: 'LEGACY-7', jobTitle: 'Operator' });
  stack.hris.upsertEmployee(bambooRecord(p));
  const event = hireEvent(p);
  expect((await stack.postEvent(event)).status).toBe(202);
  const workflowId = `onboarding-${p.id}-${event.id}`;
  const pending = await stack.pendingOn(workflowId);
  expect(pending.kind).toBe('ai-mapping');
  return { p, workflowId, pending };
}

/** An operator hired, then promoted into a leadership role: waits for the leadership approvers. */
async function promotion() {
  const p = person();
  stack.hris.upsertEmployee(bambooRecord(p));
  const hire = hireEvent(p);
  await stack.postEvent(hire);
  await stack.resultOf(`onboarding-${p.id}-${hire.id}`);
  const promoted = { ...p, jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor' };
  stack.hris.upsertEmployee(bambooRecord(promoted));
  const event = lifecycleEvent('role_change', promoted);
  expect((await stack.postEvent(event)).status).toBe(202);
  return { p, workflowId: `roleChange-${p.id}-${event.id}` };
}

const approvalRows = async (employeeId: string) => (await stack.auditRows(employeeId)).filter((r) => r.kind === 'approval');

describe('approve and reject', () => {
  it('approve: the held changes reach the LMS and the audit trail names the approver', async () => {
    const { p, workflowId, pending } = await ambiguousHire();
    expect(pending).toMatchObject({ id: workflowId, employeeId: p.id, approvers: ['hr.lopez', 'ld.chen'] });
    expect(pending.summary).toMatch(/^onboarding of AP\d+ \(Operator at BAY\) waits for ai-mapping approval/);
    const before = stack.learnersFor(p.id)[0]!;
    expect(before.role).toBeNull();

    const outcome = await stack.decideWhenPending(workflowId, 'approve', 'ld.chen', 'a chemical operator at Baytown');
    expect(outcome).toMatchObject({ decision: 'approve', approver: 'ld.chen', reason: 'a chemical operator at Baytown', automatic: false });
    expect((await stack.resultOf<{ outcome: string }>(workflowId)).outcome).toBe('applied');
    const after = stack.learnersFor(p.id)[0]!;
    expect(after.role).toBe('operator');
    expect(after.enrollments.map((e) => e.course_code)).toContain('PSM-201');
    const approved = (await approvalRows(p.id)).find((r) => r.action === 'approved');
    expect(approved).toMatchObject({ result: 'ld.chen' });
    expect((await stack.auditRows(p.id)).filter((r) => r.kind === 'step' && r.result === 'applied' && r.action === 'enroll').length).toBeGreaterThan(before.enrollments.length);
  });

  it('reject: nothing the plan held reaches the LMS, and the audit trail says who and why', async () => {
    const { p, workflowId } = await ambiguousHire();
    await stack.decideWhenPending(workflowId, 'reject', 'hr.lopez', 'not an operator: re-code in the HRIS');
    expect((await stack.resultOf<{ outcome: string }>(workflowId)).outcome).toBe('rejected');
    const learner = stack.learnersFor(p.id)[0]!;
    expect(learner.role).toBeNull();
    expect(learner.enrollments.map((e) => e.course_code)).not.toContain('PSM-201');
    expect((await approvalRows(p.id)).find((r) => r.action === 'rejected')).toMatchObject({ result: 'hr.lopez', detail: expect.objectContaining({ reason: 'not an operator: re-code in the HRIS' }) });
  });

  it('a grant of an access group marked requiresApproval waits for the configured approvers', async () => {
    const p = person();
    stack.hris.upsertEmployee(bambooRecord(p));
    const hire = hireEvent(p);
    await stack.postEvent(hire);
    await stack.resultOf(`onboarding-${p.id}-${hire.id}`);
    const grant = lifecycleEvent('access_grant', p, { access: { group: 'Privileged IT Administrators' } });
    await stack.postEvent(grant);
    const workflowId = `accessGrant-${p.id}-${grant.id}`;
    const pending = await stack.pendingOn(workflowId);
    expect(pending).toMatchObject({ kind: 'configured', approvers: ['it.security', 'compliance.officer'] });
    expect(stack.learnersFor(p.id)[0]!.enrollments.map((e) => e.course_code)).not.toContain('CYB-201');
    await stack.decideWhenPending(workflowId, 'approve', 'it.security');
    await stack.resultOf(workflowId);
    expect(stack.learnersFor(p.id)[0]!.enrollments.map((e) => e.course_code)).toContain('CYB-201');
  });
});

describe('refused decisions change nothing and are audited', () => {
  it('an approver not entitled, a malformed signal, and a decision after the fact', async () => {
    const { p, workflowId } = await ambiguousHire();
    const handle = stack.client.workflow.getHandle(workflowId);
    await handle.signal(approvalSignal, { decision: 'approve', approver: 'mallory', reason: 'trust me' });
    await handle.signal(approvalSignal, { decision: 'maybe', approver: 'ld.chen' });
    await handle.signal(approvalSignal, 'approve');
    const refused = await eventually(async () => {
      const rows = (await approvalRows(p.id)).filter((r) => r.action === 'decision-refused');
      return rows.length === 3 ? rows : undefined;
    }, 'three refusals in the audit trail');
    // The three signals are handled concurrently, so their rows may land in any order.
    const problems = refused.map((r) => (r.detail as { problem: string }).problem).sort();
    expect(problems).toEqual([
      expect.stringMatching(/^malformed decision: \(body\) Invalid input: expected object, received string/),
      expect.stringMatching(/^malformed decision: decision must be "approve" or "reject"/),
      expect.stringMatching(/^mallory may not decide ai-mapping approvals \(approvers: hr.lopez, ld.chen\)/),
    ]);
    // Still waiting, nothing applied.
    expect(await stack.pendingOn(workflowId)).toMatchObject({ kind: 'ai-mapping' });
    expect(stack.learnersFor(p.id)[0]!.role).toBeNull();

    // The CLI's update is refused synchronously, with the reason.
    const refusal = await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'mallory' }] }).catch((e) => e);
    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refusal as WorkflowUpdateFailedError).cause?.message)).toMatch(/mallory may not decide/);

    await stack.decideWhenPending(workflowId, 'reject', 'hr.lopez');
    await stack.resultOf(workflowId);
    expect((await approvalRows(p.id)).filter((r) => r.action === 'approved' || r.action === 'rejected')).toHaveLength(1);
  });
});

describe('escalation', () => {
  it('reminds the approvers, escalates to the second group, who may then decide', async () => {
    const { p, workflowId } = await promotion();
    const pending = await stack.pendingOn(workflowId);
    expect(pending).toMatchObject({ kind: 'leadership', approvers: ['hr.director', 'ops.vp'], escalated: false });
    const escalated = await eventually(async () => {
      const now = await stack.pendingOn(workflowId);
      return now.escalated ? now : undefined;
    }, 'the escalation', 15_000);
    expect(escalated.approvers).toEqual(['hr.director', 'ops.vp', 'coo.office']);
    // The query shows the escalation as soon as the new approvers may decide; their notice is
    // written by the activity that follows, so wait for it rather than race it.
    const notes = await eventually(async () => {
      const { rows } = await stack.pool.query(`SELECT recipient_id, kind FROM notifications WHERE about_employee = $1 ORDER BY id`, [p.id]);
      return rows.some((r) => r.kind === 'approval-escalated') ? rows : undefined;
    }, 'the escalation notice');
    expect(notes).toEqual(
      expect.arrayContaining([
        { recipient_id: 'hr.director', kind: 'approval-reminder' },
        { recipient_id: 'ops.vp', kind: 'approval-reminder' },
        { recipient_id: 'coo.office', kind: 'approval-escalated' },
      ]),
    );
    await stack.decideWhenPending(workflowId, 'approve', 'coo.office', 'approved on escalation');
    expect((await stack.resultOf<{ outcome: string }>(workflowId)).outcome).toBe('applied');
    expect(stack.learnersFor(p.id)[0]!.role).toBe('supervisor');
    const actions = (await approvalRows(p.id)).map((r) => r.action);
    expect(actions).toEqual(['requested', 'reminded', 'escalated', 'approved']);
  });

  it('nobody decides: rejected automatically when the policy says so', async () => {
    const { p, workflowId } = await promotion();
    const result = await stack.resultOf<{ outcome: string; approval: { automatic: boolean; approver: string } }>(workflowId, 30_000);
    expect(result.outcome).toBe('rejected');
    expect(result.approval).toMatchObject({ automatic: true, approver: 'hrsync (approval policy)' });
    expect(stack.learnersFor(p.id)[0]!.role).toBe('operator');
    const rejected = (await approvalRows(p.id)).find((r) => r.action === 'rejected');
    expect((rejected!.detail as { reason: string }).reason).toBe('no decision within 6s');
  });
});

describe('the CLI', () => {
  const hrsync = (...args: string[]) => runHrsync(stackEnvironment(stack, dir), ...args);

  it('lists the queue, refuses a wrong approver with the reason, and approves', async () => {
    const { p, workflowId } = await ambiguousHire();
    const listed = await eventually(async () => {
      const res = await hrsync('approvals', '--json');
      const queue = JSON.parse(res.stdout) as { id: string }[];
      return queue.some((q) => q.id === workflowId) ? queue : undefined;
    }, 'the approval in the queue');
    expect(listed.find((q) => q.id === workflowId)).toMatchObject({ kind: 'ai-mapping', employeeId: p.id });

    const wrong = await hrsync('approve', workflowId, '--as', 'mallory');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/mallory may not decide ai-mapping approvals/);
    const audited = (await approvalRows(p.id)).find((r) => r.action === 'decision-refused');
    expect(audited!.detail).toMatchObject({ via: 'cli' });

    const ok = await hrsync('approve', workflowId, '--as', 'hr.lopez', '--reason', 'checked');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/approved by hr.lopez/);
    await stack.resultOf(workflowId);
    const late = await hrsync('reject', workflowId, '--as', 'hr.lopez');
    expect(late.code).not.toBe(0);
  });
});
