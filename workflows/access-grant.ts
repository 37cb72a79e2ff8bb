import type { HrEvent } from '../domain/hr-event';
import { now, requestFor, syncLearnerWithHr, type SyncResult } from './learner-sync';
import { activities } from './activities';

const { recordAccessGrant } = activities;

/**
 * Joining a privileged identity-provider group: remember the membership, mirror it as an LMS
 * group, and enroll the compliance training the organisation ties to that group.
 */
export async function accessGrant(input: { event: HrEvent }): Promise<SyncResult> {
  const { event } = input;
  const group = event.access!.group;
  await recordAccessGrant({ employeeId: event.employee.id, group, eventId: event.id });
  return syncLearnerWithHr(requestFor(event), {
    asOf: now(),
    change: { type: 'access', group },
    beforeApply: async (ctx) => {
      const known = ctx.organisation.accessGroups.find((a) => a.name === group);
      const rules = ctx.organisation.requirements.filter((r) => r.when.accessGroups?.includes(group)).map((r) => r.id);
      ctx.audit.push(
        known
          ? { ...ctx.base, kind: 'report', action: 'access-granted', result: group, detail: { group, lmsGroup: known.group ?? null, requirements: rules }, idempotencyKey: ctx.key('report:access') }
          : { ...ctx.base, kind: 'review', action: 'access-granted', result: 'needs-review', detail: { group, problem: `access group "${group}" is not in the organisation; no training is tied to it` }, idempotencyKey: ctx.key('report:access') },
      );
    },
  });
}
