import type { HrEvent } from '../domain/hr-event';
import { requestFor, syncLearnerWithHr, type SyncResult } from './learner-sync';
import { effectiveAsOf, recordCompetencyGap } from './role-change';

/**
 * A site transfer: the new site's induction and hazard training (HazCom for its chemicals), the
 * old site's site-only assignments removed unless completed, branch and groups moved, and the
 * new supervisor recorded.
 */
export async function transfer(input: { event: HrEvent }): Promise<SyncResult> {
  return syncLearnerWithHr(requestFor(input.event), {
    asOf: effectiveAsOf(input.event),
    change: { type: 'change' },
    beforeApply: async (ctx) => {
      ctx.audit.push({
        ...ctx.base,
        kind: 'report',
        action: 'site-move',
        result: `${ctx.actual?.branch ?? 'none'} → ${ctx.desired.branch ?? 'unknown'}`,
        detail: { fromBranch: ctx.actual?.branch ?? null, toBranch: ctx.desired.branch, site: ctx.profile.site, supervisor: ctx.profile.managerId ?? null },
        idempotencyKey: ctx.key('report:site-move'),
      });
      await recordCompetencyGap(ctx);
    },
  });
}
