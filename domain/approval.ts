import { z } from 'zod';
import { describeInvalid } from './hr-event';
import type { PlanStep } from './lms-state';
import type { HrProfile } from './hr-event';
import type { ActualLmsState, DesiredLmsState } from './lms-state';
import type { ApprovalKind, Organisation } from './organisation';

// Human approval: what an approver sends (from the Temporal Web UI's Signal dialog or the CLI),
// who may send it, and how a plan awaiting a decision reads to a person.

/** The one JSON object an approver sends. */
export const ApprovalDecision = z.object({
  decision: z.enum(['approve', 'reject'], { message: 'must be "approve" or "reject"' }),
  approver: z.string().trim().min(1, 'must name who decides'),
  reason: z.string().trim().max(2000).optional(),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export interface PendingApproval {
  /** The workflow id: what `hrsync approve ID` takes. */
  id: string;
  kind: ApprovalKind;
  employeeId: string;
  eventId: string | null;
  /** One line for the workflow list: what would change and why it waits. */
  summary: string;
  reasons: string[];
  /** The exact steps a decision releases. */
  plan: PlanStep[];
  requestedAt: string;
  approvers: string[];
  escalated: boolean;
  reminded: boolean;
  deadlines: { remindAt: string | null; escalateAt: string | null; rejectAt: string | null };
}

export interface ApprovalOutcome {
  decision: 'approve' | 'reject';
  approver: string;
  reason: string;
  decidedAt: string;
  /** Decided by the policy's timer (auto-rejection), not a person. */
  automatic: boolean;
}

export type DecisionCheck = { ok: true; decision: ApprovalDecision } | { ok: false; problem: string };

/**
 * Whether this input may decide this pending approval: well-formed, from an approver the policy
 * names (or, once escalated, its escalation group), while the approval is still pending.
 */
export function checkDecision(input: unknown, pending: PendingApproval | null): DecisionCheck {
  const parsed = ApprovalDecision.safeParse(input);
  if (!parsed.success) return { ok: false, problem: `malformed decision: ${describeInvalid(parsed.error).message}; send {"decision":"approve"|"reject","approver":"…","reason":"…"}` };
  if (!pending) return { ok: false, problem: 'nothing is awaiting a decision here (already decided, superseded, or never asked)' };
  const allowed = pending.approvers;
  if (!allowed.includes(parsed.data.approver)) {
    return { ok: false, problem: `${parsed.data.approver} may not decide ${pending.kind} approvals (approvers: ${allowed.join(', ')})` };
  }
  return { ok: true, decision: parsed.data };
}

/** A plan as an approver reads it: one short clause per step. */
export function describePlan(steps: PlanStep[]): string[] {
  return steps.map((s) => {
    switch (s.action) {
      case 'create_user':
        return `create the LMS account${s.account.role ? ` as ${s.account.role}` : ''}${s.branch ? ` in ${s.branch}` : ''}`;
      case 'activate_user':
        return 'reactivate the LMS account';
      case 'deactivate_user':
        return 'deactivate the LMS account';
      case 'update_user':
        return `update ${Object.entries(s.changes).map(([k, v]) => `${k} → ${v ?? 'none'}`).join(', ')}`;
      case 'set_branch':
        return `move from branch ${s.from ?? 'none'} to ${s.to}`;
      case 'add_group':
        return `add to group ${s.group}`;
      case 'remove_group':
        return `remove from group ${s.group}`;
      case 'enroll':
        return `enroll in ${s.courseId} (due ${s.dueDate})`;
      case 'unenroll':
        return `unenroll from ${s.courseId}`;
    }
  });
}

/** What kind of change a workflow is making, for the approval rules. */
export type ChangeKind = { type: 'hire' } | { type: 'change' } | { type: 'access'; group: string } | { type: 'separation' };

/**
 * Whether a whole plan must wait for a person, and why: a move into a leadership role (a
 * promotion; a hire too when the organisation says so), or a job or access group the
 * organisation marks `requiresApproval`. Null when it may go ahead. An account made where
 * none exists (reconciliation re-making a missing one) is held exactly as a hire would be.
 */
export function approvalNeed(
  org: Organisation,
  profile: HrProfile,
  desired: DesiredLmsState,
  actual: ActualLmsState | null,
  change: ChangeKind,
): { kind: ApprovalKind; reasons: string[] } | null {
  if (!desired.active || change.type === 'separation') return null;
  const leadership = (role: string | null | undefined) => !!role && !!org.roles.find((r) => r.id === role)?.leadership;
  const role = desired.account.role;
  const creating = change.type === 'hire' || !actual;
  if (leadership(role) && !leadership(actual?.account.role) && (!creating || org.approvals.leadershipOnHire)) {
    return { kind: 'leadership', reasons: [`${creating ? 'a hire' : 'a move'} into the leadership role "${role}"`] };
  }
  const job = org.jobCodes.find((j) => j.code === profile.jobCode);
  const reasons: string[] = [];
  if (job?.requiresApproval && actual?.account.role !== job.role) reasons.push(`job ${job.code} (${job.title}) requires approval`);
  if (change.type === 'access' && org.accessGroups.find((a) => a.name === change.group)?.requiresApproval) reasons.push(`access group "${change.group}" requires approval`);
  return reasons.length ? { kind: 'configured', reasons } : null;
}
