import type { HrEvent } from '../domain/hr-event';
import { competencyGap } from '../domain/lifecycle';
import { now, requestFor, syncLearnerWithHr, today, type SyncContext, type SyncResult } from './learner-sync';

/** From the effective date when it is still ahead, so due dates count from it; otherwise now. */
export const effectiveAsOf = (event: HrEvent) => (event.effectiveDate > today() ? event.effectiveDate : now());

/** What the new role or site asks for that the person has not completed, for the audit trail. */
export async function recordCompetencyGap(ctx: SyncContext): Promise<void> {
  const gap = competencyGap(ctx.desired, ctx.actual);
  ctx.audit.push({ ...ctx.base, kind: 'report', action: 'competency-gap', result: `${gap.length} courses to complete`, detail: { gap }, idempotencyKey: ctx.key('report:competency-gap') });
}

/**
 * A role change or promotion: assign the new role's curricula with due dates from the effective
 * date, remove assignments the new role no longer needs (completed records stay), and record the
 * competency gap.
 */
export async function roleChange(input: { event: HrEvent }): Promise<SyncResult> {
  return syncLearnerWithHr(requestFor(input.event), { asOf: effectiveAsOf(input.event), change: { type: 'change' }, beforeApply: recordCompetencyGap });
}
