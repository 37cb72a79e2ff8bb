import type { HrEvent } from '../domain/hr-event';
import { now, requestFor, syncLearnerWithHr, type SyncResult } from './learner-sync';

/**
 * A new hire or a contractor's start: create the learner account (or reactivate it, for a
 * rehire) with its branch and groups, and enroll the role's and site's mandatory curricula,
 * safety courses due before the first shift.
 */
export async function onboarding(input: { event: HrEvent }): Promise<SyncResult> {
  // Due dates count from the HRIS start date (or from today, when the hire reaches us late).
  return syncLearnerWithHr(requestFor(input.event), { asOf: now(), change: { type: 'hire' } });
}
