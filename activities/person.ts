import { ApplicationFailure } from '@temporalio/common';
import type { HrProfile } from '../domain/hr-event';
import type { ActualLmsState } from '../domain/lms-state';
import type { Organisation } from '../domain/organisation';
import type { AuditStore } from './audit';
import type { Hris } from './hris';
import type { Lms } from './lms';

// Everything a lifecycle workflow starts from, read in one activity: a task per read costs the
// Temporal server more than the reads themselves.

/** A record the HRIS holds but hrsync cannot read (an unknown status, a missing field): for a person to look at. */
export type UnusableHrRecord = { type: string | undefined; message: string; details: unknown };

export interface PersonRead {
  hr: { profile: HrProfile | null } | { unusable: UnusableHrRecord };
  /** The rules in force, recorded in the workflow's history so that it replays with them. */
  organisation: Organisation;
  accessGroups: string[];
  learner: ActualLmsState | null;
}

export function personActivities(systems: { hris: Hris; lms: Lms; audit: AuditStore; organisation: () => Organisation }) {
  return {
    async readPerson(employeeId: string): Promise<PersonRead> {
      const [hr, accessGroups, learner] = await Promise.all([
        systems.hris.getProfile(employeeId).then(
          (profile) => ({ profile }),
          (err: unknown) => {
            if (err instanceof ApplicationFailure && err.nonRetryable) return { unusable: { type: err.type ?? undefined, message: err.message, details: err.details ?? null } };
            throw err;
          },
        ),
        systems.audit.accessGroupsOf(employeeId),
        systems.lms.findLearner(employeeId),
      ]);
      return { hr, organisation: systems.organisation(), accessGroups, learner };
    },
  };
}
