import { describe, expect, it } from 'vitest';
import { approvalNeed, checkDecision, describePlan, type PendingApproval } from '../domain/approval';
import { durationMs } from '../domain/durations';
import { loadOrganisation } from '../domain/load-organisation';
import { desiredLmsState } from '../domain/plan';
import { profile, TODAY } from './support/profiles';

// The pure rules of human approval: who may decide, what needs deciding, how it reads.

const org = loadOrganisation();
const pending: PendingApproval = {
  id: 'onboarding-E1-evt-1',
  kind: 'ai-mapping',
  employeeId: 'E1',
  eventId: 'evt-1',
  summary: 's',
  reasons: [],
  plan: [],
  requestedAt: '2026-11-22T10:00:00Z',
  approvers: ['hr.lopez', 'ld.chen'],
  escalated: false,
  reminded: false,
  deadlines: { remindAt: null, escalateAt: null, rejectAt: null },
};

describe('checkDecision', () => {
  it.each<[string, unknown, PendingApproval | null, RegExp | null]>([
    ['an approver for the kind', { decision: 'approve', approver: 'ld.chen', reason: 'ok' }, pending, null],
    ['a rejection without a reason', { decision: 'reject', approver: 'hr.lopez' }, pending, null],
    ['someone not listed', { decision: 'approve', approver: 'mallory' }, pending, /mallory may not decide ai-mapping approvals \(approvers: hr.lopez, ld.chen\)/],
    ['an escalation approver before the escalation', { decision: 'approve', approver: 'hr.director' }, pending, /may not decide/],
    ['an escalation approver after it', { decision: 'approve', approver: 'hr.director' }, { ...pending, escalated: true, approvers: [...pending.approvers, 'hr.director'] }, null],
    ['a decision word that is neither', { decision: 'yes', approver: 'ld.chen' }, pending, /decision must be "approve" or "reject"/],
    ['no approver', { decision: 'approve' }, pending, /malformed decision: approver/],
    ['a blank approver', { decision: 'approve', approver: '  ' }, pending, /approver must name who decides/],
    ['not an object', 'approve', pending, /malformed decision/],
    ['nothing pending', { decision: 'approve', approver: 'ld.chen' }, null, /nothing is awaiting a decision/],
  ])('%s', (_name, input, which, problem) => {
    const check = checkDecision(input, which);
    if (problem === null) expect(check.ok).toBe(true);
    else expect(check.ok ? 'accepted' : check.problem).toMatch(problem);
  });
});

describe('approvalNeed', () => {
  const supervisor = profile({ jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor' });
  const account = (role: string | null) => ({
    userId: '1',
    active: true,
    account: { externalId: 'E1001', username: 'x', firstName: 'A', lastName: 'R', email: 'x', role, managerId: null },
    branch: 'BR-BAY',
    groups: [],
    enrollments: [],
  });

  it.each<[string, Parameters<typeof approvalNeed>[1], ReturnType<typeof account> | null, Parameters<typeof approvalNeed>[4], string | null]>([
    ['a promotion into a leadership role', supervisor, account('operator'), { type: 'change' }, 'leadership'],
    ['a change for someone already in leadership', supervisor, account('supervisor'), { type: 'change' }, null],
    ['a hire into leadership (not held unless the organisation says so)', supervisor, null, { type: 'hire' }, null],
    ['a missing account re-made for someone in leadership (reconciliation): held like a hire', supervisor, null, { type: 'change' }, null],
    ['an ordinary promotion', profile({ jobCode: 'CHM-OP2' }), account('operator'), { type: 'change' }, null],
    ['a privileged access grant', profile({ accessGroups: ['Privileged IT Administrators'] }), account('operator'), { type: 'access', group: 'Privileged IT Administrators' }, 'configured'],
    ['an ordinary access grant', profile({ accessGroups: ['EHR Clinical Access'] }), account('operator'), { type: 'access', group: 'EHR Clinical Access' }, null],
    ['a separation', supervisor, account('operator'), { type: 'separation' }, null],
  ])('%s', (_name, p, actual, change, kind) => {
    const need = approvalNeed(org, p, desiredLmsState(p, org, TODAY), actual, change);
    expect(need?.kind ?? null).toBe(kind);
  });

  it('holds a hire into leadership when leadershipOnHire is set', () => {
    const strict = { ...org, approvals: { ...org.approvals, leadershipOnHire: true } };
    expect(approvalNeed(strict, supervisor, desiredLmsState(supervisor, strict, TODAY), null, { type: 'hire' })?.reasons).toEqual(['a hire into the leadership role "supervisor"']);
  });
});

describe('describePlan and durations', () => {
  it('reads like a sentence per step', () => {
    expect(
      describePlan([
        { action: 'update_user', changes: { role: 'supervisor', managerId: null } },
        { action: 'enroll', courseId: 'PSM-301', dueDate: '2026-12-22', requiredBy: ['psm-leadership'] },
        { action: 'set_branch', from: 'BR-DAY', to: 'BR-BAY' },
        { action: 'deactivate_user' },
      ]),
    ).toEqual(['update role → supervisor, managerId → none', 'enroll in PSM-301 (due 2026-12-22)', 'move from branch BR-DAY to BR-BAY', 'deactivate the LMS account']);
  });

  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => expect(durationMs(text)).toBe(ms));

  it('refuses what is not a duration', () => expect(() => durationMs('soon')).toThrow(/not a duration/));
});
