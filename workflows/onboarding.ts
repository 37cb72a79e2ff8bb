import { patched } from '@temporalio/workflow';
import type { HrEvent } from '../domain/hr-event';
import { activities } from './activities';
import { now, requestFor, syncLearnerWithHr, type SyncResult } from './learner-sync';

const { notify } = activities;

/**
 * A new hire or a contractor's start: create the learner account (or reactivate it, for a
 * rehire) with its branch and groups, and enroll the role's and site's mandatory curricula,
 * safety courses due before the first shift; then tell the manager what is due on day one.
 */
export async function onboarding(input: { event: HrEvent }): Promise<SyncResult> {
  const { event } = input;
  // Due dates count from the HRIS start date (or from today, when the hire reaches us late).
  const result = await syncLearnerWithHr(requestFor(event), { asOf: now(), change: { type: 'hire' } });

  // Added after onboardings were already running: histories recorded before it (see
  // test/golden-histories) have no such step, and patched() keeps them replaying.
  if (patched('notify-manager-of-first-day-training') && event.employee.managerId && result.outcome !== 'in-sync') {
    const firstDay = result.competencyGap.filter((g) => g.dueDate <= event.employee.startDate).map((g) => g.courseId);
    if (firstDay.length) {
      await notify({
        recipientId: event.employee.managerId,
        aboutEmployee: event.employee.id,
        kind: 'first-day-training',
        subject: `${event.employee.id} starts ${event.employee.startDate}: ${firstDay.length} safety courses are due before the first shift`,
        detail: { courses: firstDay, startDate: event.employee.startDate },
        idempotencyKey: `first-day-training:${event.employee.id}:${event.id}`,
      });
    }
  }
  return result;
}
