import { now, syncLearnerWithHr, type SyncResult } from './learner-sync';
import { closeOutSeparation } from './offboarding';

/**
 * A contractor's contract end, started by the employee workflow when its durable timer fires.
 * It re-reads the HRIS: if the contract was extended there, nothing closes and the new end date
 * goes back to the employee workflow; otherwise the account is archived, reported and deactivated.
 */
export async function contractorExpiry(input: { employeeId: string; endsAt: string }): Promise<SyncResult> {
  return syncLearnerWithHr(
    { employeeId: input.employeeId, eventId: null, action: 'contract_end', fallbackProfile: null },
    { asOf: now(), change: { type: 'separation' }, beforeApply: closeOutSeparation },
  );
}
